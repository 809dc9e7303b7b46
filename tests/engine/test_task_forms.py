"""Task forms: the single validation path for task data (engine/task_forms.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from engine import task_forms
from engine.errors import FieldProblem, ValidationFailedError
from engine.task_forms import (
    TASK_FORMS,
    Decision,
    LaunchStartForm,
    TaskForm,
    form_json_schema,
    form_model_for,
    validate_launch_start,
    validate_task_data,
)
from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START

DESIGN_TASK_IDS = {
    "draft_proposal",
    "review_proposal",
    "revise_proposal",
    "open_beta",
    "complete_beta_faq",
    "draft_report_template",
    "review_report_template",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
}
REVIEW_TASK_IDS = ["review_proposal", "review_report_template"]
ROW_MODELS = [
    task_forms.Risk,
    task_forms.AnticipatedQuestion,
    task_forms.TestAccount,
    task_forms.FaqEntry,
    task_forms.Contact,
    task_forms.BetaIssue,
    task_forms.Metric,
    task_forms.Category,
]


# ----------------------------------------------------------------------------------------------------------
# helpers


def example(task_id: str, **changes: object) -> dict[str, object]:
    """A deep copy of the task's valid example with some fields replaced."""
    data = copy.deepcopy(VALID_FORM_DATA[task_id])
    data.update(changes)
    return data


def without(task_id: str, field: str) -> dict[str, object]:
    data = example(task_id)
    del data[field]
    return data


def problems_of(task_id: str, data: dict[str, object]) -> list[FieldProblem]:
    with pytest.raises(ValidationFailedError) as caught:
        validate_task_data(task_id, data)
    return list(caught.value.problems)


def only_problem(task_id: str, data: dict[str, object]) -> FieldProblem:
    problems = problems_of(task_id, data)
    assert len(problems) == 1, problems
    return problems[0]


def launch_start_problems(data: dict[str, object]) -> list[FieldProblem]:
    with pytest.raises(ValidationFailedError) as caught:
        validate_launch_start(data)
    return list(caught.value.problems)


def rows(count: int, row: dict[str, object]) -> list[dict[str, object]]:
    return [copy.deepcopy(row) for _ in range(count)]


def faq_rows(count: int) -> list[dict[str, object]]:
    return [{"question": f"Question {i}?", "answer": "Answer.", "category": "General"} for i in range(count)]


