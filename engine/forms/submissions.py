"""The two submissions the engine validates: a task's data, and the data that starts a launch."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, Final

from engine.errors import FieldProblem, ValidationFailedError
from engine.forms.launch_settings import LAUNCH_SETTINGS_FORM, SETTINGS_FIELDS, START_FIELDS
from engine.forms.package import FormSet

LAUNCH_START_FIELDS: Final = (*START_FIELDS, "support_distribution", "due_overrides")
"""Every field a launch start may carry: what the engine reads, and the launch settings."""
"""What the engine itself reads from every start (the launch's name, summary and planned date)."""
_START_TITLES: Final = {
    "product_name": "Product name",
    "summary": "Summary",
    "planned_launch_date": "Planned launch date",
}


def validate_task_submission(forms: FormSet, task_id: str, data: object, *, today: date) -> dict[str, Any]:
    """A task's data through its form (the plain form when the task declares none)."""
    return forms.form_for(task_id).validate(data, today=today, subject=f"task {task_id!r}")


def validate_start_submission(
    forms: FormSet, data: object, *, today: date, task_ids: Collection[str]
) -> dict[str, Any]:
    """The start form's values plus the launch settings that were given (support_distribution,
    due_overrides), or one ValidationFailedError with the problems of both."""
    if not isinstance(data, Mapping):
        return forms.start_form().validate(data, today=today, subject="the launch start")
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    try:
        values = forms.start_form().validate(
            {k: v for k, v in data.items() if k not in SETTINGS_FIELDS},
            today=today,
            subject="the launch start",
        )
    except ValidationFailedError as exc:
        problems.extend(exc.problems)
    given = {k: v for k, v in data.items() if k in SETTINGS_FIELDS}
    try:
        settings = LAUNCH_SETTINGS_FORM.validate(given, today=today, subject="the launch settings")
    except ValidationFailedError as exc:
        problems.extend(exc.problems)
    problems.extend(_unknown_tasks(given.get("due_overrides"), task_ids))
    if not problems:
        problems.extend(
            FieldProblem((name,), f"{_START_TITLES[name]}: is required", "missing")
            for name in START_FIELDS
            if values.get(name) in (None, "")
        )
    if problems:
        raise ValidationFailedError(_summary(problems), problems)
    return {**values, **settings}


def _unknown_tasks(overrides: object, task_ids: Collection[str]) -> list[FieldProblem]:
    if not isinstance(overrides, Mapping):
        return []
    example = min(task_ids) if task_ids else "review_proposal"
    return [
        FieldProblem(
            ("due_overrides", key),
            f"Due dates, {key}: '{key}' is not a task of this process, like {example}",
            "unknown_task",
        )
        for key in overrides
        if key not in task_ids
    ]


def _summary(problems: list[FieldProblem]) -> str:
    shown = "; ".join(
        f"{'.'.join(str(p) for p in problem.loc) or '(form)'}: {problem.message}" for problem in problems[:5]
    )
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return f"invalid data for the launch start ({count}): {shown}{more}"
