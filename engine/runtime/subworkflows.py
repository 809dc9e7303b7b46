"""Sub-workflows: embedded sub-processes and call activities, and the walk over every workflow of a
launch (SpiffWorkflow keeps each started sub-process as a workflow of its own in the top workflow's
`subprocesses`, keyed by the id of the task that started it).

An embedded sub-process sees all of its parent's data and hands all of its data back. A call activity
copies only what it names (`CallMapping`, from its `in` / `out` properties): the named documents of the
caller go to the called process's start, and the named documents of the called process's end come back
into the caller's data; nothing else passes either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import CallActivity


@dataclass(frozen=True)
class CallMapping:
    """What one call activity passes in and takes back (document names)."""

    bpmn_id: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


class MappedCallActivity(CallActivity):  # type: ignore[misc]
    """A call activity that copies only its mapping's documents (set when the spec is built)."""

    mapping: CallMapping

    def copy_data(self, my_task: Any, subworkflow: Any) -> None:
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        start.set_data(**{n: deepcopy(my_task.data[n]) for n in self.mapping.inputs if n in my_task.data})

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        last = subworkflow.last_task
        result = last.data if last is not None else {}
        back = {n: deepcopy(result[n]) for n in self.mapping.outputs if n in result}
        my_task.data = {**my_task.data, **back}


def apply_call_mappings(specs: Mapping[str, Any], calls: Mapping[str, CallMapping]) -> None:
    """Every call activity copies by its mapping (none given: nothing passes)."""
    for spec in specs.values():
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, CallActivity):
                bpmn_id = task_spec.bpmn_id or ""
                task_spec.__class__ = MappedCallActivity
                task_spec.mapping = calls.get(bpmn_id, CallMapping(bpmn_id))


def workflows(top: Any) -> Iterator[Any]:
    """The top workflow, then each sub-workflow it holds."""
    yield top
    yield from top.subprocesses.values()


def all_tasks(top: Any) -> Iterator[Any]:
    """Every task of every workflow of a launch."""
    for workflow in workflows(top):
        yield from workflow.tasks.values()


def drop_subprocess(top: Any, task_id: Any) -> None:
    """Forget a finished sub-workflow (and the ones it started) once the task that started it is gone."""
    sub = top.subprocesses.pop(task_id, None)
    if sub is None:
        return
    for inner in list(sub.tasks):
        drop_subprocess(top, inner)


def drop_orphans(top: Any) -> None:
    """Forget every sub-workflow whose starting task left the tree (cancelled with its branch by an
    interrupting event, a finished multi-instance, a terminate): nothing can reach it any more, and its
    tasks must not look open."""
    while True:
        present = {task_id for workflow in workflows(top) for task_id in workflow.tasks}
        orphans = [sub_id for sub_id in top.subprocesses if sub_id not in present]
        if not orphans:
            return
        for sub_id in orphans:
            drop_subprocess(top, sub_id)
