"""The diagram contract's constructs (docs/design.md, "The diagram contract"): each accepted construct
loads and reaches SpiffWorkflow's parser; each refused one is named with its element id and why."""

from __future__ import annotations

import pytest

from engine.errors import DiagramProblem
from engine.specs import check_diagram, event_name, inspect_diagram, load_process
from engine.xml_safety import parse_xml_document

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
    '<bpmn:sendTask id="send" name="Tell support"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="connector" value="email" />'
    '<spiffworkflow:property name="to" value="role:support_lead" />'
    '<spiffworkflow:property name="subject" value="Ready" />'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:sendTask>"
    '<bpmn:serviceTask id="service" name="Call hook"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="connector" value="email" />'
    '<spiffworkflow:property name="to" value="role:support_lead" />'
    '<spiffworkflow:property name="subject" value="Ready" />'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:serviceTask>"
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

    assert {"manual", "plain", "send", "service", "sub", "tell"} <= set(loaded.spiff_spec.top.task_specs)
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


# ---------------------------------------------------------------------------------------- several processes

SIMPLE = (
    '<bpmn:process id="{pid}"{attrs}>{lane}<bpmn:startEvent id="{pid}_start" />'
    '<bpmn:userTask id="{pid}_task" name="Work" />{call}<bpmn:endEvent id="{pid}_end" />'
    '<bpmn:sequenceFlow id="{pid}_f1" sourceRef="{pid}_start" targetRef="{pid}_task" />'
    '<bpmn:sequenceFlow id="{pid}_f2" sourceRef="{pid}_task" targetRef="{pid}_{after}" />'
    "{call_flow}</bpmn:process>"
)


def _process(pid: str, attrs: str = "", calls: str | None = None, main: bool = False) -> str:
    nodes = (f"{pid}_start", f"{pid}_task", f"{pid}_end") + ((f"{pid}_call",) if calls else ())
    refs = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
    marked = (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        '<spiffworkflow:property name="main" value="true" />'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        if main
        else ""
    )
    return SIMPLE.format(
        pid=pid,
        attrs=attrs,
        lane=marked + LANE.format(refs=refs).replace('id="lane', f'id="{pid}_lane'),
        call=f'<bpmn:callActivity id="{pid}_call" calledElement="{calls}" />' if calls else "",
        after="call" if calls else "end",
        call_flow=(
            f'<bpmn:sequenceFlow id="{pid}_f3" sourceRef="{pid}_call" targetRef="{pid}_end" />'
            if calls
            else ""
        ),
    )


def _file(*processes: str, top: str = "") -> bytes:
    return (HEAD + top + "".join(processes) + "</bpmn:definitions>").encode()


def test_load_process_counts_a_missing_is_executable_as_executable() -> None:
    assert load_process(_file(_process("only")), known_forms=None).model.process_id == "only"


def test_load_process_runs_the_executable_pool_of_a_collaboration() -> None:
    data = _file(
        _process("customer", ' isExecutable="false"'),
        _process("ours", ' isExecutable="true"'),
        top='<bpmn:collaboration id="collab"><bpmn:participant id="p1" processRef="customer" />'
        '<bpmn:participant id="p2" processRef="ours" />'
        '<bpmn:messageFlow id="mf" sourceRef="p1" targetRef="p2" /></bpmn:collaboration>',
    )

    assert load_process(data, known_forms=None).model.process_id == "ours"


def test_load_process_starts_the_process_no_other_calls_and_checks_the_called_one() -> None:
    data = _file(_process("helper"), _process("main_one", calls="helper"))

    assert load_process(data, known_forms=None).model.process_id == "main_one"
    broken = data.replace(
        b'<bpmn:userTask id="helper_task" name="Work" />', b'<bpmn:scriptTask id="helper_task" />'
    )
    assert [p.element_id for p in _errors(broken)] == ["helper_task"]


def test_check_diagram_names_the_candidates_when_several_processes_are_called_by_none() -> None:
    data = _file(_process("first"), _process("second"))

    [problem] = _errors(data)

    assert problem.element_id is None
    assert "first, second" in problem.message and "main=true" in problem.message
    marked = _file(_process("first"), _process("second", main=True))
    assert load_process(marked, known_forms=None).model.process_id == "second"


def test_check_diagram_refuses_when_every_process_is_not_executable() -> None:
    [problem] = _errors(_file(_process("off", ' isExecutable="false"')))

    assert 'isExecutable="false"' in problem.message


