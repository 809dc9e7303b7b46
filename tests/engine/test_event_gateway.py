"""The event-based gateway through the engine: the first of its events to happen (a message, a timer)
takes the token, the other is cancelled; what it waits for is shown on the launch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import ConflictError, FixedClock, LaunchStatus, WorkflowEngine
from tests.engine.event_diagrams import MESSAGE, catch, chain, timer, user_task
from tests.engine.event_launch import EventWorld

GATEWAY = (
    '<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
    + catch("beta_done", MESSAGE)
    + catch("too_late", timer("timeDuration", "P14D"))
    + user_task("report")
    + user_task("chase_beta")
    + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
    + chain("start", "gw", "beta_done", "report", "end_a")
    + chain("gw", "too_late", "chase_beta", "end_b", prefix="t")
)


@pytest.mark.parametrize("first", ["message", "timer"])
def test_the_first_event_wins_and_the_other_is_cancelled(
    engine: WorkflowEngine, clock: FixedClock, first: str
) -> None:
    world = EventWorld(engine)
    world.deploy(GATEWAY)
    started = world.start()
    assert [(w.kind, w.element_id, w.due_at) for w in started.waiting] == [
        ("message", "beta_done", None),
        ("timer", "too_late", clock.now() + timedelta(days=14)),
    ]
    if first == "message":
        assert [t.bpmn_id for t in world.send("beta_ended", {}).open_tasks] == ["report"]
        clock.advance(timedelta(days=15))
        assert world.tick() == 0  # the timer was cancelled with the gateway
        done = world.complete("report")
    else:
        clock.advance(timedelta(days=14))
        assert world.tick() == 1
        assert world.open() == ["chase_beta"]
        with pytest.raises(ConflictError):
            world.send("beta_ended", {})
        done = world.complete("chase_beta")
    assert done.waiting == ()
    assert done.status is LaunchStatus.LIVE
