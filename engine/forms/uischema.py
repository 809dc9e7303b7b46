"""The UI schema beside a form (spiff-arena's / react-jsonschema-form's ``ui:`` hints), checked at deploy.

Only presentation lives here: field order, widgets, help texts, placeholders, titles. A key that names no
field of the form, or a malformed hint, is an error; a hint or widget Launch Gate does not know is a warning
(the renderer then uses its default), so a UI schema written for spiff-arena still deploys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from engine.forms import limits
from engine.forms.schema import JsonObject, items_of, properties_of, resolve, types_of
from engine.forms.subset import SchemaProblem, pointer

WIDGETS: Final = frozenset(
    {"text", "textarea", "date", "datetime", "select", "radio", "checkbox", "checkboxes", "email", "uri"}
    | {"url", "updown", "hidden"}
)
_TEXT_HINTS: Final = frozenset({"ui:help", "ui:placeholder", "ui:title", "ui:description"})
_FLAG_HINTS: Final = frozenset({"ui:autofocus", "ui:readonly", "ui:disabled"})
_OBJECT_HINTS: Final = frozenset({"ui:options", "ui:submitButtonOptions"})
_KNOWN_HINTS: Final = _TEXT_HINTS | _FLAG_HINTS | _OBJECT_HINTS | {"ui:order", "ui:widget"}


@dataclass
class UiCheck:
    errors: list[SchemaProblem] = field(default_factory=list)
    warnings: list[SchemaProblem] = field(default_factory=list)


def check_ui_schema(root: JsonObject, ui: object) -> UiCheck:
    """Errors and warnings of a UI schema ``ui`` for the form schema ``root``."""
    result = UiCheck()
    if not isinstance(ui, Mapping):
        result.errors.append(SchemaProblem("#", "a UI schema must be a JSON object"))
        return result
    _walk(root, resolve(root, root), ui, "#", result)
    return result


def _walk(root: JsonObject, node: JsonObject, ui: Mapping[str, Any], where: str, result: UiCheck) -> None:
    props = properties_of(root, node)
    is_list = "array" in types_of(node) or "items" in node
    for key, value in ui.items():
        here = pointer(where, key)
        if key.startswith("ui:"):
            _check_hint(key, value, props, here, result)
        elif key == "items" and is_list:
            _nested(root, items_of(root, node), value, here, result)
        elif key in props:
            _nested(root, props[key], value, here, result)
        else:
            result.errors.append(SchemaProblem(here, f"{key!r} is not a field of the form"))


def _nested(root: JsonObject, node: JsonObject, value: object, where: str, result: UiCheck) -> None:
    if isinstance(value, Mapping):
        _walk(root, node, value, where, result)
    else:
        result.errors.append(SchemaProblem(where, "the hints of a field must be a JSON object"))


def _check_hint(key: str, value: Any, props: Mapping[str, JsonObject], where: str, result: UiCheck) -> None:
    if key not in _KNOWN_HINTS:
        result.warnings.append(SchemaProblem(where, f"{key!r} is not used by Launch Gate; it is ignored"))
    elif key in _TEXT_HINTS:
        if not isinstance(value, str) or len(value) > limits.MAX_UI_TEXT_LENGTH:
            result.errors.append(
                SchemaProblem(where, f"{key!r} must be a text of at most {limits.MAX_UI_TEXT_LENGTH}")
            )
    elif key in _FLAG_HINTS:
        if not isinstance(value, bool):
            result.errors.append(SchemaProblem(where, f"{key!r} must be true or false"))
    elif key == "ui:widget":
        if not isinstance(value, str):
            result.errors.append(SchemaProblem(where, "'ui:widget' must be a widget name"))
        elif value not in WIDGETS:
            result.warnings.append(
                SchemaProblem(where, f"widget {value!r} is not supported here; the default widget is used")
            )
    elif key in _OBJECT_HINTS:
        if not isinstance(value, Mapping):
            result.errors.append(SchemaProblem(where, f"{key!r} must be a JSON object"))
    else:
        _check_order(value, props, where, result)


def _check_order(value: Any, props: Mapping[str, JsonObject], where: str, result: UiCheck) -> None:
    if not isinstance(value, list) or any(not isinstance(name, str) for name in value):
        result.errors.append(SchemaProblem(where, "'ui:order' must be a list of field names"))
        return
    for index, name in enumerate(value):
        if name != "*" and name not in props:
            result.errors.append(SchemaProblem(pointer(where, index), f"{name!r} is not a field of the form"))
    if len(set(value)) != len(value):
        result.errors.append(SchemaProblem(where, "'ui:order' names a field twice"))
