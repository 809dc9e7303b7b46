"""Cross-field rules declared in a form file, evaluated with the safe expression grammar.

A form's top level may hold ``"x-rules"``: a list of rules, checked in order after the schema::

    {"rule": "beta_end >= beta_start", "field": "beta_end", "type": "date_order",
     "message": "must not be before the beta start ({beta_start})"}
    {"for_each": "categories", "field": "parent",
     "rule": "row.parent is None or row.parent in column(categories, 'name')",
     "message": "'{row.parent}' is not one of the categories in this list"}

- ``rule``: an expression of engine.expressions with the rule functions (len, lower, column, ancestors); it
  must give true for the data to pass. Names are the form's fields (absent optional fields are None);
  dates and date-times compare as dates; ``today`` is the engine clock's date.
- ``for_each`` (optional): a list field of the form; the rule is checked once per row, where ``row`` is the
  row and ``earlier`` the rows before it (for "unique" rules).
- ``field`` (optional): where the problem is reported: a field of the form, or of the row with
  ``for_each`` (omitted: the row itself, or the whole form).
- ``message``: what is wrong; the field's title is put before it. ``{name}`` / ``{row.name}`` insert values.
- ``type`` (optional): the problem's type for API clients (default ``rule``).

A rule is skipped while a field it reads has a schema problem (that problem is reported instead), and only
the first failing rule is reported for one field. spiff-arena's ``minimumDate``/``maximumDate`` keywords
("today", "field:<name>") become rules of the same kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from engine.errors import ExpressionEvaluationError, FieldProblem, UnsafeExpressionError
from engine.expressions import Expression, evaluate, parse_expression
from engine.forms import limits
from engine.forms.schema import JsonObject, field_label, items_of, properties_of, resolve, title_of, types_of
from engine.forms.subset import SchemaProblem, pointer

RULES_KEY: Final = "x-rules"
ROW: Final = "row"
EARLIER: Final = "earlier"
TODAY: Final = "today"
_RESERVED: Final = frozenset({ROW, EARLIER, TODAY})
_RULE_KEYS: Final = frozenset({"rule", "message", "field", "for_each", "type"})
_TYPE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


@dataclass(frozen=True)
class Rule:
    expression: Expression
    message: str
    field: tuple[str, ...]
    for_each: str | None
    type: str
    reads: frozenset[str]  # the form fields it reads (first name parts), row/earlier/today left out


# --------------------------------------------------------------------------------------------- parsing


def parse_rules(root: JsonObject) -> tuple[list[Rule], list[SchemaProblem]]:
    """The form's rules (x-rules, then minimumDate/maximumDate), or the problems that refuse them."""
    rules: list[Rule] = []
    problems: list[SchemaProblem] = []
    declared = root.get(RULES_KEY, [])
    where = f"#/{RULES_KEY}"
    if not isinstance(declared, list):
        return [], [SchemaProblem(where, "'x-rules' must be a list of rules")]
    if len(declared) > limits.MAX_RULES:
        return [], [SchemaProblem(where, f"a form may have at most {limits.MAX_RULES} rules")]
    fields = properties_of(root, resolve(root, root))
    for index, raw in enumerate(declared):
        rule = _parse_rule(root, fields, raw, pointer(where, index), problems)
        if rule is not None:
            rules.append(rule)
    rules.extend(_date_rules(root, fields, problems))
    if rules and (taken := sorted(_RESERVED & fields.keys())):
        problems.append(
            SchemaProblem("#/properties", f"with rules, {', '.join(taken)} cannot be a field name")
        )
    return rules, problems


