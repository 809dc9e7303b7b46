"""Deploy-time checks of form files: the safe subset, rules, UI schemas, and hostile files refused in
bounded time with the file and the JSON pointer of each problem."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest

from engine.errors import DiagramProblem, DiagramRejectedError, FieldProblem, ValidationFailedError
from engine.forms import FormRef, check_form_files, load_forms
from engine.forms.limits import MAX_SCHEMA_BYTES

TODAY = date(2026, 3, 1)
REF = FormRef("legal_review", "legal-schema.json", "legal-uischema.json")


def schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {"note": {"type": "string", "maxLength": 10}}}


def files(form: object, ui: object = None) -> dict[str, bytes]:
    found = {"legal-schema.json": json.dumps(form).encode()}
    if ui is not None:
        found["legal-uischema.json"] = json.dumps(ui).encode()
    return found


def where(problem: DiagramProblem) -> str:
    """file#pointer (a problem inside a form file), or the element whose reference is wrong."""
    return f"{problem.file or ''}{problem.element_id or ''}"


def errors(form: object, ui: object = None) -> list[DiagramProblem]:
    ref = REF if ui is not None else FormRef("legal_review", "legal-schema.json")
    return [p for p in check_form_files(files(form, ui), [ref]) if p.is_error]


def only_error(form: object, ui: object = None) -> DiagramProblem:
    found = errors(form, ui)
    assert len(found) == 1, found
    return found[0]


def submit(form: dict[str, Any], data: object, ui: object = None) -> dict[str, Any]:
    ref = REF if ui is not None else FormRef("legal_review", "legal-schema.json")
    return (
        load_forms(files(form, ui), [ref]).form_for("legal_review").validate(data, today=TODAY, subject="t")
    )


def submit_problems(form: dict[str, Any], data: object, ui: object = None) -> list[FieldProblem]:
    with pytest.raises(ValidationFailedError) as caught:
        submit(form, data, ui)
    return list(caught.value.problems)


# ------------------------------------------------------------------------------------------- references


@pytest.mark.parametrize(
    "ref",
    [
        "https://evil.example/schema.json",
        "http://127.0.0.1:8080/x#/$defs/a",
        "file:///etc/passwd",
        "other-schema.json#/$defs/a",
        "#/properties/note",
        "#/$defs/missing",
    ],
)
def test_a_reference_that_is_not_local_to_defs_is_refused(ref: str) -> None:
    problem = only_error({**schema(note={"$ref": ref}), "$defs": {"a": {"type": "string", "maxLength": 3}}})

    assert where(problem) == "legal-schema.json#/properties/note/$ref"


def test_a_recursive_reference_is_refused() -> None:
    form = {
        **schema(tree={"$ref": "#/$defs/node"}),
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "children": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/node"}}
                },
            }
        },
    }

    problem = only_error(form)

    assert problem == DiagramProblem(
        "#/$defs/node", "recursive '$ref' is not supported: a form is a finite tree", file="legal-schema.json"
    )


def test_defs_that_expand_exponentially_are_refused_quickly() -> None:
    defs: dict[str, Any] = {"d0": {"type": "string", "maxLength": 5}}
    for level in range(1, 10):
        below = f"#/$defs/d{level - 1}"
        defs[f"d{level}"] = {
            "type": "object",
            "properties": {
                "a": {"$ref": below},
                "b": {"type": "array", "maxItems": 10, "items": {"$ref": below}},
            },
        }
    started = time.perf_counter()

    problem = only_error({**schema(top={"$ref": "#/$defs/d9"}), "$defs": defs})

    assert time.perf_counter() - started < 5
    assert where(problem) == "legal-schema.json#"
    assert "values; the limit is 100000" in problem.message


# ------------------------------------------------------------------------------------------------- sizes


def test_a_schema_file_over_the_size_limit_is_refused_before_parsing() -> None:
    big = schema(note={"type": "string", "maxLength": 10, "description": "x" * MAX_SCHEMA_BYTES})

    problem = only_error(big)

    assert where(problem) == "legal-schema.json"
    assert problem.message.startswith("the file is ")


@pytest.mark.parametrize("depth", [60, 100_000])
def test_deeply_nested_json_is_refused_in_bounded_time(depth: int) -> None:
    nested = ("[" * depth + "]" * depth).encode()
    started = time.perf_counter()

    found = check_form_files({"legal-schema.json": nested}, [FormRef("legal_review", "legal-schema.json")])

    assert time.perf_counter() - started < 5
    assert [where(p) for p in found] == ["legal-schema.json"]
    assert "deep" in found[0].message


