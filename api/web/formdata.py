"""Task forms in plain HTML: what a browser posts <-> the nested data the engine validates.

Driven by the form's field tree (api/web/formtree.py). Names are paths joined by `-`: `field`,
`group-field` (a nested object), `field-<i>` (a list of texts), `field-<i>-<sub>` (a list of rows); a list of
choices posts its name once per ticked box. Rows left entirely blank are dropped, so an empty spare row never
causes an error. Values are passed on as typed as HTML allows; the engine's form is the single validation
path. Nothing here raises on what a browser sends: unknown names are ignored, indexes are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from api.web.formtree import FormField

MAX_ROWS = 500
Posted = Mapping[str, Sequence[str]]  # name -> every value posted under it
# ASCII digits only: `\d` and str.isdigit() also accept "²" or "٣", which int() may refuse.
_INDEX = re.compile(r"[0-9]{1,4}")
_INTEGER = re.compile(r"-?[0-9]{1,15}")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
_ROW_ACTION = re.compile(r"(?P<kind>add|remove):(?P<name>[A-Za-z0-9_-]{1,200})(?::(?P<index>[0-9]{1,4}))?")


class FormActionError(ValueError):
    """The form's `action` is none of the buttons a task page offers: the page answers 400."""


@dataclass(frozen=True)
class FormAction:
    """What a task form's button asks for: complete the task, save a draft, add or remove a row."""

    kind: Literal["submit", "save_draft", "add", "remove"]
    name: str = ""
    index: int = -1


def decode_action(raw: str | None) -> FormAction:
    """The button that sent a task form: `submit` (also when none is named), `save_draft`,
    `add:<list>` or `remove:<list>:<row>` (a list's HTML name). Anything else raises FormActionError
    (never another exception), so a forged button neither completes the task nor fails the page."""
    if raw is None or raw == "submit":
        return FormAction("submit")
    if raw == "save_draft":
        return FormAction("save_draft")
    match = _ROW_ACTION.fullmatch(raw)
    if match is None or (match["kind"] == "add") == (match["index"] is not None):
        raise FormActionError("The form was sent by a button this page does not have.")
    if match["kind"] == "add":
        return FormAction("add", match["name"])
    return FormAction("remove", match["name"], int(match["index"]))


def posted(items: Sequence[tuple[str, Any]]) -> dict[str, list[str]]:
    """A request's form items (text values only; files are ignored) grouped by name."""
    found: dict[str, list[str]] = {}
    for key, value in items:
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found


def parse(fields: Sequence[FormField], form: Posted, prefix: str = "") -> dict[str, Any]:
    """The posted fields -> nested data for the engine (only the fields the form sent)."""
    data: dict[str, Any] = {}
    for field in fields:
        if field.readonly:
            continue
        name = f"{prefix}{field.key}"
        value = _value(field, form, name)
        if value is not _ABSENT:
            data[field.key] = value
    return data


_ABSENT: Any = object()
_TEXTS = frozenset({"text", "textarea", "hidden"})


def _value(field: FormField, form: Posted, name: str) -> Any:
    if field.widget == "fieldset":
        inner = parse(field.children, form, f"{name}-")
        return inner if inner or _sent_under(form, name) else _ABSENT
    if field.widget == "checkboxes":
        allowed = {value for value, _ in field.options}
        return (
            [v for v in form.get(name, ()) if v in allowed] if name in form or _sent_under(form, name) else []
        )
    if field.widget in {"rows", "list"}:
        return _list(field, form, name)
    if field.widget == "checkbox":
        return name in form
    if name not in form:
        return _ABSENT
    raw = form[name][-1]
    if not raw.strip() and not field.required and not field.nullable and field.widget not in _TEXTS:
        return _ABSENT  # an optional choice, date or number left blank: not given (its default applies)
    return scalar(field, raw)


def _sent_under(form: Posted, name: str) -> bool:
    return any(key.startswith(f"{name}-") for key in form)


