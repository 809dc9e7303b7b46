"""BPMN events at run time: what a workflow waits for, delivering a message or a signal to it, and what
its throw events, terminate end events and uncaught errors did during one command.

No I/O here. Callers get plain names and dicts (`WaitingEvent`, `ThrownEvent`, `EventLog`).

- A message delivered from outside (the messages API, another launch) is caught by every event of the
  workflow waiting for that message name (intermediate catch, receive task, boundary, event sub-process
  start); its payload lands in the workflow data under the message name.
- Message and signal throw events (intermediate or end) are recorded as they complete, whether or not an
  event of the same workflow caught them: signals are broadcast to every active launch, messages go to the
  launches the correlation rule picks (engine.commands.messages).
- A terminate end event of the top-level process ends the workflow (`EventLog.terminated`).
- An error thrown and caught by nobody (no boundary, no event sub-process) is `EventLog.uncaught_errors`;
  the command makes it an incident. An escalation nobody catches has no effect (BPMN: non-critical).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import CallActivity, EndEvent, IntermediateThrowEvent, StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, EventBasedGateway
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

MESSAGE = "message"
SIGNAL = "signal"
TIMER = "timer"
ERROR = "error"
ESCALATION = "escalation"
_STARTING_KINDS = (MESSAGE, SIGNAL, TIMER, ERROR, ESCALATION)  # what starts an event sub-process

# The kinds a caller may deliver from outside the workflow.
_DEFINITIONS: dict[str, type[Any]] = {MESSAGE: MessageEventDefinition, SIGNAL: SignalEventDefinition}


@dataclass(frozen=True)
class WaitingEvent:
    """An event the workflow waits for: its kind, the message/signal name or error code (the timer's
    name for a timer), the BPMN id of the waiting element and, for a timer, when it fires next."""

    kind: str
    name: str
    bpmn_id: str
    due: datetime | None = None
    boundary: bool = False  # attached to an activity
    interrupting: bool = True  # a boundary or event sub-process start that cancels what it interrupts


@dataclass(frozen=True)
class ThrownEvent:
    """A message or signal a throw event sent, with the data its task held, and for a message thrown by
    an event with the `correlate` property: that data path and its value in the thrower's data."""

    kind: str
    name: str
    bpmn_id: str
    data: dict[str, Any]
    correlate: tuple[str, Any] | None = None


CORRELATE = "correlate"
_SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_THROWS = ("intermediateThrowEvent", "endEvent")


def throw_properties(root: Any) -> dict[str, dict[str, str]]:
    """The spiffworkflow properties of the diagram's throw events (intermediate throw, end), by id."""
    found: dict[str, dict[str, str]] = {}
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag.rsplit("}", 1)[-1] not in _THROWS:
            continue
        props = {
            str(p.get("name")): str(p.get("value"))
            for p in element.iter(f"{{{_SPIFF}}}property")
            if p.get("name") is not None and p.get("value") is not None
        }
        if props and element.get("id"):
            found[str(element.get("id"))] = props
    return found


def _interrupting_starts(root: Any) -> dict[str, bool]:
    """Each start event of an event sub-process: whether it interrupts (BPMN's default: it does)."""
    found = {}
    for sub in root.iter(f"{{{_BPMN}}}subProcess"):
        if sub.get("triggeredByEvent") == "true":
            for start in sub.iterfind(f"{{{_BPMN}}}startEvent"):
                found[str(start.get("id"))] = start.get("isInterrupting", "true") != "false"
    return found


