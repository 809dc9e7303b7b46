"""The allow-list of BPMN elements: what a diagram may contain at the top level, in a process or
sub-process and below a flow node, the constructs still refused (each with its reason), and the warnings
for what is ignored (vendor extensions) or missing (a diagram interchange the launch page can draw).

A sub-process's children are checked with the same rules as a process's, recursively. Anything not
listed is rejected naming the element: Launch Gate runs no code from diagrams (docs/design.md, "The
diagram contract")."""

from __future__ import annotations

from lxml import etree

from engine.connectors import CONNECTOR_PROPERTIES
from engine.specs.bpmn_xml import BPMN_NS, NS, SPIFF_NS, local_name, namespace, nearest_id
from engine.specs.event_defs import EVENT_DEFINITIONS, EVENTS, TIMER_PARTS, check_event
from engine.specs.findings import Findings, checked_expression
from engine.xml_safety import BPMNDI_NS, DI_EXTENSION, foreign_attribute_namespaces, is_active_namespace

ACTIVITIES = frozenset(
    {"userTask", "manualTask", "task", "sendTask", "serviceTask", "receiveTask", "subProcess", "callActivity"}
)
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"})
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS
TIMER_EVENTS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})
_ARTIFACTS_AND_DATA = frozenset(
    {
        "textAnnotation",
        "association",
        "group",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "property",
        "ioSpecification",
    }
)
_PROCESS_CHILDREN = (
    FLOW_NODES | _ARTIFACTS_AND_DATA | {"sequenceFlow", "laneSet", "documentation", "extensionElements"}
)
_NESTED_ALLOWED = (
    {
        "incoming",
        "outgoing",
        "documentation",
        "extensionElements",
        "conditionExpression",
        "lane",
        "flowNodeRef",
        "childLaneSet",
        "multiInstanceLoopCharacteristics",
        "loopCardinality",
        "loopDataInputRef",
        "loopDataOutputRef",
        "inputDataItem",
        "outputDataItem",
        "completionCondition",
        "dataInputAssociation",
        "dataOutputAssociation",
        "sourceRef",
        "targetRef",
        "ioSpecification",
        "dataInput",
        "dataOutput",
        "inputSet",
        "outputSet",
        "dataInputRefs",
        "dataOutputRefs",
        "optionalInputRefs",
        "optionalOutputRefs",
        "inputSetRefs",
        "outputSetRefs",
        "categoryValueRef",
        "whileExecutingInputRefs",
        "whileExecutingOutputRefs",
        "dataState",
        "text",
        "property",
    }
    | TIMER_PARTS
    | EVENT_DEFINITIONS
)
# Expressions below a flow node that are read by the safe grammar (engine.expressions).
_EXPRESSIONS = {"loopCardinality": "loop cardinality", "completionCondition": "completion condition"}
_TOP_LEVEL_ALLOWED = {
    "process",
    "collaboration",
    "documentation",
    "extensionElements",
    "message",
    "signal",
    "error",
    "escalation",
    "itemDefinition",
    "dataStore",
    "category",
}
_COLLABORATION_CHILDREN = {
    "participant",
    "messageFlow",
    "textAnnotation",
    "association",
    "group",
    "documentation",
    "extensionElements",
}
_NO_CODE = "Launch Gate never runs code from a diagram"
_COMPENSATION = (
    "compensation is not supported: Launch Gate undoes nothing automatically; model the undo steps as tasks"
)
REFUSED = {
    "scriptTask": f"script tasks are not allowed: {_NO_CODE}",
    "businessRuleTask": "business-rule tasks are not supported: Launch Gate evaluates no decision tables; "
    "use an exclusive gateway with conditions",
    "complexGateway": "complex gateways are not supported: use an inclusive or an exclusive gateway",
    "adHocSubProcess": "ad-hoc sub-processes are not supported: use a sub-process whose tasks follow a "
    "parallel gateway",
    "transaction": f"transactions are not supported: they need compensation, and {_COMPENSATION[:27]}",
    "cancelEventDefinition": "cancel events belong to transactions, which are not supported",
    "compensateEventDefinition": _COMPENSATION,
    "standardLoopCharacteristics": "standard loops are not supported: their loop condition is tested after "
    "every pass with no bound on the passes; use a multi-instance (a cardinality or a collection) or a "
    "flow back through an exclusive gateway and a user task",
    "linkEventDefinition": "link events are not supported: draw the sequence flow",
    "conditionalEventDefinition": "conditional events are not supported: use an exclusive gateway",
    "script": f"scripts are not allowed: {_NO_CODE}",
    "transformation": f"data transformations are not allowed: {_NO_CODE}",
    "assignment": f"data assignments are not allowed: {_NO_CODE}",
}
_BY_LANE = "Launch Gate assigns tasks by lane role"
# Declarations without meaning for Launch Gate: accepted and ignored, with a warning naming them.
TOP_LEVEL_IGNORED = {
    "import": "nothing is loaded from outside the package",
    "extension": "extension declarations have no effect here",
    "relationship": "relationships have no runtime meaning",
    "interface": "services are Launch Gate's built-in connectors",
    "resource": _BY_LANE,
}
NESTED_IGNORED = {
    "potentialOwner": _BY_LANE,
    "humanPerformer": _BY_LANE,
    "performer": _BY_LANE,
    "resourceRole": _BY_LANE,
}
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
    "main",
    "collection",  # multi-instance: the list in the launch data (engine.specs.multi_instance)
    "in",  # call activity: the documents passed in / out (engine.specs.structure)
    "out",
    "messageSchema",  # a message catch event's payload schema (engine.commands.messages)
    "correlate",  # a message throw event's correlation path (engine.commands.messages)
    *FORM_FILE_PROPERTIES,
    *CONNECTOR_PROPERTIES,
}

