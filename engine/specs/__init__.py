"""Diagram loading and validation.

A diagram is parsed with our hardened parser (engine.xml_safety), checked against an allow-list of BPMN
elements, every expression is parsed by the safe grammar (engine.expressions), exclusive gateways need a
default flow, and the gate must hold by construction: no path from the start reaches the go-live task without
passing every gate item. Only then is the SpiffWorkflow spec built. Loaded processes are cached by
content hash.

| module | what lives there |
|---|---|
| `loading.py` | `inspect_diagram` / `check_diagram` (every problem, never raises), `load_process` (cached) |
| `checker.py` | the one pass over a diagram, in the order its problems are listed |
| `elements.py` | the allow-list of elements, the refused constructs, ignored vendor extensions, interchange |
| `event_defs.py` | event definitions per kind of event, timers, boundary hosts, `event_name` |
| `processes.py` | the processes of a file, which are checked and which is the main one (`list_processes`) |
| `tasks.py` | lanes and user tasks read into `UserTaskModel`s |
| `flows.py` | sequence flows, gateways, loops without a wait state, the user tasks in flow order |
| `graph.py` | the flat graph the gate's bypass check reads (engine.gate_paths), the flow order |
| `findings.py` | `Findings`, what the checks add their problems to; names and conditions checked |
| `bpmn_xml.py` | the namespaces and small readers of the XML tree |
"""

from __future__ import annotations

from engine.specs.bpmn_xml import BPMN_NS, NS, SPIFF_NS
from engine.specs.elements import FORM_FILE_PROPERTIES
from engine.specs.event_defs import event_name
from engine.specs.loading import (
    DiagramCheck,
    LoadedProcess,
    check_diagram,
    content_hash,
    inspect_diagram,
    load_process,
)
from engine.specs.processes import FileProcesses, ProcessEntry, list_processes

__all__ = [
    "BPMN_NS",
    "FORM_FILE_PROPERTIES",
    "NS",
    "SPIFF_NS",
    "DiagramCheck",
    "FileProcesses",
    "LoadedProcess",
    "ProcessEntry",
    "check_diagram",
    "content_hash",
    "event_name",
    "inspect_diagram",
    "list_processes",
    "load_process",
]