def schema_objects(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The form's schema and every object schema in its $defs."""
    yield schema
    for definition in schema.get("$defs", {}).values():
        if definition.get("type") == "object":
            yield definition


# ----------------------------------------------------------------------------------------------------------
# registry and valid examples


def test_task_forms_registry_covers_design_task_ids() -> None:
    assert set(TASK_FORMS) == DESIGN_TASK_IDS
    assert set(VALID_FORM_DATA) == DESIGN_TASK_IDS
    assert all(issubclass(model, TaskForm) for model in TASK_FORMS.values())
    assert all(model.__name__.endswith("Form") for model in TASK_FORMS.values())


def test_task_forms_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        TASK_FORMS["go_live"] = TaskForm  # type: ignore[index]


@pytest.mark.parametrize("task_id", sorted(DESIGN_TASK_IDS))
def test_valid_example_round_trips_unchanged(task_id: str) -> None:
    data = VALID_FORM_DATA[task_id]
    before = copy.deepcopy(data)

    result = validate_task_data(task_id, data)

    assert result == data
    assert data == before  # the input is not mutated
    assert json.loads(json.dumps(result)) == result
    assert validate_task_data(task_id, result) == result


def test_validate_launch_start_returns_json_safe_data() -> None:
    result = validate_launch_start(VALID_LAUNCH_START)

    assert result == VALID_LAUNCH_START
    assert result["planned_launch_date"] == "2030-06-01"


def test_validate_task_data_returns_defaults_when_optional_fields_omitted() -> None:
    data = example("review_report_template")
    del data["comment"]
    assert validate_task_data("review_report_template", data) == {"decision": "approve", "comment": ""}

    draft = example("draft_proposal")
    del draft["known_risks"], draft["expected_question_types"]
    result = validate_task_data("draft_proposal", draft)
    assert result["known_risks"] == []
    assert result["expected_question_types"] == []

    assert validate_task_data("go_live", {"confirm": True}) == {"confirm": True, "notes": ""}


def test_validate_task_data_strips_whitespace_when_strings_padded() -> None:
    data = example("draft_proposal", problem="  Customers forget.\n", channels=[" web ", "app"])

    result = validate_task_data("draft_proposal", data)

    assert result["problem"] == "Customers forget."
    assert result["channels"] == ["web", "app"]


def test_form_model_for_returns_registered_model() -> None:
    assert form_model_for("complete_beta_faq") is task_forms.CompleteBetaFaqForm


def test_form_model_for_raises_key_error_when_task_unknown() -> None:
    with pytest.raises(KeyError, match="no form for task id 'nope'"):
        form_model_for("nope")


def test_validate_task_data_raises_key_error_when_task_unknown() -> None:
    with pytest.raises(KeyError, match="start_launch"):
        validate_task_data("start_launch", VALID_LAUNCH_START)


# ----------------------------------------------------------------------------------------------------------
# JSON schema


@pytest.mark.parametrize("task_id", sorted(DESIGN_TASK_IDS))
def test_form_json_schema_forbids_additional_properties(task_id: str) -> None:
    schema = form_json_schema(task_id)

    assert schema["additionalProperties"] is False
    for obj in schema_objects(schema):
        assert obj["additionalProperties"] is False, obj["title"]


@pytest.mark.parametrize("task_id", sorted(DESIGN_TASK_IDS))
def test_form_json_schema_gives_every_field_title_and_description(task_id: str) -> None:
    schema: dict[str, Any] = form_json_schema(task_id)
    definitions: dict[str, Any] = schema.get("$defs", {})

    for obj in schema_objects(schema):
        for name, prop in obj["properties"].items():
            referenced = definitions.get(prop.get("$ref", "").rpartition("/")[2], {})
            # pydantic drops a field title that equals the title of the enum it refers to
            assert prop.get("title") or referenced.get("title"), name
            assert prop.get("description"), name


def properties_of(task_id: str) -> dict[str, Any]:
    schema: dict[str, Any] = form_json_schema(task_id)
    properties: dict[str, Any] = schema["properties"]
    return properties


def test_form_json_schema_shows_limits() -> None:
    faq = properties_of("complete_beta_faq")

    assert faq["faq_entries"]["minItems"] == 3
    assert faq["faq_entries"]["maxItems"] == 200
    assert properties_of("open_beta")["beta_url"]["maxLength"] == 2000
    assert properties_of("acknowledge_launch_notice")["staffing_confirmed"]["const"] is True


def test_launch_start_schema_forbids_additional_properties() -> None:
    assert LaunchStartForm.model_json_schema()["additionalProperties"] is False


@pytest.mark.parametrize("model", [LaunchStartForm, *TASK_FORMS.values(), *ROW_MODELS])
def test_schema_examples_are_valid(model: type[Any]) -> None:
    for sample in model.model_json_schema().get("examples", []):
        model.model_validate(sample)


# ----------------------------------------------------------------------------------------------------------
# problems: shape and conversion


@pytest.mark.parametrize("task_id", sorted(DESIGN_TASK_IDS))
def test_unknown_field_fails_with_extra_forbidden(task_id: str) -> None:
    problem = only_problem(task_id, example(task_id, surprise="x"))

    assert problem.loc == ("surprise",)
    assert problem.type == "extra_forbidden"


def test_unknown_field_in_row_fails_with_extra_forbidden() -> None:
    data = example("open_beta", test_accounts=[{"username": "u1", "password": "secret"}])

    problem = only_problem("open_beta", data)

    assert problem.loc == ("test_accounts", 0, "password")
    assert problem.type == "extra_forbidden"


def test_missing_field_fails_with_field_required() -> None:
    problem = only_problem("draft_proposal", without("draft_proposal", "scope"))

    assert problem == FieldProblem(loc=("scope",), message="Field required", type="missing")


def test_validation_failed_error_lists_one_problem_per_error() -> None:
    data = example("open_beta", beta_url="ftp://x", test_accounts=[], surprise=1)

    with pytest.raises(ValidationFailedError) as caught:
        validate_task_data("open_beta", data)

    error = caught.value
    assert {p.loc for p in error.problems} == {("beta_url",), ("test_accounts",), ("surprise",)}
    assert "open_beta" in error.message
    assert "3 problems" in error.message
    assert all(not p.message.startswith("Value error") for p in error.problems)


def test_validation_failed_error_when_data_is_not_an_object() -> None:
    with pytest.raises(ValidationFailedError) as caught:
        validate_task_data("go_live", ["confirm"])  # type: ignore[arg-type]

    assert [p.loc for p in caught.value.problems] == [()]


# ----------------------------------------------------------------------------------------------------------
# launch start


def test_launch_start_fails_when_summary_has_line_break() -> None:
    data = {**VALID_LAUNCH_START, "summary": "line one\nline two"}

    [problem] = launch_start_problems(data)

    assert problem.loc == ("summary",)
    assert problem.type == "single_line"


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("product_name", "x" * 121, "string_too_long"),
        ("product_name", "   ", "string_too_short"),
        ("summary", "x" * 281, "string_too_long"),
        ("summary", "", "string_too_short"),
        ("planned_launch_date", "not a date", "date_from_datetime_parsing"),
        ("planned_launch_date", "1999-12-31", "greater_than_equal"),
    ],
)
def test_launch_start_fails_when_field_invalid(field: str, value: object, error_type: str) -> None:
    [problem] = launch_start_problems({**VALID_LAUNCH_START, field: value})

    assert problem.loc == (field,)
    assert problem.type == error_type