# SpiffWorkflow extensions that mean something in spiff-arena's UI, not here: ignored with a warning.
SPIFF_IGNORED = frozenset(
    {
        "instructionsForEndUser",
        "allowGuest",
        "guestConfirmation",
        "signalButtonLabel",
        "messageVariable",
        "messagePayload",
        "unitTests",
        "unitTest",
    }
)


def check_top_level(root: etree._Element, found: Findings) -> None:
    """The children of <definitions>, and of a <collaboration>."""
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if namespace(child.tag) == BPMNDI_NS or is_active_namespace(namespace(child.tag)):
            continue  # diagram interchange and active content: check_markup's business
        name = local_name(child.tag)
        if namespace(child.tag) == BPMN_NS and name in TOP_LEVEL_IGNORED:
            found.warning(child.get("id"), f"<{name}> is ignored: {TOP_LEVEL_IGNORED[name]}")
        elif namespace(child.tag) == BPMN_NS and name in EVENT_DEFINITIONS:  # referenced ones were inlined
            found.warning(
                child.get("id"), f"<{name}> is ignored: no event references it (eventDefinitionRef)"
            )
        elif namespace(child.tag) != BPMN_NS or name not in _TOP_LEVEL_ALLOWED:
            found.problem(child.get("id"), REFUSED.get(name) or f"<{name}> is not supported at the top level")
        if name == "collaboration":
            _check_collaboration(child, found)


def _check_collaboration(collaboration: etree._Element, found: Findings) -> None:
    for part in collaboration:
        if not isinstance(part.tag, str):
            continue
        name = local_name(part.tag)
        if name in TOP_LEVEL_IGNORED:
            found.warning(part.get("id"), f"<{name}> is ignored: {TOP_LEVEL_IGNORED[name]}")
        elif name not in _COLLABORATION_CHILDREN:
            found.problem(part.get("id"), f"<{name}> is not supported in a collaboration")


