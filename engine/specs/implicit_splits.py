"""Implicit splits, as modelers often draw them: an activity or an intermediate event with several outgoing
sequence flows. BPMN reads it as a split: every flow without a condition is taken, and each flow with a
condition when it holds (the activity's `default` flow when none does). SpiffWorkflow runs neither form.

`explicit_splits` draws the gateway the modeler left out, in the document every later reader sees (the
checker, the gate's bypass check, SpiffWorkflow): after the node comes a gateway `<node id>__split` on a
new flow `<node id>__to_split`, and the node's outgoing flows leave from it. Without any condition it is a
parallel gateway; with one an inclusive gateway, whose unconditional flows get the condition `True` (taken
every time) and which takes over the node's default flow. The stored diagram stays as drawn: the launch
page shows what the modeler drew, and the added gateway runs no person's task.

A start event with several flows is left alone (SpiffWorkflow starts every one); a node with one flow that
carries a condition is too (the checker refuses a condition out of anything but a gateway).
"""

from __future__ import annotations

from lxml import etree

from engine.specs.bpmn_xml import BPMN_NS, NS, local_name
from engine.specs.elements import ACTIVITIES

_SPLITTING = ACTIVITIES | {"intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_CONTAINERS = frozenset({"process", "subProcess"})


def explicit_splits(root: etree._Element) -> dict[str, str]:
    """Draw a gateway after every implicit split of the document (in place); the gateways drawn, each
    with the id of the element it splits (a problem found on one is the element's)."""
    drawn: dict[str, str] = {}
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for container in [el for el in root.iter() if _is_bpmn(el) and local_name(el.tag) in _CONTAINERS]:
        nodes = {el.get("id"): el for el in container if _is_bpmn(el) and local_name(el.tag) in _SPLITTING}
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in container.iterfind("bpmn:sequenceFlow", NS):
            source = flow.get("sourceRef") or ""
            if source in nodes:
                outgoing.setdefault(source, []).append(flow)
        for node_id, flows in outgoing.items():
            if len(flows) > 1:
                drawn[_insert_gateway(container, nodes[node_id], flows, ids)] = node_id
    return drawn


def _insert_gateway(
    container: etree._Element, node: etree._Element, flows: list[etree._Element], ids: set[str | None]
) -> str:
    node_id = node.get("id") or ""
    conditional = any(f.find("bpmn:conditionExpression", NS) is not None for f in flows)
    gateway_id, link_id = _fresh(f"{node_id}__split", ids), _fresh(f"{node_id}__to_split", ids)
    kind = "inclusiveGateway" if conditional else "parallelGateway"
    gateway = etree.Element(f"{{{BPMN_NS}}}{kind}", id=gateway_id)
    label = node.get("name")
    if label:
        gateway.set("name", f"After {label}")
    default = node.attrib.pop("default", None)
    if conditional and default:
        gateway.set("default", default)
    link = etree.Element(f"{{{BPMN_NS}}}sequenceFlow", id=link_id, sourceRef=node_id, targetRef=gateway_id)
    _set_refs(gateway, "incoming", [link_id])
    _set_refs(gateway, "outgoing", [f.get("id") or "" for f in flows])
    _set_refs(node, "outgoing", [link_id])
    for flow in flows:
        flow.set("sourceRef", gateway_id)
        if conditional and flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
            always = etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression")
            always.text = "True"
    container.append(gateway)
    container.append(link)
    return gateway_id


def _set_refs(element: etree._Element, which: str, flow_ids: list[str]) -> None:
    """Replace the element's `<incoming>` or `<outgoing>` references (kept before its other children)."""
    for old in element.findall(f"bpmn:{which}", NS):
        element.remove(old)
    before = ("documentation", "extensionElements", *(("incoming",) if which == "outgoing" else ()))
    position = sum(len(element.findall(f"bpmn:{name}", NS)) for name in before)
    for offset, flow_id in enumerate(flow_ids):
        ref = etree.Element(f"{{{BPMN_NS}}}{which}")
        ref.text = flow_id
        element.insert(position + offset, ref)


def _fresh(wanted: str, ids: set[str | None]) -> str:
    found, n = wanted, 1
    while found in ids:
        n += 1
        found = f"{wanted}_{n}"
    ids.add(found)
    return found


def _is_bpmn(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN_NS}}}")