def test_too_many_fields_are_refused() -> None:
    form = schema(**{f"f{i}": {"type": "string", "maxLength": 5} for i in range(401)})

    assert "the form declares 401 fields; the limit is 400" in only_error(form).message


@pytest.mark.parametrize(
    ("field", "pointer", "words"),
    [
        (
            {"type": "array", "items": {"type": "string", "maxLength": 5}},
            "#/properties/x",
            "needs 'maxItems'",
        ),
        (
            {"type": "array", "maxItems": 5000, "items": {"type": "string", "maxLength": 5}},
            "#/properties/x/maxItems",
            "0 to 1000",
        ),
        ({"type": "string", "maxLength": 10**9}, "#/properties/x/maxLength", "0 to 100000"),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "#/properties/x",
            "needs 'maxProperties'",
        ),
        (
            {"type": "string", "minLength": 5, "maxLength": 2},
            "#/properties/x/minLength",
            "more than maxLength",
        ),
        ({"type": "string", "enum": list(range(501))}, "#/properties/x/enum", "1 to 500 values"),
    ],
)
def test_unbounded_or_contradictory_sizes_are_refused(
    field: dict[str, Any], pointer: str, words: str
) -> None:
    problem = only_error(schema(x=field))

    assert where(problem) == f"legal-schema.json{pointer}"
    assert words in problem.message


def test_nested_lists_that_multiply_past_the_budget_are_refused() -> None:
    inner = {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 5}}

    problem = only_error(schema(x={"type": "array", "maxItems": 1000, "items": inner}))

    assert "at its maxItems the form holds up to" in problem.message


def test_a_text_without_max_length_gets_the_default() -> None:
    form = schema(note={"type": "string"})

    assert submit(form, {"note": "x" * 4000}) == {"note": "x" * 4000}
    [problem] = submit_problems(form, {"note": "x" * 4001})
    assert problem.type == "string_too_long"


# --------------------------------------------------------------------------------------------- patterns


@pytest.mark.parametrize("pattern", ["(a+)+$", "^(a|a)*$", "(x+x+)+y", "^(([a-z])+.)+[A-Z]([a-z])+$"])
def test_a_catastrophic_backtracking_pattern_runs_in_linear_time(pattern: str) -> None:
    form = schema(note={"type": "string", "maxLength": 100_000, "pattern": pattern})
    hostile = "a" * 50_000 + "!"
    started = time.perf_counter()

    problems = submit_problems(form, {"note": hostile}) if pattern != "(a+)+$" else []
    if pattern == "(a+)+$":
        assert submit(form, {"note": "a" * 50_000}) == {"note": "a" * 50_000}
        problems = submit_problems(form, {"note": hostile})

    assert time.perf_counter() - started < 5
    assert [p.type for p in problems] == ["pattern_mismatch"]


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a)\1", "backreferences and look-around are not supported"),
        (r"(?=a)b", "backreferences and look-around are not supported"),
        (r"(?<!a)b", "backreferences and look-around are not supported"),
        ("a" * 501, "the limit is 500"),
        ("((a{1,1000}){1,1000}){1,1000}", "not valid for the linear-time engine"),
        ("[", "not valid for the linear-time engine"),
    ],
)
def test_a_pattern_the_linear_engine_cannot_run_is_refused(pattern: str, words: str) -> None:
    problem = only_error(schema(note={"type": "string", "maxLength": 5, "pattern": pattern}))

    assert where(problem) == "legal-schema.json#/properties/note/pattern"
    assert words in problem.message


# ------------------------------------------------------------------------------------ keywords, formats


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ({"type": "string", "maxLength": 5, "format": "ipv4"}, "format 'ipv4' is not supported"),
        ({"type": "string", "maxLength": 5, "$id": "https://x"}, "'$id' is not supported"),
        ({"type": "string", "maxLength": 5, "frobnicate": True}, "keyword 'frobnicate' is not supported"),
        ({"type": "object", "properties": {}, "additionalProperties": True}, "must be false"),
        ({"type": "string", "maxLength": 5, "anyOf": ["options_from_task_data_var:fruits"]}, "task data"),
        ({"type": "date"}, "'type' must be one of"),
        (
            {"type": "string", "maxLength": 5, "format": "date", "formatMinimum": "yesterday"},
            "must be a date",
        ),
    ],
)
def test_a_keyword_outside_the_subset_is_refused(field: dict[str, Any], words: str) -> None:
    assert words in only_error(schema(x=field)).message


