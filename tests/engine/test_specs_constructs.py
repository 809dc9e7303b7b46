"""The diagram contract's constructs (docs/design.md, "The diagram contract"): each accepted construct
loads and reaches SpiffWorkflow's parser; each refused one is named with its element id and why."""

from __future__ import annotations

import pytest

from engine.errors import DiagramProblem
from engine.specs import check_diagram, inspect_diagram, load_process

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="https://x.example">\n'
)
LANE = (
    '<bpmn:laneSet id="lanes"><bpmn:lane id="lane_pm" name="PM"><bpmn:extensionElements>'
    '<spiffworkflow:properties><spiffworkflow:property name="role" value="pm" /></spiffworkflow:properties>'
    "</bpmn:extensionElements>{refs}</bpmn:lane></bpmn:laneSet>"
)


def _diagram(body: str, *, top: str = "", lane_nodes: tuple[str, ...] = ()) -> bytes:
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lane_nodes)
    process = f'<bpmn:process id="p" isExecutable="true">{LANE.format(refs=refs)}{body}</bpmn:process>'
    return (HEAD + top + process + "</bpmn:definitions>").encode()


def _flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}" />' for a, b in pairs)


def _errors(data: bytes) -> list[DiagramProblem]:
    return check_diagram(data, known_forms=None)


EVERYTHING = _diagram(
    '<bpmn:startEvent id="start" />'
    '<bpmn:manualTask id="manual" name="Check by hand" />'
    '<bpmn:task id="plain" name="Plain step" />'
    '<bpmn:sendTask id="send" name="Tell support" />'
    '<bpmn:serviceTask id="service" name="Call hook" />'
    '<bpmn:inclusiveGateway id="incl" default="f_incl_join" />'
    '<bpmn:subProcess id="sub" name="Support readiness">'
    '<bpmn:startEvent id="sub_start" /><bpmn:userTask id="inside" name="Inside" />'
    '<bpmn:endEvent id="sub_end" />'
    + _flows(("sub_start", "inside"), ("inside", "sub_end"))
    + "</bpmn:subProcess>"
    '<bpmn:boundaryEvent id="sub_late" attachedToRef="sub" cancelActivity="false">'
    "<bpmn:timerEventDefinition><bpmn:timeDuration>'P2D'</bpmn:timeDuration></bpmn:timerEventDefinition>"
    "</bpmn:boundaryEvent>"
    '<bpmn:endEvent id="late_end" />'
    '<bpmn:inclusiveGateway id="join" />'
    '<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition messageRef="msg_ready" />'
    "</bpmn:intermediateThrowEvent>"
    '<bpmn:endEvent id="end"><bpmn:signalEventDefinition signalRef="sig_done" /></bpmn:endEvent>'
    '<bpmn:dataObject id="data" /><bpmn:dataObjectReference id="data_ref" dataObjectRef="data" />'
    '<bpmn:textAnnotation id="note"><bpmn:text>A note</bpmn:text></bpmn:textAnnotation>'
    '<bpmn:association id="note_link" sourceRef="manual" targetRef="note" />'
    '<bpmn:group id="grp" categoryValueRef="cat_value" />'
    + _flows(
        ("start", "manual"),
        ("manual", "plain"),
        ("plain", "send"),
        ("send", "service"),
        ("service", "incl"),
        ("incl", "sub"),
        ("incl", "join"),
        ("sub", "join"),
        ("sub_late", "late_end"),
        ("join", "tell"),
        ("tell", "end"),
    ).replace(
        'id="f_incl_sub" sourceRef="incl" targetRef="sub" />',
        'id="f_incl_sub" sourceRef="incl" targetRef="sub">'
        "<bpmn:conditionExpression>needs_support == true</bpmn:conditionExpression></bpmn:sequenceFlow>",
    ),
    top='<bpmn:message id="msg_ready" name="ready" /><bpmn:signal id="sig_done" name="done" />'
    '<bpmn:error id="err" errorCode="E1" /><bpmn:escalation id="esc" escalationCode="X" />'
    '<bpmn:itemDefinition id="item" /><bpmn:category id="cat"><bpmn:categoryValue id="cat_value" value="v" />'
    "</bpmn:category>",
    lane_nodes=("start", "manual", "plain", "send", "service", "incl", "sub", "join", "tell", "end"),
)


def test_check_diagram_accepts_the_opened_constructs() -> None:
    assert _errors(EVERYTHING) == []


def test_load_process_builds_the_spec_and_reads_tasks_inside_sub_processes() -> None:
    loaded = load_process(EVERYTHING, known_forms=None)

    assert {"manual", "plain", "send", "service", "sub", "tell"} <= set(loaded.spiff_spec.task_specs)
    assert loaded.model.tasks["inside"].role == "pm"  # the lane holding the sub-process


@pytest.mark.parametrize(
    ("element", "word"),
    [
        ('<bpmn:businessRuleTask id="x" />', "business-rule"),
        ('<bpmn:complexGateway id="x" />', "complex gateway"),
        ('<bpmn:adHocSubProcess id="x" />', "ad-hoc"),
        ('<bpmn:transaction id="x" />', "transaction"),
        ('<bpmn:scriptTask id="x" />', "script"),
        ('<bpmn:userTask id="x"><bpmn:standardLoopCharacteristics /></bpmn:userTask>', "standard loop"),
        ('<bpmn:userTask id="x" isForCompensation="true" />', "compensation"),
        (
            '<bpmn:intermediateThrowEvent id="x"><bpmn:compensateEventDefinition />'
            "</bpmn:intermediateThrowEvent>",
            "compensation",
        ),
        ('<bpmn:endEvent id="x"><bpmn:cancelEventDefinition /></bpmn:endEvent>', "transaction"),
        ('<bpmn:intermediateCatchEvent id="x" />', "event definition"),
        (
            '<bpmn:endEvent id="x"><bpmn:messageEventDefinition messageRef="nowhere" /></bpmn:endEvent>',
            "names no <message>",
        ),
        (
            '<bpmn:userTask id="x"><bpmn:multiInstanceLoopCharacteristics>'
            "<bpmn:loopCardinality>__import__('os')</bpmn:loopCardinality>"
            "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
            "cardinality",
        ),
    ],
)
def test_check_diagram_names_the_element_when_construct_refused(element: str, word: str) -> None:
    data = _diagram('<bpmn:startEvent id="start" />' + element + _flows(("start", "x")), lane_nodes=("x",))

    problems = [p for p in _errors(data) if p.element_id == "x" and word in p.message]

    assert problems, _errors(data)


def test_inspect_diagram_warns_and_accepts_when_property_unknown() -> None:
    data = EVERYTHING.replace(
        b'<bpmn:manualTask id="manual" name="Check by hand" />',
        b'<bpmn:manualTask id="manual" name="Check by hand"><bpmn:extensionElements>'
        b"<spiffworkflow:properties>"
        b'<spiffworkflow:property name="colour" value="red" /></spiffworkflow:properties>'
        b"</bpmn:extensionElements></bpmn:manualTask>",
    )

    found = inspect_diagram(data)

    assert not found.errors
    assert [p.message for p in found.problems if p.element_id == "manual"] == [
        "unknown extension property 'colour' is ignored"
    ]