# ---------------------------------------------------------------------------------------- events, encodings


def test_event_name_is_the_referenced_message_else_the_events_own_name() -> None:
    data = _diagram(
        '<bpmn:startEvent id="start" /><bpmn:intermediateCatchEvent id="named" name="Beta feedback">'
        "<bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>"
        '<bpmn:intermediateCatchEvent id="by_ref" name="ignored">'
        '<bpmn:messageEventDefinition messageRef="msg" /></bpmn:intermediateCatchEvent>'
        '<bpmn:intermediateCatchEvent id="bare"><bpmn:signalEventDefinition /></bpmn:intermediateCatchEvent>'
        '<bpmn:endEvent id="end" />'
        + _flows(("start", "named"), ("named", "by_ref"), ("by_ref", "bare"), ("bare", "end")),
        top='<bpmn:message id="msg" name="system_ready" />',
        lane_nodes=("start", "named", "by_ref", "bare", "end"),
    )
    root = parse_xml_document(data)

    names = {e.get("id"): event_name(e) for e in root.iter("{*}intermediateCatchEvent")}

    assert names == {"named": "Beta feedback", "by_ref": "system_ready", "bare": "bare"}
    assert _errors(data) == []
    assert {"named", "by_ref", "bare"} <= set(load_process(data, known_forms=None).spiff_spec.top.task_specs)


def test_load_process_stores_utf8_text_when_diagram_declares_latin1() -> None:
    text = EVERYTHING.decode().replace('name="Check by hand"', 'name="Vérifier à la main"')
    data = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("iso-8859-1")

    loaded = load_process(data, known_forms=None)

    assert 'encoding="UTF-8"' in loaded.xml and "Vérifier à la main" in loaded.xml
    assert load_process(loaded.xml.encode(), known_forms=None).model.process_id == "p"


# ---------------------------------------------------------------------------------------- other vendors

VENDORS = {
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
    "signavio": "http://www.signavio.com",
    "activiti": "http://activiti.org/bpmn",
    "flowable": "http://flowable.org/bpmn",
    "bizagi": "http://www.bizagi.com/bpmn20",
}


def test_inspect_diagram_warns_once_per_vendor_namespace_and_accepts() -> None:
    xmlns = " ".join(f'xmlns:{p}="{u}"' for p, u in VENDORS.items() if p != "camunda")
    data = (
        EVERYTHING.decode()
        .replace('id="defs"', f'id="defs" {xmlns} zeebe:version="8"')
        .replace(
            '<bpmn:userTask id="inside" name="Inside" />',
            '<bpmn:userTask id="inside" name="Inside" camunda:formKey="embedded:app:form.html" '
            'activiti:assignee="x" flowable:candidateGroups="y"><bpmn:extensionElements>'
            '<camunda:formData><camunda:formField id="field_a" type="string" /></camunda:formData>'
            '<zeebe:taskDefinition id="zeebe_own_id" type="t" /><signavio:signavioMetaData metaKey="k" />'
            "<bizagi:BizagiExtensions /></bpmn:extensionElements></bpmn:userTask>",
        )
        .replace(
            '<bpmn:message id="msg_ready" name="ready" />',
            '<bpmn:message id="msg_ready" name="ready"><bpmn:extensionElements><camunda:properties />'
            "</bpmn:extensionElements></bpmn:message>",
        )
    ).encode()

    found = inspect_diagram(data)

    assert not found.errors, found.errors
    warned = [p.message for p in found.problems if "are ignored" in p.message]
    assert sorted(warned) == sorted(f"extensions of namespace {u!r} are ignored" for u in VENDORS.values())
    named = {p.message: p.element_id for p in found.problems if "are ignored" in p.message}
    assert named[f"extensions of namespace {VENDORS['zeebe']!r} are ignored"] == "inside"


def test_inspect_diagram_warns_when_spiff_extension_means_nothing_here() -> None:
    data = EVERYTHING.replace(
        b'<bpmn:userTask id="inside" name="Inside" />',
        b'<bpmn:userTask id="inside" name="Inside"><bpmn:extensionElements>'
        b"<spiffworkflow:instructionsForEndUser>Do {{ it }}</spiffworkflow:instructionsForEndUser>"
        b"</bpmn:extensionElements></bpmn:userTask>",
    )

    found = inspect_diagram(data)

    assert not found.errors
    assert ("inside", "<spiffworkflow:instructionsForEndUser> is ignored") in {
        (p.element_id, p.message) for p in found.problems
    }