def test_the_form_file_itself_must_be_an_object_schema_of_2020_12() -> None:
    assert '"type": "object"' in only_error({"properties": {}}).message
    assert (
        "draft 2020-12"
        in only_error({**schema(), "$schema": "http://json-schema.org/draft-04/schema#"}).message
    )
    assert only_error(["not", "an", "object"]).message == "a form schema must be a JSON object"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "object", "type": "array"}', "appears twice"),
        (
            b'{"type": "object", "properties": {"n": {"type": "number", "maximum": NaN}}}',
            "NaN is not a JSON number",
        ),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_a_file_that_is_not_clean_json_is_refused(raw: bytes, words: str) -> None:
    [problem] = check_form_files({"legal-schema.json": raw}, [FormRef("legal_review", "legal-schema.json")])

    assert (where(problem), words in problem.message) == ("legal-schema.json", True)


def test_a_missing_file_is_refused_at_the_element_naming_it() -> None:
    [problem] = check_form_files({}, [FormRef("legal_review", "legal-schema.json")])

    assert where(problem) == "legal_review"
    assert "names 'legal-schema.json', which is not in the package" in problem.message


def test_every_problem_is_reported_not_only_the_first() -> None:
    form = schema(
        a={"type": "array", "items": {"type": "string", "maxLength": 5}},
        b={"type": "string", "maxLength": 5, "pattern": r"(a)\1"},
        c={"$ref": "https://evil.example/x"},
    )

    assert [where(p) for p in errors(form)] == [
        "legal-schema.json#/properties/a",
        "legal-schema.json#/properties/b/pattern",
        "legal-schema.json#/properties/c/$ref",
    ]


def test_load_forms_raises_with_every_problem() -> None:
    with pytest.raises(DiagramRejectedError) as caught:
        load_forms(files(schema(x={"type": "array"})), [FormRef("legal_review", "legal-schema.json")])

    assert where(caught.value.problems[0]) == "legal-schema.json#/properties/x"


# ------------------------------------------------------------------------------------------------ rules