def test_launch_start_accepts_limits_exactly() -> None:
    data = {**VALID_LAUNCH_START, "product_name": "x" * 120, "summary": "y" * 280}

    assert validate_launch_start(data)["product_name"] == "x" * 120


def test_launch_start_fails_with_extra_forbidden_when_field_unknown() -> None:
    [problem] = launch_start_problems({**VALID_LAUNCH_START, "owner": "me"})

    assert (problem.loc, problem.type) == (("owner",), "extra_forbidden")


# ----------------------------------------------------------------------------------------------------------
# text limits


def test_long_text_fails_when_over_4000_characters() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", problem="x" * 4001))

    assert problem.loc == ("problem",)
    assert problem.type == "string_too_long"
    assert problem.message == "String should have at most 4000 characters"


def test_long_text_passes_when_exactly_4000_characters_with_line_breaks() -> None:
    text = ("a" * 99 + "\n") * 40

    assert (
        validate_task_data("draft_proposal", example("draft_proposal", scope=text))["scope"] == text.strip()
    )


def test_long_text_fails_when_blank() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", problem=" \n\t "))

    assert (problem.loc, problem.type) == (("problem",), "string_too_short")


def test_text_fails_when_control_characters() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", summary="nul \x00 byte"))

    assert (problem.loc, problem.type) == (("summary",), "control_characters")


def test_short_text_item_fails_when_over_200_characters() -> None:
    data = example("draft_proposal", expected_question_types=["ok", "q" * 201])

    problem = only_problem("draft_proposal", data)

    assert (problem.loc, problem.type) == (("expected_question_types", 1), "string_too_long")


def test_short_text_fails_when_line_break() -> None:
    data = example("open_beta", test_accounts=[{"username": "a\nb"}])

    problem = only_problem("open_beta", data)

    assert (problem.loc, problem.type) == (("test_accounts", 0, "username"), "single_line")


# ----------------------------------------------------------------------------------------------------------
# draft / revise proposal


@pytest.mark.parametrize("task_id", ["draft_proposal", "revise_proposal"])
def test_proposal_fails_when_channels_duplicated(task_id: str) -> None:
    problem = only_problem(task_id, example(task_id, channels=["web", "app", "Web"]))

    assert problem.loc == ("channels", 2)
    assert problem.type == "duplicate"
    assert "Web" in problem.message


@pytest.mark.parametrize(
    ("channels", "loc", "error_type"),
    [
        ([], ("channels",), "too_short"),
        ([f"c{i}" for i in range(21)], ("channels",), "too_long"),
        (["web", "  "], ("channels", 1), "string_too_short"),
        ("web", ("channels",), "list_type"),
    ],
)
def test_proposal_fails_when_channels_invalid(
    channels: object, loc: tuple[str | int, ...], error_type: str
) -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", channels=channels))

    assert (problem.loc, problem.type) == (loc, error_type)


