"""A gateway where no condition holds and there is no default flow (a deploy warning) is an incident at run
time, never a silent stall: the completion that reached it is stored, the launch is `failed` with its open
tasks cancelled, the incident names the gateway (outbox `workflow_error`, failed at once by the worker) and
the audit says so. Exclusive and inclusive gateways alike; every path with a state round trip per step."""

from __future__ import annotations

import pytest

from engine import LaunchStatus, LaunchView, WorkflowEngine
from engine.delivery import DeliveryConfig
from engine.errors import TaskNotReadyError
from engine.specs import inspect_diagram
from engine.worker import Worker
from tests.engine import driver
from tests.engine.diagram_builder import Flow, Node, chain, diagram
from tests.engine.driver import ADMIN, AUDITOR, PM, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START

CHOICE = {"document": "choose"}


def _diagram(kind: str) -> bytes:
    """start -> choose -> gateway (no default) -> fast | slow (and, in parallel, a side task) -> end."""
    nodes = [
        Node("startEvent", "start"),
        Node("parallelGateway", "fork"),
        Node("userTask", "side_task"),
        Node("userTask", "choose", props=CHOICE),
        Node(kind, "route", name="Which Way?"),
        Node("manualTask", "fast"),
        Node("manualTask", "slow"),
        Node("endEvent", "end_fast"),
        Node("endEvent", "end_slow"),
        Node("endEvent", "end_side"),
    ]
    flows = [
        *chain("start", "fork", "choose", "route"),
        *chain("fork", "side_task", "end_side"),
        Flow("route", "fast", "choose.comment == 'fast'"),
        Flow("route", "slow", "choose.comment == 'slow'"),
        *chain("fast", "end_fast"),
        *chain("slow", "end_slow"),
    ]
    return diagram(f"{kind}_route", nodes, flows)


KINDS = ["exclusiveGateway"]  # an inclusive gateway needs a default at deploy: see the adapter test below


def _deployed(engine: WorkflowEngine, kind: str) -> LaunchView:
    xml = _diagram(kind)
    found = inspect_diagram(xml).problems
    assert [p.element_id for p in found if p.is_error] == []
    assert any(p.element_id == "route" and "default" in p.message for p in found), found
    engine.deploy_process(xml=xml, actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=f"{kind}_route")
    assert_state_round_trips(engine, launch.id)
    return launch


def _complete(engine: WorkflowEngine, launch: LaunchView, bpmn_id: str, comment: str = "") -> LaunchView:
    data = {"comment": comment} if comment else {}
    engine.complete_task(task_id=driver.open_task(launch, bpmn_id).id, data=data, actor=PM)
    assert_state_round_trips(engine, launch.id)
    return restart(engine).get_launch(launch_id=launch.id, actor=PM)


@pytest.mark.parametrize("kind", KINDS)
def test_a_gateway_with_no_way_out_is_an_incident_not_a_stall(engine: WorkflowEngine, kind: str) -> None:
    launch = _deployed(engine, kind)
    assert sorted(t.bpmn_id for t in launch.open_tasks) == ["choose", "side_task"]
    side = driver.open_task(launch, "side_task").id
    launch = _complete(engine, launch, "choose", "neither")
    assert launch.status is LaunchStatus.FAILED
    assert launch.open_tasks == (), "the open side task is cancelled: the launch stopped"
    history = engine.launch_history(launch_id=launch.id, actor=AUDITOR)
    [completed] = [e for e in history if e.action == "task.completed"]
    assert completed.detail is not None
    assert completed.detail["incident"]["gateway"] == "route"
    assert "no condition holds" in completed.detail["incident"]["reason"]
    assert engine.list_incidents(launch_id=launch.id, actor=AUDITOR) == []  # the worker records it
    Worker(engine, DeliveryConfig(), channels=[]).deliver_due()
    [incident] = engine.list_incidents(launch_id=launch.id, actor=AUDITOR)
    assert incident.kind == "workflow_error"
    assert incident.last_error is not None and "'route'" in incident.last_error
    actions = [e.action for e in restart(engine).launch_history(launch_id=launch.id, actor=AUDITOR)]
    assert "outbox.failed" in actions
    with pytest.raises(TaskNotReadyError):
        restart(engine).complete_task(task_id=side, data={}, actor=PM)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("comment", "then"), [("fast", "fast"), ("slow", "slow")])
def test_a_condition_that_holds_takes_its_way(
    engine: WorkflowEngine, kind: str, comment: str, then: str
) -> None:
    launch = _complete(engine, _deployed(engine, kind), "choose", comment)
    assert launch.status is LaunchStatus.ACTIVE
    assert sorted(t.bpmn_id for t in launch.open_tasks) == sorted([then, "side_task"])
    launch = _complete(engine, launch, then)
    launch = _complete(engine, launch, "side_task")
    assert launch.status is LaunchStatus.LIVE


def test_an_inclusive_gateway_with_no_way_out_is_an_incident_in_the_adapter_too() -> None:
    """Deploy refuses an inclusive gateway without a default; the adapter still never stalls on one."""
    from lxml import etree

    from engine.runtime import RunningWorkflow, build_spec
    from engine.serialization import dump_state, restore_state

    spec = build_spec(etree.fromstring(_diagram("inclusiveGateway")), "inclusiveGateway_route")
    workflow = RunningWorkflow.start(spec, start_data={}, launch_id="L")
    [choose] = [t for t in workflow.ready_user_tasks() if t.bpmn_id == "choose"]
    workflow.complete_user_task(choose.id, document="choose", data={"comment": "neither"})
    again = restore_state(dump_state(workflow), spec, launch_id="L")
    for running in (workflow, again):
        incident = running.incident()
        assert incident is not None and incident.bpmn_id == "route"
        assert "inclusive gateway 'route'" in incident.message
