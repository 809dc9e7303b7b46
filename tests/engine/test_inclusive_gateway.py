"""The inclusive gateway, end to end through the engine API: the checker accepts it with conditions on its
outgoing flows and a default flow, the split opens every branch whose condition holds (the default only
when none does), and the join waits for exactly the branches that were opened.

tests/fixtures/bpmn/inclusive_gateway.bpmn: Plan Extras (document `plan`: docs, training) → "Which
Extras?" (docs when `plan.docs`, training when `plan.training`, default: Confirm No Extras) → "Extras
Done" (the join) → Wrap Up. After EVERY command the engine is replaced by a fresh one and the stored state
must round-trip through restore/dump unchanged, so each path is also a save-and-restore test mid-way
(between the branches of the join in particular)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import LaunchStatus, LaunchView, WorkflowEngine
from engine.specs.loading import check_diagram, inspect_diagram
from tests.engine.driver import ADMIN, AUDITOR, PM, assert_state_round_trips, open_task, restart
from tests.engine.form_examples import VALID_LAUNCH_START

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "inclusive_gateway.bpmn"
PROCESS = "inclusive_gateway"
PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "docs": {"type": "boolean", "title": "Docs"},
        "training": {"type": "boolean", "title": "Training"},
    },
}


def _diagram() -> bytes:
    return FIXTURE.read_bytes()


class Run:
    """One launch of the fixture, restarted and round-tripped after every step."""

    def __init__(self, engine: WorkflowEngine) -> None:
        engine.deploy_process(
            xml=_diagram(), actor=ADMIN, files={"plan_extras-schema.json": json.dumps(PLAN_SCHEMA).encode()}
        )
        self.engine = engine
        self.launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=PROCESS)
        assert_state_round_trips(engine, self.launch.id)
        self.expect("plan_extras")

    def step(self, bpmn_id: str, data: dict[str, Any], *open_after: str) -> LaunchView:
        task = open_task(self.launch, bpmn_id)
        self.engine.complete_task(task_id=task.id, data=data, actor=PM)
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.launch.id)
        self.launch = self.engine.get_launch(launch_id=self.launch.id, actor=AUDITOR)
        self.expect(*open_after)
        return self.launch

    def expect(self, *open_tasks: str) -> None:
        assert sorted(t.bpmn_id for t in self.launch.open_tasks) == sorted(open_tasks)
        assert (self.launch.status is LaunchStatus.LIVE) == (not open_tasks)

    def completed(self) -> list[str]:
        history = self.engine.launch_history(launch_id=self.launch.id, actor=AUDITOR)
        return [e.detail["task"] for e in history if e.action == "task.completed"]


def test_the_checker_accepts_the_inclusive_gateway_with_conditions_and_a_default() -> None:
    assert inspect_diagram(_diagram()).problems == ()


def test_one_branch_whose_condition_holds_is_the_only_one_opened(engine: WorkflowEngine) -> None:
    run = Run(engine)
    run.step("plan_extras", {"docs": True, "training": False}, "write_docs")
    run.step("write_docs", {}, "wrap_up")
    run.step("wrap_up", {})
    assert run.completed() == ["plan_extras", "write_docs", "wrap_up"]


def test_two_branches_open_together_and_the_join_waits_for_both(engine: WorkflowEngine) -> None:
    run = Run(engine)
    run.step("plan_extras", {"docs": True, "training": True}, "write_docs", "run_training")
    run.step("write_docs", {}, "run_training")  # the join waits (and survives a restart waiting)
    run.step("run_training", {}, "wrap_up")
    run.step("wrap_up", {})
    assert run.completed() == ["plan_extras", "write_docs", "run_training", "wrap_up"]


def test_the_join_waits_whichever_branch_finishes_first(engine: WorkflowEngine) -> None:
    run = Run(engine)
    run.step("plan_extras", {"docs": True, "training": True}, "write_docs", "run_training")
    run.step("run_training", {"comment": "Trained the EMEA team."}, "write_docs")
    run.step("write_docs", {}, "wrap_up")
    run.step("wrap_up", {})
    assert run.completed() == ["plan_extras", "run_training", "write_docs", "wrap_up"]


def test_the_default_flow_only_when_no_condition_holds(engine: WorkflowEngine) -> None:
    run = Run(engine)
    run.step("plan_extras", {"docs": False, "training": False}, "confirm_no_extras")
    run.step("confirm_no_extras", {}, "wrap_up")
    run.step("wrap_up", {})
    assert run.completed() == ["plan_extras", "confirm_no_extras", "wrap_up"]


def test_a_branch_whose_condition_holds_never_takes_the_default_as_well(engine: WorkflowEngine) -> None:
    run = Run(engine)
    launch = run.step("plan_extras", {"docs": False, "training": True}, "run_training")
    assert "confirm_no_extras" not in {t.bpmn_id for t in launch.open_tasks}


@pytest.mark.parametrize(
    ("old", "new", "element", "message"),
    [
        (
            b' default="flow_split_to_none"',
            b"",
            "flow_split_to_none",
            "flow out of an inclusive gateway needs a condition or to be the default",
        ),
        (
            b"plan.training == True",
            b"plan.training()",
            "flow_split_to_training",
            "condition",
        ),
    ],
)
def test_the_checker_refuses_an_inclusive_gateway_flow_it_could_not_decide(
    old: bytes, new: bytes, element: str, message: str
) -> None:
    found = [(p.element_id, p.message) for p in check_diagram(_diagram().replace(old, new))]
    assert any(e == element and message in m for e, m in found), found


def test_a_condition_on_a_flow_out_of_a_parallel_gateway_is_still_refused() -> None:
    data = _diagram().replace(
        b'<bpmn:inclusiveGateway id="extras_split"', b'<bpmn:parallelGateway id="extras_split"'
    )
    data = data.replace(
        b'<bpmn:parallelGateway id="extras_split" name="Which Extras?" default="flow_split_to_none" />',
        b'<bpmn:parallelGateway id="extras_split" name="Which Extras?" />',
    )
    found = [(p.element_id, p.message) for p in check_diagram(data)]
    assert (
        "flow_split_to_docs",
        "conditions are only read on flows out of exclusive and inclusive gateways, and out of an "
        "activity or intermediate event with several flows out (an implicit split)",
    ) in found


def _properties(task: str, name: str, **props: str) -> tuple[bytes, bytes]:
    marked = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in props.items())
    return (
        f'<bpmn:userTask id="{task}" name="{name}" />'.encode(),
        f'<bpmn:userTask id="{task}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
        f"{marked}</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>".encode(),
    )


def test_a_gate_item_on_one_branch_of_an_inclusive_split_is_a_bypass_refused_at_deploy() -> None:
    """The gate check reads conditions as unknown: the default branch skips a gate item on the docs
    branch, so go-live after the join could be reached without it."""
    data = (
        _diagram()
        .replace(*_properties("write_docs", "Write Docs", gate_item="docs"))
        .replace(*_properties("wrap_up", "Wrap Up", go_live="true"))
    )
    found = [(p.element_id, p.message) for p in check_diagram(data)]
    assert any(e == "wrap_up" and "'docs'" in m for e, m in found), found


def _without_default(condition: str) -> bytes:
    return (
        _diagram()
        .replace(b' default="flow_split_to_none"', b"")
        .replace(
            b'<bpmn:sequenceFlow id="flow_split_to_none" name="None" sourceRef="extras_split" '
            b'targetRef="confirm_no_extras" />',
            b'<bpmn:sequenceFlow id="flow_split_to_none" name="None" sourceRef="extras_split" '
            b'targetRef="confirm_no_extras"><bpmn:conditionExpression>'
            + condition.encode()
            + b"</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    )


def test_an_inclusive_gateway_without_a_default_is_warned_about_unless_one_flow_is_always_taken() -> None:
    # at run time, none of its conditions holding is an incident (tests/engine/test_gateway_incident.py)
    checked = inspect_diagram(_without_default("plan.docs == False"))
    assert checked.errors == []
    assert [(p.element_id, p.message.split(":")[0]) for p in checked.problems] == [
        ("extras_split", "inclusive gateway has no default flow")
    ]
    assert inspect_diagram(_without_default("True")).problems == ()
