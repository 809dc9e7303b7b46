"""Diagram loading and validation.

A diagram is parsed with our hardened parser (engine.xml_safety), checked against an allow-list of BPMN
elements, every expression is parsed by the safe grammar (engine.expressions), exclusive gateways need a
default flow, and the gate must hold by construction: no path from the start reaches the go-live task without
passing every gate item. Only then is the SpiffWorkflow spec built. Loaded processes are cached by
content hash.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree

from engine import gate
from engine.bounds import cycles_without_wait_state
from engine.errors import DiagramProblem, DiagramRejectedError, UnsafeExpressionError
from engine.expressions import Expression, parse_expression
from engine.forms import FormSet
from engine.model import GateItemModel, ProcessModel, UserTaskModel
from engine.xml_safety import (
    DI_EXTENSION,
    check_markup,
    clean_label,
    foreign_attribute_namespaces,
    has_breaking_characters,
    is_active_namespace,
    parse_xml_document,
)

logger = logging.getLogger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# Elements a process may contain. Anything else (script, service, send tasks, sub-processes, call
# activities, data objects, …) is rejected: Launch Gate runs no code from diagrams. Intermediate catch
# events and boundary events are allowed with a timer (a quoted ISO 8601 literal), nothing else.
_TIMER_EVENTS = {"intermediateCatchEvent", "boundaryEvent"}
_FLOW_NODES = {"startEvent", "endEvent", "userTask", "exclusiveGateway", "parallelGateway"} | _TIMER_EVENTS
_TIMER_PARTS = {"timerEventDefinition", "timeDuration", "timeDate"}
_PROCESS_CHILDREN = _FLOW_NODES | {"sequenceFlow", "laneSet", "documentation", "extensionElements"}
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
_KNOWN_PROPERTIES = {
    "role",
    "document",
    "reviews",
    "gate_item",
    "gate_item_title",
    "gate_pass_when",
    "gate_part_of",
    "go_live",
    "due_in_business_days",
    "sends",
    "formJsonSchemaFilename",
    "formUiSchemaFilename",
}
FORM_FILE_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")


@dataclass(frozen=True)
class DiagramCheck:
    """Everything `bpmn check` says about one diagram: every problem (errors and warnings) and the files
    its user tasks reference (task id -> file names), which the package check resolves."""

    problems: tuple[DiagramProblem, ...]
    form_files: Mapping[str, tuple[str, ...]]

    @property
    def errors(self) -> list[DiagramProblem]:
        return [p for p in self.problems if p.is_error]


@dataclass(frozen=True)
class LoadedProcess:
    """A validated diagram: our model plus the SpiffWorkflow spec (opaque outside the engine), and the
    forms of the stored version (engine.forms; a diagram loaded on its own has none: all plain forms)."""

    model: ProcessModel
    xml: str
    spiff_spec: Any
    forms: FormSet = field(default_factory=FormSet)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(tag: object) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def _properties(element: etree._Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in element.iterfind(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
    ):
        name, value = prop.get("name"), prop.get("value")
        if name is not None and value is not None:
            found[name] = value
    return found


def _nearest_id(element: etree._Element) -> str | None:
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


class _Checker:
    """Collects every problem in one pass so `bpmn check` can list them all."""

    def __init__(self, root: etree._Element, known_forms: Collection[str] | None) -> None:
        self.root = root
        self.known_forms = known_forms
        self.problems: list[DiagramProblem] = []
        self.form_files: dict[str, tuple[str, ...]] = {}
        self._ignored: dict[str, str | None] = {}  # vendor namespace -> first element that uses it

    def problem(self, element_id: str | None, message: str) -> None:
        self.problems.append(DiagramProblem(element_id, message))

    def warning(self, element_id: str | None, message: str) -> None:
        self.problems.append(DiagramProblem(element_id, message, severity="warning"))

    def run(self) -> tuple[etree._Element | None, dict[str, UserTaskModel]]:
        """Check everything (every process, even when the count is wrong) and return the one executable
        process with its user tasks, or None when there is not exactly one."""
        if _local(self.root.tag) != "definitions" or _ns(self.root.tag) != BPMN_NS:
            self.problem(None, "the document is not a BPMN 2.0 <definitions> element")
            return None, {}
        self.problems.extend(check_markup(self.root))
        self._check_top_level()
        processes = list(self.root.iterfind("bpmn:process", NS))
        executable = [p for p in processes if p.get("isExecutable") == "true"]
        if len(executable) != 1:
            self.problem(
                None,
                f'expected exactly one executable process (isExecutable="true"), found {len(executable)}',
            )
        results = [(p, self._check_process(p)) for p in (executable or processes)]
        self._warn_ignored()
        return results[0] if len(executable) == 1 else (None, {})

    def _check_process(self, process: etree._Element) -> dict[str, UserTaskModel]:
        self._check_elements(process)
        roles = self._lane_roles(process)
        tasks = self._user_tasks(process, roles)
        self._check_flows(process)
        self._check_gate(process, tasks)
        self._check_interchange(process)
        return tasks

    def _check_interchange(self, process: etree._Element) -> None:
        """A warning when the launch page could not draw this process (no BPMNPlane shows it)."""
        shown = {
            plane.get("bpmnElement")
            for plane in self.root.iterfind(f"{{{BPMNDI_NS}}}BPMNDiagram/{{{BPMNDI_NS}}}BPMNPlane")
        }
        pid = process.get("id")
        shown_by = {
            c.get("id")
            for c in self.root.iterfind("bpmn:collaboration", NS)
            if any(p.get("processRef") == pid for p in c.iterfind("bpmn:participant", NS))
        }
        if pid not in shown and not shown_by & shown:
            self.warning(
                pid, "no diagram interchange (BPMNDiagram) shows this process: the launch page cannot draw it"
            )

    def _note_ignored(self, namespace: str, element: etree._Element) -> None:
        self._ignored.setdefault(namespace, _nearest_id(element))

    def _warn_ignored(self) -> None:
        for extension in self.root.iter(DI_EXTENSION):
            for vendor in extension:
                if isinstance(vendor.tag, str) and not is_active_namespace(_ns(vendor.tag)):
                    self._note_ignored(_ns(vendor.tag), vendor)
        for element in self.root.iter():
            if isinstance(element.tag, str):
                for namespace in sorted(foreign_attribute_namespaces(element)):
                    self._note_ignored(namespace, element)
        for namespace, first in self._ignored.items():
            self.warning(first, f"extensions of namespace {namespace!r} are ignored")

    def _check_top_level(self) -> None:
        for child in self.root:
            if not isinstance(child.tag, str):
                continue
            if _ns(child.tag) == BPMNDI_NS or is_active_namespace(_ns(child.tag)):
                continue  # diagram interchange and active content: check_markup's business
            if _ns(child.tag) != BPMN_NS or _local(child.tag) not in _TOP_LEVEL_ALLOWED:
                self.problem(child.get("id"), f"<{_local(child.tag)}> is not supported at the top level")
            if _local(child.tag) == "collaboration":
                for part in child:
                    if isinstance(part.tag, str) and _local(part.tag) not in _COLLABORATION_CHILDREN:
                        self.problem(
                            part.get("id"), f"<{_local(part.tag)}> is not supported in a collaboration"
                        )

    def _check_elements(self, process: etree._Element) -> None:
        for child in process:
            if not isinstance(child.tag, str):
                continue
            name = _local(child.tag)
            if _ns(child.tag) != BPMN_NS or name not in _PROCESS_CHILDREN:
                if not is_active_namespace(_ns(child.tag)):
                    self.problem(child.get("id"), self._unsupported_message(name))
                continue
            self._walk_nested(child)
            if name in _TIMER_EVENTS:
                self._check_timer_event(process, child)
            elif any(_local(n.tag) in _TIMER_PARTS for n in child.iter() if isinstance(n.tag, str)):
                self.problem(child.get("id"), f"timers are only supported on {' and '.join(_TIMER_EVENTS)}")

    def _check_timer_event(self, process: etree._Element, event: etree._Element) -> None:
        """One timer with exactly one of timeDuration / timeDate, whose text is a quoted ISO 8601 literal;
        a boundary event sits on a user task."""
        from engine.runtime import timer_problem

        event_id = event.get("id")
        timers = event.findall("bpmn:timerEventDefinition", NS)
        if len(timers) != 1:
            self.problem(event_id, f"<{_local(event.tag)}> is supported with exactly one timer, nothing else")
            return
        values = [v for v in timers[0] if isinstance(v.tag, str) and _local(v.tag) in _TIMER_PARTS]
        if len(values) != 1:
            self.problem(event_id, "a timer needs exactly one timeDuration or timeDate")
        else:
            reason = timer_problem(_local(values[0].tag), (values[0].text or "").strip())
            if reason is not None:
                self.problem(event_id, reason)
        if _local(event.tag) == "boundaryEvent":
            host = event.get("attachedToRef")
            hosts = {t.get("id") for t in process.iterfind("bpmn:userTask", NS)}
            if host not in hosts:
                self.problem(event_id, f"a boundary timer must sit on a user task, not {host!r}")

    @staticmethod
    def _unsupported_message(name: str) -> str:
        if name == "scriptTask":
            return "script tasks are not allowed: Launch Gate never runs code from a diagram"
        return f"<{name}> is not supported by Launch Gate"

    def _walk_nested(self, element: etree._Element) -> None:
        for nested in element:
            if isinstance(nested.tag, str) and self._check_nested(nested):
                self._walk_nested(nested)

    def _check_nested(self, nested: etree._Element) -> bool:
        """Check one element below a flow node; True when its children are to be checked too."""
        ns, name = _ns(nested.tag), _local(nested.tag)
        parent = nested.getparent()
        if parent is not None and _local(parent.tag) == "extensionElements" and ns not in {BPMN_NS, SPIFF_NS}:
            if not is_active_namespace(ns):  # an active one was refused by check_markup already
                self._note_ignored(ns, nested)
            return False
        if ns == BPMN_NS and name in _NESTED_ALLOWED:
            return True
        if ns == SPIFF_NS and name in {"properties", "property"}:
            if name == "property" and nested.get("name") not in _KNOWN_PROPERTIES:
                self.problem(_nearest_id(nested), f"unknown extension property {nested.get('name')!r}")
            return True
        if ns == SPIFF_NS and name in {"preScript", "postScript", "script"}:
            self.problem(
                _nearest_id(nested), f"<{name}> is not allowed: Launch Gate never runs code from a diagram"
            )
            return False
        if not is_active_namespace(ns):
            self.problem(_nearest_id(nested), f"<{name}> is not supported by Launch Gate")
        return False

    def _lane_roles(self, process: etree._Element) -> dict[str, str]:
        roles: dict[str, str] = {}
        for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS):
            role = _properties(lane).get("role")
            if role is None:
                self.problem(lane.get("id"), "lane has no 'role' property")
                continue
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if ref.text:
                    roles[ref.text.strip()] = role
        return roles

    def _user_tasks(self, process: etree._Element, roles: Mapping[str, str]) -> dict[str, UserTaskModel]:
        tasks: dict[str, UserTaskModel] = {}
        for el in process.iterfind("bpmn:userTask", NS):
            task_id = el.get("id") or ""
            props = _properties(el)
            role = roles.get(task_id)
            if role is None:
                self.problem(task_id, "user task is in no lane with a role")
            if self.known_forms is not None and task_id not in self.known_forms:
                self.problem(task_id, "user task has no form model in Launch Gate")
            pass_when = self._expression(task_id, props.get("gate_pass_when"), "gate_pass_when")
            due = props.get("due_in_business_days")
            due_days: int | None = None
            if due is not None:
                if due.isdigit() and 0 < int(due) <= 365:
                    due_days = int(due)
                else:
                    self.problem(
                        task_id, f"due_in_business_days must be a whole number from 1 to 365, not {due!r}"
                    )
            doc = el.find("bpmn:documentation", NS)
            files = tuple(props[p] for p in FORM_FILE_PROPERTIES if props.get(p))
            if files:
                self.form_files[task_id] = files
            tasks[task_id] = UserTaskModel(
                id=task_id,
                title=self._label(task_id, el.get("name")) or task_id,
                role=role or "",
                documentation=(doc.text or "").strip() if doc is not None else "",
                document=props.get("document", task_id),
                reviews=props.get("reviews"),
                gate_item=props.get("gate_item"),
                gate_item_title=self._label(task_id, props.get("gate_item_title")),
                gate_pass_when=pass_when,
                gate_part_of=props.get("gate_part_of"),
                go_live=props.get("go_live", "false").lower() == "true",
                due_in_business_days=due_days,
                sends=props.get("sends"),
            )
        return tasks

    def _label(self, element_id: str, text: str | None) -> str | None:
        """A name as Launch Gate uses it (titles, e-mail subjects): on one line, with a warning when the
        diagram's own had line breaks or control characters."""
        if text is None:
            return None
        if has_breaking_characters(text):
            self.warning(
                element_id,
                f"the name {clean_label(text)!r} contains line breaks or control characters; "
                "Launch Gate shows it on one line",
            )
        return clean_label(text)

    def _expression(self, element_id: str, source: str | None, what: str) -> Expression | None:
        if source is None:
            return None
        try:
            return parse_expression(source)
        except UnsafeExpressionError as exc:
            self.problem(element_id, f"{what} rejected: {exc.message}")
            return None

    def _check_flows(self, process: etree._Element) -> None:
        nodes = {
            el.get("id"): el for el in process if isinstance(el.tag, str) and _local(el.tag) in _FLOW_NODES
        }
        # Elements refused by the allow-list were reported already; flows touching them are not news.
        rejected = {
            el.get("id")
            for el in process
            if isinstance(el.tag, str) and el.get("id") not in nodes and _local(el.tag) != "sequenceFlow"
        }
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in process.iterfind("bpmn:sequenceFlow", NS):
            flow_id = flow.get("id")
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in rejected or target in rejected:
                outgoing.setdefault(source or "", [])
                continue
            if source not in nodes or target not in nodes:
                self.problem(flow_id, f"sequence flow connects unknown elements {source!r} → {target!r}")
                continue
            outgoing.setdefault(source or "", []).append(flow)
            condition = flow.find("bpmn:conditionExpression", NS)
            source_kind = _local(nodes[source].tag)
            if condition is not None:
                if source_kind != "exclusiveGateway":
                    self.problem(flow_id, "conditions are only supported on flows out of exclusive gateways")
                self._expression(flow_id or "", (condition.text or "").strip(), "condition")
        for node_id, node in nodes.items():
            kind = _local(node.tag)
            flows = outgoing.get(node_id or "", [])
            if kind == "exclusiveGateway" and len(flows) > 1:
                default = node.get("default")
                if not default:
                    self.problem(node_id, "exclusive gateway has no default flow")
                elif default not in {f.get("id") for f in flows}:
                    self.problem(node_id, f"default flow {default!r} does not leave this gateway")
                for flow in flows:
                    if flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
                        self.problem(
                            flow.get("id"),
                            "flow out of an exclusive gateway needs a condition or to be the default",
                        )
            if kind != "endEvent" and not flows and node_id not in outgoing:
                self.problem(node_id, "element has no outgoing flow")
        self._check_cycles(process, nodes)
        starts = [n for n in nodes.values() if _local(n.tag) == "startEvent"]
        if len(starts) != 1:
            self.problem(process.get("id"), f"expected exactly one start event, found {len(starts)}")

    def _check_cycles(self, process: etree._Element, nodes: Mapping[str | None, etree._Element]) -> None:
        """Refuse a cycle without a wait state: one command would spin in it until the step budget."""
        kinds = {node_id: _local(node.tag) for node_id, node in nodes.items() if node_id}
        edges: dict[str, list[str]] = {}
        for flow in process.iterfind("bpmn:sequenceFlow", NS):
            edges.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
        for cycle in cycles_without_wait_state(kinds, edges):
            shown = " → ".join(cycle[:6]) + (" → …" if len(cycle) > 6 else "")
            self.problem(
                cycle[0],
                f"the loop {shown} has no wait state (a user task or a catch event): "
                "a launch would run round it without end",
            )

    def _check_gate(self, process: etree._Element, tasks: Mapping[str, UserTaskModel]) -> None:
        """The gate must hold by construction (engine.gate owns the rule; this reads the flow graph).

        A process that marks nothing of the gate (no go-live task, gate item or step towards one) is a
        plain process: no gate rule applies, and it runs to its end."""
        if not any(t.go_live or t.gate_item or t.gate_part_of for t in tasks.values()):
            return
        self.problems.extend(gate.check_gate_graph(_flow_graph(process), tasks, process_id=process.get("id")))


