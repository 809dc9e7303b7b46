"""Task forms in plain HTML: flat field names <-> nested data, driven by the form's JSON schema.

Names: `field`, `field-<i>` (list of strings), `field-<i>-<sub>` (list of rows). Rows left entirely blank are
dropped, so an empty spare row never causes an error. Values are passed to the engine as typed as HTML
allows; the engine's form model is the single validation path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# ASCII digits only: `\d` and str.isdigit() also accept "²" or "٣", which int() may refuse.
_INDEX = re.compile(r"^(?P<name>[a-z_]+)-(?P<index>[0-9]{1,4})(?:-(?P<sub>[a-z_]+))?$")
_ROW_ACTION = re.compile(r"(?P<kind>add|remove):(?P<name>[a-z_]{1,100})(?::(?P<index>[0-9]{1,4}))?")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?")
MAX_ROWS = 500


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
    `add:<field>` or `remove:<field>:<row>`. Anything else raises FormActionError (never another
    exception), so a forged button neither completes the task nor fails the page."""
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


def resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    """Follow $ref into $defs and unwrap Optional (anyOf with null)."""
    current = dict(node)
    while "$ref" in current:
        name = current["$ref"].rsplit("/", 1)[-1]
        current = {
            **schema.get("$defs", {}).get(name, {}),
            **{k: v for k, v in current.items() if k != "$ref"},
        }
    kind = current.get("type")
    if isinstance(kind, list):  # "type": ["string", "null"]: an optional value of one type
        others = [t for t in kind if t != "null"]
        current = {**current, "type": others[0] if len(others) == 1 else others, "nullable": "null" in kind}
    if "anyOf" in current:
        options = [o for o in current["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            merged = {**current, **resolve(schema, options[0]), "nullable": True}
            merged.pop("anyOf", None)
            return merged
    return current


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    description: str
    kind: str  # text, textarea, email, url, date, datetime, number, select, checkbox, list, rows
    required: bool
    options: tuple[str, ...] = ()
    max_length: int | None = None
    min_items: int | None = None
    subfields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    nullable: bool = False


def _kind(prop: Mapping[str, Any]) -> str:
    if "enum" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind in {"integer", "number"}:
        return "number"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("format") == "email":
        return "email"
    if prop.get("format") == "uri":
        return "url"
    if kind == "string" and (prop.get("maxLength") or 0) > 200:
        return "textarea"
    return "text"


def field_specs(schema: Mapping[str, Any]) -> list[FieldSpec]:
    """The fields of a form model's JSON schema, in declaration order."""
    required = set(schema.get("required", []))
    specs = []
    for name, raw in schema.get("properties", {}).items():
        prop = resolve(schema, raw)
        title = str(prop.get("title") or name.replace("_", " ").capitalize())
        description = str(prop.get("description") or "")
        if prop.get("type") == "array":
            items = resolve(schema, prop.get("items", {}))
            if items.get("type") == "object":
                sub_required = set(items.get("required", []))
                subs = tuple(
                    FieldSpec(
                        name=sub,
                        title=str(resolve(schema, sp).get("title") or sub.replace("_", " ").capitalize()),
                        description=str(resolve(schema, sp).get("description") or ""),
                        kind=_kind(resolve(schema, sp)),
                        required=sub in sub_required,
                        options=tuple(str(o) for o in resolve(schema, sp).get("enum", ())),
                        max_length=resolve(schema, sp).get("maxLength"),
                        nullable=bool(resolve(schema, sp).get("nullable")),
                    )
                    for sub, sp in items.get("properties", {}).items()
                )
                specs.append(
                    FieldSpec(
                        name,
                        title,
                        description,
                        "rows",
                        name in required,
                        min_items=prop.get("minItems"),
                        subfields=subs,
                    )
                )
            else:
                specs.append(
                    FieldSpec(
                        name,
                        title,
                        description,
                        "list",
                        name in required,
                        max_length=items.get("maxLength"),
                        min_items=prop.get("minItems"),
                    )
                )
            continue
        specs.append(
            FieldSpec(
                name=name,
                title=title,
                description=description,
                kind=_kind(prop),
                required=name in required,
                options=tuple(str(o) for o in prop.get("enum", ())),
                max_length=prop.get("maxLength"),
                nullable=bool(prop.get("nullable")),
            )
        )
    return specs


def _scalar(spec: FieldSpec, raw: str | None) -> Any:
    if spec.kind == "checkbox":
        return raw is not None
    value = (raw or "").strip() if spec.kind != "textarea" else (raw or "").replace("\r\n", "\n").strip()
    if value == "" and spec.nullable:
        return None
    if spec.kind == "number" and re.fullmatch(r"-?[0-9]{1,12}", value):
        return int(value)
    if spec.kind == "datetime" and value and _LOCAL_DATETIME.fullmatch(value):
        return value + "+00:00"  # the form asks for UTC
    return value


def parse(specs: list[FieldSpec], form: Mapping[str, str]) -> dict[str, Any]:
    """Flat HTML form fields -> nested data for the engine."""
    data: dict[str, Any] = {}
    rows: dict[str, dict[int, dict[str, str]]] = {}
    items: dict[str, dict[int, str]] = {}
    for key, value in form.items():
        match = _INDEX.match(key)
        if not match:
            continue
        index = int(match["index"])
        if index >= MAX_ROWS:
            continue
        if match["sub"]:
            rows.setdefault(match["name"], {}).setdefault(index, {})[match["sub"]] = value
        else:
            items.setdefault(match["name"], {})[index] = value
    for spec in specs:
        if spec.kind == "rows":
            parsed = []
            for index in sorted(rows.get(spec.name, {})):
                raw_row = rows[spec.name][index]
                if all(not str(v).strip() for v in raw_row.values()):
                    continue
                parsed.append({sub.name: _scalar(sub, raw_row.get(sub.name)) for sub in spec.subfields})
            data[spec.name] = parsed
        elif spec.kind == "list":
            data[spec.name] = [v.strip() for _, v in sorted(items.get(spec.name, {}).items()) if v.strip()]
        elif spec.kind == "checkbox":
            data[spec.name] = spec.name in form
        elif spec.name in form:
            data[spec.name] = _scalar(spec, form.get(spec.name))
    return data


def with_spare_rows(
    specs: list[FieldSpec], data: Mapping[str, Any], *, add: str | None = None
) -> dict[str, Any]:
    """Data for display: every list shows at least its minimum number of rows, plus one when asked."""
    shown = dict(data)
    for spec in specs:
        if spec.kind not in {"rows", "list"}:
            continue
        current = list(shown.get(spec.name) or [])
        blank: Any = {sub.name: "" for sub in spec.subfields} if spec.kind == "rows" else ""
        while len(current) < max(spec.min_items or 0, 1):
            current.append(blank)
        if add == spec.name and len(current) < MAX_ROWS:
            current.append(blank)
        shown[spec.name] = current
    return shown


def without_row(data: Mapping[str, Any], name: str, index: int) -> dict[str, Any]:
    """Data for display without row `index` of list field `name` (unchanged when there is no such row)."""
    shown = dict(data)
    current = shown.get(name)
    if isinstance(current, list) and 0 <= index < len(current):
        shown[name] = current[:index] + current[index + 1 :]
    return shown


def errors_by_field(problems: list[tuple[tuple[str | int, ...], str]]) -> dict[str, list[str]]:
    """Field errors keyed like the HTML names: `field`, `field-2`, `field-2-sub`."""
    found: dict[str, list[str]] = {}
    for loc, message in problems:
        key = "-".join(str(part) for part in loc) or "__form__"
        found.setdefault(key, []).append(message)
    return found
