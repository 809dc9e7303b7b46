"""The shipped launch_gate forms (forms/launch_gate/*.json): each accepts its demo data and refuses each
rule's violation with the rule's message, located at the field, named by its title."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from engine.errors import FieldProblem
from engine.forms import PLAIN_FORM
from engine.forms.diagram import form_refs_in, read_form_files
from engine.forms.launch_settings import LAUNCH_SETTINGS_FORM
from engine.forms.schema import resolve, types_of
from engine.specs import load_process
from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START
from tests.engine.forms.shipped import (
    DIAGRAM,
    FORMS_DIR,
    TODAY,
    example,
    only_problem,
    problems_of,
    rows,
    shipped,
    validate,
    without,
)

TASK_IDS = sorted(VALID_FORM_DATA)
REVIEW_TASK_IDS = ["review_proposal", "review_report_template"]

# ----------------------------------------------------------------------------------------------- the package


def test_every_user_task_and_the_start_event_name_a_form_and_every_form_file_is_used() -> None:
    refs = form_refs_in(DIAGRAM.read_bytes())
    model = load_process(DIAGRAM.read_bytes()).model

    assert {r.element_id for r in refs} == set(model.tasks) | {"start_launch"}
    assert set(model.tasks) == set(TASK_IDS)
    used = {r.schema_file for r in refs} | {r.ui_file for r in refs}
    assert used == set(read_form_files(FORMS_DIR))
    assert all(r.schema_file == f"{r.element_id}-schema.json" for r in refs)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_valid_example_round_trips_unchanged(task_id: str) -> None:
    data = VALID_FORM_DATA[task_id]
    before = copy.deepcopy(data)

    result = validate(task_id, data)

    assert result == data
    assert data == before  # the input is not mutated
    assert json.loads(json.dumps(result)) == result
    assert validate(task_id, result) == result


def test_launch_start_accepts_demo_data() -> None:
    assert validate("start_launch", VALID_LAUNCH_START) == VALID_LAUNCH_START


def test_every_form_states_no_extra_fields_and_a_length_for_every_text() -> None:
    def walk(root: dict[str, object], node: object) -> None:
        field = resolve(root, node)
        if "properties" in field:
            assert field["additionalProperties"] is False
            for prop in dict(field["properties"]).values():
                walk(root, prop)
        if "string" in types_of(field):
            assert isinstance(field.get("maxLength"), int), field
        if "items" in field:
            walk(root, field["items"])

    for element_id in [*TASK_IDS, "start_launch"]:
        schema = shipped().form_for(element_id).json_schema()
        walk(schema, schema)


def test_defaults_are_filled_in_when_optional_fields_are_omitted() -> None:
    assert validate("review_report_template", {"decision": "approve"}) == {
        "decision": "approve",
        "comment": "",
    }
    draft = example("draft_proposal")
    del draft["known_risks"], draft["expected_question_types"]
    result = validate("draft_proposal", draft)
    assert (result["known_risks"], result["expected_question_types"]) == ([], [])
    assert validate("go_live", {"confirm": True}) == {"confirm": True, "notes": ""}


def test_surrounding_whitespace_is_stripped_from_every_text() -> None:
    data = example("draft_proposal", problem="  Customers forget.\n", channels=[" web ", "app"])

    result = validate("draft_proposal", data)

    assert (result["problem"], result["channels"]) == ("Customers forget.", ["web", "app"])


# ------------------------------------------------------------------------------------------- problem shape


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_unknown_field_is_refused_as_extra(task_id: str) -> None:
    problem = only_problem(task_id, example(task_id, surprise="x"))

    assert problem == FieldProblem(("surprise",), "surprise: is not a field of this form", "extra_forbidden")


def test_unknown_field_in_a_row_is_refused_at_the_row() -> None:
    data = example("open_beta", test_accounts=[{"username": "u1", "password": "secret"}])

    problem = only_problem("open_beta", data)

    assert (problem.loc, problem.type) == (("test_accounts", 0, "password"), "extra_forbidden")
    assert problem.message == "Test accounts, row 1, password: is not a field of this form"


def test_missing_field_is_named_by_its_title() -> None:
    problem = only_problem("draft_proposal", without("draft_proposal", "scope"))

    assert problem == FieldProblem(("scope",), "Scope: is required", "missing")


def test_every_problem_of_a_submission_is_listed_once() -> None:
    data = example("open_beta", beta_url="ftp://x", test_accounts=[], surprise=1)

    problems = problems_of("open_beta", data)

    assert {p.loc for p in problems} == {("beta_url",), ("test_accounts",), ("surprise",)}
    assert all(p.message.split(": ", 1)[0] in {"Beta link", "Test accounts", "surprise"} for p in problems)


def test_data_that_is_not_an_object_is_refused_as_a_whole() -> None:
    [problem] = problems_of("go_live", ["confirm"])

    assert problem.loc == ()
    assert problem.message == "Go live: the form data must be a group of fields"


# ------------------------------------------------------------------------------------------------ the start


def test_launch_start_refuses_planned_date_in_the_past() -> None:
    data = {**VALID_LAUNCH_START, "planned_launch_date": "2026-01-14"}

    problem = only_problem("start_launch", data, today=date(2026, 1, 15))

    assert problem == FieldProblem(
        ("planned_launch_date",), "Planned launch date: must not be in the past", "date_in_past"
    )
    assert validate("start_launch", {**data, "planned_launch_date": "2026-01-15"}, today=date(2026, 1, 15))


@pytest.mark.parametrize(
    ("field", "value", "kind", "words"),
    [
        ("product_name", "x" * 121, "string_too_long", "Product name: must be at most 120 characters"),
        ("product_name", "   ", "string_too_short", "Product name: must not be empty"),
        ("summary", "x" * 281, "string_too_long", "Summary: must be at most 280 characters"),
        ("summary", "line one\nline two", "pattern_mismatch", "Summary: must be one line"),
        ("planned_launch_date", "not a date", "date_invalid", "Planned launch date: must be a date like"),
        ("planned_launch_date", "2030-02-30", "date_invalid", "Planned launch date: must be a date like"),
        (
            "planned_launch_date",
            "1999-12-31",
            "greater_than_equal",
            "Planned launch date: must be on or after",
        ),
    ],
)
def test_launch_start_refuses_invalid_field(field: str, value: object, kind: str, words: str) -> None:
    problem = only_problem("start_launch", {**VALID_LAUNCH_START, field: value})

    assert (problem.loc, problem.type) == ((field,), kind)
    assert problem.message.startswith(words)


def test_launch_start_accepts_limits_exactly() -> None:
    data = {**VALID_LAUNCH_START, "product_name": "x" * 120, "summary": "y" * 280}

    assert validate("start_launch", data)["summary"] == "y" * 280


# ------------------------------------------------------------------------------------------------- proposal


def test_long_text_is_refused_past_4000_characters() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", problem="x" * 4001))

    assert problem == FieldProblem(
        ("problem",), "Problem: must be at most 4000 characters long (it has 4001)", "string_too_long"
    )


def test_long_text_keeps_line_breaks_up_to_4000_characters() -> None:
    text = ("a" * 99 + "\n") * 40

    assert validate("draft_proposal", example("draft_proposal", scope=text))["scope"] == text.strip()


@pytest.mark.parametrize("text", ["nul\x00", "bell\x07", "escape\x1b[31m"])
def test_long_text_refuses_control_characters(text: str) -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", scope=text))

    assert problem.message == "Scope: must not contain control characters"


@pytest.mark.parametrize(("value", "expected"), [("1000000", 1_000_000), (" 40 ", 40), (12.0, 12)])
def test_proposal_reads_contacts_per_week_given_as_text(value: object, expected: int) -> None:
    data = example("draft_proposal", estimated_contacts_per_week=value)

    assert validate("draft_proposal", data)["estimated_contacts_per_week"] == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "integer_type"),
        (-1, "greater_than_equal"),
        (1_000_001, "less_than_equal"),
        ("many", "integer_type"),
    ],
)
def test_proposal_refuses_contacts_per_week_out_of_range(value: object, kind: str) -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", estimated_contacts_per_week=value))

    assert (problem.loc, problem.type) == (("estimated_contacts_per_week",), kind)
    assert problem.message.startswith("Estimated contacts per week: must be")


def test_proposal_refuses_duplicate_channels_at_the_repeat() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", channels=["web", "app", "Web"]))

    assert problem == FieldProblem(
        ("channels", 2),
        "Channels, entry 3: 'Web' is listed more than once; entries must be unique",
        "duplicate",
    )


def test_proposal_refuses_more_than_50_question_types() -> None:
    data = example("draft_proposal", expected_question_types=[f"q{i}" for i in range(51)])

    problem = only_problem("draft_proposal", data)

    assert problem.message == "Expected question types: keep it to at most 50 (there are 51)"


def test_proposal_risk_gets_empty_mitigation_when_omitted() -> None:
    result = validate("draft_proposal", example("draft_proposal", known_risks=[{"description": "Outage"}]))

    assert result["known_risks"] == [{"description": "Outage", "mitigation": ""}]


def test_proposal_refuses_risk_without_description() -> None:
    problem = only_problem("draft_proposal", example("draft_proposal", known_risks=[{"mitigation": "Retry"}]))

    assert problem == FieldProblem(
        ("known_risks", 0, "description"), "Known risks, row 1, Risk: is required", "missing"
    )


def test_revise_proposal_needs_changes_made() -> None:
    assert only_problem("revise_proposal", without("revise_proposal", "changes_made")).type == "missing"
    blank = only_problem("revise_proposal", example("revise_proposal", changes_made="   "))
    assert blank == FieldProblem(("changes_made",), "Changes made: must not be empty", "string_too_short")
    assert (
        only_problem("draft_proposal", example("draft_proposal", changes_made="x")).type == "extra_forbidden"
    )


# -------------------------------------------------------------------------------------------------- reviews


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
@pytest.mark.parametrize("comment", [None, "", "   \n  "])
def test_review_refuses_request_changes_without_comment(task_id: str, comment: str | None) -> None:
    data = example(task_id, decision="request_changes")
    if comment is None:
        del data["comment"]
    else:
        data["comment"] = comment

    problem = only_problem(task_id, data)

    assert problem == FieldProblem(
        ("comment",),
        "Comment: a comment is required when requesting changes: say what should change",
        "comment_required",
    )


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
def test_review_accepts_request_changes_with_comment(task_id: str) -> None:
    result = validate(task_id, example(task_id, decision="request_changes", comment=" Add a rollback plan. "))

    assert (result["decision"], result["comment"]) == ("request_changes", "Add a rollback plan.")


@pytest.mark.parametrize("task_id", REVIEW_TASK_IDS)
def test_review_reports_only_the_decision_when_decision_unknown(task_id: str) -> None:
    problem = only_problem(task_id, example(task_id, decision="maybe", comment=""))

    assert problem == FieldProblem(
        ("decision",), "Decision: must be one of: approve, request_changes", "enum"
    )


def test_review_proposal_refuses_unknown_question_kind_and_too_many_questions() -> None:
    kind = only_problem(
        "review_proposal",
        example("review_proposal", anticipated_questions=[{"kind": "praise", "text": "Nice"}]),
    )
    assert (kind.loc, kind.type) == (("anticipated_questions", 0, "kind"), "enum")
    many = example("review_proposal", anticipated_questions=rows(101, {"kind": "complaint", "text": "Slow"}))
    assert only_problem("review_proposal", many).type == "too_long"
    assert (
        only_problem(
            "review_report_template", example("review_report_template", anticipated_questions=[])
        ).type
        == "extra_forbidden"
    )


# ------------------------------------------------------------------------------------------------ open beta


def test_open_beta_refuses_end_before_start_at_the_end() -> None:
    problem = only_problem("open_beta", example("open_beta", beta_start="2030-05-10", beta_end="2030-05-09"))

    assert problem == FieldProblem(
        ("beta_end",),
        "Beta end: the beta cannot end (2030-05-09) before it starts (2030-05-10)",
        "date_order",
    )


def test_open_beta_accepts_a_one_day_beta() -> None:
    assert validate("open_beta", example("open_beta", beta_start="2030-05-10", beta_end="2030-05-10"))


def test_open_beta_reports_only_the_start_when_the_start_is_invalid() -> None:
    assert only_problem("open_beta", example("open_beta", beta_start="soon")).loc == ("beta_start",)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://beta.example.com",
        "javascript:alert(1)",
        "beta.example.com",
        "https://",
        "https:beta.example.com",
        "https://beta.example.com/a b",
        "http://[::1",
        "https://beta.example.com:99999",
    ],
)
def test_open_beta_refuses_a_link_that_is_not_http(url: str) -> None:
    problem = only_problem("open_beta", example("open_beta", beta_url=url))

    assert problem == FieldProblem(
        ("beta_url",),
        "Beta link: must be an http:// or https:// address, like https://example.com",
        "url_invalid",
    )


@pytest.mark.parametrize(
    ("url", "kind"), [("https://beta.example.com/" + "x" * 1976, "string_too_long"), ("", "string_too_short")]
)
def test_open_beta_refuses_a_link_of_wrong_length(url: str, kind: str) -> None:
    assert only_problem("open_beta", example("open_beta", beta_url=url)).type == kind


@pytest.mark.parametrize("url", ["http://localhost:8080/beta", "HTTPS://Beta.Example.com/?q=1#top"])
def test_open_beta_keeps_an_http_link_as_given(url: str) -> None:
    assert validate("open_beta", example("open_beta", beta_url=url))["beta_url"] == url


@pytest.mark.parametrize(("count", "kind"), [(0, "too_short"), (51, "too_long")])
def test_open_beta_refuses_test_account_count_out_of_range(count: int, kind: str) -> None:
    accounts = [{"username": f"user-{i}"} for i in range(count)]

    assert only_problem("open_beta", example("open_beta", test_accounts=accounts)).type == kind


# ----------------------------------------------------------------------------------------------- beta FAQ


def faq_rows(count: int) -> list[dict[str, object]]:
    return [{"question": f"Question {i}?", "answer": "Answer.", "category": "General"} for i in range(count)]


def test_beta_faq_needs_at_least_3_entries() -> None:
    problem = only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=faq_rows(2)))

    assert problem == FieldProblem(("faq_entries",), "FAQ entries: add at least 3 (there are 2)", "too_short")
    assert (
        only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=faq_rows(201))).type
        == "too_long"
    )


def test_beta_faq_locates_an_incomplete_entry() -> None:
    entries = faq_rows(3)
    del entries[1]["answer"]

    problem = only_problem("complete_beta_faq", example("complete_beta_faq", faq_entries=entries))

    assert problem == FieldProblem(
        ("faq_entries", 1, "answer"), "FAQ entries, row 2, Answer: is required", "missing"
    )


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
        "ada@" + "a" * 246 + ".com",
    ],
)
def test_beta_faq_refuses_an_invalid_contact_email(email: str) -> None:
    data = example("complete_beta_faq", escalation_contacts=[{"name": "Ada", "email": email}])

    problem = only_problem("complete_beta_faq", data)

    assert problem.loc == ("escalation_contacts", 0, "email")
    assert problem.message.startswith("Escalation contacts, row 1, E-mail: must be")


def test_beta_faq_lower_cases_email_domains() -> None:
    data = example(
        "complete_beta_faq", escalation_contacts=[{"name": "Ada", "email": " Ada.L+x@Example.COM "}]
    )

    result = validate("complete_beta_faq", data)

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
def test_beta_faq_refuses_list_size_out_of_range(field: str, value: object) -> None:
    assert only_problem("complete_beta_faq", example("complete_beta_faq", **{field: value})).loc == (field,)


def test_beta_faq_refuses_unknown_severity() -> None:
    data = example("complete_beta_faq", beta_issues=[{"description": "Bug", "severity": "urgent"}])

    problem = only_problem("complete_beta_faq", data)

    assert problem.message == "Beta issues, row 1, Severity: must be one of: low, medium, high, critical"


# ----------------------------------------------------------------------------------------- report template


def categories(*pairs: tuple[str, str | None]) -> list[dict[str, object]]:
    return [{"name": name, "parent": parent} for name, parent in pairs]


def template_problems(cats: list[dict[str, object]]) -> list[FieldProblem]:
    return problems_of("draft_report_template", example("draft_report_template", categories=cats))


def test_report_template_accepts_a_deep_category_tree_in_any_order() -> None:
    cats = categories(("c", "b"), ("a", None), ("b", "a"), ("d", "a"))

    assert (
        validate("draft_report_template", example("draft_report_template", categories=cats))["categories"]
        == cats
    )


def test_report_template_reads_a_blank_parent_as_top_level() -> None:
    data = example(
        "draft_report_template", categories=[{"name": "Billing", "parent": "  "}, {"name": "Other"}]
    )

    assert validate("draft_report_template", data)["categories"] == categories(
        ("Billing", None), ("Other", None)
    )


def test_report_template_refuses_a_parent_that_is_not_a_category() -> None:
    [problem] = template_problems(categories(("Billing", None), ("Refunds", "Payments")))

    assert problem == FieldProblem(
        ("categories", 1, "parent"),
        "Categories, row 2, Parent: 'Payments' is not one of the categories in this list",
        "unknown_parent",
    )
    [case] = template_problems(categories(("Billing", None), ("Refunds", "billing")))
    assert case.type == "unknown_parent"


def test_report_template_refuses_a_category_that_is_its_own_parent() -> None:
    [problem] = template_problems(categories(("Billing", "Billing")))

    assert problem == FieldProblem(
        ("categories", 0, "parent"),
        "Categories, row 1, Parent: a category cannot be its own parent",
        "category_cycle",
    )


def test_report_template_refuses_every_category_in_a_cycle() -> None:
    problems = template_problems(
        categories(("root", None), ("a", "c"), ("b", "a"), ("c", "b"), ("leaf", "a"))
    )

    assert [p.loc for p in problems] == [("categories", i, "parent") for i in (1, 2, 3)]
    assert {p.type for p in problems} == {"category_cycle"}
    assert "from 'a' comes back to 'a'" in problems[0].message


def test_report_template_refuses_duplicate_names_at_the_repeat() -> None:
    [category] = template_problems(categories(("Billing", None), ("billing", None)))
    assert (category.loc, category.type) == (("categories", 1, "name"), "duplicate")
    metrics = [{"name": "Contacts", "definition": "a"}, {"name": "Contacts", "definition": "b"}]
    metric = only_problem("draft_report_template", example("draft_report_template", metrics=metrics))
    assert (
        metric.message == "Metrics, row 2, Name: 'Contacts' is listed more than once; entries must be unique"
    )
    fields = example("draft_report_template", contact_fields=["category", "customer id", "category"])
    assert only_problem("draft_report_template", fields).loc == ("contact_fields", 2)


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
def test_report_template_refuses_field_out_of_range(
    field: str, value: object, loc: tuple[str | int, ...]
) -> None:
    assert (
        only_problem("draft_report_template", example("draft_report_template", **{field: value})).loc == loc
    )


# ------------------------------------------------------------------------------------------- launch notice


def test_launch_notice_refuses_a_time_without_time_zone() -> None:
    problem = only_problem(
        "send_launch_notice", example("send_launch_notice", launch_at="2030-06-01T09:00:00")
    )

    assert (problem.loc, problem.type) == (("launch_at",), "datetime_invalid")
    assert problem.message.startswith("Launch date and time: must be a date and time with its time zone")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2030-06-01T07:00:00Z", "2030-06-01T07:00:00Z"),
        ("2030-06-01T07:00+00:00", "2030-06-01T07:00:00Z"),
        ("2030-06-01T09:00:00+02:00", "2030-06-01T09:00:00+02:00"),
    ],
)
def test_launch_notice_stores_the_time_in_one_spelling(given: str, stored: str) -> None:
    assert (
        validate("send_launch_notice", example("send_launch_notice", launch_at=given))["launch_at"] == stored
    )


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
def test_launch_notice_refuses_invalid_field(field: str, value: object, loc: tuple[str | int, ...]) -> None:
    assert only_problem("send_launch_notice", example("send_launch_notice", **{field: value})).loc == loc


# ------------------------------------------------------------------------------- acknowledgement, go-live


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("staffing_confirmed", "Staffing confirmed: confirm staffing before acknowledging"),
        (
            "faq_published",
            "FAQ published: confirm the FAQ is published to the front line before acknowledging",
        ),
    ],
)
@pytest.mark.parametrize("value", [False, "false", 0, "off"])
def test_acknowledge_refuses_an_unconfirmed_item_with_its_message(
    field: str, message: str, value: object
) -> None:
    problem = only_problem(
        "acknowledge_launch_notice", example("acknowledge_launch_notice", **{field: value})
    )

    assert problem == FieldProblem((field,), message, "const")


def test_acknowledge_refuses_a_missing_or_non_boolean_confirmation() -> None:
    missing = only_problem("acknowledge_launch_notice", without("acknowledge_launch_notice", "faq_published"))
    assert (missing.loc, missing.type) == (("faq_published",), "missing")
    maybe = only_problem(
        "acknowledge_launch_notice", example("acknowledge_launch_notice", staffing_confirmed="maybe")
    )
    assert maybe.type == "boolean_type"
    many = example("acknowledge_launch_notice", open_questions=["why?"] * 51)
    assert only_problem("acknowledge_launch_notice", many).loc == ("open_questions",)


def test_go_live_needs_confirmation_and_bounded_notes() -> None:
    assert only_problem("go_live", example("go_live", confirm=False)) == FieldProblem(
        ("confirm",), "Confirm go-live: confirm the go-live before submitting", "const"
    )
    assert only_problem("go_live", example("go_live", notes="n" * 4001)).type == "string_too_long"


# ------------------------------------------------------------------------------- plain form, launch settings


def test_a_task_without_a_form_gets_an_optional_comment() -> None:
    today = date(2026, 1, 1)
    assert shipped().form_for("no_such_task") is PLAIN_FORM
    assert PLAIN_FORM.validate({}, today=today, subject="x") == {"comment": ""}
    assert PLAIN_FORM.validate({"comment": " done "}, today=today, subject="x") == {"comment": "done"}
    [extra] = problems_of_plain({"decision": "approve"})
    assert extra.type == "extra_forbidden"


def problems_of_plain(data: dict[str, object]) -> list[FieldProblem]:
    from engine.errors import ValidationFailedError

    with pytest.raises(ValidationFailedError) as caught:
        PLAIN_FORM.validate(data, today=TODAY, subject="x")
    return list(caught.value.problems)


def test_launch_settings_are_validated_by_the_same_path() -> None:
    from engine.errors import ValidationFailedError

    valid = {"support_distribution": ["Ops@Example.com"], "due_overrides": {"review_proposal": "3"}}
    assert LAUNCH_SETTINGS_FORM.validate(valid, today=TODAY, subject="s") == {
        "support_distribution": ["Ops@example.com"],
        "due_overrides": {"review_proposal": 3},
    }
    bad = {"support_distribution": ["a@x.com", "A@x.com", "nope"], "due_overrides": {"go_live": 0}}
    with pytest.raises(ValidationFailedError) as caught:
        LAUNCH_SETTINGS_FORM.validate(bad, today=TODAY, subject="s")
    assert {(p.loc, p.type) for p in caught.value.problems} == {
        (("support_distribution", 2), "email_invalid"),
        (("due_overrides", "go_live"), "greater_than_equal"),
    }  # the duplicate rule waits until every address is valid
