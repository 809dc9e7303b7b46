"""Events and their definitions: which event definitions each kind of event may carry, the timer's value,
where a boundary event may sit, and the name an event is known by (`event_name`).

| event | definitions accepted (at most one) |
|---|---|
| startEvent | none, timer, message, signal; error and escalation only in an event sub-process |
| endEvent | none, message, signal, error, escalation, terminate |
| intermediateCatchEvent | exactly one of timer, message, signal |
| intermediateThrowEvent | none, message, signal, escalation |
| boundaryEvent | exactly one of timer, message, signal, error, escalation |

Compensation, cancel (transactions), link and conditional events are refused (engine.specs.elements)."""

from __future__ import annotations

from copy import deepcopy

from lxml import etree

from engine.specs.bpmn_xml import BPMN_NS, NS, local_name, namespace
from engine.specs.findings import Findings

TIMER_PARTS = frozenset({"timerEventDefinition", "timeDuration", "timeDate", "timeCycle"})
EVENT_DEFINITIONS = frozenset(
    {
        "timerEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "terminateEventDefinition",
    }
)
EVENTS = frozenset(
    {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
)
# Activities a boundary event may sit on (every activity Launch Gate accepts).
BOUNDARY_HOSTS = frozenset(
    {"userTask", "manualTask", "task", "sendTask", "serviceTask", "receiveTask", "subProcess", "callActivity"}
)
_ALLOWED: dict[str, frozenset[str]] = {
    "startEvent": frozenset({"timer", "message", "signal", "error", "escalation"}),
    "endEvent": frozenset({"message", "signal", "error", "escalation", "terminate"}),
    "intermediateCatchEvent": frozenset({"timer", "message", "signal"}),
    "intermediateThrowEvent": frozenset({"message", "signal", "escalation"}),
    "boundaryEvent": frozenset({"timer", "message", "signal", "error", "escalation"}),
}
_NEEDS_ONE = frozenset({"intermediateCatchEvent", "boundaryEvent"})
# definition kind -> (the attribute naming the referenced element, the top-level element it names)
_REFERENCES = {
    "message": ("messageRef", "message"),
    "signal": ("signalRef", "signal"),
    "error": ("errorRef", "error"),
    "escalation": ("escalationRef", "escalation"),
}


def inline_event_definitions(root: etree._Element) -> etree._Element:
    """Global event definitions, as several modelers write them: an event's `<eventDefinitionRef>` names
    an event definition at the top level. Each reference is replaced by a copy of the definition (id
    `<event id>_<definition id>`) and the referenced top-level definitions go, so every later reader (the
    checker, the gate, SpiffWorkflow) sees an ordinary event. An unresolved reference stays (refused)."""
    top = {
        d.get("id"): d
        for d in root
        if isinstance(d.tag, str) and namespace(d.tag) == BPMN_NS and local_name(d.tag) in EVENT_DEFINITIONS
    }
    used = set()
    for ref in list(root.iter(f"{{{BPMN_NS}}}eventDefinitionRef")):
        target, event = top.get((ref.text or "").strip()), ref.getparent()
        if target is None or event is None:
            continue
        copied = deepcopy(target)
        copied.set("id", f"{event.get('id') or 'event'}_{target.get('id')}")
        event.replace(ref, copied)
        used.add(target.get("id"))
    for definition_id in used:
        root.remove(top[definition_id])
    return root


def definition_kind(definition: etree._Element) -> str:
    """'timer' for a <timerEventDefinition>, 'message' for a <messageEventDefinition>, …"""
    return local_name(definition.tag).removesuffix("EventDefinition")


def event_definitions(event: etree._Element) -> list[etree._Element]:
    """The event's own event definitions (BPMN elements whose name ends in EventDefinition)."""
    return [
        d
        for d in event
        if isinstance(d.tag, str)
        and namespace(d.tag) == BPMN_NS
        and local_name(d.tag).endswith("EventDefinition")
    ]


def event_name(event: etree._Element) -> str:
    """The name an event (or one of its event definitions) is known by: the name (else id) of the message,
    signal, error or escalation its definition references; without a reference, the event's own name,
    else its id. Messages arrive at `POST /api/v1/launches/{id}/messages/{name}` by this name."""
    owner = event.getparent() if local_name(event.tag).endswith("EventDefinition") else event
    definitions = [event] if owner is not event else event_definitions(event)
    root = event.getroottree().getroot()
    for definition in definitions:
        reference = _REFERENCES.get(definition_kind(definition))
        ref = definition.get(reference[0]) if reference else None
        if reference and ref:
            target = next((t for t in root.iterfind(f"bpmn:{reference[1]}", NS) if t.get("id") == ref), None)
            if target is not None:
                return (target.get("name") or "").strip() or ref
    holder = owner if owner is not None else event
    return (holder.get("name") or "").strip() or holder.get("id") or ""


def check_event(scope: etree._Element, event: etree._Element, found: Findings) -> None:
    """The event's definitions are of a kind its event accepts, reference what exists, and a timer has a
    valid value; a boundary event sits on an activity of its scope."""
    kind, event_id = local_name(event.tag), event.get("id")
    definitions = event_definitions(event)
    if len(definitions) > 1:
        found.problem(event_id, f"<{kind}> is supported with one event definition, not {len(definitions)}")
    elif not definitions and kind in _NEEDS_ONE:
        found.problem(event_id, f"<{kind}> needs an event definition (a timer, a message or a signal)")
    for definition in definitions[:1]:
        what = definition_kind(definition)
        if what not in _ALLOWED[kind]:
            if local_name(definition.tag) in EVENT_DEFINITIONS:
                found.problem(event_id, f"a {what} event definition is not supported on <{kind}>")
            continue  # an unknown definition is refused by the element check
        if kind == "startEvent" and what in {"error", "escalation"} and not is_event_subprocess(scope):
            found.problem(event_id, f"a {what} start event belongs in an event sub-process")
        _check_reference(definition, what, found, event_id)
        if what == "timer":
            _check_timer(definition, found, event_id)
    if kind == "boundaryEvent":
        _check_host(scope, event, found)


def is_event_subprocess(scope: etree._Element) -> bool:
    return local_name(scope.tag) == "subProcess" and scope.get("triggeredByEvent") == "true"


def _check_reference(definition: etree._Element, what: str, found: Findings, event_id: str | None) -> None:
    reference = _REFERENCES.get(what)
    ref = definition.get(reference[0]) if reference else None
    if reference is None or not ref:
        return  # no reference: the event is known by its own name (event_name)
    root = definition.getroottree().getroot()
    if not any(t.get("id") == ref for t in root.iterfind(f"bpmn:{reference[1]}", NS)):
        found.problem(event_id, f"{reference[0]} {ref!r} names no <{reference[1]}> of this diagram")


def _check_timer(timer: etree._Element, found: Findings, event_id: str | None) -> None:
    """Exactly one of timeDuration / timeDate / timeCycle, whose value engine.runtime accepts."""
    from engine.runtime import timer_problem

    values = [v for v in timer if isinstance(v.tag, str) and local_name(v.tag) in TIMER_PARTS]
    if len(values) != 1:
        found.problem(event_id, "a timer needs exactly one timeDuration, timeDate or timeCycle")
        return
    reason = timer_problem(local_name(values[0].tag), (values[0].text or "").strip())
    if reason is not None:
        found.problem(event_id, reason)


def _check_host(scope: etree._Element, event: etree._Element, found: Findings) -> None:
    host = event.get("attachedToRef")
    hosts = {el.get("id") for el in scope if isinstance(el.tag, str) and local_name(el.tag) in BOUNDARY_HOSTS}
    if host not in hosts:
        found.problem(
            event.get("id"),
            f"a boundary event must sit on a task, sub-process or call activity beside it, not {host!r}",
        )