def attach_throw_properties(specs: Any, root: Any) -> None:
    """Give the throw events' task specs their properties (SpiffWorkflow's base parser keeps none), and
    the start events of event sub-processes whether they interrupt (`interrupting_start`)."""
    props = throw_properties(root)
    starts = _interrupting_starts(root)
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None) or ""
            found = props.get(bpmn_id)
            if found:
                task_spec.extensions = {**getattr(task_spec, "extensions", {}), **found}
            if bpmn_id in starts:
                task_spec.interrupting_start = starts[bpmn_id]


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted data path (None when a part is missing)."""
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


@dataclass
class EventLog:
    """What events did during one command (collected as tasks complete)."""

    thrown: list[ThrownEvent] = field(default_factory=list)
    terminated: bool = False
    uncaught_errors: list[str] = field(default_factory=list)

    def record(self, task: Any) -> None:
        """Called after each engine step: note throws and a terminate of the top-level process."""
        spec = task.task_spec
        definition = getattr(spec, "event_definition", None)
        if not isinstance(spec, IntermediateThrowEvent | EndEvent):
            return
        if isinstance(definition, TerminateEventDefinition) and task.workflow is task.workflow.top_workflow:
            self.terminated = True
            return
        kind = _kind(definition)
        if kind in (MESSAGE, SIGNAL) and definition is not None:
            data = deepcopy(dict(task.data))
            path = (getattr(spec, "extensions", None) or {}).get(CORRELATE)
            correlate = (path, value_at(data, path)) if path and kind == MESSAGE else None
            self.thrown.append(ThrownEvent(kind, str(definition.name), spec.bpmn_id, data, correlate))

    def note_unhandled(self, workflow: Any) -> None:
        """Events that left the workflow uncaught: errors become incidents; the rest were recorded as
        thrown (messages, signals) or have no effect (escalations)."""
        for event in workflow.get_events():
            definition = event.event_definition
            if isinstance(definition, ErrorEventDefinition):
                self.uncaught_errors.append(str(definition.code or definition.name or "error"))


def _kind(definition: Any) -> str | None:
    if isinstance(definition, MessageEventDefinition):
        return MESSAGE
    if isinstance(definition, SignalEventDefinition):
        return SIGNAL
    if isinstance(definition, TimerEventDefinition):
        return TIMER
    if isinstance(definition, ErrorEventDefinition):
        return ERROR
    if isinstance(definition, EscalationEventDefinition):
        return ESCALATION
    return None


def _name(definition: Any) -> str:
    if isinstance(definition, ErrorEventDefinition | EscalationEventDefinition):
        return str(definition.code or definition.name or "")
    return str(definition.name or "")


def waiting_events(workflow: Any) -> list[WaitingEvent]:
    """Every event the workflow (and its sub-workflows) waits for, in a stable order."""
    found: list[WaitingEvent] = []
    for task in _waiting_tasks(workflow):
        spec = task.task_spec
        definition = spec.event_definition
        boundary = isinstance(spec, BoundaryEvent)
        interrupting = bool(getattr(spec, "cancel_activity", True))
        for bpmn_id, part in _parts(spec, definition):
            kind = _kind(part)
            if kind is None:
                continue
            due = timer_due(task) if kind == TIMER else None
            if kind == TIMER and due is None and _spent(task):
                continue  # a cycle whose rounds are all done waits for nothing any more
            found.append(WaitingEvent(kind, _name(part), bpmn_id, due, boundary, interrupting))
    found.extend(_event_sub_process_starts(workflow))  # one waiting as a task already is listed once
    return sorted(dict.fromkeys(found), key=lambda e: (e.bpmn_id, e.kind, e.name))


def _event_sub_process_starts(workflow: Any) -> list[WaitingEvent]:
    """The message and signal starts of the event sub-processes of the top process and of every running
    sub-process: such an event sub-process starts when its event is caught (engine.runtime.event_scopes;
    a timer start waits as a task, listed with the others)."""
    stopped = interrupted_flows(workflow)
    flows = [workflow, *workflow.subprocesses.values()]
    names = [
        n
        for f in flows
        if not f.is_completed() and not any(f is s for s in stopped)
        for n in getattr(f.spec.start, "trigger_specs", ())
    ]
    found = []
    for name in names:
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", ()):
            kind = _kind(start.event_definition)
            if kind in (MESSAGE, SIGNAL):
                interrupting = bool(getattr(start, "interrupting_start", False))
                known_as = _name(start.event_definition)
                found.append(WaitingEvent(kind, known_as, start.bpmn_id, None, False, interrupting))
    return found


def _parts(spec: Any, definition: Any) -> list[tuple[str, Any]]:
    """(BPMN id, definition) of what a waiting task waits for: an event-based gateway waits for the
    events after it (SpiffWorkflow keeps their definitions on the gateway)."""
    if isinstance(spec, EventBasedGateway):
        return [
            (out.bpmn_id, part) for out, part in zip(spec.outputs, definition.event_definitions, strict=False)
        ]
    if isinstance(definition, MultipleEventDefinition):
        return [(spec.bpmn_id, part) for part in definition.event_definitions]
    return [(spec.bpmn_id, definition)]


def _waiting_tasks(workflow: Any) -> list[Any]:
    tasks = [*workflow.tasks.values()]
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return [
        t
        for t in tasks
        if t.state == TaskState.WAITING and getattr(t.task_spec, "event_definition", None) is not None
    ]


def _spent(task: Any) -> bool:
    value = task._get_internal_data("event_value")
    return bool(task._get_internal_data("event_fired", False)) or (
        isinstance(value, dict) and value.get("cycles") == 0
    )


def timer_due(task: Any) -> datetime | None:
    """When a waiting timer task fires next (a duration or date timer: its moment; a cycle: the next
    round; None before the timer started counting)."""
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        if value.get("cycles") == 0:
            return None
        value = value.get("next")
    if isinstance(value, str):
        return TimerEventDefinition.get_datetime(value)  # type: ignore[no-any-return]
    return None


def deliver(workflow: Any, kind: str, name: str, payload: dict[str, Any] | None) -> int:
    """Deliver a message or signal from outside; how many waiting events caught it (0: none waits).

    A message's payload lands in the data under the message name; a signal carries none."""
    definition = _DEFINITIONS[kind](name)
    data = {name: deepcopy(payload)} if kind == MESSAGE and payload is not None else {}
    event = BpmnEvent(definition, payload=data)
    before, waited = set(workflow.subprocesses), waiting_starts(workflow)
    caught = int(workflow.event_manager.catch(event, internal=False))
    interrupt_started(workflow, before, waited)
    return caught


