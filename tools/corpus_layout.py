"""Lay out a BPMN diagram described in Python and write it as BPMN 2.0 XML with diagram interchange.

The corpus diagrams (tests/fixtures/corpus/, described in tools/corpus_diagrams.py) are written by hand as
nodes on a grid (column, row), the flows between them, pools with lanes, and expanded sub-processes that
span a block of cells. This module turns that into the XML a modeler would export: the semantic part
(process, lanes, flow nodes with incoming/outgoing, sequence flows, artifacts) and the BPMNDiagram with one
shape per element (bounds from the grid) and one edge per flow (orthogonal waypoints), so bpmn-js draws it
without a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

COL = 150  # cell width
ROW = 130  # cell height
LEFT = 200  # x of column 0
TOP = 80  # y of row 0
POOL_HEADER = 30

SIZES = {
    "task": (100, 80),
    "event": (36, 36),
    "gateway": (50, 50),
    "dataObjectReference": (36, 50),
    "dataStoreReference": (50, 50),
    "textAnnotation": (120, 50),
}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
ARTIFACTS = {"dataObjectReference", "dataStoreReference", "textAnnotation", "group"}
NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


@dataclass
class Node:
    """A flow node or artifact at a grid cell (col, row); an expanded sub-process spans `span` cells
    (columns, rows) from there and holds `children` (at absolute cells inside its span) and `flows`."""

    id: str
    kind: str
    name: str
    col: float
    row: float
    props: dict[str, str] = field(default_factory=dict)
    body: str = ""  # inner XML after extension elements: event definitions, loop characteristics
    attrs: dict[str, str] = field(default_factory=dict)
    span: tuple[float, float] | None = None
    children: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    documentation: str = ""
    lane: str | None = None  # the lane id (top-level nodes: found from the lanes' rows when None)
    extensions: str = ""  # vendor extension XML inside extensionElements, as a modeler wrote it


@dataclass
class Flow:
    """A sequence flow (or `kind` association / dataOutputAssociation / messageFlow) between two ids."""

    source: str
    target: str
    name: str = ""
    condition: str = ""
    default: bool = False
    kind: str = "sequenceFlow"
    points: list[tuple[float, float]] | None = None  # waypoints, when the automatic route will not do
    id: str = ""

    def flow_id(self) -> str:
        return self.id or f"flow_{self.source}_to_{self.target}"


@dataclass
class Lane:
    id: str
    name: str
    role: str | None
    rows: tuple[float, float]  # first row, row after the last


@dataclass
class Pool:
    """A participant and its process. `rows` is used when there are no lanes."""

    process_id: str
    name: str
    nodes: list[Node]
    flows: list[Flow] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    rows: tuple[float, float] = (0, 1)
    executable: bool = True
    documentation: str = ""
    extra_xml: str = ""  # more process children as written (e.g. the dataObject a reference points to)
    drawn: bool = True  # False: the process has no pool (a diagram of one process without lanes)


@dataclass
class Diagram:
    name: str
    pools: list[Pool]
    globals: list[str] = field(default_factory=list)  # root elements: messages, signals, errors, ...
    message_flows: list[Flow] = field(default_factory=list)
    namespaces: dict[str, str] = field(default_factory=dict)  # more prefixes (vendor extensions)
    encoding: str = "UTF-8"  # the declared encoding the file is written in


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _size(node: Node) -> tuple[float, float]:
    if node.kind in EVENTS:
        return SIZES["event"]
    if node.kind in GATEWAYS:
        return SIZES["gateway"]
    return SIZES.get(node.kind, SIZES["task"])


def _box(node: Node, boxes: dict[str, Box]) -> Box:
    if node.span is not None:
        cols, rows = node.span
        return Box(LEFT + node.col * COL + 10, TOP + node.row * ROW + 10, cols * COL - 20, rows * ROW - 20)
    if node.kind == "boundaryEvent":
        host = boxes[node.attrs["attachedToRef"]]
        return Box(host.x + node.col, host.bottom - 18, 36, 36)
    w, h = _size(node)
    return Box(LEFT + node.col * COL + (COL - w) / 2, TOP + node.row * ROW + (ROW - h) / 2, w, h)


def _all_nodes(nodes: list[Node]) -> Iterator[Node]:
    for node in nodes:
        yield node
        yield from _all_nodes(node.children)


def _all_flows(nodes: list[Node], flows: list[Flow]) -> Iterator[Flow]:
    yield from flows
    for node in nodes:
        yield from _all_flows(node.children, node.flows)


def layout(diagram: Diagram) -> dict[str, Box]:
    """Bounds of every node, pool and lane (boundary events after their hosts)."""
    boxes: dict[str, Box] = {}
    nodes = [n for pool in diagram.pools for n in _all_nodes(pool.nodes)]
    for node in sorted(nodes, key=lambda n: n.kind == "boundaryEvent"):
        boxes[node.id] = _box(node, boxes)
    right = max(b.right for b in boxes.values()) + 60
    for pool in diagram.pools:
        first, last = (pool.lanes[0].rows[0], pool.lanes[-1].rows[1]) if pool.lanes else pool.rows
        y, h = TOP + first * ROW, (last - first) * ROW
        boxes[f"participant_{pool.process_id}"] = Box(LEFT - 80, y, right - LEFT + 80, h)
        for lane in pool.lanes:
            top, bottom = TOP + lane.rows[0] * ROW, TOP + lane.rows[1] * ROW
            boxes[lane.id] = Box(LEFT - 80 + POOL_HEADER, top, right - LEFT + 80 - POOL_HEADER, bottom - top)
    return boxes


Point = tuple[float, float]


def route(flow: Flow, source: Box, target: Box, source_kind: str, target_kind: str) -> list[Point]:
    """Orthogonal waypoints from `source` to `target`."""
    if flow.points is not None:
        return flow.points
    if flow.kind not in {"sequenceFlow", "messageFlow"}:
        return [(source.cx, source.bottom if target.cy > source.bottom else source.y), (target.cx, target.cy)]
    if source_kind == "boundaryEvent":
        return _from_boundary(source, target)
    if target.x >= source.right:
        return _forward(source, target, source_kind in GATEWAYS, target_kind in GATEWAYS)
    return _backward(source, target)


def _from_boundary(source: Box, target: Box) -> list[Point]:
    if target.x > source.cx:
        return [(source.cx, source.bottom), (source.cx, target.cy), (target.x, target.cy)]
    down = target.y - 20
    return [(source.cx, source.bottom), (source.cx, down), (target.cx, down), (target.cx, target.y)]


def _forward(source: Box, target: Box, from_gateway: bool, to_gateway: bool) -> list[Point]:
    """A flow to a target right of the source."""
    if abs(source.cy - target.cy) < 1:
        return [(source.right, source.cy), (target.x, target.cy)]
    if source.y < target.cy < source.bottom and not from_gateway:
        return [(source.right, target.cy), (target.x, target.cy)]
    if target.y < source.cy < target.bottom and not to_gateway:
        return [(source.right, source.cy), (target.x, source.cy)]
    if from_gateway:
        start = (source.cx, source.y if target.cy < source.cy else source.bottom)
        return [start, (source.cx, target.cy), (target.x, target.cy)]
    if to_gateway:
        end = (target.cx, target.y if source.cy < target.cy else target.bottom)
        return [(source.right, source.cy), (target.cx, source.cy), end]
    mid = (source.right + target.x) / 2
    return [(source.right, source.cy), (mid, source.cy), (mid, target.cy), (target.x, target.cy)]


def _backward(source: Box, target: Box) -> list[Point]:
    """A flow to a target above, below or left of the source."""
    if abs(source.cx - target.cx) < 1:
        if target.y > source.bottom:
            return [(source.cx, source.bottom), (target.cx, target.y)]
        return [(source.cx, source.y), (target.cx, target.bottom)]
    if abs(source.cy - target.cy) < 1:
        below = max(source.bottom, target.bottom) + 25
        return [
            (source.cx, source.bottom),
            (source.cx, below),
            (target.cx, below),
            (target.cx, target.bottom),
        ]
    end = (target.cx, target.y if target.cy > source.cy else target.bottom)
    return [(source.x, source.cy), (target.cx, source.cy), end]


# ------------------------------------------------------------------------------------------------ XML


def _attrs(values: dict[str, str]) -> str:
    return "".join(f" {k}={quoteattr(v)}" for k, v in values.items())


def _properties(props: dict[str, str], indent: str, extensions: str = "") -> str:
    """The extension elements: our properties, then other (vendor) extension XML as written."""
    if not props and not extensions:
        return ""
    inner = "".join(
        f"{indent}    <spiffworkflow:property name={quoteattr(k)} value={quoteattr(v)} />\n"
        for k, v in props.items()
    )
    ours = (
        f"{indent}  <spiffworkflow:properties>\n{inner}{indent}  </spiffworkflow:properties>\n"
        if props
        else ""
    )
    return (
        f"{indent}<bpmn:extensionElements>\n{ours}{_indent(extensions, indent + '  ')}"
        f"{indent}</bpmn:extensionElements>\n"
    )


def _indent(text: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" for line in text.strip("\n").splitlines() if line.strip())


def _artifact_xml(node: Node, indent: str) -> str:
    if node.kind == "textAnnotation":
        text = f"{indent}  <bpmn:text>{escape(node.name)}</bpmn:text>\n"
        return (
            f"{indent}<bpmn:textAnnotation{_attrs({'id': node.id})}>\n{text}{indent}</bpmn:textAnnotation>\n"
        )
    return f"{indent}<bpmn:group{_attrs({'id': node.id, **node.attrs})} />\n"


def _connections_xml(node: Node, flows: list[Flow], indent: str) -> str:
    """incoming, outgoing and data output associations of a node."""
    own = [f for f in flows if f.kind == "sequenceFlow"]
    parts = [f"{indent}<bpmn:incoming>{f.flow_id()}</bpmn:incoming>\n" for f in own if f.target == node.id]
    parts += [f"{indent}<bpmn:outgoing>{f.flow_id()}</bpmn:outgoing>\n" for f in own if f.source == node.id]
    parts += [
        f"{indent}<bpmn:dataOutputAssociation id={quoteattr(f.flow_id())}>\n"
        f"{indent}  <bpmn:targetRef>{f.target}</bpmn:targetRef>\n"
        f"{indent}</bpmn:dataOutputAssociation>\n"
        for f in flows
        if f.kind == "dataOutputAssociation" and f.source == node.id
    ]
    return "".join(parts)


def _node_xml(node: Node, flows: list[Flow], indent: str) -> str:
    if node.kind in {"textAnnotation", "group"}:
        return _artifact_xml(node, indent)
    attrs = {"id": node.id, **({"name": node.name} if node.name else {}), **node.attrs}
    defaults = [f.flow_id() for f in flows if f.default and f.source == node.id]
    if defaults:
        attrs["default"] = defaults[0]
    parts = []
    if node.documentation:
        parts.append(f"{indent}  <bpmn:documentation>{escape(node.documentation)}</bpmn:documentation>\n")
    parts.append(_properties(node.props, indent + "  ", node.extensions))
    parts.append(_connections_xml(node, flows, indent + "  "))
    if node.body:
        parts.append(_indent(node.body, indent + "  "))
    if node.span is not None:
        parts.append(_elements_xml(node.children, node.flows, indent + "  "))
    inner, tag = "".join(parts), node.kind
    if not inner:
        return f"{indent}<bpmn:{tag}{_attrs(attrs)} />\n"
    return f"{indent}<bpmn:{tag}{_attrs(attrs)}>\n{inner}{indent}</bpmn:{tag}>\n"


def _flow_xml(flow: Flow, indent: str) -> str:
    if flow.kind == "dataOutputAssociation":
        return ""
    attrs = {"id": flow.flow_id()}
    if flow.name:
        attrs["name"] = flow.name
    attrs.update({"sourceRef": flow.source, "targetRef": flow.target})
    tag = "association" if flow.kind == "association" else flow.kind
    if not flow.condition:
        return f"{indent}<bpmn:{tag}{_attrs(attrs)} />\n"
    return (
        f"{indent}<bpmn:{tag}{_attrs(attrs)}>\n"
        f'{indent}  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(flow.condition)}'
        f"</bpmn:conditionExpression>\n{indent}</bpmn:{tag}>\n"
    )


def _elements_xml(nodes: list[Node], flows: list[Flow], indent: str) -> str:
    return "".join(_node_xml(n, flows, indent) for n in nodes) + "".join(_flow_xml(f, indent) for f in flows)


def _lane_of(node: Node, lanes: list[Lane]) -> str | None:
    if node.lane is not None:
        return node.lane
    for lane in lanes:
        if lane.rows[0] <= node.row < lane.rows[1]:
            return lane.id
    return None


def _lanes_xml(pool: Pool) -> str:
    if not pool.lanes:
        return ""
    out = [f'    <bpmn:laneSet id="{pool.process_id}_lanes">\n']
    members: dict[str, list[str]] = {lane.id: [] for lane in pool.lanes}
    by_id = {n.id: n for n in pool.nodes}
    for top in pool.nodes:
        if top.kind in ARTIFACTS:
            continue
        host = by_id.get(top.attrs.get("attachedToRef", ""))
        lane_id = _lane_of(host or top, pool.lanes)
        for node in _all_nodes([top]):
            if lane_id is not None and node.kind not in ARTIFACTS:
                members[lane_id].append(node.id)
    for lane in pool.lanes:
        props = _properties({"role": lane.role} if lane.role else {}, "        ")
        refs = "".join(f"        <bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>\n" for ref in members[lane.id])
        out.append(
            f"      <bpmn:lane{_attrs({'id': lane.id, 'name': lane.name})}>\n"
            f"{props}{refs}      </bpmn:lane>\n"
        )
    out.append("    </bpmn:laneSet>\n")
    return "".join(out)


def _process_xml(pool: Pool) -> str:
    attrs = {"id": pool.process_id, "name": pool.name, "isExecutable": "true" if pool.executable else "false"}
    doc = (
        f"    <bpmn:documentation>{escape(pool.documentation)}</bpmn:documentation>\n"
        if pool.documentation
        else ""
    )
    return (
        f"  <bpmn:process{_attrs(attrs)}>\n{doc}{_lanes_xml(pool)}{_indent(pool.extra_xml, '    ')}"
        f"{_elements_xml(pool.nodes, pool.flows, '    ')}  </bpmn:process>\n"
    )


def _shape_xml(element: str, box: Box, extra: str = "") -> str:
    return (
        f'      <bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}"{extra}>\n'
        f'        <dc:Bounds x="{box.x:g}" y="{box.y:g}" width="{box.w:g}" height="{box.h:g}" />\n'
        f"      </bpmndi:BPMNShape>\n"
    )


def _edge_xml(element: str, points: list[tuple[float, float]]) -> str:
    waypoints = "".join(f'        <di:waypoint x="{x:g}" y="{y:g}" />\n' for x, y in points)
    head = f'      <bpmndi:BPMNEdge id="{element}_di" bpmnElement="{element}">\n'
    return f"{head}{waypoints}      </bpmndi:BPMNEdge>\n"


def _shape_extra(node: Node) -> str:
    if node.span is not None and node.kind != "group":
        return ' isExpanded="true"'
    if node.kind == "exclusiveGateway":
        return ' isMarkerVisible="true"'
    return ""


def _diagram_xml(diagram: Diagram, boxes: dict[str, Box]) -> str:
    collaboration = any(p.drawn for p in diagram.pools)
    plane = f"{diagram.name}_collaboration" if collaboration else diagram.pools[0].process_id
    out = [f'  <bpmndi:BPMNDiagram id="{diagram.name}_diagram">\n']
    out.append(f'    <bpmndi:BPMNPlane id="{diagram.name}_plane" bpmnElement="{plane}">\n')
    kinds: dict[str, str] = {}
    for pool in diagram.pools:
        if pool.drawn:
            out.append(
                _shape_xml(
                    f"participant_{pool.process_id}",
                    boxes[f"participant_{pool.process_id}"],
                    ' isHorizontal="true"',
                )
            )
        for lane in pool.lanes:
            out.append(_shape_xml(lane.id, boxes[lane.id], ' isHorizontal="true"'))
        for node in _all_nodes(pool.nodes):
            kinds[node.id] = node.kind
            out.append(_shape_xml(node.id, boxes[node.id], _shape_extra(node)))
    for pool in diagram.pools:
        for flow in _all_flows(pool.nodes, pool.flows):
            points = route(
                flow, boxes[flow.source], boxes[flow.target], kinds[flow.source], kinds[flow.target]
            )
            out.append(_edge_xml(flow.flow_id(), points))
    for flow in diagram.message_flows:
        source = boxes.get(flow.source) or boxes[f"participant_{flow.source}"]
        target = boxes.get(flow.target) or boxes[f"participant_{flow.target}"]
        out.append(_edge_xml(flow.flow_id(), route(flow, source, target, "", "")))
    out.append("    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n")
    return "".join(out)


def _collaboration_xml(diagram: Diagram) -> str:
    if not any(p.drawn for p in diagram.pools):
        return ""
    parts = "".join(
        f'    <bpmn:participant id="participant_{p.process_id}" name={quoteattr(p.name)} '
        f'processRef="{p.process_id}" />\n'
        for p in diagram.pools
    )
    flows = "".join(
        f'    <bpmn:messageFlow id="{f.flow_id()}"{_attrs({"name": f.name} if f.name else {})} '
        f'sourceRef="{_participant_or(f.source, diagram)}" '
        f'targetRef="{_participant_or(f.target, diagram)}" />\n'
        for f in diagram.message_flows
    )
    return (
        f'  <bpmn:collaboration id="{diagram.name}_collaboration">\n{parts}{flows}  </bpmn:collaboration>\n'
    )


def _participant_or(ref: str, diagram: Diagram) -> str:
    return f"participant_{ref}" if any(p.process_id == ref for p in diagram.pools) else ref


def _namespaces(diagram: Diagram) -> str:
    return "".join(f" xmlns:{prefix}={quoteattr(uri)}" for prefix, uri in diagram.namespaces.items())


def to_xml(diagram: Diagram) -> str:
    """The diagram as a .bpmn file's text."""
    boxes = layout(diagram)
    globals_xml = "".join(f"  {g}\n" for g in diagram.globals)
    return (
        f'<?xml version="1.0" encoding="{diagram.encoding}"?>\n'
        f'<bpmn:definitions {NS}{_namespaces(diagram)} id="{diagram.name}_definitions" '
        'targetNamespace="https://launchgate.example/bpmn/corpus" '
        'exporter="Launch Gate corpus" exporterVersion="1.0">\n'
        f"{_collaboration_xml(diagram)}{globals_xml}"
        + "".join(_process_xml(p) for p in diagram.pools)
        + _diagram_xml(diagram, boxes)
        + "</bpmn:definitions>\n"
    )
