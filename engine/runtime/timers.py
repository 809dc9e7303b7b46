"""Timer events that take "now" from the engine's clock, and the check of a timer's expression."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from engine.bounds import timer_bound_problem
from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.expressions import evaluate, parse_expression


def _now(my_task: Any) -> datetime:
    """The time as the workflow's clock sees it (wall time for a script engine without a clock)."""
    now = getattr(my_task.workflow.script_engine, "now", None)
    return now() if callable(now) else datetime.now(UTC)


def timer_literal(my_task: Any, expression: str) -> str:
    """A timer's expression is a string literal in our safe grammar (checked at load): its value."""
    value = evaluate(parse_expression(expression), my_task.data)
    if not isinstance(value, str):
        raise ExpressionEvaluationError(f"timer expression {expression!r} is not a text value")
    return value


class ClockedDurationTimer(DurationTimerEventDefinition):  # type: ignore[misc]
    """`timeDuration`: fires that long after the event started waiting, by the engine's clock."""

    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            start = _now(my_task)
            parsed = TimerEventDefinition.parse_iso_duration(timer_literal(my_task, self.expression))
            due = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=due)
        if TimerEventDefinition.get_datetime(due) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDateTimer(TimeDateEventDefinition):  # type: ignore[misc]
    """`timeDate`: fires at that moment (an ISO 8601 date-time with a UTC offset), by the engine's clock."""

    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            due = timer_literal(my_task, self.expression)
            my_task._set_internal_data(event_value=due)
        if TimerEventDefinition.get_datetime(due) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


CLOCKED = {DurationTimerEventDefinition: ClockedDurationTimer, TimeDateEventDefinition: ClockedDateTimer}


def timer_problem(kind: str, expression: str) -> str | None:
    """Why a timer expression cannot run (None when it can). `kind` is timeDuration or timeDate.

    Only a quoted ISO 8601 literal is accepted: a duration like 'PT2H' or 'P3D', or a date-time with
    its UTC offset like '2030-06-01T09:00:00+00:00'."""
    example = "'PT2H'" if kind == "timeDuration" else "'2030-06-01T09:00:00+00:00'"
    try:
        parsed = parse_expression(expression)
    except UnsafeExpressionError:
        parsed = None
    value = evaluate(parsed, {}) if parsed is not None and not parsed.names else None
    if not isinstance(value, str):
        return (
            f"timer expression {expression!r} is not supported: write a quoted ISO 8601 literal, "
            f"like {example}"
        )
    duration: dict[str, float] | None = None
    try:
        if kind == "timeDuration":
            if not value.upper().startswith("P") or len(value) > 64:
                raise ValueError(value)
            duration = TimerEventDefinition.parse_iso_duration(value)
        elif datetime.fromisoformat(value).tzinfo is None:
            return f"timer date {value!r} needs a UTC offset, like {example}"
    except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
        return f"timer expression {expression!r} is not a valid ISO 8601 value, like {example}"
    return timer_bound_problem(kind, value, duration)
