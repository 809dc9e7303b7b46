"""The shipped launch_gate forms, loaded the way a deploy loads them (diagram references + form files)."""

from __future__ import annotations

import copy
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from engine.errors import FieldProblem, ValidationFailedError
from engine.forms import FormSet, load_forms
from engine.forms.diagram import form_refs_in, read_form_files
from tests.engine.form_examples import VALID_FORM_DATA

ROOT = Path(__file__).resolve().parents[3]
DIAGRAM = ROOT / "bpmn" / "launch_gate.bpmn"
FORMS_DIR = ROOT / "forms" / "launch_gate"
TODAY = date(2026, 1, 15)  # before every date in the examples


@cache
def shipped() -> FormSet:
    return load_forms(read_form_files(FORMS_DIR), form_refs_in(DIAGRAM.read_bytes()))


def validate(element_id: str, data: object, *, today: date = TODAY) -> dict[str, object]:
    return shipped().form_for(element_id).validate(data, today=today, subject=f"task {element_id!r}")


def example(task_id: str, **changes: object) -> dict[str, object]:
    data = copy.deepcopy(VALID_FORM_DATA[task_id])
    data.update(changes)
    return data


def without(task_id: str, field: str) -> dict[str, object]:
    data = example(task_id)
    del data[field]
    return data


def problems_of(element_id: str, data: object, *, today: date = TODAY) -> list[FieldProblem]:
    with pytest.raises(ValidationFailedError) as caught:
        validate(element_id, data, today=today)
    return list(caught.value.problems)


def only_problem(element_id: str, data: object, *, today: date = TODAY) -> FieldProblem:
    problems = problems_of(element_id, data, today=today)
    assert len(problems) == 1, problems
    return problems[0]


def rows(count: int, row: dict[str, object]) -> list[dict[str, object]]:
    return [copy.deepcopy(row) for _ in range(count)]
