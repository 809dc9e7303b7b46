"""A terminate end event ends the launch: status `terminated`, its open tasks cancelled, never live, even
when every gate item passed; a gated launch that terminates with gate items open is not refused (it does
not go live). Every step is followed by a fresh engine and a state round-trip."""

from __future__ import annotations

import pytest

from engine import LaunchStatus, TaskStatus, WorkflowEngine
from tests.engine import driver
from tests.engine.event_diagrams import TERMINATE, chain, user_task
from tests.engine.event_launch import EventWorld

GATED = (
    '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
    + user_task(
        "signoff",
        document="signoff",
        gate_item="signoff",
        gate_item_title="Sign-off",
        gate_pass_when="signoff.comment == 'ok'",
    )
    + user_task("go_live", document="go_live", go_live="true")
    + user_task("cancel_launch", document="cancel_launch")
    + f'<bpmn:endEvent id="end"/><bpmn:endEvent id="cancelled">{TERMINATE}</bpmn:endEvent>'
    + chain("start", "split", "signoff", "go_live", "end")
    + chain("split", "cancel_launch", "cancelled", prefix="c")
)


@pytest.fixture
def world(engine: WorkflowEngine) -> EventWorld:
    found = EventWorld(engine)
    found.deploy(GATED)
    return found


@pytest.mark.parametrize("gate_passed_first", [False, True])
def test_a_terminated_gated_launch_is_terminated_not_live(world: EventWorld, gate_passed_first: bool) -> None:
    launch = world.start()
    assert sorted(t.bpmn_id for t in launch.open_tasks) == ["cancel_launch", "signoff"]
    if gate_passed_first:
        after = world.complete("signoff", data={"comment": "ok"})
        assert after.gate_passed == after.gate_total == 1
        assert world.open() == ["cancel_launch", "go_live"]
    ended = world.complete("cancel_launch")
    assert ended.status is LaunchStatus.TERMINATED
    assert ended.open_tasks == () and ended.waiting == ()
    assert ended.completed_at is not None
    assert not ended.ready_to_go_live
    tasks = world.engine.list_tasks(actor=driver.AUDITOR, launch_id=launch.id, limit=50).items
    cancelled = sorted(t.bpmn_id for t in tasks if t.status is TaskStatus.CANCELLED)
    assert cancelled == (["go_live"] if gate_passed_first else ["signoff"])
    [completed] = [d for d in world.audit(action="task.completed") if d["task"] == "cancel_launch"]
    assert completed["terminated"] is True and completed["launch_status"] == "terminated"
    live = world.engine.list_launches(actor=driver.AUDITOR, status=LaunchStatus.LIVE).items
    assert live == ()
    assert [
        v.id for v in world.engine.list_launches(actor=driver.AUDITOR, status=LaunchStatus.TERMINATED).items
    ] == [launch.id]


def test_the_launch_goes_live_when_it_does_not_terminate(world: EventWorld) -> None:
    world.start()
    world.complete("signoff", data={"comment": "ok"})
    world.complete("go_live")
    assert world.view().status is LaunchStatus.ACTIVE  # the cancel path is still open: not finished
    assert world.open() == ["cancel_launch"]
