"""Built-in connectors: what a send or service task does. Launch Gate never runs code from a diagram, so
a send or service task names one of these, with extension properties, and nothing else:

| property | connector | value |
|---|---|---|
| `connector` | both | `email` or `webhook` |
| `to` | email | comma-separated: addresses, `role:<role>` (its active users), `support_distribution` |
| `subject` | email | one line with `{field}` placeholders (required unless `template`) |
| `body` | email | text with `{field}` placeholders (default: a short notice with the launch's link) |
| `template` | email | `launch_notice`: the built-in launch notice, from the document in `document` |
| `document` | email | the document the template reads (default `launch_notice`) |
| `url` | webhook | `https://…` (or `http://localhost…` for tests); allowed hosts are configured |
| `documents` | webhook | comma-separated document names whose data the JSON body carries |

Placeholders are plain names from `FIELDS` (no attributes, indexes, conversions or format specs: checked at
deploy), filled with `str.format_map` when the message is delivered — never a template engine. At run time
the task completes at once and its message is queued in the outbox in the same transaction as the launch's
new state (`message_for`); the worker delivers it with the outbox's retries.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from engine.domain import Role
from engine.model import ConnectorModel

EMAIL: Final = "email"
WEBHOOK: Final = "webhook"
CONNECTORS: Final = (EMAIL, WEBHOOK)
CONNECTOR_TASKS: Final = ("sendTask", "serviceTask")
CONNECTOR_PROPERTIES: Final = frozenset(
    {"connector", "to", "subject", "body", "template", "document", "url", "documents"}
)
TEMPLATES: Final = ("launch_notice",)
SUPPORT_LIST: Final = "support_distribution"
# The outbox kinds of connector messages (the launch notice template keeps its own kind).
EMAIL_KIND: Final = "connector_email"
WEBHOOK_KIND: Final = "connector_webhook"
LAUNCH_NOTICE_KIND: Final = "launch_notice_email"
# What a subject or body may say: {product_name}, {launch_url}, …
FIELDS: Final = (
    "product_name",
    "summary",
    "planned_launch_date",
    "pm",
    "process_name",
    "task",
    "launch_id",
    "launch_url",
)
DEFAULT_BODY: Final = "{task} for {product_name}.\n\nThe launch: {launch_url}\n"
LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_ADDRESS = re.compile(r"^[^@\s,<>\"]+@[^@\s,<>\"]+\.[^@\s,<>\"]+$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_TEXT = 4000


def read_connector(
    task_id: str, kind: str, title: str, props: Mapping[str, str]
) -> tuple[ConnectorModel | None, list[str]]:
    """The connector a send or service task declares, and every problem with it (messages to report on
    the task's id). None when there is no usable connector."""
    connector = props.get("connector")
    if connector not in CONNECTORS:
        what = "no 'connector' property" if connector is None else f"connector {connector!r}"
        return None, [
            f"{kind} has {what}: Launch Gate runs no code, so a {kind} must name a built-in connector "
            f"(connector = {' or '.join(CONNECTORS)})"
        ]
    allowed = _allowed_properties(connector)
    problems = [
        f"property {name!r} does not apply to the {connector} connector"
        for name in sorted(CONNECTOR_PROPERTIES & set(props) - allowed)
    ]
    if connector == EMAIL:
        model, more = _read_email(task_id, kind, title, props)
    else:
        model, more = _read_webhook(task_id, kind, title, props)
    problems += more
    return (model if not problems else None), problems


def _allowed_properties(connector: str) -> set[str]:
    if connector == EMAIL:
        return {"connector", "to", "subject", "body", "template", "document"}
    return {"connector", "url", "documents"}


def _read_email(
    task_id: str, kind: str, title: str, props: Mapping[str, str]
) -> tuple[ConnectorModel, list[str]]:
    problems: list[str] = []
    addresses: list[str] = []
    roles: list[str] = []
    support_list = False
    known_roles = {r.value for r in Role}
    for part in _parts(props.get("to")):
        if part == SUPPORT_LIST:
            support_list = True
        elif part.startswith("role:"):
            role = part.removeprefix("role:").strip()
            if role in known_roles:
                roles.append(role)
            else:
                problems.append(f"'to' names role {role!r}; known roles: {', '.join(sorted(known_roles))}")
        elif _ADDRESS.match(part):
            addresses.append(part)
        else:
            problems.append(
                f"'to' entry {part!r} is not an e-mail address, 'role:<role>' or {SUPPORT_LIST!r}"
            )
    template = props.get("template")
    if template is not None and template not in TEMPLATES:
        problems.append(f"template {template!r} is not a built-in template (one of: {', '.join(TEMPLATES)})")
    if template is None and not (addresses or roles or support_list) and not problems:
        problems.append(f"the e-mail connector needs 'to' (addresses, 'role:<role>' or {SUPPORT_LIST!r})")
    if template is not None and (addresses or roles):
        problems.append("the launch notice template goes to the launch's support list; leave 'to' out")
    subject, body = props.get("subject", ""), props.get("body", "")
    if template is None and not subject:
        problems.append("the e-mail connector needs a 'subject'")
    if "\n" in subject or "\r" in subject:
        problems.append("the subject must be one line")
    problems += [p for text in (subject, body) if text for p in placeholder_problems(text)]
    return (
        ConnectorModel(
            id=task_id,
            title=title,
            kind=kind,
            connector=EMAIL,
            addresses=tuple(dict.fromkeys(addresses)),
            roles=tuple(dict.fromkeys(roles)),
            support_list=support_list or template is not None,
            subject=subject,
            body=body or (DEFAULT_BODY if template is None else ""),
            template=template,
            document=props.get("document", "launch_notice") if template is not None else None,
        ),
        problems,
    )


def _read_webhook(
    task_id: str, kind: str, title: str, props: Mapping[str, str]
) -> tuple[ConnectorModel, list[str]]:
    url = props.get("url", "")
    problem = url_problem(url)
    problems = [problem] if problem else []
    documents = _parts(props.get("documents"))
    problems += [f"'documents' entry {d!r} is not a document name" for d in documents if not _NAME.match(d)]
    model = ConnectorModel(
        id=task_id, title=title, kind=kind, connector=WEBHOOK, url=url, documents=tuple(documents)
    )
    return model, problems


def url_problem(url: str) -> str | None:
    """Why a webhook URL is refused (None: accepted): https with a host, or http to this machine only."""
    if not url:
        return "the webhook connector needs a 'url'"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return f"webhook url {url!r} is not a valid URL"
    if not parts.hostname or parts.username or parts.password or any(c.isspace() for c in url):
        return f"webhook url {url!r} needs a host (and no user name, password or spaces)"
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        return None
    return f"webhook url {url!r} must use https (plain http only to localhost)"


def placeholder_problems(text: str) -> list[str]:
    """The placeholders of a subject or body that are not plain names from FIELDS."""
    if len(text) > MAX_TEXT:
        return [f"the text is longer than {MAX_TEXT} characters"]
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"the text {text[:60]!r} has a broken placeholder ({exc}); write {{{{ and }}}} for braces"]
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FIELDS or spec or conversion:
            problems.append(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}} "
                f"is not allowed; use one of: {', '.join('{' + f + '}' for f in FIELDS)}"
            )
    return problems


