"""Lanes as modelers draw them (docs/design.md, "The diagram contract"): a task in no lane with a role goes
to the launch's starter (a pm task assigned to them), a lane without our `role` property takes the role
its name stands for (engine.specs.tasks.LANE_NAMES) or sends its tasks to the starter, each with a
warning; a task inside a sub-process takes the role of the lane holding the sub-process. Through the
engine API, with a restart and a state round trip after every step."""

from __future__ import annotations

import re

import pytest

from engine import LaunchStatus, PermissionDeniedError, WorkflowEngine
from engine.specs import inspect_diagram, load_process
from engine.specs.tasks import role_from_lane_name
from tests.engine.driver import (
    ADMIN,
    AUDITOR,
    OTHER_PM,
    PM,
    SUPPORT,
    assert_state_round_trips,
    open_task,
    restart,
)
from tests.engine.form_examples import VALID_LAUNCH_START

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="https://x.example">
  <bpmn:process id="modeler_lanes" name="Modeler Lanes">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_support" name="Support Lead">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>readiness</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_legal" name="Legal">
        <bpmn:flowNodeRef>legal_check</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="draft" name="Draft" />
    <bpmn:userTask id="review" name="Review" />
    <bpmn:subProcess id="readiness" name="Readiness">
      <bpmn:startEvent id="ready_start" />
      <bpmn:userTask id="train_team" name="Train the team" />
      <bpmn:endEvent id="ready_end" />
      <bpmn:sequenceFlow id="r1" sourceRef="ready_start" targetRef="train_team" />
      <bpmn:sequenceFlow id="r2" sourceRef="train_team" targetRef="ready_end" />
    </bpmn:subProcess>
    <bpmn:userTask id="legal_check" name="Legal check" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="readiness" />
    <bpmn:sequenceFlow id="f4" sourceRef="readiness" targetRef="legal_check" />
    <bpmn:sequenceFlow id="f5" sourceRef="legal_check" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

# Running sub-processes is engine.runtime's (the spec bundle); the engine test runs the lanes alone.
RUN_DIAGRAM = (
    re.sub(rb"<bpmn:subProcess .*</bpmn:subProcess>", b"", DIAGRAM, flags=re.S)
    .replace(b'targetRef="readiness" />', b'targetRef="legal_check" />')
    .replace(b'<bpmn:sequenceFlow id="f4" sourceRef="readiness" targetRef="legal_check" />', b"")
)


def test_inspect_diagram_warns_once_per_lane_and_task_and_accepts() -> None:
    found = inspect_diagram(DIAGRAM)

    assert not found.errors
    warned = {(p.element_id, p.message) for p in found.problems}
    assert (
        "lane_support",
        "lane has no 'role' property: its name 'Support Lead' is taken as support_lead",
    ) in warned
    assert (
        "lane_legal",
        "lane has no 'role' property and its name 'Legal' names no role: "
        "its tasks go to the launch's starter",
    ) in warned
    assert ("draft", "user task is in no lane with a role: it goes to the launch's starter") in warned
    assert ("legal_check", "user task is in no lane with a role: it goes to the launch's starter") in warned


def test_load_process_gives_each_task_its_role_or_the_starter() -> None:
    tasks = load_process(DIAGRAM).model.tasks

    found = {t.id: (t.role, t.to_starter) for t in tasks.values()}

    assert found == {
        "draft": ("pm", True),
        "review": ("support_lead", False),
        "train_team": ("support_lead", False),  # the lane holding the sub-process
        "legal_check": ("pm", True),
    }


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("Support Lead", "support_lead"),
        ("support lead", "support_lead"),
        ("support_lead", "support_lead"),
        ("  Support-Leads ", "support_lead"),
        ("PM", "pm"),
        ("Product Manager", "pm"),
        ("Support Manager", "support_manager"),
        ("Legal", None),
        ("", None),
        ("Auditor", None),  # auditors work no tasks
    ],
)
def test_role_from_lane_name_maps_the_documented_names(name: str, role: str | None) -> None:
    assert role_from_lane_name(name) == role


def test_tasks_go_to_the_starter_or_the_lane_role_through_the_engine(engine: WorkflowEngine) -> None:
    assert b"subProcess" not in RUN_DIAGRAM and not inspect_diagram(RUN_DIAGRAM).errors
    engine.deploy_process(xml=RUN_DIAGRAM, actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="modeler_lanes")
    steps = [("draft", PM, "pat.pm"), ("review", SUPPORT, None)]
    steps.append(("legal_check", PM, "pat.pm"))
    for bpmn_id, actor, assignee in steps:
        task = open_task(launch, bpmn_id)
        assert (task.role, task.assignee) == ("pm" if assignee else "support_lead", assignee)
        if assignee:  # the starter's task: another pm may not complete it
            with pytest.raises(PermissionDeniedError):
                engine.complete_task(task_id=task.id, data={}, actor=OTHER_PM)
        engine.complete_task(task_id=task.id, data={}, actor=actor)
        engine = restart(engine)
        assert_state_round_trips(engine, launch.id)
        launch = engine.get_launch(launch_id=launch.id, actor=AUDITOR)

    assert launch.status is LaunchStatus.LIVE
    assert not launch.open_tasks
