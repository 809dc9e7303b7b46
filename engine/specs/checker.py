"""One pass over a parsed diagram that checks everything and finds the main process (engine.specs.processes).

The order of the checks is the order of the problems `bpmn check` lists: the markup (engine.xml_safety),
the top level, then for each process its elements, lanes, user tasks, flows, gate and interchange, and
last the ignored vendor extensions."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from lxml import etree

from engine import gate
from engine.model import UserTaskModel
from engine.specs.bpmn_xml import BPMN_NS, local_name, namespace
from engine.specs.connector_tasks import connector_tasks
from engine.specs.elements import check_interchange, check_process_elements, check_top_level, warn_ignored
from engine.specs.findings import Findings
from engine.specs.flows import check_flows
from engine.specs.graph import Resolver, flow_graph
from engine.specs.processes import list_processes
from engine.specs.tasks import lane_roles, user_tasks
from engine.xml_safety import check_markup


def check_definitions(
    root: etree._Element,
    known_forms: Collection[str] | None,
    found: Findings,
    *,
    resolve: Resolver | None = None,
) -> tuple[etree._Element | None, dict[str, UserTaskModel]]:
    """Check everything (every executable or called process, even when no main one is found) into
    `found` and return the main process (engine.specs.processes) with its user tasks, or None."""
    if local_name(root.tag) != "definitions" or namespace(root.tag) != BPMN_NS:
        found.problem(None, "the document is not a BPMN 2.0 <definitions> element")
        return None, {}
    found.problems.extend(check_markup(root))
    check_top_level(root, found)
    listing = list_processes(root)
    if listing.problem is not None:
        found.problem(None, listing.problem)
    checked = listing.checked or listing.entries
    results = {
        e.id: _check_process(
            root, e.element, known_forms, found, called=e.called and e != listing.main, resolve=resolve
        )
        for e in checked
    }
    warn_ignored(root, found)
    if listing.main is None:
        return None, {}
    return listing.main.element, results[listing.main.id]


def _check_process(
    root: etree._Element,
    process: etree._Element,
    known_forms: Collection[str] | None,
    found: Findings,
    *,
    called: bool = False,
    resolve: Resolver | None = None,
) -> dict[str, UserTaskModel]:
    check_process_elements(process, found)
    tasks = user_tasks(process, lane_roles(process, found), known_forms, found)
    connector_tasks(process, found)
    check_flows(process, found)
    if not called:  # a called process's gate markings are its caller's (its graph is inlined there)
        _check_gate(process, tasks, found, resolve)
    check_interchange(root, process, found)
    return tasks


def _check_gate(
    process: etree._Element, tasks: Mapping[str, UserTaskModel], found: Findings, resolve: Resolver | None
) -> None:
    """The gate must hold by construction (engine.gate owns the rule; this reads the flow graph).

    A process that marks nothing of the gate (no go-live task, gate item or step towards one) is a
    plain process: no gate rule applies, and it runs to its end. The processes it calls (of this file,
    or deployed ones `resolve` finds) count with it: their graphs are inlined."""
    graph = flow_graph(process, resolve)
    if not any(t.go_live or t.gate_item or t.gate_part_of for t in tasks.values()) and not graph.called_marks:
        return
    found.problems.extend(gate.check_gate_graph(graph, tasks, process_id=process.get("id")))