def _flow_graph(process: etree._Element) -> gate.FlowGraph:
    """The process's sequence flows as a graph of element ids, with each element's kind."""
    edges: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edges.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    return gate.FlowGraph(
        start=next((el.get("id") for el in process.iterfind("bpmn:startEvent", NS)), None),
        edges=edges,
        kinds={el.get("id") or "": _local(el.tag) for el in process if isinstance(el.tag, str)},
        boundaries=tuple(
            (b.get("attachedToRef") or "", b.get("id") or "")
            for b in process.iterfind("bpmn:boundaryEvent", NS)
        ),
    )


def check_diagram(data: bytes, *, known_forms: Collection[str] | None = None) -> list[DiagramProblem]:
    """Every error in a diagram (empty when it can be deployed). Never raises for a bad diagram."""
    return inspect_diagram(data, known_forms=known_forms).errors


def inspect_diagram(data: bytes, *, known_forms: Collection[str] | None = None) -> DiagramCheck:
    """Every problem in a diagram, errors and warnings, and the files it references. Never raises for a
    bad diagram: what `launchgate bpmn check` and deploy report."""
    try:
        root = parse_xml_document(data)
    except DiagramRejectedError as exc:
        return DiagramCheck(problems=exc.problems, form_files={})
    checker = _Checker(root, known_forms)
    process, _ = checker.run()
    problems = list(checker.problems)
    if process is not None and not any(p.is_error for p in problems):
        try:
            _build_spiff_spec(root, process.get("id") or "")
        except DiagramRejectedError as exc:
            problems.extend(exc.problems)
    return DiagramCheck(problems=tuple(problems), form_files=dict(checker.form_files))