@pytest.mark.parametrize(
    ("value", "error_type"),
    [(-1, "greater_than_equal"), (1_000_001, "less_than_equal"), (1.5, "int_from_float"), (True, "int_type")],
)
def test_proposal_fails_when_contacts_per_week_out_of_range(value: object, error_type: str) -> None:
    data = example("draft_proposal", estimated_contacts_per_week=value)

    problem = only_problem("draft_proposal", data)

    assert (problem.loc, problem.type) == (("estimated_contacts_per_week",), error_type)


def test_proposal_accepts_contacts_per_week_when_numeric_string() -> None:
    data = example("draft_proposal", estimated_contacts_per_week="1000000")

    assert validate_task_data("draft_proposal", data)["estimated_contacts_per_week"] == 1_000_000


def test_proposal_fails_when_too_many_question_types() -> None:
    data = example("draft_proposal", expected_question_types=[f"q{i}" for i in range(51)])

    assert only_problem("draft_proposal", data).loc == ("expected_question_types",)


def test_proposal_risk_defaults_mitigation_when_omitted() -> None:
    data = example("draft_proposal", known_risks=[{"description": "Outage"}])

    result = validate_task_data("draft_proposal", data)

    assert result["known_risks"] == [{"description": "Outage", "mitigation": ""}]


def test_proposal_fails_when_risk_lacks_description() -> None:
    data = example("draft_proposal", known_risks=[{"mitigation": "Retry"}])

    problem = only_problem("draft_proposal", data)

    assert (problem.loc, problem.type) == (("known_risks", 0, "description"), "missing")


def test_proposal_fails_when_more_than_50_risks() -> None:
    data = example("draft_proposal", known_risks=rows(51, {"description": "Outage"}))

    assert only_problem("draft_proposal", data).loc == ("known_risks",)


def test_revise_proposal_fails_when_changes_made_missing() -> None:
    problem = only_problem("revise_proposal", without("revise_proposal", "changes_made"))

    assert (problem.loc, problem.type) == (("changes_made",), "missing")


def test_revise_proposal_fails_when_changes_made_blank() -> None:
    problem = only_problem("revise_proposal", example("revise_proposal", changes_made="   "))

    assert (problem.loc, problem.type) == (("changes_made",), "string_too_short")


def test_draft_proposal_fails_when_changes_made_given() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", changes_made="x"))

    assert problem.type == "extra_forbidden"


# ----------------------------------------------------------------------------------------------------------
# reviews


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
@pytest.mark.parametrize("comment", [None, "", "   \n  "])
def test_review_fails_on_comment_when_request_changes_without_comment(
    task_id: str, comment: str | None
) -> None:
    data = example(task_id, decision="request_changes")
    if comment is None:
        del data["comment"]
    else:
        data["comment"] = comment

    problem = only_problem(task_id, data)

    assert problem.loc == ("comment",)
    assert problem.type == "comment_required"
    assert "comment is required" in problem.message


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
def test_review_passes_when_request_changes_with_comment(task_id: str) -> None:
    data = example(task_id, decision="request_changes", comment=" Add a rollback plan. ")

    result = validate_task_data(task_id, data)

    assert result["decision"] == Decision.REQUEST_CHANGES
    assert result["comment"] == "Add a rollback plan."


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
def test_review_passes_when_approve_without_comment(task_id: str) -> None:
    data = example(task_id, decision="approve")
    del data["comment"]

    assert validate_task_data(task_id, data)["comment"] == ""


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
def test_review_fails_on_decision_only_when_decision_unknown(task_id: str) -> None:
    problem = only_problem(task_id, example(task_id, decision="maybe", comment=""))

    assert (problem.loc, problem.type) == (("decision",), "enum")


def test_review_proposal_fails_when_question_kind_unknown() -> None:
    data = example("review_proposal", anticipated_questions=[{"kind": "praise", "text": "Nice"}])

    problem = only_problem("review_proposal", data)

    assert (problem.loc, problem.type) == (("anticipated_questions", 0, "kind"), "enum")


