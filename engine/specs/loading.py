"""Checking and loading a diagram: what `bpmn check` and deploy report (`inspect_diagram`), and the
validated process with its SpiffWorkflow spec (`load_process`), cached by content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree

from engine.errors import DiagramProblem, DiagramRejectedError
from engine.forms import FormSet
from engine.model import GateItemModel, ProcessModel, UserTaskModel
from engine.specs.bpmn_xml import NS
from engine.specs.checker import check_definitions
from engine.specs.connector_tasks import connector_tasks
from engine.specs.event_defs import inline_event_definitions
from engine.specs.findings import Findings
from engine.specs.flows import in_flow_order
from engine.specs.implicit_splits import explicit_splits
from engine.specs.multi_instance import multi_instance_plans
from engine.specs.structure import Structure, document_processes, resolve_structure
from engine.xml_safety import clean_label, document_text, parse_xml_document

# Called processes from outside the diagram: process id -> the diagram (bytes) that defines it.
Called = Mapping[str, bytes]


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
    """A validated diagram: our model plus the SpiffWorkflow specs (engine.runtime.SpecBundle: the
    process, its sub-processes and the processes it calls; opaque outside the engine), the forms of the
    stored version (engine.forms; a diagram loaded on its own has none: all plain forms) and the ids of
    the processes it calls from outside the diagram (pinned at deploy)."""

    model: ProcessModel
    xml: str
    spiff_spec: Any
    forms: FormSet = field(default_factory=FormSet)
    calls_outside: tuple[str, ...] = ()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_diagram(
    data: bytes, *, known_forms: Collection[str] | None = None, called: Called | None = None
) -> list[DiagramProblem]:
    """Every error in a diagram (empty when it can be deployed). Never raises for a bad diagram."""
    return inspect_diagram(data, known_forms=known_forms, called=called).errors


def inspect_diagram(
    data: bytes, *, known_forms: Collection[str] | None = None, called: Called | None = None
) -> DiagramCheck:
    """Every problem in a diagram, errors and warnings, and the files it references. Never raises for a
    bad diagram: what `launchgate bpmn check` and deploy report. `called`: the diagrams of processes it
    may call from outside itself (a package's other diagrams, deployed versions)."""
    found = Findings()
    try:
        root = normalized_document(data, found.drawn_for)
        called_roots = _called_roots(called)
    except DiagramRejectedError as exc:
        return DiagramCheck(problems=exc.problems, form_files={})
    process, tasks = check_definitions(root, known_forms, found, resolve=_resolver(called_roots))
    if process is not None:
        structure = _structure(root, process, tasks, called_roots, found)
    problems = list(found.problems)
    if process is not None and not found.errors:
        try:
            _build_spiff_spec(root, process.get("id") or "", structure)
        except DiagramRejectedError as exc:
            problems.extend(exc.problems)
    return DiagramCheck(problems=tuple(problems), form_files=dict(found.form_files))


def load_process(
    data: bytes, *, known_forms: Collection[str] | None = None, called: Called | None = None
) -> LoadedProcess:
    """Validate and load a diagram, or raise DiagramRejectedError listing every error. `called`: the
    diagrams of the processes it calls from outside itself, by process id."""
    pinned = tuple(sorted((called or {}).items()))
    key = content_hash(data + b"".join(content_hash(x).encode() for _, x in pinned))
    return _cached_load(key, data, frozenset(known_forms) if known_forms is not None else None, pinned)


@lru_cache(maxsize=64)
def _cached_load(
    _key: str, data: bytes, known_forms: frozenset[str] | None, called: tuple[tuple[str, bytes], ...]
) -> LoadedProcess:
    return _load(data, known_forms, dict(called))


def _load(data: bytes, known_forms: Collection[str] | None, called: Called) -> LoadedProcess:
    found = Findings()
    root = normalized_document(data, found.drawn_for)
    called_roots = _called_roots(called)
    process, own_tasks = check_definitions(root, known_forms, found, resolve=_resolver(called_roots))
    if found.errors or process is None:
        raise DiagramRejectedError(found.errors)
    structure = _structure(root, process, own_tasks, called_roots, found)
    if found.errors:
        raise DiagramRejectedError(found.errors)
    spec = _build_spiff_spec(root, process.get("id") or "", structure)
    tasks = structure.tasks
    model = ProcessModel(
        process_id=process.get("id") or "",
        name=clean_label(process.get("name") or "") or process.get("id") or "",
        content_hash=content_hash(data),
        tasks=tasks,
        gate_items=_gate_items(process, tasks),
        go_live_task=next((t.id for t in tasks.values() if t.go_live), None),
        documentation=_documentation(process),
        connectors=connector_tasks(process, Findings()),  # checked above: no problems left
    )
    outside = tuple(sorted(i for i in structure.called_ids if i in called))
    return LoadedProcess(model=model, xml=document_text(data), spiff_spec=spec, calls_outside=outside)


def _resolver(called_roots: Mapping[str, etree._Element]) -> Callable[[str], etree._Element | None]:
    """The gate check's view of deployed processes: a called process id -> its element."""
    return lambda process_id: (
        document_processes(called_roots[process_id]).get(process_id) if process_id in called_roots else None
    )


def _called_roots(called: Called | None) -> dict[str, etree._Element]:
    return {process_id: normalized_document(xml) for process_id, xml in (called or {}).items()}


def normalized_document(data: bytes, drawn: dict[str, str] | None = None) -> etree._Element:
    """The parsed, hardened document as every reader after it sees it: global event definitions read in
    place (engine.specs.event_defs) and a gateway drawn after every implicit split
    (engine.specs.implicit_splits; noted in `drawn`: gateway id -> the element it splits)."""
    root = inline_event_definitions(parse_xml_document(data))
    (drawn if drawn is not None else {}).update(explicit_splits(root))
    return root


def _structure(
    root: etree._Element,
    process: etree._Element,
    tasks: Mapping[str, UserTaskModel],
    called: Mapping[str, etree._Element],
    found: Findings,
) -> Structure:
    """Sub-processes, call activities and multi-instance elements, checked into `found`."""
    structure = resolve_structure(root, process, tasks, called, found)
    structure.plans = multi_instance_plans(root, found)
    for other in structure.called_roots:
        structure.plans.update(multi_instance_plans(other, Findings()))
    return structure


def _documentation(process: etree._Element) -> str:
    """The process's own documentation (its direct <bpmn:documentation> children), whitespace tidied."""
    texts = (" ".join((doc.text or "").split()) for doc in process.iterfind("bpmn:documentation", NS))
    return "\n".join(t for t in texts if t)


def _gate_items(process: etree._Element, tasks: Mapping[str, UserTaskModel]) -> tuple[GateItemModel, ...]:
    """The gate items in flow order, titled by the diagram or after their key."""
    ordered = in_flow_order(process, tasks)
    ordered += [t for t in tasks.values() if t not in ordered]  # inside sub-processes, called processes
    return tuple(
        GateItemModel(
            key=t.gate_item,
            title=t.gate_item_title or t.gate_item.replace("_", " ").capitalize(),
            task_id=t.id,
            position=i,
            role=t.role,
        )
        for i, t in enumerate(ordered)
        if t.gate_item
    )


def _build_spiff_spec(root: etree._Element, process_id: str, structure: Structure) -> Any:
    from engine.runtime import build_spec

    try:
        return build_spec(
            root,
            process_id,
            plans=structure.plans,
            calls={c.bpmn_id: c.mapping for c in structure.calls},
            called=structure.called_roots,
        )
    except DiagramRejectedError:
        raise
    except Exception as exc:  # SpiffWorkflow's own validation, worded for the user
        raise DiagramRejectedError(
            [DiagramProblem(getattr(exc, "id", None), f"invalid BPMN: {exc}")]
        ) from exc
