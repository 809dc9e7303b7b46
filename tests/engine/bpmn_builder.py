"""A small builder of BPMN documents for tests: readable diagrams of a few lines, no diagram interchange.

    d = Diagram("bypass")
    signoff, go_live = d.task("signoff", gate="signoff"), d.task("go_live", go_live=True)
    d.chain("start", d.task("prepare"), signoff, go_live, "end")
    data = d.xml()

Nodes are added to a body: the process (default) or a sub-process (`inside=`). User tasks sit in the lane of
their role (pm unless told). `start`/`end` in `chain` create a none start/end event of that id in the body of
the next/previous node when they do not exist yet."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_DEFINITION = {
    "timer": "<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">'PT1H'"
    "</bpmn:timeDuration></bpmn:timerEventDefinition>",
    "message": '<bpmn:messageEventDefinition messageRef="msg_{code}"/>',
    "signal": '<bpmn:signalEventDefinition signalRef="sig_{code}"/>',
    "error": '<bpmn:errorEventDefinition errorRef="err_{code}"/>',
    "escalation": '<bpmn:escalationEventDefinition escalationRef="esc_{code}"/>',
    "terminate": "<bpmn:terminateEventDefinition/>",
}


@dataclass
class _Node:
    id: str
    tag: str
    body: str  # the id of the process or sub-process it sits in
    attrs: dict[str, str] = field(default_factory=dict)
    inner: list[str] = field(default_factory=list)  # raw XML children
    role: str | None = None


class Diagram:
    def __init__(self, process_id: str = "bypass") -> None:
        self.process_id = process_id
        self.nodes: dict[str, _Node] = {}
        self.flows: list[tuple[str, str, str | None, str]] = []  # (source, target, condition, body)
        self.codes: dict[str, set[str]] = {}  # kind -> codes used (messages, signals, errors, escalations)
        self.others: list[Diagram] = []  # further processes of the same document (called ones)

    # ------------------------------------------------------------------ nodes

    def task(
        self,
        task_id: str,
        *,
        kind: str = "userTask",
        role: str = "pm",
        gate: str | None = None,
        go_live: bool = False,
        part_of: str | None = None,
        pass_when: str | None = None,
        multi: dict[str, str] | None = None,
        inside: str | None = None,
    ) -> str:
        props = {"gate_item": gate, "gate_part_of": part_of, "gate_pass_when": pass_when}
        if go_live:
            props["go_live"] = "true"
        node = self._add(
            task_id, kind, inside, role=role if kind in {"userTask", "manualTask", "task"} else None
        )
        shown = {k: v for k, v in props.items() if v is not None}
        if shown:
            node.inner.append(_properties(shown))
        if multi is not None:
            node.inner.append(_multi(multi))
        return task_id

    def gateway(self, gateway_id: str, kind: str = "exclusive", *, inside: str | None = None) -> str:
        self._add(gateway_id, f"{kind}Gateway", inside)
        return gateway_id

    def event(
        self,
        event_id: str,
        tag: str = "intermediateCatchEvent",
        trigger: str | None = "timer",
        *,
        code: str = "x",
        inside: str | None = None,
        interrupting: bool = True,
    ) -> str:
        node = self._add(event_id, tag, inside)
        if tag == "startEvent" and not interrupting:
            node.attrs["isInterrupting"] = "false"
        if trigger is not None:
            node.inner.append(_DEFINITION[trigger].format(code=code))
            self.codes.setdefault(trigger, set()).add(code)
        return event_id

    def end(
        self, event_id: str, trigger: str | None = None, *, code: str = "x", inside: str | None = None
    ) -> str:
        return self.event(event_id, "endEvent", trigger, code=code, inside=inside)

    def boundary(
        self, event_id: str, host: str, trigger: str = "timer", *, code: str = "x", interrupting: bool = True
    ) -> str:
        self.event(event_id, "boundaryEvent", trigger, code=code, inside=self.nodes[host].body)
        self.nodes[event_id].attrs["attachedToRef"] = host
        if not interrupting:
            self.nodes[event_id].attrs["cancelActivity"] = "false"
        return event_id

    def sub(
        self,
        sub_id: str,
        *,
        inside: str | None = None,
        event: bool = False,
        multi: dict[str, str] | None = None,
    ) -> str:
        node = self._add(sub_id, "subProcess", inside, role=None if event else "pm")
        if event:
            node.attrs["triggeredByEvent"] = "true"
        if multi is not None:
            node.inner.append(_multi(multi))
        return sub_id

    def call(self, call_id: str, called: Diagram | str, *, inside: str | None = None) -> str:
        node = self._add(call_id, "callActivity", inside, role="pm")
        if isinstance(called, Diagram):
            self.others.append(called)
            called = called.process_id
        node.attrs["calledElement"] = called
        return call_id

    # ------------------------------------------------------------------ flows

    def flow(self, source: str, target: str, condition: str | None = None) -> None:
        body = self.nodes[source].body if source in self.nodes else self.nodes[target].body
        for end, other in ((source, target), (target, source)):
            if end not in self.nodes:
                self._add(end, "startEvent" if end == source else "endEvent", self.nodes[other].body)
        self.flows.append((source, target, condition, body))

    def chain(self, *ids: str) -> None:
        for source, target in itertools.pairwise(ids):
            self.flow(source, target)

    def choice(self, gateway: str, *targets: str, on: str = "route") -> None:
        """Flows out of an exclusive gateway: the first target is the default, each other is taken when
        `<on>.comment` names it."""
        self.nodes[gateway].attrs["default"] = f"flow_{gateway}_{targets[0]}"
        self.flow(gateway, targets[0])
        for target in targets[1:]:
            self.flow(gateway, target, f"{on}.comment == '{target}'")

    # ------------------------------------------------------------------ XML

    def xml(self) -> bytes:
        every = [self, *self._called()]
        declared = _declarations(*every)
        processes = "\n".join(d._process_xml() for d in every)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN}" '
            f'xmlns:spiffworkflow="{SPIFF}" xmlns:xsi="{XSI}" id="defs_{self.process_id}" '
            f'targetNamespace="https://launchgate.example/test">\n{declared}{processes}\n</bpmn:definitions>\n'
        ).encode()

    def _called(self) -> list[Diagram]:
        return [c for d in self.others for c in (d, *d._called())]

    def _add(self, node_id: str, tag: str, inside: str | None, *, role: str | None = None) -> _Node:
        assert node_id not in self.nodes, f"{node_id} added twice"
        node = _Node(node_id, tag, inside or self.process_id, role=role)
        self.nodes[node_id] = node
        return node

    def _process_xml(self) -> str:
        roles: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.role:
                roles.setdefault(node.role, []).append(node.id)
        lanes = "".join(
            f'<bpmn:lane id="lane_{self.process_id}_{role}">{_properties({"role": role})}'
            + "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
            + "</bpmn:lane>"
            for role, ids in roles.items()
        )
        lane_set = f'<bpmn:laneSet id="lanes_{self.process_id}">{lanes}</bpmn:laneSet>' if lanes else ""
        body = self._body(self.process_id)
        return (
            f'<bpmn:process id="{self.process_id}" name="{self.process_id}" isExecutable="true">'
            f"{lane_set}{body}</bpmn:process>"
        )

    def _body(self, body_id: str) -> str:
        parts = []
        for node in self.nodes.values():
            if node.body != body_id:
                continue
            attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrs.items())
            inner = "".join(node.inner) + (self._body(node.id) if node.tag == "subProcess" else "")
            parts.append(f'<bpmn:{node.tag} id="{node.id}" name="{node.id}"{attrs}>{inner}</bpmn:{node.tag}>')
        for source, target, condition, body in self.flows:
            if body != body_id:
                continue
            expression = (
                f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{_escape(condition)}'
                "</bpmn:conditionExpression>"
                if condition
                else ""
            )
            parts.append(
                f'<bpmn:sequenceFlow id="flow_{source}_{target}" sourceRef="{source}" targetRef="{target}">'
                f"{expression}</bpmn:sequenceFlow>"
            )
        return "\n".join(parts)


def _properties(values: dict[str, str]) -> str:
    props = "".join(
        f"<spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in values.items()
    )
    properties = f"<spiffworkflow:properties>{props}</spiffworkflow:properties>"
    return f"<bpmn:extensionElements>{properties}</bpmn:extensionElements>"


def _multi(values: dict[str, str]) -> str:
    sequential = ' isSequential="true"' if values.get("sequential") == "true" else ""
    parts = "".join(
        f"<bpmn:{tag}>{_escape(values[key])}</bpmn:{tag}>"
        for key, tag in (
            ("cardinality", "loopCardinality"),
            ("collection", "loopDataInputRef"),
            ("completion", "completionCondition"),
        )
        if key in values
    )
    return (
        f"<bpmn:multiInstanceLoopCharacteristics{sequential}>{parts}</bpmn:multiInstanceLoopCharacteristics>"
    )


def _declarations(*diagrams: Diagram) -> str:
    tags = {"message": "message", "signal": "signal", "error": "error", "escalation": "escalation"}
    prefix = {"message": "msg", "signal": "sig", "error": "err", "escalation": "esc"}
    out = []
    for kind, tag in tags.items():
        codes = sorted({c for d in diagrams for c in d.codes.get(kind, set())})
        for code in codes:
            extra = (
                f' errorCode="{code}"'
                if kind == "error"
                else f' escalationCode="{code}"'
                if kind == "escalation"
                else ""
            )
            out.append(f'<bpmn:{tag} id="{prefix[kind]}_{code}" name="{code}"{extra}/>\n')
    return "".join(out)


def _escape(text: str | None) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
