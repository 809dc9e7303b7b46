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

from SpiffWorkflow.bpmn.specs.control import BpmnStartTask


def has_triggers(specs: Iterable[Any]) -> bool:
    """True when some process spec starts an event sub-process on a message, signal, error or
    escalation (a timer or none start is wired at parse time and changes nothing at run time)."""
    return any(
        isinstance(task_spec, BpmnStartTask) and task_spec.trigger_specs
        for spec in specs
        for task_spec in spec.task_specs.values()
    )


def rewire(workflow: Any) -> None:
    """Wire the event sub-processes a restored workflow had started, as starting them did (idempotent)."""
    for task in workflow.get_tasks():
        parent = task.parent
        if not task.triggered or parent is None or not isinstance(parent.task_spec, BpmnStartTask):
            continue
        start, spec = parent.task_spec, task.task_spec
        if spec.name in start.trigger_specs and start not in spec.inputs:
            start.connect(spec)
            spec.connect(start._wf_spec.end)