def test_check_diagram_says_which_grammar_is_accepted_with_an_example_when_condition_unsafe() -> None:
    data = EVERYTHING.replace(b"needs_support == true", b"len(needs_support) > 0")

    [problem] = _errors(data)

    assert problem.element_id == "f_incl_sub"
    assert problem.message.startswith("condition rejected: ")
    assert "safe grammar" in problem.message and "proposal_review.decision == 'approve'" in problem.message


# ---------------------------------------------------------------------------------------- tolerated, refused


def test_inspect_diagram_ignores_declarations_and_resource_assignments_with_a_warning() -> None:
    data = (
        EVERYTHING.decode()
        .replace(
            '<bpmn:message id="msg_ready"',
            '<bpmn:import importType="http://www.w3.org/2001/XMLSchema" location="x.xsd" namespace="urn:x" />'
            '<bpmn:resource id="res" name="Support" /><bpmn:interface id="iface" name="Hooks" />'
            '<bpmn:message id="msg_ready"',
        )
        .replace(
            '<bpmn:userTask id="inside" name="Inside" />',
            '<bpmn:userTask id="inside" name="Inside"><bpmn:potentialOwner id="owner">'
            "<bpmn:resourceRef>res</bpmn:resourceRef></bpmn:potentialOwner></bpmn:userTask>",
        )
    ).encode()

    found = inspect_diagram(data)

    assert not found.errors, found.errors
    ignored = {
        (p.element_id, p.message.split(":")[0]) for p in found.problems if " is ignored: " in p.message
    }
    assert ignored == {
        (None, "<import> is ignored"),
        ("res", "<resource> is ignored"),
        ("iface", "<interface> is ignored"),
        ("owner", "<potentialOwner> is ignored"),
    }


def test_check_diagram_reads_a_task_that_splits_without_a_gateway_as_a_parallel_split() -> None:
    data = EVERYTHING.replace(
        b'<bpmn:sequenceFlow id="f_manual_plain" sourceRef="manual" targetRef="plain" />',
        b'<bpmn:sequenceFlow id="f_manual_plain" sourceRef="manual" targetRef="plain" />'
        b'<bpmn:sequenceFlow id="f_manual_send" sourceRef="manual" targetRef="send" />',
    )
    assert data != EVERYTHING

    assert (
        _errors(data) == []
    )  # engine/specs/implicit_splits.py draws the gateway (tests/engine/test_implicit_splits.py)


@pytest.mark.parametrize("kind", ["timeDuration", "timeDate", "timeCycle"])
def test_check_diagram_says_the_timer_is_empty_when_it_has_no_value(kind: str) -> None:
    data = EVERYTHING.replace(
        b"<bpmn:timeDuration>'P2D'</bpmn:timeDuration>", f"<bpmn:{kind}>  </bpmn:{kind}>".encode()
    )

    [problem] = _errors(data)

    assert problem.element_id == "sub_late"
    assert problem.message.startswith(f"the timer's {kind} is empty: write an ISO 8601 value, like ")


def test_load_process_reads_global_event_definitions_named_by_event_definition_ref() -> None:
    data = EVERYTHING.replace(
        b"<bpmn:timerEventDefinition><bpmn:timeDuration>'P2D'</bpmn:timeDuration></bpmn:timerEventDefinition>",
        b"<bpmn:eventDefinitionRef>late_timer</bpmn:eventDefinitionRef>",
    ).replace(
        b'<bpmn:itemDefinition id="item" />',
        b'<bpmn:itemDefinition id="item" /><bpmn:timerEventDefinition id="late_timer">'
        b"<bpmn:timeDuration>P2D</bpmn:timeDuration></bpmn:timerEventDefinition>"
        b'<bpmn:signalEventDefinition id="unused" />',
    )
    assert b"eventDefinitionRef" in data

    found = inspect_diagram(data)

    assert not found.errors, found.errors
    assert [p.element_id for p in found.problems if "no event references it" in p.message] == ["unused"]
    late = load_process(data, known_forms=None).spiff_spec.top.task_specs["sub_late"]
    assert "Timer" in type(late.event_definition).__name__
    dangling = data.replace(b"<bpmn:eventDefinitionRef>late_timer<", b"<bpmn:eventDefinitionRef>nowhere<")
    assert any(
        p.element_id == "sub_late" and "'nowhere' names no event definition" in p.message
        for p in _errors(dangling)
    )
