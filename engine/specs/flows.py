"""The sequence flows of a process: every flow connects known elements, conditions sit only on flows out
of exclusive and inclusive gateways (an implicit split has its gateway drawn already:
engine.specs.implicit_splits) and parse, an exclusive gateway without a default is warned about,
every element but an end event leaves somewhere, no loop lacks a wait state, one start event. Also the
user tasks in flow order (the gate items' order); the graph the gate's bypass check reads is
engine.specs.graph."""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from engine.bounds import WAIT_STATES, cycles_without_wait_state
from engine.model import UserTaskModel
from engine.specs.bpmn_xml import NS, local_name, sequence_edges
from engine.specs.elements import FLOW_NODES
from engine.specs.event_defs import is_event_subprocess
from engine.specs.findings import Findings, checked_expression
from engine.specs.graph import flow_order

_SHOWN_CYCLE_NODES = 6
_CONDITIONAL_SOURCES = frozenset({"exclusiveGateway", "inclusiveGateway"})


def check_flows(scope: etree._Element, found: Findings) -> None:
    """The flows of a process or sub-process, then those of each sub-process inside it."""
    nodes = {el.get("id"): el for el in scope if isinstance(el.tag, str) and local_name(el.tag) in FLOW_NODES}
    outgoing = _outgoing_flows(scope, nodes, found)
    for node_id, node in nodes.items():
        kind = local_name(node.tag)
        flows = outgoing.get(node_id or "", [])
        if kind in _CONDITIONAL_SOURCES and len(flows) > 1:
            _check_gateway_flows(node_id, node, flows, found)
        if not flows and node_id not in outgoing and _needs_outgoing(node):
            found.problem(node_id, "element has no outgoing flow")
    _check_cycles(scope, nodes, found)
    starts = [n for n in nodes.values() if local_name(n.tag) == "startEvent"]
    if len(starts) != 1:
        found.problem(scope.get("id"), f"expected exactly one start event, found {len(starts)}")
    for node in nodes.values():
        if local_name(node.tag) == "subProcess":
            check_flows(node, found)


def _needs_outgoing(node: etree._Element) -> bool:
    """Every element but an end event leaves somewhere; an event sub-process starts on its own event."""
    return local_name(node.tag) != "endEvent" and not is_event_subprocess(node)


def _outgoing_flows(
    process: etree._Element, nodes: Mapping[str | None, etree._Element], found: Findings
) -> dict[str, list[etree._Element]]:
    """Source id -> its checked flows. A source or target refused by the allow-list was reported
    already: its flows are not news (the source is noted with no flows, so it is not "without one")."""
    rejected = {
        el.get("id")
        for el in process
        if isinstance(el.tag, str) and el.get("id") not in nodes and local_name(el.tag) != "sequenceFlow"
    }
    outgoing: dict[str, list[etree._Element]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in rejected or target in rejected:
            outgoing.setdefault(source or "", [])
            continue
        if source not in nodes or target not in nodes:
            found.problem(flow.get("id"), f"sequence flow connects unknown elements {source!r} → {target!r}")
            continue
        outgoing.setdefault(source or "", []).append(flow)
        _check_condition(flow, local_name(nodes[source].tag), found)
    return outgoing


def _check_condition(flow: etree._Element, source_kind: str, found: Findings) -> None:
    condition = flow.find("bpmn:conditionExpression", NS)
    if condition is None:
        return
    flow_id = flow.get("id")
    if source_kind not in _CONDITIONAL_SOURCES:
        found.problem(
            flow_id,
            "conditions are only read on flows out of exclusive and inclusive gateways, and out of an "
            "activity or intermediate event with several flows out (an implicit split)",
        )
    checked_expression(found, flow_id or "", (condition.text or "").strip(), "condition")


def _check_gateway_flows(
    node_id: str | None, node: etree._Element, flows: list[etree._Element], found: Findings
) -> None:
    """An exclusive or inclusive gateway with several ways out: one is the default, each other has a
    condition. An inclusive gateway takes every flow whose condition holds and the default only when
    none does, so a flow it takes every time carries the condition `True`; such a gateway needs no
    default (some condition always holds). Otherwise a gateway without a default is a warning: when no
    condition holds at run time the launch stops with an incident."""
    kind = local_name(node.tag).removesuffix("Gateway")  # exclusive / inclusive
    default = node.get("default")
    always = kind == "inclusive" and any(
        (c.text or "").strip() == "True"
        for c in (f.find("bpmn:conditionExpression", NS) for f in flows)
        if c is not None
    )
    if not default and not always:
        found.warning(
            node_id,
            f"{kind} gateway has no default flow: when none of its conditions holds, the launch fails "
            "there with an incident (add a default flow to avoid it)",
        )
    elif default and default not in {f.get("id") for f in flows}:
        found.problem(node_id, f"default flow {default!r} does not leave this gateway")
    for flow in flows:
        if flow.get("id") != default and flow.find("bpmn:conditionExpression", NS) is None:
            found.problem(
                flow.get("id"), f"flow out of an {kind} gateway needs a condition or to be the default"
            )


def _check_cycles(scope: etree._Element, nodes: Mapping[str | None, etree._Element], found: Findings) -> None:
    """Refuse a cycle without a wait state: one command would spin in it until the step budget. A
    sub-process that holds a wait state waits; a call activity is taken to wait (its process is checked
    on its own)."""
    kinds = {node_id: local_name(node.tag) for node_id, node in nodes.items() if node_id}
    waiting = {
        node_id
        for node_id, node in nodes.items()
        if node_id
        and (
            local_name(node.tag) == "callActivity"
            or (local_name(node.tag) == "subProcess" and _holds_wait(node))
        )
    }
    for cycle in cycles_without_wait_state(kinds, sequence_edges(scope), waiting=waiting):
        shown = " → ".join(cycle[:_SHOWN_CYCLE_NODES]) + (" → …" if len(cycle) > _SHOWN_CYCLE_NODES else "")
        found.problem(
            cycle[0],
            f"the loop {shown} has no wait state (a user task or a catch event): "
            "a launch would run round it without end",
        )


def _holds_wait(scope: etree._Element) -> bool:
    return any(isinstance(el.tag, str) and local_name(el.tag) in WAIT_STATES for el in scope.iter())


def in_flow_order(process: etree._Element, tasks: Mapping[str, UserTaskModel]) -> list[UserTaskModel]:
    """User tasks in breadth-first order from the start event (a stable, readable gate order), into
    sub-processes and called processes of the same document where they stand (engine.specs.graph
    .flow_order); any other (a deployed process's) last, in the order given."""
    order = [n for n in flow_order(process) if n in tasks]
    return [tasks[n] for n in order] + [t for n, t in tasks.items() if n not in set(order)]