def check_process_elements(scope: etree._Element, found: Findings) -> None:
    """Every child of a process (or sub-process) and everything below it; a sub-process's children are
    checked by the same rules."""
    own = local_name(scope.tag) == "subProcess"
    for child in scope:
        if not isinstance(child.tag, str):
            continue
        name = local_name(child.tag)
        if own and namespace(child.tag) == BPMN_NS and name not in _PROCESS_CHILDREN:
            if _check_nested(child, found):  # the sub-process's own incoming, outgoing, loop, …
                _walk_nested(child, found)
            continue
        if namespace(child.tag) == BPMN_NS and name in NESTED_IGNORED:
            found.warning(child.get("id") or scope.get("id"), f"<{name}> is ignored: {NESTED_IGNORED[name]}")
            continue
        if namespace(child.tag) != BPMN_NS or name not in _PROCESS_CHILDREN:
            if not is_active_namespace(namespace(child.tag)):
                found.problem(child.get("id"), _unsupported_message(name))
            continue
        _check_flow_element(scope, child, found)


def _check_flow_element(scope: etree._Element, child: etree._Element, found: Findings) -> None:
    name = local_name(child.tag)
    if child.get("isForCompensation") == "true":
        found.problem(child.get("id"), _COMPENSATION)
    if name == "subProcess":
        check_process_elements(child, found)
    else:
        _walk_nested(child, found)
    if name in EVENTS:
        check_event(scope, child, found)
    elif name != "subProcess" and any(
        local_name(n.tag) in TIMER_PARTS for n in child.iter() if isinstance(n.tag, str)
    ):
        found.problem(child.get("id"), f"timers are only supported on {', '.join(sorted(TIMER_EVENTS))}")


def _unsupported_message(name: str) -> str:
    return REFUSED.get(name) or f"<{name}> is not supported by Launch Gate"


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
    if ns == BPMN_NS and name == "eventDefinitionRef":  # a resolved one was inlined on loading
        found.problem(
            nearest_id(nested),
            f"eventDefinitionRef {(nested.text or '').strip()!r} names no event definition "
            "at the top level of this diagram",
        )
        return False
    if ns == BPMN_NS and name in NESTED_IGNORED:
        found.warning(nearest_id(nested), f"<{name}> is ignored: {NESTED_IGNORED[name]}")
        return False
    if ns == BPMN_NS and name in _NESTED_ALLOWED:
        if name in _EXPRESSIONS:
            checked_expression(
                found, nearest_id(nested) or "", (nested.text or "").strip(), _EXPRESSIONS[name]
            )
        return True
    if ns == SPIFF_NS and name in {"properties", "property"}:
        if name == "property" and nested.get("name") not in _KNOWN_PROPERTIES:
            found.warning(nearest_id(nested), f"unknown extension property {nested.get('name')!r} is ignored")
        return True
    if ns == SPIFF_NS and name in SPIFF_IGNORED:
        found.warning(
            nearest_id(parent if parent is not None else nested), f"<spiffworkflow:{name}> is ignored"
        )
        return False
    if ns == SPIFF_NS and name == "serviceTaskOperator":
        return False  # a service call: refused on its task by engine.specs.connector_tasks
    if ns == SPIFF_NS and name in {"preScript", "postScript", "script"}:
        found.problem(nearest_id(nested), f"<{name}> is not allowed: {_NO_CODE}")
        return False
    if not is_active_namespace(ns):  # a vendor element names the BPMN element that holds it
        owner = nested if ns == BPMN_NS or parent is None else parent
        found.problem(nearest_id(owner), _unsupported_message(name))
    return False


def warn_ignored(root: etree._Element, found: Findings) -> None:
    """One warning per vendor namespace Launch Gate ignores (in extensions or as foreign attributes)."""
    for extension in root.iter(f"{{{BPMN_NS}}}extensionElements"):  # anywhere: top level too
        for vendor in extension:
            ns = namespace(vendor.tag)
            if isinstance(vendor.tag, str) and ns not in {BPMN_NS, SPIFF_NS} and not is_active_namespace(ns):
                found.note_ignored(ns, vendor)
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
