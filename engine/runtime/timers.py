"""Timer events that take "now" from the engine's clock, and the check of a timer's expression."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from engine.bounds import cycle_bound_problem, timer_bound_problem
from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.expressions import evaluate, parse_expression


def _now(my_task: Any) -> datetime:
    """The time as the workflow's clock sees it (wall time for a script engine without a clock)."""
    now = getattr(my_task.workflow.script_engine, "now", None)
    return now() if callable(now) else datetime.now(UTC)


def timer_literal(my_task: Any, expression: str) -> str:
    """A timer's expression is a string literal in our safe grammar or a bare ISO 8601 value (checked at
    load): its value."""
    try:
        parsed = parse_expression(expression)
    except UnsafeExpressionError:
        parsed = None
    if parsed is None or parsed.names:
        return expression.strip()  # a bare ISO 8601 value (PT5M, R3/PT1H, a date), checked at deploy
    value = evaluate(parsed, my_task.data)
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


def cycle_plan(value: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """`R<n>/<duration>` (first round one interval after `now`) or `R<n>/<start>/<duration>`: the number
    of rounds, the first round and the interval. An unbounded `R/...` is refused at deploy."""
    parts = value.strip().upper().split("/")
    if len(parts) not in (2, 3) or not parts[0].startswith("R") or not parts[0][1:].isdigit():
        raise ExpressionEvaluationError(f"timer cycle {value!r} is not R<count>/<duration>")
    count = int(parts[0][1:])
    if len(parts) == 2:
        interval = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now
        )
        return count, now + interval, interval
    first = TimerEventDefinition.get_datetime(value.strip().split("/")[1])
    interval = TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(parts[2]), first
    )
    return count, first, interval


class ClockedCycleTimer(CycleTimerEventDefinition):  # type: ignore[misc]
    """`timeCycle` `R<n>/...`: fires n times, one interval apart, by the engine's clock. On a
    non-interrupting boundary or event sub-process start each round starts the path once more; on an
    intermediate event the first round lets the token through."""

    def cycle_complete(self, my_task: Any) -> bool:
        now = _now(my_task)
        state = my_task._get_internal_data("event_value")
        if state is None:
            count, first, interval = cycle_plan(timer_literal(my_task, self.expression), now)
            state = {"cycles": count, "next": first.isoformat(), "duration": interval.total_seconds()}
        fired = False
        if state["cycles"] == 0:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        due = datetime.fromisoformat(state["next"])
        if due <= now:
            state = {**state, "next": (due + timedelta(seconds=state["duration"])).isoformat()}
            state["cycles"] -= 1
            fired = True
        my_task._set_internal_data(event_value=state)
        return fired


CLOCKED = {
    DurationTimerEventDefinition: ClockedDurationTimer,
    TimeDateEventDefinition: ClockedDateTimer,
    CycleTimerEventDefinition: ClockedCycleTimer,
}


_EXAMPLES = {"timeDuration": "PT2H", "timeDate": "2030-06-01T09:00:00+00:00", "timeCycle": "R3/PT1H"}


def _timer_value(expression: str) -> str | None:
    """A timer's value: a quoted literal of our grammar, or a bare ISO 8601 value (no spaces)."""
    try:
        parsed = parse_expression(expression)
    except UnsafeExpressionError:
        parsed = None
    if parsed is not None and not parsed.names:
        value = evaluate(parsed, {})
        return value if isinstance(value, str) else None
    bare = expression.strip()
    return bare if bare and len(bare) <= 100 and not any(c.isspace() for c in bare) else None


def timer_problem(kind: str, expression: str) -> str | None:
    """Why a timer expression cannot run (None when it can). `kind` is timeDuration, timeDate or
    timeCycle. An ISO 8601 value, bare or quoted: a duration like PT2H or 'P3D', a date-time with its UTC
    offset like 2030-06-01T09:00:00+00:00, a cycle like R3/PT1H or R3/2030-06-01T09:00:00+00:00/P1W."""
    example = _EXAMPLES.get(kind, "PT2H")
    if not expression.strip():
        return f"the timer's {kind} is empty: write an ISO 8601 value, like {example}"
    value = _timer_value(expression)
    if value is None:
        return f"timer expression {expression!r} is not supported: write an ISO 8601 value, like {example}"
    duration: dict[str, float] | None = None
    try:
        if kind == "timeCycle":
            return _cycle_problem(value)
        if kind == "timeDuration":
            if not value.upper().startswith("P") or len(value) > 64:
                raise ValueError(value)
            duration = TimerEventDefinition.parse_iso_duration(value)
        elif datetime.fromisoformat(value).tzinfo is None:
            return f"timer date {value!r} needs a UTC offset, like {example}"
    except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
        return f"timer expression {expression!r} is not a valid ISO 8601 value, like {example}"
    return timer_bound_problem(kind, value, duration)


def _cycle_problem(value: str) -> str | None:
    """A cycle's count and interval within engine.bounds (raises on a value that does not parse)."""
    parts = value.strip().split("/")
    if len(parts) not in (2, 3) or not parts[0].upper().startswith("R"):
        raise ValueError(value)
    if len(parts) == 3 and datetime.fromisoformat(parts[1]).tzinfo is None:
        return f"timer cycle {value!r}: its start needs a UTC offset, like R3/2030-06-01T09:00:00+00:00/P1W"
    if len(parts[-1]) > 64 or timer_bound_problem("timeDuration", parts[-1], _duration(parts[-1])):
        return f"timer cycle {value!r} waits longer than the timer limit"
    count = int(parts[0][1:]) if parts[0][1:] else None
    _, _, interval = cycle_plan(value if count is not None else "R1" + value[1:], datetime.now(UTC))
    return cycle_bound_problem(value, count, interval)


def _duration(value: str) -> dict[str, float]:
    if not value.upper().startswith("P"):
        raise ValueError(value)
    return dict(TimerEventDefinition.parse_iso_duration(value))


def _clocked(definition: Any) -> Any:
    clocked = CLOCKED.get(type(definition))
    if clocked is not None:
        return clocked(definition.name, definition.expression, description=definition.description)
    parts = getattr(definition, "event_definitions", None)  # an event-based gateway's followers
    if isinstance(parts, list):
        definition.event_definitions = [_clocked(part) for part in parts]
    return definition


def clock_timers(spec: Any) -> None:
    """Swap the timer definitions of a process spec's tasks (and of the events an event-based gateway
    waits for) for the clocked ones."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if definition is not None:
            task_spec.event_definition = _clocked(definition)