def _parts(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


# -- run time ----------------------------------------------------------------------------------------------


def message_for(
    model: ConnectorModel, *, task_id: str, data: Mapping[str, Any], fields: Mapping[str, str]
) -> tuple[str, dict[str, Any]]:
    """The outbox kind and payload of one run of a connector task (`task_id`: that run's task id, `data`:
    the workflow data it saw, `fields`: the launch's values of FIELDS known at run time)."""
    values = {name: str(fields.get(name, "")) for name in FIELDS if name != "launch_url"}
    values["task"] = model.title
    if model.template is not None:
        content = data.get(model.document or "")
        return LAUNCH_NOTICE_KIND, {
            "content": dict(content) if isinstance(content, Mapping) else {},
            "connector_task": model.id,
        }
    if model.connector == EMAIL:
        return EMAIL_KIND, {
            "run_id": task_id,
            "connector_task": model.id,
            "subject": model.subject,
            "body": model.body,
            "fields": values,
            "to": {"addresses": list(model.addresses), "roles": list(model.roles)},
            "support_list": model.support_list,
        }
    documents = {name: data[name] for name in model.documents if name in data}
    return WEBHOOK_KIND, {
        "run_id": task_id,
        "connector_task": model.id,
        "url": model.url,
        "fields": values,
        "documents": documents,
    }


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(text: str, fields: Mapping[str, Any]) -> str:
    """A subject or body with its placeholders filled (only plain names reach here: checked at deploy)."""
    return text.format_map(_Fields({k: str(v) for k, v in fields.items()}))


def webhook_event(
    *, key: str, created_at: datetime, launch_id: str | None, payload: Mapping[str, Any], launch_url: str
) -> dict[str, Any]:
    """The JSON body a webhook connector POSTs: which launch and task, the launch's fields and the named
    documents' data."""
    fields = dict(payload.get("fields") or {})
    fields["launch_url"] = launch_url
    return {
        "id": key,
        "kind": WEBHOOK_KIND,
        "created_at": created_at.isoformat(),
        "launch_id": launch_id,
        "task": payload.get("connector_task"),
        "fields": fields,
        "documents": dict(payload.get("documents") or {}),
    }