def waiting_starts(workflow: Any) -> list[Any]:
    """The sub-workflow ids of event sub-processes (in any process of the launch) whose interrupting
    start still waits: a timer start (SpiffWorkflow starts such a sub-process with its process), or any
    start of one a sub-process entered again brought along (engine.runtime.event_scopes)."""
    return [sub_id for sub_id, sub in workflow.subprocesses.items() if _start_waits(sub)]


def interrupt_started(workflow: Any, before: set[Any], waited: list[Any]) -> bool:
    """Interrupting event sub-processes whose start fired since a snapshot (`before`: the sub-workflow
    ids then; `waited`: `waiting_starts` then) — a new one whose start does not wait, or one that waited
    and does not any more: cancel the rest of the process each is drawn in (the top one or a
    sub-process). True when one did."""
    found = False
    new = [s for s in workflow.subprocesses if s not in before]
    for sub_id in dict.fromkeys([*new, *waited]):
        sub = workflow.subprocesses.get(sub_id)
        if sub is not None and _interrupts_now(workflow, sub_id, sub):
            host = workflow.get_task_from_id(sub_id)
            _interrupt(host.workflow, host)
            found = True
    return found


def interrupted_flows(top: Any) -> list[Any]:
    """The workflows (the top one, sub-workflows) an interrupting event sub-process of which runs: the
    rest of each was cancelled, and its event sub-processes start no more."""
    return [
        sub.parent_workflow for sub_id, sub in top.subprocesses.items() if _interrupts_now(top, sub_id, sub)
    ]


def interrupted(top: Any, flow: Any) -> bool:
    return any(f is flow for f in interrupted_flows(top))


def _interrupts_now(top: Any, sub_id: Any, sub: Any) -> bool:
    """An interrupting event sub-process whose event came (its start does not wait) and that runs."""
    host = top.get_task_from_id(sub_id)
    return (
        host is not None and host.state == TaskState.STARTED and _interrupting(sub) and not _start_waits(sub)
    )


def is_event_subprocess(sub: Any) -> bool:
    """True when a sub-workflow is an event sub-process: one of its start events waits for an event (an
    embedded sub-process starts with a none start; SpiffWorkflow gives both the same task spec class)."""
    host = sub.top_workflow.get_task_from_id(sub.parent_task_id)
    return not isinstance(getattr(host, "task_spec", None), CallActivity) and any(
        _kind(s.event_definition) in _STARTING_KINDS for s in getattr(sub.spec, "bpmn_start_events", ())
    )


def _interrupting(sub: Any) -> bool:
    return any(
        getattr(s, "interrupting_start", False) and _kind(s.event_definition) in _STARTING_KINDS
        for s in getattr(sub.spec, "bpmn_start_events", ())
    )


def _start_waits(sub: Any) -> bool:
    """True when the sub-workflow's own interrupting start event still waits for its event."""
    return any(
        t.workflow is sub
        and isinstance(t.task_spec, StartEvent)
        and bool(getattr(t.task_spec, "interrupting_start", False))
        for t in sub.get_tasks(state=TaskState.WAITING)
    )


def _interrupt(workflow: Any, started: Any) -> None:
    """An interrupting event sub-process started: every other unfinished task of the process is
    cancelled (SpiffWorkflow 3.2 starts it beside the running path and leaves the rest to us)."""
    keep = set()
    node = started
    while node is not None:
        keep.add(node.id)
        node = node.parent
    for task in list(workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if task.id in keep or task.workflow is not workflow or task.is_descendant_of(started):
            continue
        if task.state != TaskState.CANCELLED:
            task.cancel()


def waits_for(workflow: Any, kind: str, name: str) -> bool:
    return any(e.kind == kind and e.name == name for e in waiting_events(workflow))
