"""The start of a launch: the process's start form plus the engine's launch settings, one answer for both."""

from __future__ import annotations

import pytest

from engine.errors import ValidationFailedError
from engine.forms import FormRef, FormSet, load_forms
from engine.forms.submissions import validate_start_submission, validate_task_submission
from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START
from tests.engine.forms.shipped import TODAY, shipped

TASKS = frozenset(VALID_FORM_DATA)


def start(data: object, forms: FormSet | None = None) -> dict[str, object]:
    return validate_start_submission(forms or shipped(), data, today=TODAY, task_ids=TASKS)


def start_problems(data: object) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationFailedError) as caught:
        start(data)
    return [(p.loc, p.type) for p in caught.value.problems]


def test_start_returns_the_form_values_and_only_the_settings_given() -> None:
    assert start(VALID_LAUNCH_START) == VALID_LAUNCH_START
    settings = {"support_distribution": ["ops@Example.com"], "due_overrides": {"go_live": 2}}
    assert start({**VALID_LAUNCH_START, **settings}) == {
        **VALID_LAUNCH_START,
        "support_distribution": ["ops@example.com"],
        "due_overrides": {"go_live": 2},
    }


def test_start_reports_form_and_settings_problems_together() -> None:
    data = {**VALID_LAUNCH_START, "summary": "", "due_overrides": {"no_such_task": 3}, "owner": "me"}

    assert sorted(start_problems(data)) == [
        (("due_overrides", "no_such_task"), "unknown_task"),
        (("owner",), "extra_forbidden"),
        (("summary",), "string_too_short"),
    ]


def test_start_needs_what_the_engine_reads_even_when_a_start_form_omits_it() -> None:
    bare = load_forms(
        {"s.json": b'{"type": "object", "properties": {"note": {"type": "string"}}}'},
        [FormRef("go", "s.json")],
        start_event="go",
    )

    with pytest.raises(ValidationFailedError) as caught:
        validate_start_submission(bare, {"note": "x"}, today=TODAY, task_ids=TASKS)

    assert [p.loc for p in caught.value.problems] == [
        ("product_name",),
        ("summary",),
        ("planned_launch_date",),
    ]


def test_start_refuses_data_that_is_not_an_object() -> None:
    assert start_problems(["x"]) == [((), "dict_type")]


def test_a_task_submission_goes_through_its_form() -> None:
    assert validate_task_submission(shipped(), "go_live", {"confirm": "on"}, today=TODAY) == {
        "confirm": True,
        "notes": "",
    }


def test_a_process_whose_start_event_names_no_form_takes_the_default_start_form() -> None:
    plain = FormSet()

    assert (
        validate_start_submission(plain, VALID_LAUNCH_START, today=TODAY, task_ids=TASKS)
        == VALID_LAUNCH_START
    )
    with pytest.raises(ValidationFailedError) as caught:
        validate_start_submission(
            plain, {**VALID_LAUNCH_START, "planned_launch_date": "2020-01-01"}, today=TODAY, task_ids=TASKS
        )
    assert caught.value.problems[0].message == "Planned launch date: must not be in the past"