def _parse_rule(
    root: JsonObject, fields: Mapping[str, JsonObject], raw: object, where: str, problems: list[SchemaProblem]
) -> Rule | None:
    found: list[SchemaProblem] = []
    if not isinstance(raw, Mapping):
        problems.append(SchemaProblem(where, "a rule must be an object with 'rule' and 'message'"))
        return None
    for key in sorted(set(raw) - _RULE_KEYS):
        found.append(
            SchemaProblem(
                pointer(where, key), f"unknown key {key!r} (a rule has {', '.join(sorted(_RULE_KEYS))})"
            )
        )
    source, message = raw.get("rule"), raw.get("message")
    kind = raw.get("type", "rule")
    if not isinstance(message, str) or not 0 < len(message) <= limits.MAX_MESSAGE_LENGTH:
        found.append(
            SchemaProblem(
                pointer(where, "message"),
                f"a rule needs a message of 1-{limits.MAX_MESSAGE_LENGTH} characters",
            )
        )
    if not isinstance(kind, str) or not _TYPE_NAME.fullmatch(kind):
        found.append(
            SchemaProblem(pointer(where, "type"), "'type' must be a lower-case name like date_order")
        )
    for_each, row_fields = _for_each(root, fields, raw.get("for_each"), pointer(where, "for_each"), found)
    scope_fields = row_fields if for_each is not None else fields
    field_path = _field(raw.get("field"), scope_fields, for_each, pointer(where, "field"), found)
    expression = _expression(source, pointer(where, "rule"), found)
    if expression is not None and (for_each is not None or raw.get("for_each") is None):
        _check_names(
            expression.names,
            fields=fields,
            row_fields=row_fields,
            for_each=for_each,
            where=pointer(where, "rule"),
            found=found,
        )
    if isinstance(message, str):
        _check_names(
            _placeholders(message),
            fields=fields,
            row_fields=row_fields,
            for_each=for_each,
            where=pointer(where, "message"),
            found=found,
        )
    problems.extend(found)
    if found or expression is None or not isinstance(message, str) or not isinstance(kind, str):
        return None
    return Rule(expression, message, field_path, for_each, kind, _reads(expression.names, for_each))


def _for_each(
    root: JsonObject, fields: Mapping[str, JsonObject], name: object, where: str, found: list[SchemaProblem]
) -> tuple[str | None, Mapping[str, JsonObject]]:
    if name is None:
        return None, {}
    node = fields.get(name) if isinstance(name, str) else None
    if node is None or "array" not in types_of(node):
        found.append(SchemaProblem(where, "'for_each' must name a list field of the form"))
        return None, {}
    size = node.get("maxItems")
    if not isinstance(size, int) or size > limits.MAX_ROWS_FOR_EACH:
        found.append(
            SchemaProblem(
                where, f"a rule may walk lists of at most {limits.MAX_ROWS_FOR_EACH} rows (maxItems)"
            )
        )
    assert isinstance(name, str)
    return name, properties_of(root, items_of(root, node))


def _field(
    value: object,
    fields: Mapping[str, JsonObject],
    for_each: str | None,
    where: str,
    found: list[SchemaProblem],
) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, str) or value not in fields:
        scope = f"a field of the rows of {for_each!r}" if for_each else "a field of the form"
        found.append(SchemaProblem(where, f"'field' must be {scope}"))
        return ()
    return (value,)


def _expression(source: object, where: str, found: list[SchemaProblem]) -> Expression | None:
    if not isinstance(source, str):
        found.append(SchemaProblem(where, "a rule needs 'rule': an expression"))
        return None
    try:
        return parse_expression(source, functions=True)
    except UnsafeExpressionError as exc:
        found.append(SchemaProblem(where, f"{exc.message}"))
        return None


def _check_names(
    names: Iterable[str],
    *,
    fields: Mapping[str, JsonObject],
    row_fields: Mapping[str, JsonObject],
    for_each: str | None,
    where: str,
    found: list[SchemaProblem],
) -> None:
    for name in sorted(names):
        head, _, rest = name.partition(".")
        if head == TODAY or head in fields:
            continue
        if for_each is not None and head == EARLIER:
            continue
        if for_each is not None and head == ROW:
            sub = rest.partition(".")[0]
            if not row_fields or not sub or sub in row_fields:
                continue
            found.append(SchemaProblem(where, f"{name!r}: the rows of {for_each!r} have no field {sub!r}"))
            continue
        found.append(SchemaProblem(where, f"{name!r} is not a field of the form"))


def _placeholders(message: str) -> set[str]:
    return set(_PLACEHOLDER.findall(message))


def _reads(names: Iterable[str], for_each: str | None) -> frozenset[str]:
    """The form fields a rule reads; ``earlier`` reads the rows' list (a row's own problems skip only that
    row, ``earlier`` makes the rule wait for the whole list)."""
    heads = {name.partition(".")[0] for name in names}
    if for_each is None:
        return frozenset(heads - {TODAY})
    fields = heads - {TODAY, ROW, EARLIER}
    return frozenset(fields | {for_each} if EARLIER in heads else fields)


def _date_rules(
    root: JsonObject, fields: Mapping[str, JsonObject], problems: list[SchemaProblem]
) -> list[Rule]:
    """spiff-arena's minimumDate/maximumDate on top-level fields and on fields of top-level lists' rows."""
    rules = _date_rules_of(fields, None, "#/properties", problems)
    for name, node in fields.items():
        if "array" in types_of(node):
            rows = properties_of(root, items_of(root, node))
            rules.extend(
                _date_rules_of(rows, name, pointer("#/properties", name) + "/items/properties", problems)
            )
    return rules