def test_review_proposal_fails_when_more_than_100_questions() -> None:
    data = example("review_proposal", anticipated_questions=rows(101, {"kind": "complaint", "text": "Slow"}))

    problem = only_problem("review_proposal", data)

    assert (problem.loc, problem.type) == (("anticipated_questions",), "too_long")


def test_review_report_template_fails_when_anticipated_questions_given() -> None:
    data = example("review_report_template", anticipated_questions=[])

    assert only_problem("review_report_template", data).type == "extra_forbidden"


# ----------------------------------------------------------------------------------------------------------
# open beta


def test_open_beta_fails_on_beta_end_when_before_beta_start() -> None:
    data = example("open_beta", beta_start="2030-05-10", beta_end="2030-05-09")

    problem = only_problem("open_beta", data)

    assert problem.loc == ("beta_end",)
    assert problem.type == "date_order"
    assert "2030-05-09" in problem.message
    assert "2030-05-10" in problem.message


def test_open_beta_passes_when_beta_is_one_day() -> None:
    data = example("open_beta", beta_start="2030-05-10", beta_end="2030-05-10")

    assert validate_task_data("open_beta", data)["beta_end"] == "2030-05-10"


def test_open_beta_fails_on_beta_start_only_when_start_invalid() -> None:
    problem = only_problem("open_beta", example("open_beta", beta_start="soon"))

    assert problem.loc == ("beta_start",)


@pytest.mark.parametrize(
    ("url", "error_type"),
    [
        ("ftp://beta.example.com", "url_scheme"),
        ("javascript:alert(1)", "url_scheme"),
        ("beta.example.com", "url_scheme"),
        ("https://", "url_host"),
        ("https:beta.example.com", "url_host"),
        ("https://beta.example.com/a b", "url_invalid"),
        ("http://[::1", "url_invalid"),
        ("https://beta.example.com:99999", "url_invalid"),
        ("https://beta.example.com/" + "x" * 1976, "string_too_long"),
        ("", "string_too_short"),
    ],
)
def test_open_beta_fails_on_beta_url_when_not_http_url(url: str, error_type: str) -> None:
    problem = only_problem("open_beta", example("open_beta", beta_url=url))

    assert (problem.loc, problem.type) == (("beta_url",), error_type)


@pytest.mark.parametrize("url", ["http://localhost:8080/beta", "HTTPS://Beta.Example.com/?q=1#top"])
def test_open_beta_keeps_beta_url_when_http_url(url: str) -> None:
    assert validate_task_data("open_beta", example("open_beta", beta_url=url))["beta_url"] == url


@pytest.mark.parametrize(("count", "error_type"), [(0, "too_short"), (51, "too_long")])
def test_open_beta_fails_when_test_account_count_out_of_range(count: int, error_type: str) -> None:
    accounts = [{"username": f"user-{i}"} for i in range(count)]

    problem = only_problem("open_beta", example("open_beta", test_accounts=accounts))

    assert (problem.loc, problem.type) == (("test_accounts",), error_type)


# ----------------------------------------------------------------------------------------------------------
# complete beta FAQ


def test_beta_faq_fails_when_two_entries() -> None:
    problem = only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=faq_rows(2)))

    assert problem.loc == ("faq_entries",)
    assert problem.type == "too_short"
    assert problem.message == "Add at least 3 (there are 2)"


def test_beta_faq_fails_when_more_than_200_entries() -> None:
    problem = only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=faq_rows(201)))

    assert (problem.loc, problem.type) == (("faq_entries",), "too_long")


def test_beta_faq_fails_on_row_when_entry_incomplete() -> None:
    entries = faq_rows(3)
    del entries[1]["answer"]

    problem = only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=entries))

    assert problem.loc == ("faq_entries", 1, "answer")


@pytest.mark.parametrize(
    "email",
    [
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada example@example.com",
        "ada.@example.com",
        ".ada@example.com",
        "ada..l@example.com",
        "ada@-example.com",
        "ada@example..com",
        "ada@example.c",
        "ada@exam\nple.com",
        "ädä@example.com",
        "x" * 65 + "@example.com",
        "ada@" + "a" * 250 + ".com",
    ],
)
def test_beta_faq_fails_on_contact_email_when_invalid(email: str) -> None:
    contact = {"name": "Ada", "email": email}

    problem = only_problem("complete_beta_faq", example("complete_beta_faq", escalation_contacts=[contact]))

    assert problem.loc == ("escalation_contacts", 0, "email")


