"""The allow-list of BPMN elements: what a diagram may contain at the top level, in a process and below a
flow node, the timer events, and the warnings for what is ignored (vendor extensions) or missing (a
diagram interchange the launch page can draw).

Anything not listed (script, service and send tasks, sub-processes, call activities, data objects, …) is
rejected: Launch Gate runs no code from diagrams. Intermediate catch events and boundary events are
allowed with a timer (a quoted ISO 8601 literal), nothing else."""

from __future__ import annotations

from lxml import etree

from engine.specs.bpmn_xml import BPMN_NS, NS, SPIFF_NS, local_name, namespace, nearest_id
from engine.specs.findings import Findings
from engine.xml_safety import BPMNDI_NS, DI_EXTENSION, foreign_attribute_namespaces, is_active_namespace

TIMER_EVENTS = {"intermediateCatchEvent", "boundaryEvent"}
FLOW_NODES = {"startEvent", "endEvent", "userTask", "exclusiveGateway", "parallelGateway"} | TIMER_EVENTS
_TIMER_PARTS = {"timerEventDefinition", "timeDuration", "timeDate"}
_PROCESS_CHILDREN = FLOW_NODES | {"sequenceFlow", "laneSet", "documentation", "extensionElements"}
_NESTED_ALLOWED = {
    "incoming",
    "outgoing",
    "documentation",
    "extensionElements",
    "conditionExpression",
    "lane",
    "flowNodeRef",
} | _TIMER_PARTS
_TOP_LEVEL_ALLOWED = {"process", "collaboration", "documentation", "extensionElements"}
_COLLABORATION_CHILDREN = {"participant", "documentation", "extensionElements"}
FORM_FILE_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")
_KNOWN_PROPERTIES = {
    "role",
    "document",
    "reviews",
    "showDocuments",
    "gate_item",
    "gate_item_title",
    "gate_pass_when",
    "gate_part_of",
    "go_live",
    "due_in_business_days",
    "sends",
    *FORM_FILE_PROPERTIES,
}


def check_top_level(root: etree._Element, found: Findings) -> None:
    """The children of <definitions>, and of a <collaboration>."""
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if namespace(child.tag) == BPMNDI_NS or is_active_namespace(namespace(child.tag)):
            continue  # diagram interchange and active content: check_markup's business
        name = local_name(child.tag)
        if namespace(child.tag) != BPMN_NS or name not in _TOP_LEVEL_ALLOWED:
            found.problem(child.get("id"), f"<{name}> is not supported at the top level")
        if name == "collaboration":
            for part in child:
                if isinstance(part.tag, str) and local_name(part.tag) not in _COLLABORATION_CHILDREN:
                    found.problem(
                        part.get("id"), f"<{local_name(part.tag)}> is not supported in a collaboration"
                    )


def check_process_elements(process: etree._Element, found: Findings) -> None:
    """Every child of a process and everything below it."""
    for child in process:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child.tag)
        if namespace(child.tag) != BPMN_NS or name not in _PROCESS_CHILDREN:
            if not is_active_namespace(namespace(child.tag)):
                found.problem(child.get("id"), _unsupported_message(name))
            continue
        _walk_nested(child, found)
        if name in TIMER_EVENTS:
            _check_timer_event(process, child, found)
        elif any(local_name(n.tag) in _TIMER_PARTS for n in child.iter() if isinstance(n.tag, str)):
            found.problem(
                child.get("id"), f"timers are only supported on {' and '.join(sorted(TIMER_EVENTS))}"
            )


def _unsupported_message(name: str) -> str:
    if name == "scriptTask":
        return "script tasks are not allowed: Launch Gate never runs code from a diagram"
    return f"<{name}> is not supported by Launch Gate"


