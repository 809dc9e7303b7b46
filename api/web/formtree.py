"""What the generic form renderer draws: a form's JSON Schema and UI schema read into a tree of fields.

Any form a process package declares (engine/forms checks it at deploy) becomes a tree of `FormField`s: its
fields in `ui:order`, each with the widget to draw (from the schema's type and format, or `ui:widget`), its
title, help text and placeholder. forms/render.html draws the tree; api/web/formdata.py turns what a browser
posts back into the nested data the engine validates. HTML names are the field's path joined by `-`:
`decision`, `contact-email` (a nested object), `faq_entries-2-answer` (row 3 of a list of rows),
`channels-0` (a list of texts); the error keys of formdata.errors_by_field are the same names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

JsonObject = Mapping[str, Any]
SCALAR_WIDGETS: Final = frozenset(
    {"text", "textarea", "number", "integer", "checkbox", "select", "radio", "date", "datetime"}
    | {"email", "uri", "hidden"}
)
CONTAINERS: Final = frozenset({"fieldset", "rows", "list", "checkboxes"})
_DEFS = "#/$defs/"
_LONG_TEXT = 200  # a text allowing more than this many characters is drawn as a textarea


@dataclass(frozen=True)
class FormField:
    """One field of a form as drawn. `key` is the property name ("" for the item of a list of texts)."""

    key: str
    title: str
    widget: str  # one of SCALAR_WIDGETS or CONTAINERS
    help: str = ""
    placeholder: str = ""
    required: bool = False
    nullable: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_items: int = 0
    max_items: int | None = None
    text_rows: int = 4
    readonly: bool = False
    autofocus: bool = False
    heading: str = ""  # a section heading drawn before the field (`ui:options` {"heading": ...})
    children: tuple[FormField, ...] = ()  # fieldset: its fields; rows: a row's fields; list: the item

    @property
    def is_container(self) -> bool:
        return self.widget in CONTAINERS

    @property
    def item(self) -> FormField:
        """The item field of a list of texts."""
        return self.children[0]


def resolve(root: JsonObject, node: object) -> dict[str, Any]:
    """`node` with local `$ref`s followed (its own keywords win) and `["T", "null"]` / `anyOf` with null read
    as an optional T (`nullable`)."""
    if not isinstance(node, Mapping):
        return {}
    current = dict(node)
    for _ in range(16):
        ref = current.get("$ref")
        if not isinstance(ref, str) or not ref.startswith(_DEFS):
            break
        target = (root.get("$defs") or {}).get(ref[len(_DEFS) :])
        current = {
            **(target if isinstance(target, Mapping) else {}),
            **{k: v for k, v in current.items() if k != "$ref"},
        }
    declared = current.get("type")
    if isinstance(declared, list):
        others = [t for t in declared if t != "null"]
        current = {
            **current,
            "type": others[0] if len(others) == 1 else others,
            "nullable": "null" in declared,
        }
    options = current.get("anyOf")
    if isinstance(options, list):
        real = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
        if len(real) == 1 and len(real) < len(options):
            merged = {**{k: v for k, v in current.items() if k != "anyOf"}, **resolve(root, real[0])}
            return {**merged, "nullable": True}
    return current


def build_form(schema: JsonObject, ui_schema: JsonObject | None = None) -> tuple[FormField, ...]:
    """The fields of a form, in the UI schema's order."""
    return _fields(schema, resolve(schema, schema), ui_schema or {})


def _fields(root: JsonObject, node: JsonObject, ui: JsonObject) -> tuple[FormField, ...]:
    props = node.get("properties")
    if not isinstance(props, Mapping):
        return ()
    required = set(node.get("required") or ())
    return tuple(
        _field(root, name, resolve(root, props[name]), _hints(ui.get(name)), name in required)
        for name in ordered(list(props), ui.get("ui:order"))
    )


def ordered(names: Sequence[str], order: object) -> list[str]:
    """`names` in `ui:order` (react-jsonschema-form's rule: `*` stands for the fields it does not name)."""
    if not isinstance(order, list):
        return list(names)
    wanted = [n for n in order if isinstance(n, str)]
    rest = [n for n in names if n not in wanted]
    found: list[str] = []
    for name in wanted if "*" in wanted else [*wanted, "*"]:
        found.extend(rest if name == "*" else [name] if name in names else [])
    return found


def _hints(value: object) -> JsonObject:
    return value if isinstance(value, Mapping) else {}


def _text(ui: JsonObject, key: str, default: str = "") -> str:
    value = ui.get(key)
    return value if isinstance(value, str) else default


def _options(node: JsonObject) -> tuple[tuple[str, str], ...]:
    if isinstance(node.get("enum"), list):
        return tuple((str(v), str(v).replace("_", " ")) for v in node["enum"] if v is not None)
    choices = node.get("oneOf") or node.get("anyOf")
    if (
        isinstance(choices, list)
        and choices
        and all(isinstance(c, Mapping) and "const" in c for c in choices)
    ):
        return tuple((str(c["const"]), str(c.get("title") or c["const"])) for c in choices)
    return ()


