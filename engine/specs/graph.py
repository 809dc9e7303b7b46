"""The graph the gate's bypass check reads (engine.gate_paths.FlowGraph), built from a process element:
every flow node of the process and, flattened into it, of its embedded sub-processes, event
sub-processes and the processes its call activities call (inlined under the activity's id:
`<call activity id>/<element id>`), with boundary events, event definitions and multi-instance markers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from engine.gate_paths import ACTIVITIES, Boundary, FlowGraph, MultiInstance, Scope, skip_reason
from engine.specs.bpmn_xml import NS, local_name, properties

Resolver = Callable[[str], etree._Element | None]

_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"})
_GATEWAYS = frozenset(
    {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
)
_HUMAN = frozenset({"userTask", "manualTask", "task"})
_BODIES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
_TRIGGERS = {
    "timerEventDefinition": "timer",
    "messageEventDefinition": "message",
    "signalEventDefinition": "signal",
    "errorEventDefinition": "error",
    "escalationEventDefinition": "escalation",
    "terminateEventDefinition": "terminate",
    "conditionalEventDefinition": "conditional",
    "compensateEventDefinition": "compensate",
    "cancelEventDefinition": "cancel",
    "linkEventDefinition": "link",
}
_CODE_OF = {
    "error": ("errorRef", "error", "errorCode"),
    "escalation": ("escalationRef", "escalation", "escalationCode"),
}
MAX_CALL_DEPTH = 8


def flow_graph(process: etree._Element, resolve: Resolver | None = None) -> FlowGraph:
    """The process's flow graph. A call activity's process is looked up among the processes of the same
    document, then with `resolve` (a deployed process); one found nowhere, or called recursively, is read
    as a plain activity (the checks of call activities refuse it on their own)."""
    build = _Builder(resolve)
    build.body(process, scope_id="", parent=None, prefix="", calls=(process.get("id") or "",))
    top = build.scopes[""]
    return FlowGraph(
        start=top.starts[0] if top.starts else None,
        edges=build.edges,
        kinds=build.kinds,
        boundaries=tuple(build.boundaries),
        scopes=build.scopes,
        parent=build.parent,
        events=build.events,
        origin=build.origin,
        multi=build.multi,
        may_skip=frozenset(n for n, m in build.multi.items() if skip_reason(m)) | build.loops_before,
        called_marks=build.marks,
    )


def flow_order(process: etree._Element) -> list[str]:
    """Every element id of the process in breadth-first order from its start: a body is entered where its
    activity stands, boundary events follow their host, event sub-processes follow their body; whatever
    no path reaches comes last, in document order. A called process's elements stand where it is called
    (by their own ids, once)."""
    graph = flow_graph(process)
    after: dict[str, list[str]] = {n: list(graph.edges.get(n, ())) for n in graph.kinds}
    for scope in graph.scopes.values():
        host = scope.id if not scope.event_sub else (scope.parent or "")
        after.setdefault(host, []).extend(scope.starts)
    for b in graph.boundaries:
        after.setdefault(b.host, []).append(b.id)
    order: list[str] = []
    seen: set[str] = set()
    for roots in (graph.scopes[""].starts, after.get("", ())):  # the main flow first
        queue = [r for r in roots if r not in seen]
        seen.update(queue)
        while queue:
            node = queue.pop(0)
            order.append(node)
            fresh = [n for n in after.get(node, ()) if n not in seen]
            seen.update(fresh)
            queue += fresh
    order += [n for n in graph.kinds if n not in seen]
    return list(dict.fromkeys(graph.origin.get(n, n) for n in order))


@dataclass
class _Builder:
    resolve: Resolver | None
    edges: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    boundaries: list[Boundary] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)
    events: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    multi: dict[str, MultiInstance] = field(default_factory=dict)
    loops_before: set[str] = field(default_factory=set)
    marks: dict[str, tuple[bool, str | None]] = field(default_factory=dict)

    def body(
        self,
        container: etree._Element,
        *,
        scope_id: str,
        parent: str | None,
        prefix: str,
        calls: tuple[str, ...],
    ) -> None:
        """One body's children into the graph; the body becomes the scope `scope_id`."""
        starts: list[str] = []
        for child in container:
            if not isinstance(child.tag, str) or not child.get("id"):
                continue
            name, node = local_name(child.tag), prefix + (child.get("id") or "")
            if name == "sequenceFlow":
                source, target = child.get("sourceRef") or "", child.get("targetRef") or ""
                self.edges.setdefault(prefix + source, []).append(prefix + target)
            elif name == "subProcess" and child.get("triggeredByEvent") == "true":
                self._event_sub(child, node, scope_id, prefix, calls)
            elif name in ACTIVITIES or name in _EVENTS or name in _GATEWAYS or name == "boundaryEvent":
                self._node(child, name, node, scope_id, prefix)
                if name == "startEvent":
                    starts.append(node)
                if name in _BODIES:
                    self.body(child, scope_id=node, parent=scope_id, prefix=prefix, calls=calls)
                elif name == "callActivity":
                    self._call(child, node, scope_id, calls)
        if scope_id not in self.scopes:
            self.scopes[scope_id] = Scope(scope_id, parent, tuple(starts))

    def _node(self, el: etree._Element, name: str, node: str, scope_id: str, prefix: str) -> None:
        self.kinds[node] = name
        self.parent[node] = scope_id
        self.origin[node] = el.get("id") or ""
        if prefix and name in _HUMAN:
            props = properties(el)
            live, item = props.get("go_live", "false").lower() == "true", props.get("gate_item")
            if live or item:
                self.marks[el.get("id") or ""] = (live, item)
        trigger, code = _trigger(el)
        if name in _EVENTS or name == "boundaryEvent":
            self.events[node] = (trigger, code)
        if name == "boundaryEvent":
            interrupting = el.get("cancelActivity", "true") != "false"
            host = prefix + (el.get("attachedToRef") or "")
            self.boundaries.append(Boundary(node, host, trigger, interrupting, code))
        loop = el.find("bpmn:multiInstanceLoopCharacteristics", NS)
        if loop is not None:
            self.multi[node] = MultiInstance(
                cardinality=_text(loop, "bpmn:loopCardinality"),
                collection=_text(loop, "bpmn:loopDataInputRef") or properties(el).get("collection"),
                completion=_text(loop, "bpmn:completionCondition"),
                sequential=loop.get("isSequential") == "true",
            )
        standard = el.find("bpmn:standardLoopCharacteristics", NS)
        if standard is not None and standard.get("testBefore") == "true":
            self.loops_before.add(node)  # may run no time at all

    def _event_sub(
        self, el: etree._Element, node: str, scope_id: str, prefix: str, calls: tuple[str, ...]
    ) -> None:
        start = el.find("bpmn:startEvent", NS)
        trigger, code = _trigger(start) if start is not None else ("none", None)
        interrupting = start is None or start.get("isInterrupting", "true") != "false"
        self.body(el, scope_id=node, parent=scope_id, prefix=prefix, calls=calls)
        starts = self.scopes[node].starts
        self.scopes[node] = Scope(node, scope_id, starts, True, trigger, interrupting, code)

    def _call(self, el: etree._Element, node: str, scope_id: str, calls: tuple[str, ...]) -> None:
        called_id = el.get("calledElement") or ""
        called = _find_process(el, called_id)
        if called is None and self.resolve is not None:
            called = self.resolve(called_id)
        if called is None or called_id in calls or len(calls) > MAX_CALL_DEPTH:
            return  # a plain activity
        self.body(called, scope_id=node, parent=scope_id, prefix=f"{node}/", calls=(*calls, called_id))


def _find_process(el: etree._Element, process_id: str) -> etree._Element | None:
    root = el.getroottree().getroot()
    return next((p for p in root.iterfind("bpmn:process", NS) if p.get("id") == process_id), None)


def _trigger(el: etree._Element) -> tuple[str, str | None]:
    """The event's trigger and, for an error or escalation, the code it throws or catches (None: any)."""
    for definition in el:
        if isinstance(definition.tag, str) and local_name(definition.tag) in _TRIGGERS:
            trigger = _TRIGGERS[local_name(definition.tag)]
            return trigger, _code(definition, trigger)
    return "none", None


def _code(definition: etree._Element, trigger: str) -> str | None:
    if trigger not in _CODE_OF:
        return None
    attribute, element, code_attribute = _CODE_OF[trigger]
    ref = definition.get(attribute)
    if not ref:
        return None
    root = definition.getroottree().getroot()
    declared = next((e for e in root.iterfind(f"bpmn:{element}", NS) if e.get("id") == ref), None)
    return (declared.get(code_attribute) if declared is not None else None) or ref


def _text(el: etree._Element, path: str) -> str | None:
    found = el.find(path, NS)
    return (found.text or "").strip() or None if found is not None else None
