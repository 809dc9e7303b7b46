"""Messages through the engine API: an intermediate catch event, a receive task, message boundaries
(interrupting and not), the payload schema, refusals, and messages thrown by one launch reaching the
others. After every command the engine is a fresh one and the stored state must round-trip."""

from __future__ import annotations

import json

import pytest

from engine import (
    ConflictError,
    LaunchStatus,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
    WorkflowEngine,
)
from tests.engine import driver
from tests.engine.event_diagrams import HALT, MESSAGE, boundary, catch, chain, user_task
from tests.engine.event_launch import EventWorld

SCHEMA = {
    "title": "Beta ended",
    "type": "object",
    "properties": {"testers": {"type": "integer", "title": "Testers", "minimum": 0}},
    "required": ["testers"],
}
SCHEMA_PROPERTY = '<spiffworkflow:property name="messageSchema" value="beta_ended.schema.json"/>'
WAIT_FOR_BETA = (
    '<bpmn:startEvent id="start"/>'
    + catch("beta", MESSAGE, properties=SCHEMA_PROPERTY)
    + user_task("report")
    + '<bpmn:endEvent id="end"/>'
    + chain("start", "beta", "report", "end")
)


@pytest.fixture
def world(engine: WorkflowEngine) -> EventWorld:
    return EventWorld(engine)


def test_a_message_opens_the_path_after_its_catch_event_and_lands_under_its_name(world: EventWorld) -> None:
    world.deploy(WAIT_FOR_BETA, {"beta_ended.schema.json": json.dumps(SCHEMA).encode()})
    launch = world.start()
    assert launch.open_tasks == ()
    assert world.waiting() == [("message", "beta_ended", "beta")]

    with pytest.raises(ValidationFailedError) as invalid:
        world.send("beta_ended", {"testers": -1})
    assert [p.loc for p in invalid.value.problems] == [("testers",)]
    assert world.waiting() == [("message", "beta_ended", "beta")]  # nothing changed

    after = world.send("beta_ended", {"testers": 140})
    assert [t.bpmn_id for t in after.open_tasks] == ["report"]
    assert after.waiting == ()
    task = world.engine.get_task(task_id=after.open_tasks[0].id, actor=driver.PM)
    assert task.task.bpmn_id == "report"
    [received] = world.audit(action="message.received")
    assert received["message"] == "beta_ended"
    assert received["caught_by"] == ["beta"]
    assert received["new_tasks"] == ["report"]
    assert "message.receive_invalid" in world.actions()

    done = world.complete("report")
    assert done.status is LaunchStatus.LIVE


def test_the_payload_is_in_the_workflow_data_under_the_message_name(world: EventWorld) -> None:
    from engine.db.models import LaunchRecord
    from engine.serialization import restore_state

    world.deploy(WAIT_FOR_BETA, {"beta_ended.schema.json": json.dumps(SCHEMA).encode()})
    world.start()
    report = world.send("beta_ended", {"testers": 7}).open_tasks[0]
    with world.engine.db.read() as session:
        record = session.get(LaunchRecord, world.launches["a"])
        assert record is not None
        state, version_id = record.state, record.process_version_id
    workflow = restore_state(state, world.engine._process(version_id).spiff_spec)
    assert workflow.data_for(report.id)["beta_ended"] == {"testers": 7}


def test_refusals_unknown_launch_nothing_waiting_and_who_may_send(world: EventWorld) -> None:
    world.deploy(WAIT_FOR_BETA, {"beta_ended.schema.json": json.dumps(SCHEMA).encode()})
    world.start()
    with pytest.raises(NotFoundError):
        world.engine.send_message(launch_id="no-such-launch", name="beta_ended", payload={}, actor=driver.PM)
    with pytest.raises(ConflictError, match="waits for the message 'halt'"):
        world.send("halt", {})
    with pytest.raises(PermissionDeniedError):
        world.engine.send_message(
            launch_id=world.launches["a"], name="beta_ended", payload={"testers": 1}, actor=driver.SUPPORT
        )
    assert world.engine.send_message(
        launch_id=world.launches["a"], name="beta_ended", payload={"testers": 1}, actor=driver.ADMIN
    ).open_tasks
    assert "message.receive_conflict" in world.actions()


