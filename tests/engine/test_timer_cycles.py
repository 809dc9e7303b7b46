"""Timer cycles through the engine and the worker: a non-interrupting boundary cycle re-arms after each
round until its count is spent, an intermediate cycle lets the token through once, the bounds are
checked at deploy (a count is required and capped, at least a minute apart), bare and quoted values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import DiagramRejectedError, FixedClock, LaunchStatus, WorkflowEngine
from engine.bounds import MAX_CYCLE_COUNT
from tests.engine.event_diagrams import boundary, catch, chain, diagram, timer, user_task
from tests.engine.event_launch import EventWorld


def _weekly(value: str) -> str:
    return (
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_running")
        + boundary("weekly", "beta_running", timer("timeCycle", value), interrupting=False)
        + user_task("weekly_report")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_w"/>'
        + chain("start", "beta_running", "end")
        + chain("weekly", "weekly_report", "end_w", prefix="w")
    )


@pytest.mark.parametrize("value", ["R3/P1W", "'R3/P1W'"])
def test_a_boundary_cycle_opens_a_report_each_week_three_times(
    engine: WorkflowEngine, clock: FixedClock, value: str
) -> None:
    world = EventWorld(engine)
    world.deploy(_weekly(value))
    started = world.start()
    [waiting] = started.waiting
    assert (waiting.kind, waiting.due_at, waiting.interrupting) == (
        "timer",
        clock.now() + timedelta(weeks=1),
        False,
    )
    clock.advance(timedelta(days=6))
    assert world.tick() == 0
    for week in range(1, 4):
        clock.advance(timedelta(weeks=1) if week > 1 else timedelta(days=1))
        assert world.tick() == 1
        assert world.open().count("weekly_report") == week
    assert world.view().waiting == ()  # the count is spent: nothing re-armed
    clock.advance(timedelta(weeks=4))
    assert world.tick() == 0
    for _ in range(3):
        world.complete("weekly_report")
    assert world.complete("beta_running").status is LaunchStatus.LIVE


def test_an_intermediate_cycle_lets_the_token_through_at_its_first_round(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    world = EventWorld(engine)
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + catch("daily", timer("timeCycle", "R2/PT24H"))
        + user_task("check")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "daily", "check", "end")
    )
    world.start()
    clock.advance(timedelta(hours=24))
    assert world.tick() == 1
    assert world.open() == ["check"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("R/PT1H", "repeats without end"),
        (f"R{MAX_CYCLE_COUNT + 1}/PT1H", f"between 1 and {MAX_CYCLE_COUNT} times"),
        ("R3/PT30S", "more often than once a minute"),
        ("R3/2030-06-01T09:00:00/P1W", "needs a UTC offset"),
        ("every week", "ISO 8601"),
    ],
)
def test_cycles_outside_the_bounds_are_refused_at_deploy_naming_the_event(
    engine: WorkflowEngine, value: str, reason: str
) -> None:
    problems = engine.check_diagram(diagram(_weekly(value)).encode())
    assert [p.element_id for p in problems] == ["weekly"], problems
    assert reason in problems[0].message
    with pytest.raises(DiagramRejectedError):
        EventWorld(engine).deploy(_weekly(value))


def test_a_launch_whose_start_event_is_a_timer_waits_then_runs(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    world = EventWorld(engine)
    world.deploy(
        f'<bpmn:startEvent id="start">{timer("timeDuration", "P1D")}</bpmn:startEvent>'
        + user_task("kick_off")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "kick_off", "end")
    )
    started = world.start()
    assert started.status is LaunchStatus.ACTIVE and started.open_tasks == ()
    assert [(w.kind, w.due_at) for w in started.waiting] == [("timer", clock.now() + timedelta(days=1))]
    clock.advance(timedelta(days=1))
    assert world.tick() == 1
    assert world.open() == ["kick_off"]
    assert world.complete("kick_off").status is LaunchStatus.LIVE
