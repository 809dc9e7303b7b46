"""The safe subset of JSON Schema (draft 2020-12) a form may use, checked at deploy.

Every problem names its place by JSON pointer (``#/properties/beta_url/pattern``). What the subset keeps
out, and why:
- any ``$ref`` but a local ``#/$defs/<name>`` (no remote or file references: nothing is ever fetched), and
  recursive references (a form is a finite tree);
- unbounded values: every list needs ``maxItems`` (at most MAX_ITEMS_CAP), a text's ``maxLength`` is capped
  (DEFAULT_MAX_LENGTH when it declares none), maps need ``maxProperties``; the most values a submission can
  hold at those maxima is capped too (lists of lists multiply);
- patterns that are long or that the linear-time engine (RE2) cannot run (backreferences, look-around);
- formats other than date, date-time, email and uri; keywords outside the list below; extra fields
  (``additionalProperties`` is false, stated or implied);
- size: file bytes, nesting depth, number of subschemas and properties, enum sizes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import re2

from engine.forms import limits
from engine.forms.formats import FORMATS, parse_date, parse_date_time
from engine.forms.schema import DEFS_PREFIX, JsonObject

_SCHEMA_URIS: Final = frozenset(
    {"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#"}
)
_TYPES: Final = frozenset({"string", "integer", "number", "boolean", "object", "array", "null"})
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "$comment", "default", "examples", "readOnly", "writeOnly", "deprecated"}
)
_SUBSCHEMA_LISTS: Final = frozenset({"allOf", "anyOf", "oneOf"})
_SUBSCHEMA_ONE: Final = frozenset({"not", "if", "then", "else", "items", "additionalProperties"})
_DATE_BOUNDS: Final = frozenset({"formatMinimum", "formatMaximum"})
_SPIFF_DATE_CHECKS: Final = frozenset({"minimumDate", "maximumDate"})
_NUMBER_BOUNDS: Final = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_COUNTS: Final = frozenset(
    {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}
)
_ROOT_ONLY: Final = frozenset({"$schema", "$defs", "x-rules"})
_MESSAGE_KEYS: Final = frozenset({"x-messages", "validationErrorMessage"})
_NOT_SUPPORTED: Final[Mapping[str, str]] = {
    "$id": "'$id' is not supported: a form is one file, its references are local (#/$defs/...)",
    "$anchor": "'$anchor' is not supported: refer to '#/$defs/<name>'",
    "$dynamicRef": "'$dynamicRef' is not supported: refer to '#/$defs/<name>'",
    "$dynamicAnchor": "'$dynamicAnchor' is not supported",
    "definitions": "'definitions' is the old spelling: use '$defs' (draft 2020-12)",
    "dependencies": "'dependencies' is the old spelling: use 'dependentRequired'",
    "prefixItems": "'prefixItems' (tuples) is not supported: a list's items share one schema",
    "patternProperties": "'patternProperties' is not supported: declare each field in 'properties'",
    "unevaluatedProperties": "'unevaluatedProperties' is not supported: extra fields are always refused",
    "dependentSchemas": "'dependentSchemas' is not supported: use 'if'/'then' or 'x-rules'",
    "contains": "'contains' is not supported: use 'x-rules'",
}
KNOWN_KEYWORDS: Final = (
    _ANNOTATIONS
    | _SUBSCHEMA_LISTS
    | _SUBSCHEMA_ONE
    | _DATE_BOUNDS
    | _SPIFF_DATE_CHECKS
    | _NUMBER_BOUNDS
    | _COUNTS
    | _ROOT_ONLY
    | _MESSAGE_KEYS
    | {"$ref", "type", "properties", "required", "enum", "const", "uniqueItems", "pattern", "format"}
    | {"multipleOf", "dependentRequired", "propertyNames"}
)


@dataclass(frozen=True)
class SchemaProblem:
    """One problem in a form file: where (a JSON pointer into the file) and what."""

    pointer: str
    message: str


def pointer(parent: str, key: str | int) -> str:
    text = str(key).replace("~", "~0").replace("/", "~1")
    return f"{parent}/{text}"


@dataclass
class _Walk:
    root: JsonObject
    problems: list[SchemaProblem] = field(default_factory=list)
    subschemas: int = 0
    properties: int = 0

    def problem(self, where: str, message: str) -> None:
        self.problems.append(SchemaProblem(where, message))


def check_schema(root: object) -> list[SchemaProblem]:
    """Every way ``root`` (a parsed form schema) leaves the safe subset; empty when it is fine."""
    if not isinstance(root, Mapping):
        return [SchemaProblem("#", "a form schema must be a JSON object")]
    walk = _Walk(root)
    schema_uri = root.get("$schema")
    if schema_uri is not None and schema_uri not in _SCHEMA_URIS:
        walk.problem("#/$schema", f"use draft 2020-12 ({sorted(_SCHEMA_URIS)[0]}), not {schema_uri!r}")
    if root.get("type") != "object":
        walk.problem("#/type", 'a form schema must declare "type": "object"')
    defs = root.get("$defs", {})
    if not isinstance(defs, Mapping):
        walk.problem("#/$defs", "'$defs' must be an object of named schemas")
        defs = {}
    _check_node(walk, root, "#", depth=1)
    for name, definition in defs.items():
        _check_node(walk, definition, pointer("#/$defs", name), depth=1)
    if walk.subschemas > limits.MAX_SUBSCHEMAS:
        walk.problem("#", f"the form has {walk.subschemas} subschemas; the limit is {limits.MAX_SUBSCHEMAS}")
    if walk.properties > limits.MAX_PROPERTIES:
        walk.problem("#", f"the form declares {walk.properties} fields; the limit is {limits.MAX_PROPERTIES}")
    if not walk.problems:
        _check_expansion(walk)
    return walk.problems


def _check_node(walk: _Walk, node: object, where: str, *, depth: int) -> None:
    walk.subschemas += 1
    if walk.subschemas > limits.MAX_SUBSCHEMAS:
        return
    if not isinstance(node, Mapping):
        if not (node is False and where.endswith("/additionalProperties")):
            walk.problem(where, "a schema must be a JSON object")
        return
    if depth > limits.MAX_SCHEMA_DEPTH:
        walk.problem(where, f"schemas are nested more than {limits.MAX_SCHEMA_DEPTH} levels deep")
        return
    for key, value in node.items():
        if key in _ROOT_ONLY and where != "#":
            walk.problem(pointer(where, key), f"{key!r} may only appear at the top of the form file")
        elif key in _NOT_SUPPORTED:
            walk.problem(pointer(where, key), _NOT_SUPPORTED[key])
        elif key not in KNOWN_KEYWORDS:
            walk.problem(pointer(where, key), f"keyword {key!r} is not supported in a form schema")
        else:
            checker = _KEYWORD_CHECKS.get(key)
            if checker is not None:
                checker(walk, node, value, pointer(where, key), depth)
    _check_bounded(walk, node, where)


def _check_bounded(walk: _Walk, node: JsonObject, where: str) -> None:
    """A list needs maxItems; a map (additionalProperties as a schema) needs maxProperties."""
    types = _types(node)
    if ("array" in types or "items" in node) and "maxItems" not in node:
        walk.problem(where, f"a list needs 'maxItems' (at most {limits.MAX_ITEMS_CAP})")
    if isinstance(node.get("additionalProperties"), Mapping) and "maxProperties" not in node:
        walk.problem(where, f"a map needs 'maxProperties' (at most {limits.MAX_ITEMS_CAP})")
    for low, high in (
        ("minItems", "maxItems"),
        ("minLength", "maxLength"),
        ("minProperties", "maxProperties"),
    ):
        lo, hi = node.get(low), node.get(high)
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            walk.problem(pointer(where, low), f"{low} ({lo}) is more than {high} ({hi})")


def _types(node: JsonObject) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    return {t for t in declared if isinstance(t, str)} if isinstance(declared, list) else set()


# ------------------------------------------------------------------------------------------- keyword checks

_Check = Callable[[_Walk, JsonObject, Any, str, int], None]


def _check_type(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    names = value if isinstance(value, list) else [value]
    if not names or any(not isinstance(n, str) or n not in _TYPES for n in names):
        walk.problem(where, f"'type' must be one of {', '.join(sorted(_TYPES))} (or a list of them)")


def _check_properties(walk: _Walk, _node: JsonObject, value: Any, where: str, depth: int) -> None:
    if not isinstance(value, Mapping):
        walk.problem(where, "'properties' must be an object of named schemas")
        return
    for name, prop in value.items():
        walk.properties += 1
        if not _NAME.fullmatch(name):
            walk.problem(
                pointer(where, name),
                "a field name must start with a letter or '_' and hold only letters, digits and '_' "
                "(at most 64)",
            )
        _check_node(walk, prop, pointer(where, name), depth=depth + 1)


def _check_required(walk: _Walk, node: JsonObject, value: Any, where: str, _depth: int) -> None:
    if not isinstance(value, list) or any(not isinstance(n, str) for n in value):
        walk.problem(where, "'required' must be a list of field names")
        return
    props = node.get("properties")
    if isinstance(props, Mapping):
        for index, name in enumerate(value):
            if name not in props:
                walk.problem(pointer(where, index), f"required field {name!r} is not in 'properties'")


def _check_subschema(walk: _Walk, _node: JsonObject, value: Any, where: str, depth: int) -> None:
    if where.endswith("/additionalProperties") and value is True:
        walk.problem(where, "extra fields are always refused: 'additionalProperties' must be false")
        return
    _check_node(walk, value, where, depth=depth + 1)


def _check_subschema_list(walk: _Walk, _node: JsonObject, value: Any, where: str, depth: int) -> None:
    if not isinstance(value, list) or not value or len(value) > 50:
        walk.problem(where, "must be a list of 1 to 50 schemas")
        return
    if any(isinstance(v, str) and v.startswith("options_from_task_data_var:") for v in value):
        walk.problem(where, "options taken from task data are not supported: list the choices in the form")
        return
    for index, sub in enumerate(value):
        _check_node(walk, sub, pointer(where, index), depth=depth + 1)


def _check_count(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    key = where.rsplit("/", 1)[-1]
    cap = limits.MAX_LENGTH_CAP if key.endswith("Length") else limits.MAX_ITEMS_CAP
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= cap:
        walk.problem(where, f"{key!r} must be a whole number from 0 to {cap}")


def _check_number(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    key = where.rsplit("/", 1)[-1]
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        walk.problem(where, f"{key!r} must be a number")
    elif key == "multipleOf" and value <= 0:
        walk.problem(where, "'multipleOf' must be more than 0")


def _check_ref(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    defs = walk.root.get("$defs")
    if not isinstance(value, str) or not value.startswith(DEFS_PREFIX):
        walk.problem(where, f"only local references like '{DEFS_PREFIX}<name>' are allowed, not {value!r}")
    elif not isinstance(defs, Mapping) or value[len(DEFS_PREFIX) :] not in defs:
        walk.problem(where, f"{value!r} names no schema in '$defs'")


def _check_enum(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    if not isinstance(value, list) or not value or len(value) > limits.MAX_ENUM_VALUES:
        walk.problem(where, f"'enum' must list 1 to {limits.MAX_ENUM_VALUES} values")
    elif any(isinstance(v, dict | list) for v in value):
        walk.problem(where, "'enum' values must be texts, numbers, true/false or null")


def _check_const(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    if isinstance(value, dict | list):
        walk.problem(where, "'const' must be a text, a number, true/false or null")


def _check_pattern(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    problem = pattern_problem(value)
    if problem is not None:
        walk.problem(where, problem)


def pattern_problem(value: object) -> str | None:
    """Why a ``pattern`` is refused, or None. Patterns run on RE2 (linear time, no backtracking)."""
    if not isinstance(value, str):
        return "'pattern' must be a text"
    if len(value) > limits.MAX_PATTERN_LENGTH:
        return f"the pattern is {len(value)} characters long; the limit is {limits.MAX_PATTERN_LENGTH}"
    try:
        compile_pattern(value)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        )
        return (
            f"the pattern is not valid for the linear-time engine RE2 ({reason}); backreferences and "
            "look-around are not supported"
        )
    return None


def compile_pattern(value: str) -> Any:
    """The RE2 program of a pattern (bounded memory); raises re2.error."""
    options = re2.Options()
    options.max_mem = 1 << 20
    options.log_errors = False
    return re2.compile(value, options)


def _check_format(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    if value not in FORMATS:
        walk.problem(where, f"format {value!r} is not supported; use one of {', '.join(FORMATS)}")


def _check_date_bound(walk: _Walk, node: JsonObject, value: Any, where: str, _depth: int) -> None:
    fmt = node.get("format")
    parse = {"date": parse_date, "date-time": parse_date_time}.get(fmt if isinstance(fmt, str) else "")
    if parse is None:
        walk.problem(where, "formatMinimum/formatMaximum need format date or date-time")
    elif not isinstance(value, str) or parse(value) is None:
        walk.problem(
            where, f"must be a {fmt} like {'2030-06-01' if fmt == 'date' else '2030-06-01T09:00:00Z'}"
        )


def _check_spiff_date(walk: _Walk, node: JsonObject, value: Any, where: str, _depth: int) -> None:
    parts = value.split(",") if isinstance(value, str) else []
    if not parts:
        walk.problem(where, "must be 'today' or 'field:<name>' (several separated by commas)")
    for part in parts:
        name = part.strip().removeprefix("field:")
        if part.strip() != "today" and not (part.strip().startswith("field:") and _NAME.fullmatch(name)):
            walk.problem(where, f"{part.strip()!r} is neither 'today' nor 'field:<name>'")
    if node.get("format") not in (None, "date"):
        walk.problem(where, "minimumDate/maximumDate apply to dates (format date)")


def _check_texts(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    key = where.rsplit("/", 1)[-1]
    if key == "x-messages":
        if not isinstance(value, Mapping) or any(
            not isinstance(k, str) or not _short_text(v) for k, v in value.items()
        ):
            walk.problem(where, "'x-messages' must map keywords to messages (texts)")
    elif key in {"title", "description", "$comment", "validationErrorMessage"} and not isinstance(value, str):
        walk.problem(where, f"{key!r} must be a text")


def _short_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limits.MAX_MESSAGE_LENGTH


def _check_dependent_required(walk: _Walk, _node: JsonObject, value: Any, where: str, _depth: int) -> None:
    if not isinstance(value, Mapping) or any(
        not isinstance(names, list) or any(not isinstance(n, str) for n in names) for names in value.values()
    ):
        walk.problem(where, "'dependentRequired' must map a field name to a list of field names")


_KEYWORD_CHECKS: Final[Mapping[str, _Check]] = {
    "type": _check_type,
    "properties": _check_properties,
    "required": _check_required,
    "propertyNames": _check_subschema,
    "enum": _check_enum,
    "const": _check_const,
    "pattern": _check_pattern,
    "format": _check_format,
    "$ref": _check_ref,
    "dependentRequired": _check_dependent_required,
    "multipleOf": _check_number,
    **dict.fromkeys(_SUBSCHEMA_ONE, _check_subschema),
    **dict.fromkeys(_SUBSCHEMA_LISTS, _check_subschema_list),
    **dict.fromkeys(_COUNTS, _check_count),
    **dict.fromkeys(_NUMBER_BOUNDS, _check_number),
    **dict.fromkeys(_DATE_BOUNDS, _check_date_bound),
    **dict.fromkeys(_SPIFF_DATE_CHECKS, _check_spiff_date),
    **dict.fromkeys(
        {"title", "description", "$comment", "validationErrorMessage", "x-messages"}, _check_texts
    ),
}


# ------------------------------------------------------------------------------ expansion (through $refs)


def _check_expansion(walk: _Walk) -> None:
    """Refs must not recurse, and the largest submission the form allows must stay small."""
    sizes: dict[str, int] = {}
    try:
        total = _instance_values(walk.root, walk.root, sizes, visiting=())
    except _RecursiveError as exc:
        walk.problem(f"#/$defs/{exc.name}", "recursive '$ref' is not supported: a form is a finite tree")
        return
    except _TooDeepError:
        walk.problem("#", f"through '$ref's, schemas nest more than {_MAX_EXPANDED_DEPTH} levels deep")
        return
    if total > limits.MAX_INSTANCE_VALUES:
        walk.problem(
            "#",
            f"at its maxItems the form holds up to {total} values; the limit is {limits.MAX_INSTANCE_VALUES} "
            "(lower maxItems of nested lists)",
        )


_MAX_EXPANDED_DEPTH: Final = 3 * limits.MAX_SCHEMA_DEPTH


class _TooDeepError(Exception):
    pass


class _RecursiveError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _instance_values(root: JsonObject, node: object, sizes: dict[str, int], visiting: tuple[str, ...]) -> int:
    """The most values a submission can hold at ``node`` (capped, so a wide form cannot overflow)."""
    if not isinstance(node, Mapping):
        return 1
    if len(visiting) > _MAX_EXPANDED_DEPTH:
        raise _TooDeepError
    own = 1
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFS_PREFIX):
        name = ref[len(DEFS_PREFIX) :]
        if name in visiting:
            raise _RecursiveError(name)
        if name not in sizes:
            defs = root.get("$defs")
            target = defs.get(name) if isinstance(defs, Mapping) else None
            sizes[name] = _instance_values(root, target, sizes, (*visiting, name))
        own = max(own, sizes[name])
    props = node.get("properties")
    if isinstance(props, Mapping):
        nested = (*visiting, "")
        own = max(own, 1 + sum(_instance_values(root, p, sizes, nested) for p in props.values()))
    for key in ("items", "additionalProperties"):
        inner = node.get(key)
        count_key = "maxItems" if key == "items" else "maxProperties"
        if isinstance(inner, Mapping):
            count = node.get(count_key)
            times = count if isinstance(count, int) else limits.MAX_ITEMS_CAP
            own = max(own, 1 + times * _instance_values(root, inner, sizes, (*visiting, "")))
    for key in _SUBSCHEMA_LISTS:
        for sub in node.get(key) or ():
            own = max(own, _instance_values(root, sub, sizes, visiting))
    for key in ("if", "then", "else", "not"):
        if isinstance(node.get(key), Mapping):
            own = max(own, _instance_values(root, node[key], sizes, visiting))
    return min(own, limits.MAX_INSTANCE_VALUES * 10)