def test_a_receive_task_waits_for_its_message(world: EventWorld) -> None:
    world.deploy(
        '<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait_beta" messageRef="m_beta"/>'
        + user_task("report")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "wait_beta", "report", "end")
    )
    world.start()
    assert world.waiting() == [("message", "beta_ended", "wait_beta")]
    assert [t.bpmn_id for t in world.send("beta_ended", {"any": "thing"}).open_tasks] == ["report"]
    assert world.complete("report").status is LaunchStatus.LIVE


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_message_boundary_interrupts_the_task_or_opens_a_side_path(
    world: EventWorld, interrupting: bool
) -> None:
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_running")
        + boundary("halted", "beta_running", HALT, interrupting=interrupting)
        + user_task("explain_halt")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_halt"/>'
        + chain("start", "beta_running", "end")
        + chain("halted", "explain_halt", "end_halt", prefix="h")
    )
    world.start()
    [waiting] = world.view().waiting
    assert (waiting.kind, waiting.name, waiting.boundary, waiting.interrupting) == (
        "message",
        "halt",
        True,
        interrupting,
    )
    after = world.send("halt", {"why": "crash"})
    expected = ["explain_halt"] if interrupting else ["beta_running", "explain_halt"]
    assert sorted(t.bpmn_id for t in after.open_tasks) == expected
    [received] = world.audit(action="message.received")
    assert received["cancelled_tasks"] == (["beta_running"] if interrupting else [])
    world.complete("explain_halt")
    if not interrupting:
        world.complete("beta_running")
    assert world.view().status is LaunchStatus.LIVE


def test_a_message_thrown_by_one_launch_reaches_the_other_launches_of_its_process(world: EventWorld) -> None:
    world.deploy(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user_task("beta_ended")
        + '<bpmn:endEvent id="tell"><bpmn:messageEventDefinition messageRef="m_beta"/></bpmn:endEvent>'
        + catch("hear", MESSAGE)
        + user_task("report")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "split", "beta_ended", "tell")
        + chain("split", "hear", "report", "end", prefix="h")
    )
    world.start("a")
    world.start("b")
    after = world.complete("beta_ended", "a", data={"comment": "over"})
    assert [t.bpmn_id for t in after.open_tasks] == ["report"]  # caught inside launch a itself
    assert world.open("b") == ["beta_ended"]
    assert world.tick() >= 1  # the worker hands the thrown message to b
    assert world.open("b") == ["beta_ended", "report"]
    [received] = world.audit("b", action="message.received")
    assert received["from_launch"] == world.launches["a"]
    assert world.tick() == 0  # delivered once: nothing more to do
    assert world.open("b") == ["beta_ended", "report"]
    world.complete("report", "b")
    world.complete("beta_ended", "b")  # throws again: a no longer waits
    assert world.tick() >= 1
    assert world.view("b").status is LaunchStatus.LIVE


def test_a_correlated_message_reaches_only_the_launches_with_the_same_value(world: EventWorld) -> None:
    receiver = EventWorld(world.engine, process_id="receiver")
    receiver.deploy(
        '<bpmn:startEvent id="start"/>'
        + catch("hear", MESSAGE)
        + user_task("report")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "hear", "report", "end")
    )
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_ended")
        + '<bpmn:endEvent id="tell"><bpmn:extensionElements><spiffworkflow:properties>'
        + '<spiffworkflow:property name="correlate" value="launch.product_name"/>'
        + "</spiffworkflow:properties></bpmn:extensionElements>"
        + '<bpmn:messageEventDefinition messageRef="m_beta"/></bpmn:endEvent>'
        + chain("start", "beta_ended", "tell")
    )
    receiver.start("alpha", product_name="Alpha")
    receiver.start("beta", product_name="Beta")
    world.start("sender", product_name="Alpha")
    world.complete("beta_ended", "sender")
    receiver.engine = world.engine
    assert world.tick() == 1
    receiver.engine = world.engine
    assert receiver.open("alpha") == ["report"]
    assert receiver.open("beta") == []
    assert receiver.waiting("beta") == [("message", "beta_ended", "hear")]


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_message_starts_an_event_sub_process_interrupting_or_not(
    world: EventWorld, interrupting: bool
) -> None:
    flag = "true" if interrupting else "false"
    world.deploy(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_running")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "beta_running", "end")
        + '<bpmn:subProcess id="on_halt" triggeredByEvent="true">'
        + f'<bpmn:startEvent id="halt_start" isInterrupting="{flag}">{HALT}</bpmn:startEvent>'
        + user_task("explain_halt")
        + '<bpmn:endEvent id="halt_end"/>'
        + chain("halt_start", "explain_halt", "halt_end", prefix="e")
        + "</bpmn:subProcess>"
    )
    world.start()
    assert ("message", "halt", "halt_start") in world.waiting()
    after = world.send("halt", {"why": "legal"})
    assert sorted(t.bpmn_id for t in after.open_tasks) == (
        ["explain_halt"] if interrupting else ["beta_running", "explain_halt"]
    )
    done = world.complete("explain_halt")
    if not interrupting:
        done = world.complete("beta_running")
    assert done.status is LaunchStatus.LIVE


def test_a_launch_whose_start_event_waits_for_a_message_starts_waiting(world: EventWorld) -> None:
    world.deploy(
        f'<bpmn:startEvent id="start">{MESSAGE}</bpmn:startEvent>'
        + user_task("report")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "report", "end")
    )
    started = world.start()
    assert started.status is LaunchStatus.ACTIVE and started.open_tasks == ()
    assert world.waiting() == [("message", "beta_ended", "start")]
    assert [t.bpmn_id for t in world.send("beta_ended", {"testers": 1}).open_tasks] == ["report"]
    assert world.complete("report").status is LaunchStatus.LIVE