RULED = schema(
    start={"type": "string", "format": "date"},
    end={"type": "string", "format": "date"},
    tags={"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 20}},
)


@pytest.mark.parametrize(
    ("rule", "pointer", "words"),
    [
        ({"rule": "end >= stat", "message": "m"}, "/rule", "'stat' is not a field of the form"),
        ({"rule": "__import__('os').system('x')", "message": "m"}, "/rule", "only these functions"),
        ({"rule": "end.__class__ == 1", "message": "m"}, "/rule", "names starting with '_' are not allowed"),
        ({"rule": "end >=", "message": "m"}, "/rule", "syntax error"),
        ({"rule": "[x for x in tags]", "message": "m"}, "/rule", "comprehensions are not allowed"),
        ({"rule": "end >= start", "message": ""}, "/message", "needs a message"),
        ({"rule": "end >= start", "message": "m", "field": "finish"}, "/field", "a field of the form"),
        ({"rule": "row != ''", "message": "m", "for_each": "start"}, "/for_each", "a list field"),
        (
            {"rule": "row.x != ''", "message": "m", "for_each": "tags", "field": "x"},
            "/field",
            "rows of 'tags'",
        ),
        ({"rule": "end >= start", "message": "{finish} wrong"}, "/message", "'finish' is not a field"),
        ({"rule": "end >= start", "message": "m", "when": "always"}, "/when", "unknown key 'when'"),
        ({"rule": "end >= start", "message": "m", "type": "Not A Name"}, "/type", "lower-case name"),
    ],
)
def test_a_rule_that_cannot_run_is_refused_at_deploy(rule: dict[str, Any], pointer: str, words: str) -> None:
    problem = only_error({**RULED, "x-rules": [rule]})

    assert where(problem) == f"legal-schema.json#/x-rules/0{pointer}"
    assert words in problem.message


def test_a_rule_compares_dates_as_dates_and_names_values_in_its_message() -> None:
    form = {
        **RULED,
        "x-rules": [{"rule": "end >= start", "field": "end", "message": "{end} is before {start}"}],
    }

    assert submit(form, {"start": "2030-01-09", "end": "2030-01-10"})
    [problem] = submit_problems(form, {"start": "2030-01-10", "end": "2030-01-09"})
    assert problem == FieldProblem(("end",), "End: 2030-01-09 is before 2030-01-10", "rule")


def test_a_rule_that_fails_on_the_data_reports_it_instead_of_passing() -> None:
    form = {**RULED, "x-rules": [{"rule": "end >= start", "field": "end", "message": "m"}]}

    [problem] = submit_problems(form, {"end": "2030-01-09"})  # start is absent: None >= date

    assert (problem.loc, problem.type) == (("end",), "rule_error")
    assert problem.message.startswith("End: could not be checked")


def test_a_rule_with_today_uses_the_engine_date() -> None:
    form = {**RULED, "x-rules": [{"rule": "start >= today", "field": "start", "message": "is in the past"}]}

    assert submit(form, {"start": TODAY.isoformat()})
    assert submit_problems(form, {"start": "2026-02-28"})[0].message == "Start: is in the past"


def test_reserved_names_cannot_be_fields_of_a_form_with_rules() -> None:
    form = {
        **schema(today={"type": "string", "maxLength": 5}),
        "x-rules": [{"rule": "today != ''", "message": "m"}],
    }

    assert "today cannot be a field name" in only_error(form).message


def test_a_for_each_rule_on_a_huge_list_is_refused() -> None:
    form = schema(tags={"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 20}})
    form["x-rules"] = [{"for_each": "tags", "rule": "row not in earlier", "message": "m"}]

    assert "lists of at most 500 rows" in only_error(form).message


# ---------------------------------------------------------------------------------------------- UI schema


def test_a_ui_schema_may_only_name_fields_of_the_form() -> None:
    form = schema(note={"type": "string", "maxLength": 10})

    found = errors(
        form, {"ui:order": ["note", "nope"], "nope": {"ui:widget": "textarea"}, "note": {"ui:help": 3}}
    )

    assert [(where(p), p.message) for p in found] == [
        ("legal-uischema.json#/ui:order/1", "'nope' is not a field of the form"),
        ("legal-uischema.json#/nope", "'nope' is not a field of the form"),
        ("legal-uischema.json#/note/ui:help", "'ui:help' must be a text of at most 2000"),
    ]


def test_unknown_ui_hints_and_widgets_deploy_with_a_warning() -> None:
    form = schema(note={"type": "string", "maxLength": 10})
    ui = {"note": {"ui:widget": "markdown", "ui:layout": []}}

    found = check_form_files(files(form, ui), [REF])

    assert [(p.severity, where(p)) for p in found] == [
        ("warning", "legal-uischema.json#/note/ui:widget"),
        ("warning", "legal-uischema.json#/note/ui:layout"),
    ]


# ------------------------------------------------------------------------- a form written for spiff-arena


SPIFF_FORM = {
    "title": "Travel request",
    "type": "object",
    "required": ["destination", "agree"],
    "properties": {
        "destination": {
            "type": "string",
            "title": "Destination",
            "pattern": "^[A-Z]",
            "validationErrorMessage": "must start with a capital",
        },
        "start_date": {"type": "string", "format": "date", "title": "Start date", "minimumDate": "today"},
        "end_date": {
            "type": "string",
            "format": "date",
            "title": "End date",
            "minimumDate": "field:start_date",
        },
        "agree": {"type": "boolean", "title": "I agree"},
        "travellers": {
            "type": "array",
            "maxItems": 5,
            "items": {"type": "object", "properties": {"name": {"type": "string", "title": "Name"}}},
        },
    },
}


def test_a_spiff_arena_form_deploys_and_keeps_its_meaning() -> None:
    ui = {
        "ui:order": ["destination", "start_date", "end_date", "agree", "travellers"],
        "agree": {"ui:widget": "checkbox"},
    }
    good = {"destination": "Oslo", "start_date": "2026-03-02", "end_date": "2026-03-05", "agree": True}

    assert submit(SPIFF_FORM, good, ui) == good
    problems = submit_problems(
        SPIFF_FORM,
        {"destination": "oslo", "start_date": "2026-02-01", "end_date": "2026-01-31", "agree": False},
        ui,
    )
    assert [(p.loc, p.message) for p in problems] == [
        (("destination",), "Destination: must start with a capital"),
        (("agree",), "I agree: must be checked"),
        (("start_date",), "Start date: must be today or later"),
        (("end_date",), "End date: must be on or after Start date (2026-02-01)"),
    ]
    extra = submit_problems(SPIFF_FORM, {**good, "travellers": [{"name": "Ada", "age": 3}]}, ui)
    assert [p.loc for p in extra] == [("travellers", 0, "age")]
