"""Boundary events through the engine: an error end event inside a sub-process caught by a boundary on
it, an error nobody catches (the launch fails with an incident, never a silent stall), a non-interrupting
timer boundary on a task. Every step is followed by a fresh engine and a state round-trip."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import DeliveryConfig, FixedClock, LaunchStatus, Worker, WorkflowEngine
from tests.engine import driver
from tests.engine.event_diagrams import ERROR, boundary, chain, timer, user_task
from tests.engine.event_launch import EventWorld

LEGAL = (
    '<bpmn:subProcess id="legal"><bpmn:startEvent id="legal_start"/>'
    + user_task("legal_review")
    + '<bpmn:exclusiveGateway id="legal_ok" default="fine"/>'
    + f'<bpmn:endEvent id="legal_end"/><bpmn:endEvent id="veto">{ERROR}</bpmn:endEvent>'
    + chain("legal_start", "legal_review", "legal_ok")
    + '<bpmn:sequenceFlow id="fine" sourceRef="legal_ok" targetRef="legal_end"/>'
    + '<bpmn:sequenceFlow id="vetoed" sourceRef="legal_ok" targetRef="veto">'
    + "<bpmn:conditionExpression>legal_review.comment == 'veto'</bpmn:conditionExpression>"
    + "</bpmn:sequenceFlow></bpmn:subProcess>"
)


@pytest.mark.parametrize("comment", ["veto", "fine"])
def test_an_error_end_event_in_a_sub_process_is_caught_by_its_boundary(
    engine: WorkflowEngine, comment: str
) -> None:
    world = EventWorld(engine)
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + LEGAL
        + boundary("vetoed_boundary", "legal", ERROR)
        + user_task("after_legal")
        + user_task("handle_veto")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_veto"/>'
        + chain("start", "legal", "after_legal", "end")
        + chain("vetoed_boundary", "handle_veto", "end_veto", prefix="v")
    )
    started = world.start()
    assert [t.bpmn_id for t in started.open_tasks] == ["legal_review"]
    assert ("error", "legal_veto", "vetoed_boundary") in world.waiting()
    after = world.complete("legal_review", data={"comment": comment})
    expected = "handle_veto" if comment == "veto" else "after_legal"
    assert [t.bpmn_id for t in after.open_tasks] == [expected]
    assert world.complete(expected).status is LaunchStatus.LIVE


def test_an_error_nobody_catches_fails_the_launch_with_an_incident(engine: WorkflowEngine) -> None:
    world = EventWorld(engine)
    world.deploy(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + LEGAL
        + user_task("other_work")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_o"/>'
        + chain("start", "split", "legal", "end")
        + chain("split", "other_work", "end_o", prefix="o")
    )
    world.start()
    failed = world.complete("legal_review", data={"comment": "veto"})
    assert failed.status is LaunchStatus.FAILED
    assert failed.open_tasks == ()  # other_work is cancelled with the launch
    [completed] = [d for d in world.audit(action="task.completed") if d["task"] == "legal_review"]
    assert completed["uncaught_errors"] == ["legal_veto"]
    Worker(world.engine, DeliveryConfig()).tick()
    [incident] = world.engine.list_incidents(launch_id=world.launches["a"], actor=driver.AUDITOR)
    assert incident.kind == "workflow_error"
    assert "legal_veto" in (incident.last_error or "")


def test_a_non_interrupting_timer_boundary_on_a_task_opens_a_reminder(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    world = EventWorld(engine)
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + user_task("review")
        + boundary("nudge", "review", timer("timeDuration", "P2D"), interrupting=False)
        + user_task("chase_reviewer")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_n"/>'
        + chain("start", "review", "end")
        + chain("nudge", "chase_reviewer", "end_n", prefix="n")
    )
    world.start()
    clock.advance(timedelta(days=2))
    assert world.tick() == 1
    assert world.open() == ["chase_reviewer", "review"]
    world.complete("review")
    assert world.complete("chase_reviewer").status is LaunchStatus.LIVE