def load_process(data: bytes, *, known_forms: Collection[str] | None = None) -> LoadedProcess:
    """Validate and load a diagram, or raise DiagramRejectedError listing every error."""
    key = content_hash(data)
    return _cached_load(key, data, frozenset(known_forms) if known_forms is not None else None)


@lru_cache(maxsize=64)
def _cached_load(_key: str, data: bytes, known_forms: frozenset[str] | None) -> LoadedProcess:
    return _load(data, known_forms)


def _load(data: bytes, known_forms: Collection[str] | None) -> LoadedProcess:
    root = parse_xml_document(data)
    checker = _Checker(root, known_forms)
    process, tasks = checker.run()
    errors = [p for p in checker.problems if p.is_error]
    if errors or process is None:
        raise DiagramRejectedError(errors)
    spec = _build_spiff_spec(root, process.get("id") or "")
    model = ProcessModel(
        process_id=process.get("id") or "",
        name=clean_label(process.get("name") or "") or process.get("id") or "",
        content_hash=content_hash(data),
        tasks=tasks,
        gate_items=tuple(
            GateItemModel(
                key=t.gate_item,
                title=t.gate_item_title or t.gate_item.replace("_", " ").capitalize(),
                task_id=t.id,
                position=i,
                role=t.role,
            )
            for i, t in enumerate(_in_flow_order(process, tasks))
            if t.gate_item
        ),
        go_live_task=next((t.id for t in tasks.values() if t.go_live), None),
    )
    return LoadedProcess(model=model, xml=data.decode("utf-8-sig"), spiff_spec=spec)


def _in_flow_order(process: etree._Element, tasks: Mapping[str, UserTaskModel]) -> list[UserTaskModel]:
    """User tasks in breadth-first order from the start event (a stable, readable gate order)."""
    edges: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edges.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    start = next((el.get("id") or "" for el in process.iterfind("bpmn:startEvent", NS)), "")
    order: list[str] = []
    queue, seen = [start], {start}
    while queue:
        node = queue.pop(0)
        order.append(node)
        for nxt in edges.get(node, []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return [tasks[n] for n in order if n in tasks]


def _build_spiff_spec(root: etree._Element, process_id: str) -> Any:
    from engine.runtime import build_spec

    try:
        return build_spec(root, process_id)
    except DiagramRejectedError:
        raise
    except Exception as exc:  # SpiffWorkflow's own validation, worded for the user
        raise DiagramRejectedError(
            [DiagramProblem(getattr(exc, "id", None), f"invalid BPMN: {exc}")]
        ) from exc
