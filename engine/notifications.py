"""What each outbox message says and to whom: plain-text e-mails and the webhook event, composed when the
message is delivered (from the message's payload and the current launch and user rows).

| kind | to | when |
|---|---|---|
| `launch_notice_email` | the launch's support list (or the default list) | the PM sends the notice |
| `task_available` | everyone holding the task's role | a task waits in a role's queue |
| `task_assigned` | the new assignee | someone else assigned the task |
| `review_outcome` | the author of the reviewed document | a review task completes |
| `task_reminder` | the assignee (or the role's queue) | the reminder ladder |
| `task_escalation` | the support managers | the reminder ladder |
| `audit_checkpoint` | the audit address (or the auditors) | the worker signed an audit checkpoint |
| `connector_email` | the task's `to` (addresses, roles, the support list) | an e-mail send/service task ran |
| `connector_webhook` | (the task's `url`, no e-mail) | a webhook send/service task ran |

The launch notice goes out when a send task with `template = launch_notice` runs (launch gate v2 on), or
when a user task with `sends = launch_notice_email` completes (versions before).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine import connectors
from engine.db.accounts import active_users
from engine.db.launches import launch_by_id
from engine.outbox import OutboxMessageView

_NO_NOTICE_LIST = (
    "nobody to send the launch notice to: the launch has no support distribution list and no "
    "default is configured (LAUNCHGATE_SUPPORT_DISTRIBUTION)"
)


class CompositionError(Exception):
    """The message cannot be written (its launch is gone): no retry helps."""


@dataclass(frozen=True)
class Notification:
    kind: str
    key: str
    subject: str
    body: str
    recipients: tuple[str, ...]
    event: dict[str, Any]  # the webhook's JSON body
    no_recipients: str = ""  # why `recipients` is empty (the e-mail channel reports it)
    url: str = ""  # a webhook connector's URL (only that channel delivers it)


def compose(
    session: Session,
    message: OutboxMessageView,
    *,
    base_url: str,
    default_distribution: Sequence[str] = (),
) -> Notification:
    """The notification of one outbox message. Raises CompositionError when it cannot be sent."""
    payload = message.payload
    launch = launch_by_id(session, message.launch_id) if message.launch_id else None
    product = launch.product_name if launch is not None else str(payload.get("product_name", ""))
    base = base_url.rstrip("/")
    links = _links(message, base)
    if message.kind == "launch_notice_email":
        if launch is None:
            raise CompositionError("the launch of this notice no longer exists")
        recipients = tuple(launch.support_distribution or default_distribution)
        nobody = _NO_NOTICE_LIST
        follow_ups = payload.get("next_tasks") or []
        if follow_ups:
            links["acknowledge"] = f"{base}/tasks/{follow_ups[0]['id']}"
        content = payload.get("content") or {}
        subject = f"Launch notice: {product} goes live {_when(content.get('launch_at'))}"
        body = _launch_notice_body(product, content, links)
    elif message.kind == connectors.WEBHOOK_KIND:
        return _connector_webhook(message, links)
    elif message.kind == connectors.EMAIL_KIND:
        found = _connector_email(session, message, links, launch, default_distribution)
        recipients, nobody, subject, body = found
    elif message.kind == "audit_checkpoint":
        recipients = _addresses(session, payload.get("to") or {})
        nobody = f"nobody to send the audit checkpoint to: {_who(payload)} (LAUNCHGATE_AUDIT_EMAIL)"
        subject, body = _checkpoint_message(payload.get("checkpoint") or {})
    else:
        recipients = _addresses(session, payload.get("to") or {})
        nobody = f"nobody to e-mail: no active user with an e-mail address in {_who(payload)}"
        subject, body = _person_message(message.kind, product, payload, links)
    event = {
        "id": message.idempotency_key,
        "kind": message.kind,
        "launch_id": message.launch_id,
        "task_id": message.task_id,
        "product_name": product,
        "created_at": message.created_at.isoformat(),
        "subject": subject,
        "text": body,
        "links": links,
        "payload": payload,
    }
    return Notification(
        kind=message.kind,
        key=message.idempotency_key,
        subject=subject,
        body=body,
        recipients=recipients,
        event=event,
        no_recipients="" if recipients else nobody,
    )


def _connector_email(
    session: Session,
    message: OutboxMessageView,
    links: Mapping[str, str],
    launch: Any,
    default_distribution: Sequence[str],
) -> tuple[tuple[str, ...], str, str, str]:
    """An e-mail connector's recipients (its addresses, its roles' active users, the launch's support
    list when it names it), why there are none, and its subject and body with the placeholders filled."""
    payload = message.payload
    recipients = set(_addresses(session, payload.get("to") or {}))
    if payload.get("support_list") and launch is not None:
        recipients |= set(launch.support_distribution or default_distribution)
    nobody = f"nobody to e-mail: no address, and no active user with an e-mail address in {_who(payload)}"
    fields = {**(payload.get("fields") or {}), "launch_url": links.get("launch", "")}
    subject = connectors.render(str(payload.get("subject", "")), fields)
    body = connectors.render(str(payload.get("body", "")), fields)
    return tuple(sorted(recipients)), nobody, subject, body


def _connector_webhook(message: OutboxMessageView, links: Mapping[str, str]) -> Notification:
    event = connectors.webhook_event(
        key=message.idempotency_key,
        created_at=message.created_at,
        launch_id=message.launch_id,
        payload=message.payload,
        launch_url=links.get("launch", ""),
    )
    return Notification(
        kind=message.kind,
        key=message.idempotency_key,
        subject="",
        body="",
        recipients=(),
        event=event,
        url=str(message.payload.get("url", "")),
    )


def _links(message: OutboxMessageView, base: str) -> dict[str, str]:
    """The pages a message points to: its launch, and its task (a launch notice names its own)."""
    links: dict[str, str] = {}
    if message.launch_id:
        links["launch"] = f"{base}/launches/{message.launch_id}"
    task_id = message.payload.get("task_id") or message.task_id
    if task_id and message.kind != "launch_notice_email":
        links["task"] = f"{base}/tasks/{task_id}"
    return links


# -- texts -------------------------------------------------------------------------------------------------


def _launch_notice_body(product: str, content: Mapping[str, Any], links: Mapping[str, str]) -> str:
    lines = [
        f"{product} goes live {_when(content.get('launch_at'))}.",
        "",
        "What changes for users:",
        str(content.get("what_changes", "")),
        "",
        "Channels: " + ", ".join(str(c) for c in content.get("channels") or []),
        "",
        "Known issues:",
        *_bullets(str(i) for i in content.get("known_issues") or []),
        "",
        "Support contacts:",
        *_bullets(
            f"{c.get('name', '')} <{c.get('email', '')}>" + (f" ({c['role']})" if c.get("role") else "")
            for c in content.get("support_contacts") or []
            if isinstance(c, Mapping)
        ),
        "",
        "Rollback plan:",
        str(content.get("rollback_plan", "")),
        "",
        f"The launch: {links.get('launch', '')}",
    ]
    if "acknowledge" in links:
        lines.append(f"Acknowledge this notice: {links['acknowledge']}")
    return "\n".join(lines) + "\n"


def _person_message(
    kind: str, product: str, payload: Mapping[str, Any], links: Mapping[str, str]
) -> tuple[str, str]:
    title = str(payload.get("title", "a task"))
    due = _when(payload.get("due_at")) if payload.get("due_at") else "no due date"
    where = f"\nThe task: {links.get('task', '')}\nThe launch: {links.get('launch', '')}\n"
    if kind == "task_available":
        role = str(payload.get("role", "")).replace("_", " ")
        return (
            f"New task for the {role} queue: {title} ({product})",
            f"“{title}” for {product} is waiting in the {role} queue, due {due}.\n{where}",
        )
    if kind == "task_assigned":
        return (
            f"Assigned to you: {title} ({product})",
            f"{payload.get('by', 'Someone')} assigned “{title}” for {product} to you, due {due}.\n{where}",
        )
    if kind == "review_outcome":
        decision = str(payload.get("decision") or "completed").replace("_", " ")
        comment = str(payload.get("comment") or "")
        text = f"{payload.get('reviewer', 'The reviewer')} reviewed your work on {product}: {decision}.\n"
        if comment:
            text += f"\nComment:\n{comment}\n"
        return f"{title}: {decision} ({product})", text + where
    if kind == "task_reminder":
        step = int(payload.get("offset_business_days", 0))
        state = "is due" if step <= 0 else "was due"
        return (
            f"Reminder: {title} ({product}) {state} {due}",
            f"“{title}” for {product} {state} {due}. It is held by "
            f"{payload.get('assignee') or 'the ' + str(payload.get('role', '')) + ' queue'}.\n{where}",
        )
    if kind == "task_escalation":
        return (
            f"Escalation: {title} ({product}) is overdue",
            f"“{title}” for {product} was due {due} and is still open. It is held by "
            f"{payload.get('assignee') or 'nobody (the ' + str(payload.get('role', '')) + ' queue)'}.\n"
            f"Reassign it or follow it up.\n{where}",
        )
    return f"{kind.replace('_', ' ').capitalize()} ({product})", f"{title}\n{where}"


def _addresses(session: Session, to: Mapping[str, Any]) -> tuple[str, ...]:
    users = {str(u) for u in to.get("users") or []}
    roles = {str(r) for r in to.get("roles") or []}
    found = {str(a) for a in to.get("addresses") or [] if a}
    if users or roles:
        found |= {
            r.email
            for r in active_users(session)
            if r.email and (r.username in users or roles & set(r.roles.split(",")))
        }
    return tuple(sorted(found))


def _checkpoint_message(checkpoint: Mapping[str, Any]) -> tuple[str, str]:
    try:
        body = json.loads(str(checkpoint.get("payload") or "{}"))
    except ValueError:
        body = {}
    subject = f"Audit checkpoint {body.get('id', '?')}: {body.get('global_position', '?')} events"
    text = (
        "Keep this message: it is a signed statement of the audit trail's state, outside its database.\n"
        "Verify a launch's bundle or the whole trail against it with `launchgate audit verify-bundle`.\n\n"
        f"{json.dumps(dict(checkpoint), indent=1, sort_keys=True)}\n"
    )
    return subject, text


def _who(payload: Mapping[str, Any]) -> str:
    to = payload.get("to") or {}
    parts = [f"user {u}" for u in to.get("users") or []] + [f"role {r}" for r in to.get("roles") or []]
    parts += [str(a) for a in to.get("addresses") or []]
    return ", ".join(parts) or "(no one)"


def _bullets(items: Iterable[str]) -> list[str]:
    found = [f"- {item}" for item in items]
    return found or ["- none"]


def _when(value: Any) -> str:
    if not value:
        return "(no date)"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{moment:%z})".replace("(UTC+0000)", "UTC")