def test_beta_faq_normalises_email_domain_when_mixed_case() -> None:
    data = example(
        "complete_beta_faq", escalation_contacts=[{"name": "Ada", "email": " Ada.L+x@Example.COM "}]
    )

    result = validate_task_data("complete_beta_faq", data)

    assert result["escalation_contacts"] == [{"name": "Ada", "email": "Ada.L+x@example.com", "role": ""}]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("procedure_steps", []),
        ("procedure_steps", ["step"] * 51),
        ("escalation_contacts", []),
        ("escalation_contacts", rows(21, {"name": "Ada", "email": "ada@example.com"})),
        ("beta_issues", rows(201, {"description": "Bug", "severity": "low"})),
    ],
)
def test_beta_faq_fails_when_list_size_out_of_range(field: str, value: object) -> None:
    problem = only_problem("complete_beta_faq", example("complete_beta_faq", **{field: value}))

    assert problem.loc == (field,)


def test_beta_faq_fails_when_issue_severity_unknown() -> None:
    data = example("complete_beta_faq", beta_issues=[{"description": "Bug", "severity": "urgent"}])

    problem = only_problem("complete_beta_faq", data)

    assert (problem.loc, problem.type) == (("beta_issues", 0, "severity"), "enum")


# ----------------------------------------------------------------------------------------------------------
# draft report template


def categories(*pairs: tuple[str, str | None]) -> list[dict[str, object]]:
    return [{"name": name, "parent": parent} for name, parent in pairs]


def template_problems(cats: list[dict[str, object]]) -> list[FieldProblem]:
    return problems_of("draft_report_template", example("draft_report_template", categories=cats))


def test_report_template_passes_when_category_tree_is_deep() -> None:
    cats = categories(("c", "b"), ("a", None), ("b", "a"), ("d", "a"))

    result = validate_task_data("draft_report_template", example("draft_report_template", categories=cats))

    assert result["categories"] == cats


def test_report_template_reads_blank_parent_as_top_level() -> None:
    data = example(
        "draft_report_template", categories=[{"name": "Billing", "parent": "  "}, {"name": "Other"}]
    )

    result = validate_task_data("draft_report_template", data)

    assert result["categories"] == categories(("Billing", None), ("Other", None))


def test_report_template_fails_on_parent_when_parent_unknown() -> None:
    [problem] = template_problems(categories(("Billing", None), ("Refunds", "Payments")))

    assert problem.loc == ("categories", 1, "parent")
    assert problem.type == "unknown_parent"
    assert "Payments" in problem.message


def test_report_template_fails_on_parent_when_parent_differs_in_case() -> None:
    [problem] = template_problems(categories(("Billing", None), ("Refunds", "billing")))

    assert (problem.loc, problem.type) == (("categories", 1, "parent"), "unknown_parent")


def test_report_template_fails_on_parent_when_category_is_own_parent() -> None:
    [problem] = template_problems(categories(("Billing", "Billing")))

    assert (problem.loc, problem.type) == (("categories", 0, "parent"), "category_cycle")


def test_report_template_fails_on_every_parent_in_cycle_when_categories_loop() -> None:
    problems = template_problems(
        categories(("root", None), ("a", "c"), ("b", "a"), ("c", "b"), ("leaf", "a"))
    )

    assert [p.loc for p in problems] == [("categories", i, "parent") for i in (1, 2, 3)]
    assert {p.type for p in problems} == {"category_cycle"}
    assert "a > c > b > a" in problems[0].message


def test_report_template_fails_on_name_when_category_names_duplicated() -> None:
    [problem] = template_problems(categories(("Billing", None), ("billing", None)))

    assert (problem.loc, problem.type) == (("categories", 1, "name"), "duplicate")


def test_report_template_fails_on_name_when_metric_names_duplicated() -> None:
    metrics = [{"name": "Contacts", "definition": "a"}, {"name": "Contacts", "definition": "b"}]

    problem = only_problem("draft_report_template", example("draft_report_template", metrics=metrics))

    assert (problem.loc, problem.type) == (("metrics", 1, "name"), "duplicate")


