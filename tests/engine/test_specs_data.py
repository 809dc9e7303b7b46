"""Data objects and data stores (docs/design.md, "The diagram contract"): accepted, no runtime effect. The
spec is built without data stores (SpiffWorkflow refuses one without an implementation), data
associations (SpiffWorkflow would move task data into data objects, and fail when the key is not there)
and activities' io specifications (it would demand their inputs): the launch runs as if they were not
drawn. Through the engine API with a restart and a state
round trip after every step."""

from __future__ import annotations

from engine import LaunchStatus, WorkflowEngine
from engine.runtime.data_stores import without_inert_data
from engine.specs import inspect_diagram, load_process
from engine.xml_safety import parse_xml_document
from tests.engine.driver import ADMIN, AUDITOR, PM, SUPPORT, assert_state_round_trips, open_task, restart
from tests.engine.form_examples import VALID_LAUNCH_START

DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs"
    targetNamespace="https://x.example">
  <bpmn:dataStore id="crm" name="CRM" />
  <bpmn:process id="with_data" name="With Data" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_pm" name="PM"><bpmn:flowNodeRef>draft</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_support" name="Support"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="draft" name="Draft">
      <bpmn:dataOutputAssociation id="draft_to_crm"><bpmn:targetRef>crm_ref</bpmn:targetRef>
      </bpmn:dataOutputAssociation>
      <bpmn:dataOutputAssociation id="draft_to_notes"><bpmn:targetRef>notes</bpmn:targetRef>
      </bpmn:dataOutputAssociation>
    </bpmn:userTask>
    <bpmn:userTask id="review" name="Review">
      <bpmn:ioSpecification id="review_io">
        <bpmn:dataInput id="review_in" name="notes_needed" />
        <bpmn:inputSet id="review_inputs"><bpmn:dataInputRefs>review_in</bpmn:dataInputRefs></bpmn:inputSet>
        <bpmn:outputSet id="review_outputs" />
      </bpmn:ioSpecification>
      <bpmn:dataInputAssociation id="notes_to_review"><bpmn:sourceRef>notes</bpmn:sourceRef>
      </bpmn:dataInputAssociation>
      <bpmn:dataInputAssociation id="crm_to_review"><bpmn:sourceRef>crm_ref</bpmn:sourceRef>
      </bpmn:dataInputAssociation>
    </bpmn:userTask>
    <bpmn:dataStoreReference id="crm_ref" name="Customer records" dataStoreRef="crm" />
    <bpmn:dataObject id="notes_obj" />
    <bpmn:dataObjectReference id="notes" name="Notes" dataObjectRef="notes_obj" />
    <bpmn:textAnnotation id="note"><bpmn:text>Drafts are kept in the CRM</bpmn:text></bpmn:textAnnotation>
    <bpmn:association id="note_to_draft" sourceRef="note" targetRef="draft" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_inspect_diagram_accepts_data_stores_and_objects() -> None:
    assert inspect_diagram(DIAGRAM).errors == []


def test_the_spec_is_built_without_the_data_store_and_the_stored_text_keeps_it() -> None:
    root = parse_xml_document(DIAGRAM)

    stripped = without_inert_data(root)

    assert [el.get("id") for el in stripped.iter("{*}dataStore", "{*}dataStoreReference")] == []
    assert [el.get("id") for el in stripped.iter("{*}dataOutputAssociation", "{*}dataInputAssociation")] == []
    assert [el.get("id") for el in stripped.iter("{*}ioSpecification")] == []
    assert "notes" in {el.get("id") for el in stripped.iter("{*}dataObjectReference")}
    assert {"crm", "crm_ref"} <= {el.get("id") for el in root.iter()}  # the original is untouched
    assert b"crm_ref" in load_process(DIAGRAM).xml.encode()


def test_a_launch_runs_as_if_the_data_store_were_not_drawn(engine: WorkflowEngine) -> None:
    engine.deploy_process(xml=DIAGRAM, actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="with_data")
    assert_state_round_trips(engine, launch.id)
    for bpmn_id, actor in [("draft", PM), ("review", SUPPORT)]:
        engine.complete_task(task_id=open_task(launch, bpmn_id).id, data={}, actor=actor)
        engine = restart(engine)
        assert_state_round_trips(engine, launch.id)
        launch = engine.get_launch(launch_id=launch.id, actor=AUDITOR)

    assert launch.status is LaunchStatus.LIVE
    assert [t.bpmn_id for t in launch.open_tasks] == []
