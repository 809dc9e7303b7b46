"""The shipped minor_launch forms (forms/minor_launch/*.json): each accepts its demo data and refuses each
rule's violation with the rule's message, located at the field and named by its title."""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from engine.errors import FieldProblem, ValidationFailedError
from engine.forms import FormSet, load_forms
from engine.forms.diagram import form_refs_in, read_form_files, start_event_of
from engine.specs import load_process
from engine.xml_safety import parse_xml_document
from tests.engine.form_examples import MINOR_FORM_DATA, VALID_LAUNCH_START

ROOT = Path(__file__).resolve().parents[3]
DIAGRAM = ROOT / "bpmn" / "minor_launch.bpmn"
FORMS_DIR = ROOT / "forms" / "minor_launch"
TODAY = date(2026, 1, 15)  # before every date in the examples


@cache
def forms() -> FormSet:
    xml = DIAGRAM.read_bytes()
    start = start_event_of(parse_xml_document(xml))
    return load_forms(read_form_files(FORMS_DIR), form_refs_in(xml), start_event=start)


def validate(element_id: str, data: object) -> dict[str, object]:
    return forms().form_for(element_id).validate(data, today=TODAY, subject=f"task {element_id!r}")


def problems_of(element_id: str, data: object) -> list[FieldProblem]:
    with pytest.raises(ValidationFailedError) as caught:
        validate(element_id, data)
    return list(caught.value.problems)


def example(task_id: str, **changes: object) -> dict[str, object]:
    data = copy.deepcopy(MINOR_FORM_DATA[task_id])
    data.update(changes)
    return data


def test_every_task_and_the_start_event_name_a_form_and_every_form_file_is_used() -> None:
    refs = form_refs_in(DIAGRAM.read_bytes())
    model = load_process(DIAGRAM.read_bytes()).model
    assert {r.element_id for r in refs} == set(model.tasks) | {"start_minor_launch"}
    assert set(model.tasks) == set(MINOR_FORM_DATA)
    used = {r.schema_file for r in refs} | {r.ui_file for r in refs}
    assert used == set(read_form_files(FORMS_DIR))


@pytest.mark.parametrize("task_id", sorted(MINOR_FORM_DATA))
def test_demo_data_is_accepted_unchanged(task_id: str) -> None:
    assert validate(task_id, MINOR_FORM_DATA[task_id]) == MINOR_FORM_DATA[task_id]


def test_start_form_accepts_demo_data_and_refuses_a_date_in_the_past() -> None:
    assert validate("start_minor_launch", VALID_LAUNCH_START) == VALID_LAUNCH_START
    [problem] = problems_of("start_minor_launch", {**VALID_LAUNCH_START, "planned_launch_date": "2025-12-31"})
    assert (problem.loc, problem.type) == (("planned_launch_date",), "date_in_past")
    assert problem.message == "Planned launch date: must not be in the past"


@pytest.mark.parametrize("task_id", ["write_proposal", "revise_proposal"])
def test_proposal_refuses_a_launch_date_in_the_past(task_id: str) -> None:
    [problem] = problems_of(task_id, example(task_id, planned_launch_date="2026-01-14"))
    assert (problem.loc, problem.type) == (("planned_launch_date",), "date_in_past")
    assert problem.message == "Planned launch date: must not be in the past"


def test_proposal_expecting_new_question_types_needs_examples_of_them() -> None:
    [problem] = problems_of("write_proposal", example("write_proposal", new_question_types=True))
    assert (problem.loc, problem.type) == (("new_questions",), "questions_required")
    assert problem.message == (
        "The new questions: give examples of the new questions when you expect new question types"
    )
    given = example("write_proposal", new_question_types=True, new_questions="Where is the link?")
    assert validate("write_proposal", given)["new_question_types"] is True


def test_proposal_needs_a_channel() -> None:
    [problem] = problems_of("write_proposal", example("write_proposal", channels=[]))
    assert problem.loc == ("channels",)
    assert problem.message == "Channels: choose at least one channel"


def test_support_review_refuses_request_changes_without_comment() -> None:
    [problem] = problems_of("support_review", {"decision": "request_changes", "comment": ""})
    assert (problem.loc, problem.type) == (("comment",), "comment_required")
    assert problem.message == "Comment: a comment is required when requesting changes: say what should change"


def test_faq_refuses_a_question_asked_twice_at_the_repeat() -> None:
    entries = [
        {"question": "Where is the link?", "answer": "At the bottom."},
        {"question": "WHERE is the link?", "answer": "Still at the bottom."},
    ]
    [problem] = problems_of("write_faq", {"faq_entries": entries})
    assert (problem.loc, problem.type) == (("faq_entries", 1, "question"), "duplicate")
    assert "'WHERE is the link?' is asked more than once" in problem.message


def test_faq_needs_an_entry() -> None:
    [problem] = problems_of("write_faq", {"faq_entries": []})
    assert problem.message == "FAQ entries: write at least one FAQ entry"


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("staffing_confirmed", "Staffing confirmed: confirm staffing before acknowledging"),
        ("front_line_briefed", "Front line briefed: brief the front line before acknowledging"),
    ],
)
def test_acknowledgement_needs_both_confirmations(field: str, message: str) -> None:
    [problem] = problems_of(
        "acknowledge_launch_notice", example("acknowledge_launch_notice", **{field: False})
    )
    assert (problem.loc, problem.message) == ((field,), message)


def test_go_live_needs_its_confirmation() -> None:
    [problem] = problems_of("go_live", {"confirm": False})
    assert problem.message == "Confirm go-live: confirm the go-live before submitting"