def _check_timer_event(process: etree._Element, event: etree._Element, found: Findings) -> None:
    """One timer with exactly one of timeDuration / timeDate, whose text is a quoted ISO 8601 literal;
    a boundary event sits on a user task."""
    from engine.runtime import timer_problem

    event_id = event.get("id")
    timers = event.findall("bpmn:timerEventDefinition", NS)
    if len(timers) != 1:
        found.problem(
            event_id, f"<{local_name(event.tag)}> is supported with exactly one timer, nothing else"
        )
        return
    values = [v for v in timers[0] if isinstance(v.tag, str) and local_name(v.tag) in _TIMER_PARTS]
    if len(values) != 1:
        found.problem(event_id, "a timer needs exactly one timeDuration or timeDate")
    else:
        reason = timer_problem(local_name(values[0].tag), (values[0].text or "").strip())
        if reason is not None:
            found.problem(event_id, reason)
    if local_name(event.tag) == "boundaryEvent":
        host = event.get("attachedToRef")
        hosts = {t.get("id") for t in process.iterfind("bpmn:userTask", NS)}
        if host not in hosts:
            found.problem(event_id, f"a boundary timer must sit on a user task, not {host!r}")


def _walk_nested(element: etree._Element, found: Findings) -> None:
    for nested in element:
        if isinstance(nested.tag, str) and _check_nested(nested, found):
            _walk_nested(nested, found)


def _check_nested(nested: etree._Element, found: Findings) -> bool:
    """Check one element below a flow node; True when its children are to be checked too."""
    ns, name = namespace(nested.tag), local_name(nested.tag)
    parent = nested.getparent()
    if parent is not None and local_name(parent.tag) == "extensionElements" and ns not in {BPMN_NS, SPIFF_NS}:
        if not is_active_namespace(ns):  # an active one was refused by check_markup already
            found.note_ignored(ns, nested)
        return False
    if ns == BPMN_NS and name in _NESTED_ALLOWED:
        return True
    if ns == SPIFF_NS and name in {"properties", "property"}:
        if name == "property" and nested.get("name") not in _KNOWN_PROPERTIES:
            found.problem(nearest_id(nested), f"unknown extension property {nested.get('name')!r}")
        return True
    if ns == SPIFF_NS and name in {"preScript", "postScript", "script"}:
        found.problem(
            nearest_id(nested), f"<{name}> is not allowed: Launch Gate never runs code from a diagram"
        )
        return False
    if not is_active_namespace(ns):
        found.problem(nearest_id(nested), f"<{name}> is not supported by Launch Gate")
    return False


def warn_ignored(root: etree._Element, found: Findings) -> None:
    """One warning per vendor namespace Launch Gate ignores (in extensions or as foreign attributes)."""
    for extension in root.iter(DI_EXTENSION):
        for vendor in extension:
            if isinstance(vendor.tag, str) and not is_active_namespace(namespace(vendor.tag)):
                found.note_ignored(namespace(vendor.tag), vendor)
    for element in root.iter():
        if isinstance(element.tag, str):
            for foreign in sorted(foreign_attribute_namespaces(element)):
                found.note_ignored(foreign, element)
    for ignored, first in found.ignored.items():
        found.warning(first, f"extensions of namespace {ignored!r} are ignored")


def check_interchange(root: etree._Element, process: etree._Element, found: Findings) -> None:
    """A warning when the launch page could not draw this process (no BPMNPlane shows it)."""
    shown = {
        plane.get("bpmnElement")
        for plane in root.iterfind(f"{{{BPMNDI_NS}}}BPMNDiagram/{{{BPMNDI_NS}}}BPMNPlane")
    }
    pid = process.get("id")
    shown_by = {
        c.get("id")
        for c in root.iterfind("bpmn:collaboration", NS)
        if any(p.get("processRef") == pid for p in c.iterfind("bpmn:participant", NS))
    }
    if pid not in shown and not shown_by & shown:
        found.warning(
            pid, "no diagram interchange (BPMNDiagram) shows this process: the launch page cannot draw it"
        )
