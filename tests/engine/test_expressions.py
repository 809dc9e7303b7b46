"""The safe expression grammar: what it accepts, what it refuses, and how evaluation fails."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.expressions import (
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    Expression,
    evaluate,
    evaluate_condition,
    parse_expression,
)

DATA: dict[str, Any] = {
    "proposal_review": {"decision": "approve", "score": 7, "notes": None, "meta": {"round": 2}},
    "beta": {"regions": ["eu", "us"], "title": "Spring beta", "open": True},
    "count": 3,
    "ratio": 0.5,
    "flag": False,
    "nothing": None,
    "label": "urgent",
}


def run(source: str, data: dict[str, Any] | None = None) -> Any:
    return evaluate(parse_expression(source), DATA if data is None else data)


# --- allowed grammar --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("proposal_review.decision == 'approve'", True),
        ("proposal_review.decision != 'approve'", False),
        ("proposal_review.meta.round == 2", True),
        ("count > 2 and ratio < 1", True),
        ("count > 5 or flag", False),
        ("not flag", True),
        ("not (count == 3)", False),
        ("1 < count < 5", True),
        ("1 < count < 2", False),
        ("0 <= ratio <= 0.5 < 1", True),
        ("count >= 3", True),
        ("count <= -1", False),
        ("ratio == 0.5", True),
        ("label in ['urgent', 'normal']", True),
        ("label in ('urgent', 'normal')", True),
        ("label in {'urgent', 'normal'}", True),
        ("label not in ['low']", True),
        ("'eu' in beta.regions", True),
        ("'asia' not in beta.regions", True),
        ("'beta' in beta.title", True),
        ("'gent' in label", True),
        ("nothing is None", True),
        ("proposal_review.notes is None", True),
        ("count is not None", True),
        ("None is nothing", True),
        ("beta.open is True", True),
        ("flag is False", True),
        ("True", True),
        ("None", None),
        ("count", 3),
        ("-5", -5),
        ("[1, 'a', None]", [1, "a", None]),
        ("()", ()),
        ("'a' == 1", False),
        (
            "proposal_review.decision == 'approve' and (count > 1 or flag) and not nothing",
            True,
        ),
    ],
)
def test_evaluate_gives_python_result_when_grammar_allowed(source: str, expected: Any) -> None:
    assert run(source) == expected


def test_evaluate_returns_operand_value_when_and_or_short_circuit() -> None:
    assert run("label or flag") == "urgent"
    assert run("nothing and count") is None
    assert run("flag or nothing") is None


def test_evaluate_skips_right_operand_when_and_short_circuits() -> None:
    # 'missing' is unknown: reaching it would raise, so not raising proves the short-circuit.
    assert run("flag and missing.key") is False
    assert run("beta.open or missing") is True


def test_evaluate_stops_chained_comparison_when_first_link_false() -> None:
    assert run("count > 10 > missing") is False


def test_evaluate_returns_fresh_list_when_list_literal_evaluated() -> None:
    expression = parse_expression("[1, 2]")
    first = evaluate(expression, DATA)
    first.append(3)
    assert evaluate(expression, DATA) == [1, 2]


def test_parse_expression_collects_dotted_names() -> None:
    expression = parse_expression("proposal_review.decision == 'approve' and count > 1 or proposal_review.x")
    assert expression.names == frozenset({"proposal_review.decision", "count", "proposal_review.x"})


def test_parse_expression_returns_cached_expression_when_source_repeats() -> None:
    first = parse_expression("count == 1")
    second = parse_expression("count == 1")
    assert first is second
    assert hash(first) == hash(Expression(source="count == 1", names=frozenset({"count"}), _tree=first._tree))


def test_parse_expression_accepts_surrounding_whitespace() -> None:
    assert run("  count == 3\n") is True


def test_parse_expression_accepts_expression_over_several_lines_in_parentheses() -> None:
    assert run("(count == 3\n and not flag)") is True


# --- forbidden constructs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("len(label)", "function calls are not allowed (column 1)"),
        ("__import__('os').system('x')", "function calls are not allowed"),
        ("().__class__.__bases__", "names starting with '_' are not allowed"),
        ("label.__class__", "names starting with '_' are not allowed: '__class__'"),
        ("__builtins__", "names starting with '_' are not allowed: '__builtins__'"),
        ("_private == 1", "names starting with '_' are not allowed"),
        ("beta.regions[0] == 'eu'", "subscripts"),
        ("label[1:]", "subscripts"),
        ("(lambda: 1) == 1", "lambda functions are not allowed"),
        ("[x for x in beta.regions]", "comprehensions are not allowed"),
        ("{x for x in beta.regions}", "comprehensions are not allowed"),
        ("{x: 1 for x in beta.regions}", "comprehensions are not allowed"),
        ("any(x for x in beta.regions)", "function calls are not allowed"),
        ("f'{label}' == 'x'", "f-strings are not allowed"),
        ("count + 1 > 2", "binary operators are not allowed"),
        ("9**9**9", "binary operators are not allowed"),
        ("'a'*10**9", "binary operators are not allowed"),
        ("count // 0", "binary operators are not allowed"),
        ("(y := 1)", "assignment expressions (:=) are not allowed"),
        ("1 if flag else 2", "conditional expressions"),
        ("[*beta.regions]", "starred expressions are not allowed"),
        ("{'a': 1}", "dict literals are not allowed"),
        ("~count", "the ~ operator is not allowed"),
        ("+count", "the unary + operator is not allowed"),
        ("-count", "unary minus is only allowed directly on a number"),
        ("-True", "unary minus is only allowed directly on a number"),
        ("b'x' == label", "bytes literals are not allowed"),
        ("1j == count", "complex literals are not allowed"),
        ("... == count", "ellipsis literals are not allowed"),
        ("count is 3", "'is' may only compare with None, True or False"),
        ("label is not 'x'", "'is not' may only compare with None, True or False"),
        ("'abc'.upper == 1", "attribute access is only allowed on task-data names"),
        ("[[1]] == 1", "may only hold literal values"),
        ("[count] == 1", "may only hold literal values"),
        ("10**19 == 1", "binary operators are not allowed"),
        ("10000000000000000000 == count", "integer literal is too large"),
        ("count == -10000000000000000000", "integer literal is too large"),
        ("await x", "await"),
    ],
)
def test_parse_expression_raises_unsafe_when_construct_forbidden(source: str, message: str) -> None:
    with pytest.raises(UnsafeExpressionError) as caught:
        parse_expression(source)
    assert message in caught.value.message


def test_parse_expression_names_column_when_construct_forbidden() -> None:
    with pytest.raises(UnsafeExpressionError, match=r"function calls are not allowed \(column 15\)"):
        parse_expression("count == 1 or f(label)")


def test_parse_expression_names_line_when_source_has_several_lines() -> None:
    with pytest.raises(UnsafeExpressionError, match=r"\(line 2, column 5\)"):
        parse_expression("(count == 1\n or f(label))")


def test_parse_expression_counts_characters_when_source_not_ascii() -> None:
    with pytest.raises(UnsafeExpressionError, match=r"\(column 10\)"):
        parse_expression("'ééé' == f()")


@pytest.mark.parametrize("source", ["", "   ", "\n\t"])
def test_parse_expression_raises_unsafe_when_source_empty(source: str) -> None:
    with pytest.raises(UnsafeExpressionError, match="empty"):
        parse_expression(source)


def test_parse_expression_raises_unsafe_when_source_too_long() -> None:
    source = "count == 1 or " * 200 + "flag"
    assert len(source) > MAX_SOURCE_LENGTH
    with pytest.raises(UnsafeExpressionError, match="the limit is 2000"):
        parse_expression(source)


def test_parse_expression_raises_unsafe_when_string_literal_too_long() -> None:
    with pytest.raises(UnsafeExpressionError, match="string literal is 1001 characters long"):
        parse_expression("label == '" + "x" * 1001 + "'")


def test_parse_expression_accepts_string_literal_at_limit() -> None:
    assert run("label != '" + "x" * 1000 + "'") is True


def test_parse_expression_raises_unsafe_when_list_literal_too_long() -> None:
    with pytest.raises(UnsafeExpressionError, match="101 items; the limit is 100"):
        parse_expression("count in [" + ", ".join(["1"] * 101) + "]")


def test_parse_expression_raises_unsafe_when_nested_too_deeply() -> None:
    source = "not " * MAX_DEPTH + "flag"
    with pytest.raises(UnsafeExpressionError, match="nested too deeply"):
        parse_expression(source)


def test_parse_expression_accepts_nesting_at_limit() -> None:
    assert run("not " * (MAX_DEPTH - 1) + "flag") is True


def test_parse_expression_raises_unsafe_when_dotted_name_too_deep() -> None:
    with pytest.raises(UnsafeExpressionError, match="nested too deeply"):
        parse_expression(".".join(["a"] * (MAX_DEPTH + 1)))


def test_evaluate_looks_up_dotted_name_at_depth_limit() -> None:
    data: dict[str, Any] = {"a": "found"}
    for _ in range(MAX_DEPTH - 1):
        data = {"a": data}
    assert run(".".join(["a"] * MAX_DEPTH), data) == "found"


def test_parse_expression_raises_unsafe_when_parentheses_nest_beyond_parser() -> None:
    with pytest.raises(UnsafeExpressionError):
        parse_expression("(" * 500 + "1" + ")" * 500)


def test_parse_expression_raises_unsafe_when_too_many_nodes() -> None:
    source = " or ".join(f"count == {i}" for i in range(70))
    assert len(source) <= MAX_SOURCE_LENGTH
    with pytest.raises(UnsafeExpressionError, match="too complex"):
        parse_expression(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("count ==", "syntax error: invalid syntax (at the end)"),
        ("count == = 1", "syntax error: invalid syntax (column 10)"),
        ("count = 1", "syntax error"),
        ("import os", "syntax error"),
        ("count == 1; flag", "syntax error"),
        ("'unterminated", "syntax error"),
        ("a\x00", "cannot"),
    ],
)
def test_parse_expression_raises_unsafe_when_syntax_invalid(source: str, message: str) -> None:
    with pytest.raises(UnsafeExpressionError) as caught:
        parse_expression(source)
    assert message in caught.value.message


def test_parse_expression_raises_unsafe_when_source_not_text() -> None:
    with pytest.raises(UnsafeExpressionError, match="must be text"):
        parse_expression(b"count == 1")  # type: ignore[arg-type]


# --- evaluation errors ------------------------------------------------------------------------------------


def test_evaluate_raises_evaluation_error_when_name_unknown() -> None:
    with pytest.raises(
        ExpressionEvaluationError, match=r"unknown name 'missing' in expression 'missing == 1'"
    ):
        run("missing == 1")


def test_evaluate_raises_evaluation_error_when_dotted_key_missing() -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"'proposal_review' has no key 'verdict'"):
        run("proposal_review.verdict == 'approve'")


def test_evaluate_raises_evaluation_error_when_looking_up_in_non_mapping() -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"cannot look up 'x' in 'label': it is str"):
        run("label.x == 1")


def test_evaluate_raises_evaluation_error_when_looking_up_in_none() -> None:
    with pytest.raises(ExpressionEvaluationError, match="it is NoneType, not a mapping"):
        run("proposal_review.notes.text == 1")


@pytest.mark.parametrize(
    "source",
    ["label < 1", "count >= 'a'", "nothing < 1", "beta < beta", "1 < count < 'x'"],
)
def test_evaluate_raises_evaluation_error_when_types_cannot_be_compared(source: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="cannot compare"):
        run(source)


@pytest.mark.parametrize("source", ["1 in count", "'a' in nothing", "count in label", "label not in 5"])
def test_evaluate_raises_evaluation_error_when_in_used_on_non_container(source: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="cannot compare"):
        run(source)


@pytest.mark.slow
def test_evaluate_raises_evaluation_error_when_data_deeply_nested() -> None:
    def deep() -> list[Any]:
        nested: list[Any] = []
        for _ in range(100_000):
            nested = [nested]
        return nested

    data = {"a": deep(), "b": deep()}
    with pytest.raises(ExpressionEvaluationError):
        evaluate(parse_expression("a < b"), data)


# --- conditions -------------------------------------------------------------------------------------------


def test_evaluate_condition_returns_bool_when_result_bool() -> None:
    assert evaluate_condition(parse_expression("count == 3"), DATA) is True
    assert evaluate_condition(parse_expression("flag"), DATA) is False


@pytest.mark.parametrize(
    ("source", "type_name"), [("label", "str"), ("count", "int"), ("nothing", "NoneType")]
)
def test_evaluate_condition_raises_evaluation_error_when_result_not_bool(source: str, type_name: str) -> None:
    with pytest.raises(
        ExpressionEvaluationError, match=rf"condition '{source}' gave {type_name}, expected true/false"
    ):
        evaluate_condition(parse_expression(source), DATA)


# ---------------------------------------------------------------------------- rule functions (form rules)


def rule(source: str, data: dict[str, object]) -> object:
    return evaluate(parse_expression(source, functions=True), data)


def test_rule_functions_are_refused_in_conditions() -> None:
    with pytest.raises(UnsafeExpressionError, match=r"function calls are not allowed \(column 1\)"):
        parse_expression("len(tags) > 1")


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("len(tags) >= 3", {"tags": ["a", "b", "c"]}, True),
        ("len(name)", {"name": "Ada"}, 3),
        ("lower(name) == 'straße'", {"name": "STRASSE"}, False),
        ("lower(name) == 'strasse'", {"name": "STRASSE"}, True),
        ("lower(row) in lower(earlier)", {"row": "Web", "earlier": ["app", "WEB"]}, True),
        ("lower(missing) is None", {"missing": None}, True),
        ("parent in column(cats, 'name')", {"parent": "a", "cats": [{"name": "a"}, {"name": "b"}]}, True),
        ("column(cats, 'name')", {"cats": [{"name": "a"}, {"other": 1}, "not a row"]}, ["a", None]),
        (
            "ancestors(cats, 'name', 'parent', 'c')",
            {
                "cats": [
                    {"name": "a", "parent": None},
                    {"name": "b", "parent": "a"},
                    {"name": "c", "parent": "b"},
                ]
            },
            ["c", "b", "a"],
        ),
        (
            "ancestors(cats, 'name', 'parent', 'a')",
            {"cats": [{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}]},
            ["a", "b"],
        ),
        ("ancestors(cats, 'name', 'parent', 'zzz')", {"cats": [{"name": "a", "parent": None}]}, []),
    ],
)
def test_rule_functions_compute_their_values(source: str, data: dict[str, object], expected: object) -> None:
    assert rule(source, data) == expected


def test_rule_function_names_are_not_data_names() -> None:
    assert parse_expression("len(row.tags) > lower(x)", functions=True).names == frozenset({"row.tags", "x"})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("eval('1')", "unknown function 'eval'; the functions are ancestors, column, len, lower"),
        ("x.len(y)", "only these functions may be called, by name"),
        ("len(x, y)", r"len\(\) takes 1 argument\(s\), not 2"),
        ("len(*x)", "plain positional arguments only"),
        ("len(x=y)", "plain positional arguments only"),
        ("column(rows, name)", r"argument 2 of column\(\) must be a field name in quotes"),
        ("ancestors(rows, 'k', p, s)", r"argument 3 of ancestors\(\) must be a field name in quotes"),
        ("len(lambda: 1)", "lambda functions are not allowed"),
    ],
)
def test_rule_functions_refuse_anything_else(source: str, message: str) -> None:
    with pytest.raises(UnsafeExpressionError, match=message):
        parse_expression(source, functions=True)


@pytest.mark.parametrize(
    ("source", "data", "message"),
    [
        ("len(n) > 1", {"n": 5}, r"len\(\): cannot take the length of int"),
        ("lower(n)", {"n": 5}, r"lower\(\): cannot lower-case int"),
        ("column(n, 'a')", {"n": "text"}, r"column\(\): expected a list of rows, got str"),
    ],
)
def test_rule_functions_fail_clearly_on_wrong_values(
    source: str, data: dict[str, object], message: str
) -> None:
    with pytest.raises(ExpressionEvaluationError, match=message):
        rule(source, data)


def test_ancestors_stops_on_a_long_cycle_after_one_step_per_row() -> None:
    cats = [{"name": f"c{i}", "parent": f"c{(i + 1) % 500}"} for i in range(500)]

    chain = rule("ancestors(cats, 'name', 'parent', 'c0')", {"cats": cats})

    assert isinstance(chain, list)
    assert len(chain) == 500