def _field(root: JsonObject, key: str, node: JsonObject, ui: JsonObject, required: bool) -> FormField:
    title = _text(ui, "ui:title") or str(node.get("title") or key.replace("_", " ").capitalize())
    base: dict[str, Any] = {
        "key": key,
        "title": title,
        "help": _text(ui, "ui:help") or _text(ui, "ui:description") or str(node.get("description") or ""),
        "placeholder": _text(ui, "ui:placeholder"),
        "required": required,
        "nullable": bool(node.get("nullable")),
        "readonly": ui.get("ui:readonly") is True or ui.get("ui:disabled") is True,
        "autofocus": ui.get("ui:autofocus") is True,
        "heading": str(_hints(ui.get("ui:options")).get("heading") or ""),
    }
    kind = node.get("type")
    if kind == "object" or (kind is None and "properties" in node):
        return FormField(widget="fieldset", children=_fields(root, node, ui), **base)
    if kind == "array" or "items" in node:
        return _list_field(root, node, ui, base)
    return _scalar_field(node, ui, base)


def _list_field(root: JsonObject, node: JsonObject, ui: JsonObject, base: dict[str, Any]) -> FormField:
    items = resolve(root, node.get("items"))
    bounds: dict[str, Any] = {
        "min_items": int(node.get("minItems") or 0),
        "max_items": node.get("maxItems") if isinstance(node.get("maxItems"), int) else None,
    }
    item_ui = _hints(ui.get("items"))
    if items.get("type") == "object" or "properties" in items:
        return FormField(widget="rows", children=_fields(root, items, item_ui), **bounds, **base)
    options = _options(items)
    if options:
        return FormField(widget="checkboxes", options=options, **bounds, **base)
    item = _scalar_field(
        items, item_ui, {"key": "", "title": base["title"], "placeholder": _text(item_ui, "ui:placeholder")}
    )
    return FormField(widget="list", children=(item,), **bounds, **base)


def _scalar_field(node: JsonObject, ui: JsonObject, base: dict[str, Any]) -> FormField:
    options = _options(node)
    widget = _default_widget(node, options)
    asked = ui.get("ui:widget")
    if isinstance(asked, str):
        widget = _chosen_widget(asked, widget, node, options)
    if node.get("type") == "boolean" and widget in {"radio", "select"}:
        options = (("true", "Yes"), ("false", "No"))
    rows = _hints(ui.get("ui:options")).get("rows")
    number = [node.get(k) if isinstance(node.get(k), (int, float)) else None for k in ("minimum", "maximum")]
    return FormField(
        widget=widget,
        options=options,
        max_length=node.get("maxLength") if isinstance(node.get("maxLength"), int) else None,
        minimum=number[0],
        maximum=number[1],
        text_rows=rows if isinstance(rows, int) and 0 < rows <= 40 else 4,
        **base,
    )


def _default_widget(node: JsonObject, options: tuple[tuple[str, str], ...]) -> str:
    kind, fmt = node.get("type"), node.get("format")
    if options:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in {"integer", "number"}:
        return str(kind)
    formats = {"date": "date", "date-time": "datetime", "email": "email", "uri": "uri"}
    if fmt in formats:
        return formats[str(fmt)]
    length = node.get("maxLength")
    return "textarea" if isinstance(length, int) and length > _LONG_TEXT else "text"


def _chosen_widget(asked: str, default: str, node: JsonObject, options: tuple[tuple[str, str], ...]) -> str:
    """`ui:widget` where it fits the field's type; the default widget otherwise."""
    if asked in {"select", "radio"} and (options or node.get("type") == "boolean"):
        return asked
    if asked in {"textarea", "text"} and default in {"text", "textarea"}:
        return asked
    if asked == "hidden":
        return "hidden"
    return default  # e.g. updown on a number, date on a date: the default already is that widget


def anchor(fields: Sequence[FormField], name: str) -> str:
    """The element id an error summary links to for the error key `name`: the input of a field, else the
    group (fieldset, row) it is about."""
    return name if _is_input(fields, name.split("-")) else f"field-{name}"


def _is_input(fields: Sequence[FormField], parts: list[str]) -> bool:
    key, rest = (parts[0], parts[1:]) if parts else ("", [])
    for found in fields:
        if found.key != key:
            continue
        if found.widget in {"checkboxes", "radio"}:  # a group of inputs: the summary links to the group
            return False
        if not found.is_container:
            return not rest
        if found.widget == "fieldset":
            return _is_input(found.children, rest)
        if not rest or not rest[0].isdigit():
            return False
        if found.widget == "list":
            return len(rest) == 1
        return len(rest) > 1 and _is_input(found.children, rest[1:])
    return False