def test_report_template_fails_when_contact_fields_duplicated() -> None:
    data = example("draft_report_template", contact_fields=["category", "customer id", "category"])

    problem = only_problem("draft_report_template", data)

    assert (problem.loc, problem.type) == (("contact_fields", 2), "duplicate")


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("metrics", [], ("metrics",)),
        ("categories", [], ("categories",)),
        ("categories", [{"name": f"c{i}"} for i in range(201)], ("categories",)),
        ("contact_fields", [], ("contact_fields",)),
        ("cadence", "hourly", ("cadence",)),
    ],
)
def test_report_template_fails_when_field_out_of_range(
    field: str, value: object, loc: tuple[str | int, ...]
) -> None:
    problem = only_problem("draft_report_template", example("draft_report_template", **{field: value}))

    assert problem.loc == loc


# ----------------------------------------------------------------------------------------------------------
# send launch notice


def test_launch_notice_fails_on_launch_at_when_naive() -> None:
    problem = only_problem(
        "send_launch_notice", example("send_launch_notice", launch_at="2030-06-01T09:00:00")
    )

    assert problem.loc == ("launch_at",)
    assert problem.type == "timezone_aware"


def test_launch_notice_keeps_offset_when_launch_at_aware() -> None:
    data = example("send_launch_notice", launch_at="2030-06-01T07:00:00Z")

    result = validate_task_data("send_launch_notice", data)

    assert result["launch_at"] == "2030-06-01T07:00:00Z"


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("channels", ["web", "web"], ("channels", 1)),
        ("channels", [], ("channels",)),
        ("support_contacts", [], ("support_contacts",)),
        ("support_contacts", [{"name": "Ada", "email": "nope"}], ("support_contacts", 0, "email")),
        ("known_issues", ["issue"] * 51, ("known_issues",)),
        ("rollback_plan", "", ("rollback_plan",)),
        ("launch_at", "2101-01-01T00:00:00+00:00", ("launch_at",)),
    ],
)
def test_launch_notice_fails_when_field_invalid(
    field: str, value: object, loc: tuple[str | int, ...]
) -> None:
    problem = only_problem("send_launch_notice", example("send_launch_notice", **{field: value}))

    assert problem.loc == loc


# ----------------------------------------------------------------------------------------------------------
# acknowledge launch notice, go live


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("staffing_confirmed", "confirm staffing before acknowledging"),
        ("faq_published", "confirm the FAQ is published to the front line before acknowledging"),
    ],
)
@pytest.mark.parametrize("value", [False, "false", 0])
def test_acknowledge_fails_with_clear_message_when_not_confirmed(
    field: str, message: str, value: object
) -> None:
    problem = only_problem(
        "acknowledge_launch_notice", example("acknowledge_launch_notice", **{field: value})
    )

    assert problem == FieldProblem(loc=(field,), message=message, type="must_be_true")


def test_acknowledge_fails_with_field_required_when_confirmation_missing() -> None:
    problem = only_problem("acknowledge_launch_notice", without("acknowledge_launch_notice", "faq_published"))

    assert (problem.loc, problem.type) == (("faq_published",), "missing")


def test_acknowledge_fails_when_confirmation_not_boolean() -> None:
    data = example("acknowledge_launch_notice", staffing_confirmed="maybe")

    assert only_problem("acknowledge_launch_notice", data).type == "bool_parsing"


def test_acknowledge_fails_when_more_than_50_open_questions() -> None:
    data = example("acknowledge_launch_notice", open_questions=["why?"] * 51)

    assert only_problem("acknowledge_launch_notice", data).loc == ("open_questions",)


def test_go_live_fails_when_not_confirmed() -> None:
    problem = only_problem("go_live", example("go_live", confirm=False))

    assert (problem.loc, problem.type) == (("confirm",), "must_be_true")
    assert problem.message == "confirm the go-live before submitting"


def test_go_live_fails_when_notes_too_long() -> None:
    problem = only_problem("go_live", example("go_live", notes="n" * 4001))

    assert (problem.loc, problem.type) == (("notes",), "string_too_long")
