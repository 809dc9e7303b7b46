"""One compiled form: normalise a submission, validate it with `jsonschema`, check the form's rules.

The single validation path for task data and launch start data, whoever submits it (API, pages, engine).
Steps, in order:
1. normalise: surrounding whitespace is stripped from every text; a blank text where the schema allows null
   becomes null; a text that spells a number or true/false becomes one where the schema wants that type (an
   HTML form sends only texts); absent fields with a ``default`` get it;
2. validate with jsonschema (draft 2020-12) and our format checker; patterns run on RE2; extra fields are
   refused (``additionalProperties`` false is implied); texts without ``maxLength`` get DEFAULT_MAX_LENGTH;
3. check the form's rules (engine.forms.rules) where the schema found nothing;
4. store e-mail addresses with lower-case domains and date-times in one spelling.
Problems come back as one ValidationFailedError with a field-located, titled message per problem.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from engine.errors import FieldProblem, ValidationFailedError
from engine.forms import limits
from engine.forms.formats import CHECKS, comparable, normalized
from engine.forms.messages import problems_of
from engine.forms.rules import Rule, check_rules
from engine.forms.schema import JsonObject, items_of, properties_of, resolve, types_of
from engine.forms.subset import compile_pattern

_MAX_PROBLEMS_IN_MESSAGE: Final = 5
_TRUE: Final = frozenset({"true", "yes", "on", "1", "t", "y"})
_FALSE: Final = frozenset({"false", "no", "off", "0", "f", "n"})
_INTEGER: Final = re.compile(r"[+-]?\d{1,18}")
_NUMBER: Final = re.compile(r"[+-]?\d{1,18}(?:\.\d{1,18})?(?:[eE][+-]?\d{1,3})?")


# ------------------------------------------------------------------------------------- the validator class


@functools.lru_cache(maxsize=4096)
def _pattern(source: str) -> Any:
    return compile_pattern(source)


def _pattern_keyword(
    validator: Any, pattern: str, instance: Any, _schema: JsonObject
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _required_keyword(
    validator: Any, required: Sequence[str], instance: Any, _schema: JsonObject
) -> Iterator[ValidationError]:
    if isinstance(instance, Mapping):
        for name in required:
            if name not in instance:
                yield ValidationError(f"{name!r} is required", path=[name])


def _additional_keyword(
    validator: Any, extra: Any, instance: Any, schema: JsonObject
) -> Iterator[ValidationError]:
    if not isinstance(instance, Mapping):
        return
    declared = schema.get("properties") or {}
    for name, value in instance.items():
        if name in declared:
            continue
        if extra is False:
            yield ValidationError(f"{name!r} is not a field of this form", path=[name])
        elif isinstance(extra, Mapping):
            yield from validator.descend(value, extra, path=name)


def _format_bound(is_minimum: bool) -> Any:
    def check(validator: Any, bound: str, instance: Any, schema: JsonObject) -> Iterator[ValidationError]:
        fmt = schema.get("format")
        value, limit = comparable(fmt, instance), comparable(fmt, bound)
        if type(value) is not type(limit) or isinstance(value, str):
            return  # not a valid date: the format check reports it
        if (value < limit) if is_minimum else (value > limit):  # type: ignore[operator]
            yield ValidationError(f"{instance!r} is out of range")

    return check


_FORMAT_CHECKER: Final = FormatChecker(formats=())
for _name, _check in CHECKS.items():
    _FORMAT_CHECKER.checks(_name)(lambda value, _check=_check: not isinstance(value, str) or _check(value))

_FormValidator: Final[Any] = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    validators={
        "pattern": _pattern_keyword,
        "required": _required_keyword,
        "additionalProperties": _additional_keyword,
        "formatMinimum": _format_bound(is_minimum=True),
        "formatMaximum": _format_bound(is_minimum=False),
    },
)


# -------------------------------------------------------------------------------------------------- forms


class Form:
    """A checked form schema (and its UI schema), ready to validate submissions. Build it with
    engine.forms.package (which checks the safe subset first); immutable and shared between threads."""

    def __init__(
        self,
        *,
        name: str,
        schema: JsonObject,
        ui_schema: JsonObject | None = None,
        rules: Sequence[Rule] = (),
    ) -> None:
        self.name = name
        self.schema: JsonObject = schema
        self.ui_schema: JsonObject = ui_schema or {}
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._effective = effective_schema(schema, self.ui_schema)
        self._validator = _FormValidator(self._effective, format_checker=_FORMAT_CHECKER)

    @property
    def title(self) -> str:
        return str(self.schema.get("title") or self.name)

    def json_schema(self) -> dict[str, Any]:
        """The schema as validated (implied limits stated), for renderers and API clients."""
        return copy.deepcopy(dict(self._effective))

    def validate(self, data: object, *, today: date, subject: str) -> dict[str, Any]:
        """The submission, normalised, or ValidationFailedError with one problem per field."""
        if not isinstance(data, Mapping):
            problem = FieldProblem((), f"{self.title}: the form data must be a group of fields", "dict_type")
            raise ValidationFailedError(_summary(subject, [problem]), [problem])
        root = self._effective
        values = _normalise(root, root, data)
        problems = problems_of(list(self._validator.iter_errors(values)), root)
        if self.rules:
            comparable_values = _comparable(root, root, values)
            failed = [p.loc for p in problems]
            problems.extend(check_rules(self.rules, root, comparable_values, failed=failed, today=today))
        if problems:
            raise ValidationFailedError(_summary(subject, problems), problems)
        result: dict[str, Any] = _finish(root, root, values)
        return result


# ------------------------------------------------------------------------------- the schema as validated


def effective_schema(schema: JsonObject, ui_schema: JsonObject) -> JsonObject:
    """A copy of ``schema`` with what the subset implies stated: ``additionalProperties: false`` on every
    object with properties, ``maxLength`` on every text, and spiff-arena's rule that a required checkbox
    must be checked."""
    result: dict[str, Any] = copy.deepcopy(dict(schema))
    _imply(result, result, ui_schema)
    defs = result.get("$defs")
    if isinstance(defs, dict):
        for definition in defs.values():
            _imply(result, definition, {}, shared=True)
    return result


def _imply(root: JsonObject, node: object, ui: object, *, shared: bool = False) -> None:
    """``shared``: ``node`` is a $defs entry, whose default text length is given where it is used."""
    if not isinstance(node, dict):
        return
    types = types_of(resolve(root, node))
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if "string" in types and "maxLength" not in resolve(root, node) and not shared:
        node["maxLength"] = limits.DEFAULT_MAX_LENGTH
    ui_map = ui if isinstance(ui, Mapping) else {}
    props = node.get("properties")
    if isinstance(props, dict):
        required = node.get("required") or ()
        for name, prop in props.items():
            _imply(root, prop, ui_map.get(name))
            if name in required and _is_checkbox(root, prop, ui_map.get(name)):
                prop.setdefault("const", True)
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        _imply(root, node.get(key), ui_map.get("items") if key == "items" else None)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key) or ():
            _imply(root, sub, None)


def _is_checkbox(root: JsonObject, prop: object, ui: object) -> bool:
    resolved = resolve(root, prop)
    widget = ui.get("ui:widget") if isinstance(ui, Mapping) else None
    return types_of(resolved) == {"boolean"} and "const" not in resolved and widget in (None, "checkbox")


# --------------------------------------------------------------------------------------------- data walks


def _normalise(root: JsonObject, node: object, value: Any) -> Any:
    schema = resolve(root, node)
    if isinstance(value, str):
        return _normalise_text(schema, value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and types_of(schema) <= {"boolean", "null"}:
        return bool(value) if value in (0, 1) and "boolean" in types_of(schema) else value
    if isinstance(value, float) and value.is_integer() and types_of(schema) - {"null"} == {"integer"}:
        return int(value)
    if isinstance(value, Mapping):
        return _normalise_object(root, schema, value)
    if isinstance(value, list) and len(value) <= limits.MAX_ITEMS_CAP * 10:
        items = items_of(root, schema)
        return [_normalise(root, items, item) for item in value]
    return value


def _normalise_text(schema: JsonObject, text: str) -> Any:
    types = types_of(schema)
    if not types or "string" in types:
        return None if text == "" and "null" in types else text
    if text == "" and "null" in types:
        return None
    if "boolean" in types and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    if "integer" in types and _INTEGER.fullmatch(text):
        return int(text)
    if "number" in types and _NUMBER.fullmatch(text):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    return text


def _normalise_object(root: JsonObject, schema: JsonObject, value: Mapping[Any, Any]) -> dict[Any, Any]:
    props = properties_of(root, schema)
    extra = schema.get("additionalProperties")
    result: dict[Any, Any] = {}
    for key, item in value.items():
        inner = props.get(key) if isinstance(key, str) else None
        if inner is None and isinstance(extra, Mapping):
            inner = resolve(root, extra)
        result[key] = _normalise(root, inner, item) if inner is not None else item
    for name, prop in props.items():
        if name not in result and "default" in prop:
            result[name] = copy.deepcopy(prop["default"])
    return result


def _comparable(root: JsonObject, node: object, value: Any) -> Any:
    """The values rules compare: dates and date-times parsed, everything else as it is."""
    schema = resolve(root, node)
    if isinstance(value, str):
        fmt = schema.get("format")
        return comparable(fmt if isinstance(fmt, str) else None, value)
    if isinstance(value, Mapping):
        props = properties_of(root, schema)
        return {k: _comparable(root, props[k], v) if k in props else v for k, v in value.items()}
    if isinstance(value, list):
        items = items_of(root, schema)
        return [_comparable(root, items, item) for item in value]
    return value


def _finish(root: JsonObject, node: object, value: Any) -> Any:
    """The stored spelling of a valid submission (e-mail domains, date-times)."""
    schema = resolve(root, node)
    if isinstance(value, str):
        fmt = schema.get("format")
        return normalized(fmt, value) if isinstance(fmt, str) else value
    if isinstance(value, Mapping):
        props = properties_of(root, schema)
        extra = schema.get("additionalProperties")
        return {
            k: _finish(root, props.get(k) or (extra if isinstance(extra, Mapping) else None), v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        items = items_of(root, schema)
        return [_finish(root, items, item) for item in value]
    return value


def _summary(subject: str, problems: Sequence[FieldProblem]) -> str:
    shown = [
        f"{'.'.join(str(part) for part in problem.loc) or '(form)'}: {problem.message}"
        for problem in problems[:_MAX_PROBLEMS_IN_MESSAGE]
    ]
    more = len(problems) - len(shown)
    if more > 0:
        shown.append(f"and {more} more")
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return f"invalid data for {subject} ({count}): " + "; ".join(shown)
