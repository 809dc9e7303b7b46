"""Signals through the engine and the worker: a signal thrown by one launch is caught inside it and
broadcast to every other active launch waiting for that signal name (of any process); a signal boundary
interrupts a task. Every step is followed by a fresh engine and a state round-trip."""

from __future__ import annotations

import pytest

from engine import LaunchStatus, WorkflowEngine
from tests.engine.event_diagrams import SIGNAL, boundary, catch, chain, user_task
from tests.engine.event_launch import EventWorld

THROWER = (
    '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
    + user_task("announce_freeze")
    + f'<bpmn:intermediateThrowEvent id="freeze">{SIGNAL}</bpmn:intermediateThrowEvent>'
    + catch("frozen_here", SIGNAL)
    + user_task("frozen")
    + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
    + chain("start", "split", "announce_freeze", "freeze", "end_a")
    + chain("split", "frozen_here", "frozen", "end_b", prefix="b")
)
LISTENER = (
    '<bpmn:startEvent id="start"/>'
    + user_task("work")
    + boundary("stop_work", "work", SIGNAL)
    + user_task("after_freeze")
    + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_f"/>'
    + chain("start", "work", "end")
    + chain("stop_work", "after_freeze", "end_f", prefix="f")
)


@pytest.fixture
def world(engine: WorkflowEngine) -> EventWorld:
    return EventWorld(engine)


def test_a_thrown_signal_reaches_its_own_launch_and_every_other_waiting_launch(world: EventWorld) -> None:
    world.deploy(THROWER)
    world.start("a")
    world.start("b")
    listener = EventWorld(world.engine, process_id="listener")
    listener.deploy(LISTENER)
    listener.start("c")
    assert listener.waiting("c") == [("signal", "freeze", "stop_work")]

    after = world.complete("announce_freeze", "a")
    assert [t.bpmn_id for t in after.open_tasks] == ["frozen"]  # caught inside launch a at once
    assert world.open("b") == ["announce_freeze"]
    assert world.tick() == 1  # one thrown signal delivered
    listener.engine = world.engine
    assert world.open("b") == ["announce_freeze", "frozen"]
    assert listener.open("c") == ["after_freeze"]  # the boundary interrupted `work`
    [received] = listener.audit("c", action="signal.received")
    assert received["from_launch"] == world.launches["a"]
    assert received["cancelled_tasks"] == ["work"]
    assert world.tick() == 0
    assert listener.complete("after_freeze", "c").status is LaunchStatus.LIVE


def test_an_admin_broadcasts_a_signal_to_every_waiting_launch(world: EventWorld) -> None:
    from engine import PermissionDeniedError
    from tests.engine import driver

    world.process_id = "listener"
    world.deploy(LISTENER)
    world.start("c")
    world.start("d")
    with pytest.raises(PermissionDeniedError):
        world.engine.broadcast_signal(name="freeze", actor=driver.PM)
    reached = world.engine.broadcast_signal(name="freeze", actor=driver.ADMIN)
    assert sorted(reached) == sorted(world.launches.values())
    assert world.open("c") == ["after_freeze"] and world.open("d") == ["after_freeze"]
    assert world.engine.broadcast_signal(name="freeze", actor=driver.ADMIN) == []  # nothing waits now
