"""The call activities of a process read from its diagram: what each calls (`calledElement`: a process
of the same document, of the same package or an already deployed one), followed through the processes
they call, and its data mapping with the extension
properties `in` and `out` (comma-separated document names, e.g. `in` = "launch, proposal", `out` =
"support_readiness"): only those pass. Every name of `in` is `launch` or a document a user task of the
calling process writes; every name of `out` a document a user task of the called process writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from engine.model import UserTaskModel
from engine.runtime import START_DOCUMENT, CallMapping, InstancePlan
from engine.specs.bpmn_xml import BPMN_NS, NS, properties
from engine.specs.findings import Findings
from engine.specs.tasks import user_tasks

_SUB = f"{{{BPMN_NS}}}subProcess"
_CALL = f"{{{BPMN_NS}}}callActivity"


@dataclass(frozen=True)
class CallActivity:
    """One call activity: what it calls and its mapping."""

    bpmn_id: str
    called: str  # the called process's id
    mapping: CallMapping


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in (value or "").split(",") if p.strip()))


def call_activities(process: etree._Element, found: Findings) -> list[CallActivity]:
    """Every call activity of the process (inside sub-processes too), checked for a called process."""
    calls = []
    for element in process.iter(_CALL):
        call_id = element.get("id") or ""
        called = (element.get("calledElement") or "").strip()
        if not called:
            found.problem(call_id, "call activity names no process to call (calledElement)")
            continue
        props = properties(element)
        mapping = CallMapping(call_id, inputs=_names(props.get("in")), outputs=_names(props.get("out")))
        calls.append(CallActivity(call_id, called, mapping))
    return calls


def check_mappings(
    calls: list[CallActivity],
    caller_tasks: Mapping[str, UserTaskModel],
    called_tasks: Mapping[str, Mapping[str, UserTaskModel]],
    found: Findings,
) -> None:
    """Refuse mapping names nobody writes (`called_tasks`: the user tasks of each called process)."""
    written = {START_DOCUMENT} | {t.document for t in caller_tasks.values()}
    for call in calls:
        unknown_in = [n for n in call.mapping.inputs if n not in written]
        if unknown_in:
            found.problem(
                call.bpmn_id,
                f"call activity passes in {', '.join(unknown_in)}: not a document of this process "
                f"(known: {', '.join(sorted(written))})",
            )
        tasks = called_tasks.get(call.called)
        if tasks is None:
            continue
        back = {t.document for t in tasks.values()}
        unknown_out = [n for n in call.mapping.outputs if n not in back]
        if unknown_out:
            found.problem(
                call.bpmn_id,
                f"call activity takes back {', '.join(unknown_out)}: not a document of process "
                f"{call.called!r} (known: {', '.join(sorted(back)) or 'none'})",
            )


def document_processes(root: etree._Element) -> dict[str, etree._Element]:
    """The processes of a document by id."""
    return {p.get("id") or "": p for p in root.iterfind("bpmn:process", NS)}


def check_collisions(
    caller: Mapping[str, UserTaskModel], called: Mapping[str, Mapping[str, UserTaskModel]], found: Findings
) -> dict[str, UserTaskModel]:
    """The launch's user tasks: the caller's and every called process's, refusing an id used twice (a
    task of the launch is found by its BPMN id)."""
    every = dict(caller)
    for process_id, tasks in called.items():
        for task_id, task in tasks.items():
            if task_id in every and every[task_id] is not task:
                found.problem(
                    task_id,
                    f"user task id {task_id!r} of called process {process_id!r} is also used by the "
                    "calling process: task ids of a launch must differ",
                )
                continue
            every[task_id] = task
    return every


@dataclass
class Structure:
    """What a launch of the process runs besides its own top level: every user task (nested and called),
    the multi-instance plans and call mappings by element id, and the documents of called processes
    that are not in the diagram itself."""

    tasks: dict[str, UserTaskModel]
    calls: list[CallActivity]
    called_roots: list[etree._Element]
    called_ids: set[str]
    plans: dict[str, InstancePlan] = field(default_factory=dict)


def resolve_structure(
    root: etree._Element,
    process: etree._Element,
    tasks: Mapping[str, UserTaskModel],
    called_xml: Mapping[str, etree._Element],
    found: Findings,
) -> Structure:
    """Follow the call activities from `process` (through the processes they call, in this document or
    in `called_xml`: process id -> the document that defines it) and check each call."""
    from engine.specs.tasks import lane_roles

    here = document_processes(root)
    every_tasks: dict[str, Mapping[str, UserTaskModel]] = {}
    result = Structure(tasks=dict(tasks), calls=[], called_roots=[], called_ids=set())
    work: list[tuple[etree._Element, dict[str, UserTaskModel], tuple[str, ...]]] = [
        (process, dict(tasks), (process.get("id") or "",))
    ]
    while work:
        element, own_tasks, path = work.pop()
        calls = call_activities(element, found)
        result.calls.extend(calls)
        for call in calls:
            if call.called in path:
                found.problem(
                    call.bpmn_id, f"call activity calls process {call.called!r}, which is calling it"
                )
                continue
            target, document = _find_process(call.called, here, called_xml)
            if target is None or document is None:
                found.problem(
                    call.bpmn_id,
                    f"call activity calls process {call.called!r}, which is neither in this diagram "
                    "nor deployed",
                )
                continue
            if call.called not in every_tasks:
                quiet = found if document is root else Findings()  # a deployed one was checked then
                roles = lane_roles(target, quiet)
                called_tasks = user_tasks(target, roles, None, quiet)
                every_tasks[call.called] = called_tasks
                if document is not root and document not in result.called_roots:
                    result.called_roots.append(document)
                result.called_ids.add(call.called)
                work.append((target, called_tasks, (*path, call.called)))
        check_mappings(calls, own_tasks, every_tasks, found)
    result.tasks = check_collisions(tasks, every_tasks, found)
    return result


def _find_process(
    process_id: str, here: Mapping[str, etree._Element], called_xml: Mapping[str, etree._Element]
) -> tuple[etree._Element | None, etree._Element | None]:
    if process_id in here:
        found = here[process_id]
        return found, found.getroottree().getroot()
    other = called_xml.get(process_id)
    if other is None:
        return None, None
    return document_processes(other).get(process_id), other
