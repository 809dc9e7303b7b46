"""Small BPMN diagrams for tests, written from a list of nodes and flows, with a drawable interchange."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr


@dataclass(frozen=True)
class Node:
    tag: str  # userTask, manualTask, task, sendTask, serviceTask, exclusiveGateway, startEvent, ...
    id: str
    role: str | None = "pm"  # the lane; None: in no lane
    props: Mapping[str, str] = field(default_factory=dict)
    name: str = ""
    attrs: Mapping[str, str] = field(default_factory=dict)  # e.g. default="flow_id"
    inner: str = ""  # raw XML after the flows, e.g. a timerEventDefinition


@dataclass(frozen=True)
class Flow:
    source: str
    target: str
    condition: str | None = None
    id: str = ""

    @property
    def flow_id(self) -> str:
        return self.id or f"flow_{self.source}_to_{self.target}"


_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="{pid}_definitions" '
    'targetNamespace="https://launchgate.example/bpmn">\n'
)


def diagram(pid: str, nodes: Sequence[Node], flows: Sequence[Flow]) -> bytes:
    """A process `pid` with one lane per role named by the nodes (role property set) and a DI plane."""
    out = [_HEAD.format(pid=pid), f'  <bpmn:process id="{pid}" name="{pid}" isExecutable="true">\n']
    roles = list(dict.fromkeys(n.role for n in nodes if n.role))
    if roles:
        out.append(f'    <bpmn:laneSet id="{pid}_lanes">\n')
        for role in roles:
            out.append(f'      <bpmn:lane id="lane_{role}" name="{role}">\n')
            out.append(_props({"role": role}, indent="        "))
            out += [f"        <bpmn:flowNodeRef>{n.id}</bpmn:flowNodeRef>\n" for n in nodes if n.role == role]
            out.append("      </bpmn:lane>\n")
        out.append("    </bpmn:laneSet>\n")
    for node in nodes:
        attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrs.items())
        name = f" name={quoteattr(node.name)}" if node.name else ""
        out.append(f'    <bpmn:{node.tag} id="{node.id}"{name}{attrs}>\n')
        if node.props:
            out.append(_props(node.props, indent="      "))
        out += [f"      <bpmn:incoming>{f.flow_id}</bpmn:incoming>\n" for f in flows if f.target == node.id]
        out += [f"      <bpmn:outgoing>{f.flow_id}</bpmn:outgoing>\n" for f in flows if f.source == node.id]
        if node.inner:
            out.append(f"      {node.inner}\n")
        out.append(f"    </bpmn:{node.tag}>\n")
    for flow in flows:
        ref = f'id="{flow.flow_id}" sourceRef="{flow.source}" targetRef="{flow.target}"'
        if flow.condition is None:
            out.append(f"    <bpmn:sequenceFlow {ref} />\n")
        else:
            out.append(
                f'    <bpmn:sequenceFlow {ref}><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
                f"{_text(flow.condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
            )
    out.append("  </bpmn:process>\n")
    out.append(_interchange(pid, nodes, flows))
    out.append("</bpmn:definitions>\n")
    return "".join(out).encode()


def _props(props: Mapping[str, str], *, indent: str) -> str:
    lines = [f"{indent}<bpmn:extensionElements>\n", f"{indent}  <spiffworkflow:properties>\n"]
    lines += [
        f"{indent}    <spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)} />\n"
        for k, v in props.items()
    ]
    lines += [f"{indent}  </spiffworkflow:properties>\n", f"{indent}</bpmn:extensionElements>\n"]
    return "".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _interchange(pid: str, nodes: Sequence[Node], flows: Sequence[Flow]) -> str:
    place = {n.id: (100 + 150 * i, 100 + 120 * (i % 2)) for i, n in enumerate(nodes)}
    out = [
        f'  <bpmndi:BPMNDiagram id="{pid}_diagram">\n',
        f'    <bpmndi:BPMNPlane id="{pid}_plane" bpmnElement="{pid}">\n',
    ]
    for node in nodes:
        x, y = place[node.id]
        w, h = (100, 80) if node.tag.endswith("Task") or node.tag == "task" else (36, 36)
        if node.tag.endswith("Gateway"):
            w = h = 50
        out.append(
            f'      <bpmndi:BPMNShape id="{node.id}_di" bpmnElement="{node.id}">'
            f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNShape>\n'
        )
    for flow in flows:
        (x1, y1), (x2, y2) = place[flow.source], place[flow.target]
        out.append(
            f'      <bpmndi:BPMNEdge id="{flow.flow_id}_di" bpmnElement="{flow.flow_id}">'
            f'<di:waypoint x="{x1 + 18}" y="{y1 + 18}" /><di:waypoint x="{x2}" y="{y2 + 18}" />'
            "</bpmndi:BPMNEdge>\n"
        )
    out += ["    </bpmndi:BPMNPlane>\n", "  </bpmndi:BPMNDiagram>\n"]
    return "".join(out)


def chain(*ids: str) -> list[Flow]:
    """Flows from each id to the next."""
    return [Flow(a, b) for a, b in itertools.pairwise(ids)]
