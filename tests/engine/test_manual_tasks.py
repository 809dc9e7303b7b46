"""Manual tasks and plain `<task>`s are human "done" steps: they wait in the inbox for their lane's role like
user tasks, carry our properties (gate items, due days) and take the plain Done form (an optional
comment) when the package gives them none. Every path with a fresh engine and a state round trip after
each step."""

from __future__ import annotations

import pytest

from engine import LaunchStatus, LaunchView, ValidationFailedError, WorkflowEngine
from tests.engine import driver
from tests.engine.diagram_builder import Flow, Node, chain, diagram
from tests.engine.driver import ADMIN, PM, SUPPORT, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START

PROCESS = "manual_steps"


def _diagram() -> bytes:
    nodes = [
        Node("startEvent", "start"),
        Node(
            "manualTask",
            "print_flyers",
            name="Print Flyers",
            props={"due_in_business_days": "2", "gate_part_of": "training"},
        ),
        Node(
            "task",
            "train_front_line",
            role="support_lead",
            name="Train The Front Line",
            props={"gate_item": "training", "gate_item_title": "Front line trained"},
        ),
        Node("exclusiveGateway", "again", attrs={"default": "flow_again_to_go_live"}),
        Node("userTask", "go_live", props={"go_live": "true", "document": "go_live"}),
        Node("endEvent", "end"),
    ]
    flows = [
        *chain("start", "print_flyers", "train_front_line", "again"),
        Flow("again", "print_flyers", "train_front_line.comment == 'again'"),
        Flow("again", "go_live"),
        *chain("go_live", "end"),
    ]
    return diagram(PROCESS, nodes, flows)


@pytest.fixture
def manual(engine: WorkflowEngine) -> WorkflowEngine:
    deployed = engine.deploy_process(xml=_diagram(), actor=ADMIN)
    assert deployed.process_id == PROCESS
    return engine


def _start(engine: WorkflowEngine) -> LaunchView:
    return engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=PROCESS)


def _step(engine: WorkflowEngine, launch: LaunchView, bpmn_id: str, data: dict[str, object]) -> LaunchView:
    """Complete `bpmn_id` by its role's actor, then check the stored state on a fresh engine."""
    task = driver.open_task(launch, bpmn_id)
    engine.complete_task(task_id=task.id, data=data, actor=driver.actor_for(task))
    assert_state_round_trips(engine, launch.id)
    return restart(engine).get_launch(launch_id=launch.id, actor=PM)


def test_manual_and_plain_tasks_wait_for_their_role_and_complete_with_the_plain_form(
    manual: WorkflowEngine,
) -> None:
    launch = _start(manual)
    assert_state_round_trips(manual, launch.id)
    [flyers] = launch.open_tasks
    assert (flyers.bpmn_id, flyers.title, flyers.role, flyers.assignee) == (
        "print_flyers",
        "Print Flyers",
        "pm",
        PM.username,
    )
    assert flyers.due_at is not None
    detail = manual.get_task(task_id=flyers.id, actor=PM)
    assert list(detail.form_schema["properties"]) == ["comment"]  # the plain Done form
    launch = _step(manual, launch, "print_flyers", {})
    [training] = launch.open_tasks
    assert (training.bpmn_id, training.role, training.assignee) == ("train_front_line", "support_lead", None)
    inbox = [t.bpmn_id for t in manual.list_tasks(actor=SUPPORT, inbox=True).items]
    assert inbox == ["train_front_line"]
    assert [g.status.value for g in launch.gate] == ["open"]
    launch = _step(manual, launch, "train_front_line", {"comment": "Both shifts trained."})
    assert [g.status.value for g in launch.gate] == ["passed"]
    assert [t.bpmn_id for t in launch.open_tasks] == ["go_live"]
    launch = _step(manual, launch, "go_live", {})
    assert launch.status is LaunchStatus.LIVE


def test_a_plain_task_can_loop_back_to_a_manual_task(manual: WorkflowEngine) -> None:
    launch = _step(manual, _start(manual), "print_flyers", {"comment": "first run"})
    launch = _step(manual, launch, "train_front_line", {"comment": "again"})
    assert [t.bpmn_id for t in launch.open_tasks] == ["print_flyers"]
    launch = _step(manual, launch, "print_flyers", {})
    assert [g.status.value for g in launch.gate] == ["open"], "reworking a step of the item reopens it"
    launch = _step(manual, launch, "train_front_line", {})
    launch = _step(manual, launch, "go_live", {})
    assert launch.status is LaunchStatus.LIVE


def test_the_plain_done_form_refuses_unknown_fields(manual: WorkflowEngine) -> None:
    launch = _start(manual)
    with pytest.raises(ValidationFailedError):
        manual.complete_task(task_id=launch.open_tasks[0].id, data={"decision": "approve"}, actor=PM)
    assert [t.bpmn_id for t in restart(manual).get_launch(launch_id=launch.id, actor=PM).open_tasks] == [
        "print_flyers"
    ]


COUNT_FORM = b"""{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Flyers printed",
  "type": "object",
  "properties": {"copies": {"type": "integer", "minimum": 1, "maximum": 100000, "title": "Copies"}},
  "required": ["copies"],
  "additionalProperties": false
}"""


@pytest.mark.parametrize("tag", ["manualTask", "task"])
def test_a_manual_or_plain_task_takes_the_form_its_package_gives(engine: WorkflowEngine, tag: str) -> None:
    props = {"formJsonSchemaFilename": "flyers-schema.json", "document": "flyers"}
    nodes = [Node("startEvent", "start"), Node(tag, "flyers", props=props), Node("endEvent", "end")]
    xml = diagram("counted", nodes, chain("start", "flyers", "end"))
    engine.deploy_process(xml=xml, actor=ADMIN, files={"flyers-schema.json": COUNT_FORM})
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="counted")
    [task] = launch.open_tasks
    assert list(engine.get_task(task_id=task.id, actor=PM).form_schema["properties"]) == ["copies"]
    with pytest.raises(ValidationFailedError):
        engine.complete_task(task_id=task.id, data={"comment": "done"}, actor=PM)
    launch = _step(engine, launch, "flyers", {"copies": 500})
    assert launch.status is LaunchStatus.LIVE
