"""Human wording of schema problems: "Planned launch date: must be a date like 2030-06-01".

Every message starts with the field's title (engine.forms.schema.field_label). A form may word its own: in a
field's schema, ``"x-messages": {"<keyword>": "…"}`` replaces the message of that keyword, and spiff-arena's
``"validationErrorMessage": "…"`` replaces every message of that field's own keywords.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from jsonschema.exceptions import ValidationError

from engine.errors import FieldProblem
from engine.forms.schema import JsonObject, field_label, schema_at

PROBLEM_TYPES: Final[Mapping[str, str]] = {
    "required": "missing",
    "additionalProperties": "extra_forbidden",
    "minLength": "string_too_short",
    "maxLength": "string_too_long",
    "minItems": "too_short",
    "maxItems": "too_long",
    "minProperties": "too_short",
    "maxProperties": "too_long",
    "minimum": "greater_than_equal",
    "maximum": "less_than_equal",
    "exclusiveMinimum": "greater_than",
    "exclusiveMaximum": "less_than",
    "formatMinimum": "greater_than_equal",
    "formatMaximum": "less_than_equal",
    "multipleOf": "multiple_of",
    "uniqueItems": "unique_items",
    "pattern": "pattern_mismatch",
    "dependentRequired": "missing",
}
_FORMAT_TYPES: Final = {"date": "date_invalid", "date-time": "datetime_invalid", "email": "email_invalid"}
_FORMAT_WORDS: Final = {
    "date": "must be a date like 2030-06-01",
    "date-time": "must be a date and time with its time zone, like 2030-06-01T09:00:00+02:00",
    "email": "must be an e-mail address, like name@example.com",
    "uri": "must be an http:// or https:// address, like https://example.com",
}
_TYPE_WORDS: Final = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a group of fields",
    "null": "empty",
}
# When one field has several problems, the most basic one is reported.
_RANK: Final = {
    **dict.fromkeys(("type", "required", "additionalProperties"), 0),
    **dict.fromkeys(("enum", "const"), 1),
    **dict.fromkeys(("minLength", "maxLength", "minItems", "maxItems"), 2),
    "format": 3,
    "pattern": 4,
}


def problems_of(errors: Sequence[ValidationError], root: JsonObject) -> list[FieldProblem]:
    """One problem per field (the most basic of its errors), in the order the fields failed."""
    best: dict[tuple[str | int, ...], ValidationError] = {}
    for error in errors:
        loc = tuple(error.absolute_path)
        known = best.get(loc)
        if known is None or _RANK.get(str(error.validator), 5) < _RANK.get(str(known.validator), 5):
            best[loc] = error
    return [_problem(error, loc, root) for loc, error in best.items()]


def _problem(error: ValidationError, loc: tuple[str | int, ...], root: JsonObject) -> FieldProblem:
    keyword = str(error.validator)
    node = schema_at(root, loc)
    custom = _custom(error.schema, keyword) or (_custom(node, keyword) if node is not None else None)
    message = custom or wording(keyword, error.validator_value, error.instance, node)
    kind = PROBLEM_TYPES.get(keyword, keyword)
    if keyword == "format":
        kind = _FORMAT_TYPES.get(str(error.validator_value), "url_invalid")
    if keyword == "type":
        kind = f"{_first_type(error.validator_value)}_type"
    return FieldProblem(loc=loc, message=f"{field_label(root, loc)}: {message}", type=kind)


def _custom(schema: object, keyword: str) -> str | None:
    if not isinstance(schema, Mapping):
        return None
    messages = schema.get("x-messages")
    if isinstance(messages, Mapping) and isinstance(messages.get(keyword), str):
        return str(messages[keyword])
    own = schema.get("validationErrorMessage")
    if isinstance(own, str) and keyword not in {"required", "additionalProperties"}:
        return own
    return None


def _first_type(value: object) -> str:
    if isinstance(value, list) and value:
        return str(value[0])
    return str(value)


def wording(keyword: str, expected: Any, instance: Any, node: JsonObject | None) -> str:
    """The default words for one keyword's failure."""
    simple = _simple_wording(keyword, expected, instance)
    if simple is not None:
        return simple
    if keyword == "format":
        return _FORMAT_WORDS.get(str(expected), "has the wrong form")
    if keyword == "enum":
        return "must be one of: " + ", ".join(_choice(v) for v in expected)
    if keyword == "const":
        return "must be checked" if expected is True else f"must be {_choice(expected)}"
    if keyword == "type":
        names = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)
    if keyword in {"oneOf", "anyOf"}:
        titles = [str(o.get("title")) for o in expected if isinstance(o, Mapping) and "const" in o]
        return "must be one of: " + ", ".join(titles) if titles else "does not fit any of the allowed forms"
    if keyword == "not":
        return "has a value that is not allowed"
    if keyword == "dependentRequired":
        return "is required with the fields filled in here"
    return "is not valid here"


def _simple_wording(keyword: str, expected: Any, instance: Any) -> str | None:
    size = len(instance) if isinstance(instance, str | list | dict) else 0
    if keyword == "required":
        return "is required"
    if keyword == "additionalProperties":
        return "is not a field of this form"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
    if keyword == "maxLength":
        return f"must be at most {expected} characters long (it has {size})"
    if keyword in {"minItems", "minProperties"}:
        return f"add at least {expected} (there are {size})"
    if keyword in {"maxItems", "maxProperties"}:
        return f"keep it to at most {expected} (there are {size})"
    bounds = {
        "minimum": "at least",
        "maximum": "at most",
        "exclusiveMinimum": "more than",
        "exclusiveMaximum": "less than",
        "formatMinimum": "on or after",
        "formatMaximum": "on or before",
    }
    if keyword in bounds:
        return f"must be {bounds[keyword]} {_choice(expected)}"
    if keyword == "multipleOf":
        return f"must be a multiple of {expected}"
    if keyword == "uniqueItems":
        return "must not list the same entry twice"
    if keyword == "pattern":
        return "does not have the expected form"
    return None


def _choice(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