def _list(field: FormField, form: Posted, name: str) -> list[Any]:
    indexes: set[int] = set()
    for key in form:
        if key.startswith(f"{name}-"):
            head = key[len(name) + 1 :].split("-", 1)[0]
            if _INDEX.fullmatch(head) and int(head) < MAX_ROWS:
                indexes.add(int(head))
    found: list[Any] = []
    for index in sorted(indexes):
        here = f"{name}-{index}"
        if field.widget == "list":
            text = form.get(here, [""])[-1]
            if text.strip():
                found.append(scalar(field.item, text))
            continue
        row_keys = [k for k in form if k == here or k.startswith(f"{here}-")]
        if all(not v.strip() for k in row_keys for v in form[k]):
            continue  # a blank (spare) row
        found.append(parse(field.children, form, f"{here}-"))
    return found


def scalar(field: FormField, raw: str) -> Any:
    value = raw.replace("\r\n", "\n").strip()
    if value == "" and field.nullable:
        return None
    if field.widget == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if field.widget == "datetime" and _LOCAL_DATETIME.fullmatch(value):
        return value + "+00:00"  # the form asks for UTC
    return value


def with_spare_rows(
    fields: Sequence[FormField], data: Mapping[str, Any], *, add: str | None = None, prefix: str = ""
) -> dict[str, Any]:
    """Data for display: every list shows at least its minimum number of rows (at least one), plus one more
    in the list named `add`."""
    shown = dict(data)
    for field in fields:
        name = f"{prefix}{field.key}"
        current = shown.get(field.key)
        if field.widget == "fieldset":
            shown[field.key] = with_spare_rows(
                field.children, current if isinstance(current, Mapping) else {}, add=add, prefix=f"{name}-"
            )
        elif field.widget in {"rows", "list"}:
            rows = list(current) if isinstance(current, list) else []
            blank: Any = "" if field.widget == "list" else {}
            while len(rows) < max(field.min_items, 1):
                rows.append(blank)
            if add == name and len(rows) < min(MAX_ROWS, field.max_items or MAX_ROWS):
                rows.append(blank)
            if field.widget == "rows":
                rows = [
                    with_spare_rows(
                        field.children,
                        row if isinstance(row, Mapping) else {},
                        add=add,
                        prefix=f"{name}-{i}-",
                    )
                    for i, row in enumerate(rows)
                ]
            shown[field.key] = rows
    return shown


def without_row(
    fields: Sequence[FormField], data: Mapping[str, Any], name: str, index: int
) -> dict[str, Any]:
    """`data` without row `index` of the list whose HTML name is `name` (anywhere in the form)."""
    shown = dict(data)
    for field in fields:
        if field.widget in {"rows", "list"} and field.key == name:
            rows = list(shown.get(field.key) or [])
            if 0 <= index < len(rows):
                del rows[index]
            shown[field.key] = rows
        elif field.widget == "fieldset" and name.startswith(f"{field.key}-"):
            inner = shown.get(field.key)
            shown[field.key] = without_row(
                field.children, inner if isinstance(inner, Mapping) else {}, name[len(field.key) + 1 :], index
            )
        elif field.widget == "rows" and name.startswith(f"{field.key}-"):
            head, _, rest = name[len(field.key) + 1 :].partition("-")
            rows = list(shown.get(field.key) or [])
            if _INDEX.fullmatch(head) and int(head) < len(rows) and isinstance(rows[int(head)], Mapping):
                rows[int(head)] = without_row(field.children, rows[int(head)], rest, index)
                shown[field.key] = rows
    return shown


def errors_by_field(problems: list[tuple[tuple[str | int, ...], str]]) -> dict[str, list[str]]:
    """Field errors keyed like the HTML names: `field`, `field-2`, `field-2-sub`."""
    found: dict[str, list[str]] = {}
    for loc, message in problems:
        key = "-".join(str(part) for part in loc) or "__form__"
        found.setdefault(key, []).append(message)
    return found