def _date_rules_of(
    fields: Mapping[str, JsonObject], for_each: str | None, where: str, problems: list[SchemaProblem]
) -> list[Rule]:
    rules: list[Rule] = []
    for name, node in fields.items():
        for keyword in ("minimumDate", "maximumDate"):
            value = node.get(keyword)
            for part in (p.strip() for p in value.split(",")) if isinstance(value, str) else ():
                rule = _date_rule(fields, name, keyword, part, for_each)
                if rule is None:
                    problems.append(
                        SchemaProblem(pointer(pointer(where, name), keyword), f"{part!r} names no field here")
                    )
                else:
                    rules.append(rule)
    return rules


def _date_rule(
    fields: Mapping[str, JsonObject], name: str, keyword: str, part: str, for_each: str | None
) -> Rule | None:
    """One spiff-arena date check as a rule: ``today`` or ``field:<other>`` (a field beside this one)."""
    prefix = f"{ROW}." if for_each else ""
    symbol, words = (">=", "on or after") if keyword == "minimumDate" else ("<=", "on or before")
    this = f"{prefix}{name}"
    if part == TODAY:
        source = f"{this} is None or {this} {symbol} today"
        message = f"must be today or {'later' if symbol == '>=' else 'earlier'}"
    elif part.startswith("field:") and (other := part.removeprefix("field:")) in fields:
        that = f"{prefix}{other}"
        source = f"{this} is None or {that} is None or {this} {symbol} {that}"
        message = f"must be {words} {title_of(fields[other], other)} ({{{that}}})"
    else:
        return None
    expression = parse_expression(source, functions=True)
    kind = "minimum_date" if keyword == "minimumDate" else "maximum_date"
    return Rule(expression, message, (name,), for_each, kind, _reads(expression.names, for_each))


# ------------------------------------------------------------------------------------------ evaluation


def check_rules(
    rules: Sequence[Rule],
    root: JsonObject,
    values: Mapping[str, Any],
    *,
    failed: Iterable[tuple[str | int, ...]],
    today: date,
) -> list[FieldProblem]:
    """The problems the rules find in ``values`` (rule-comparable values of a schema-checked submission);
    ``failed`` holds the locations that already have schema problems."""
    failed_locs = list(failed)
    failed_heads = {loc[0] for loc in failed_locs if loc}
    fields = properties_of(root, resolve(root, root))
    scope: dict[str, Any] = dict.fromkeys(fields)
    scope.update(values)
    scope[TODAY] = today
    problems: list[FieldProblem] = []
    taken = set(failed_locs)
    for rule in rules:
        if rule.reads & failed_heads:
            continue
        if rule.for_each is None:
            _check_one(rule, root, scope, rule.field, problems, taken)
            continue
        rows = scope.get(rule.for_each)
        if not isinstance(rows, list):
            continue
        for index, row in enumerate(rows):
            if any(loc[:2] == (rule.for_each, index) for loc in failed_locs):
                continue
            row_scope = {**scope, ROW: row, EARLIER: rows[:index]}
            _check_one(rule, root, row_scope, (rule.for_each, index, *rule.field), problems, taken)
    return problems


def _check_one(  # noqa: PLR0917 - one rule at one place, with what it needs
    rule: Rule,
    root: JsonObject,
    scope: Mapping[str, Any],
    loc: tuple[str | int, ...],
    problems: list[FieldProblem],
    taken: set[tuple[str | int, ...]],
) -> None:
    if loc in taken:
        return
    try:
        passed = evaluate(rule.expression, scope) is True
        message, kind = _render(rule.message, scope), rule.type
    except ExpressionEvaluationError as exc:
        passed, message, kind = False, f"could not be checked ({exc.message})", "rule_error"
    if passed:
        return
    taken.add(loc)
    label = field_label(root, loc) if loc else title_of(root, "form")
    problems.append(FieldProblem(loc=loc, message=f"{label}: {message}", type=kind))


def _render(message: str, scope: Mapping[str, Any]) -> str:
    def value_of(match: re.Match[str]) -> str:
        current: Any = scope
        for part in match[1].split("."):
            if not isinstance(current, Mapping) or part not in current:
                return match[0]
            current = current[part]
        return _text(current)

    return _PLACEHOLDER.sub(value_of, message)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
