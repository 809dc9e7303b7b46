"""Event sub-processes started by a message, signal, error or escalation, without touching shared specs.

SpiffWorkflow starts such an event sub-process by wiring its task spec into the process spec for good
(`BpmnStartTask.trigger_wf` connects the start task to it and it to the end join). Specs are built once
per process version and shared by every launch of it, so after one launch caught the message every
later launch of that version would start the event sub-process at once and wait for it at the end.

So a bundle that has such triggers is copied for each workflow (`SpecBundle.for_one_workflow`), and a
restored workflow gets the wiring of the event sub-processes its state shows started (`rewire`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask, _EndJoin
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.util.task import TaskState


def has_triggers(specs: Iterable[Any]) -> bool:
    """True when some process spec starts an event sub-process on a message, signal, error or
    escalation (a timer or none start is wired at parse time and changes nothing at run time)."""
    return any(
        isinstance(task_spec, BpmnStartTask) and task_spec.trigger_specs
        for spec in specs
        for task_spec in spec.task_specs.values()
    )


def rewire(workflow: Any) -> None:
    """Wire the event sub-processes a restored workflow had started, as starting them did (idempotent):
    the one its event started (a triggered task), and one a sub-process entered again after that brought
    along with its start (engine.runtime.event_scopes)."""
    for task in workflow.get_tasks():
        parent = task.parent
        if parent is None or not isinstance(parent.task_spec, BpmnStartTask):
            continue
        start, spec = parent.task_spec, task.task_spec
        if spec.name in start.trigger_specs and start not in spec.inputs:
            start.connect(spec)
            spec.connect(start._wf_spec.end)


def close_idle_event_subprocesses(workflow: Any) -> bool:
    """Cancel the event sub-processes that only wait for their start while the rest of their process has
    ended; True when one was cancelled (the caller runs engine steps again).

    SpiffWorkflow starts a timer-start event sub-process with its process and its end join waits for
    everything, so a launch whose main flow ended before the timer would never finish. In BPMN an event
    sub-process that has not started ends with its process; one that started runs to its own end first."""
    closed = False
    for flow in (workflow, *workflow.subprocesses.values()):
        waiting_ends = [
            t
            for t in flow.get_tasks(state=TaskState.WAITING)
            if t.workflow is flow and isinstance(t.task_spec, _EndJoin)
        ]
        if not waiting_ends:
            continue
        others = [
            t
            for t in flow.get_tasks(
                state=TaskState.NOT_FINISHED_MASK, end_at_spec=waiting_ends[0].task_spec.name
            )
            if t.workflow is flow and t not in waiting_ends
        ]
        idle = [t for t in others if _is_idle_event_subprocess(workflow, t)]
        rest = [t for t in others if not any(t is i or t.is_descendant_of(i) for i in idle)]
        if idle and all(t.state == TaskState.FUTURE for t in rest):
            for task in idle:
                task.cancel()
            for end in waiting_ends:
                end.task_spec._update(end)  # the join looks again: nothing holds it any more
            closed = True
    return closed


def _is_idle_event_subprocess(workflow: Any, task: Any) -> bool:
    """A started sub-process task whose sub-workflow has nothing going on but a start event waiting for
    its trigger (an embedded sub-process starts with a none start event, which never waits)."""
    sub = workflow.subprocesses.get(task.id)
    if sub is None or task.state != TaskState.STARTED:
        return False
    active = list(sub.get_tasks(state=TaskState.READY | TaskState.STARTED | TaskState.WAITING))
    return bool(active) and all(
        t.state == TaskState.WAITING and isinstance(t.task_spec, StartEvent) for t in active
    )
