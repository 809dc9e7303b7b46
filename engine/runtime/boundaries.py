"""Boundary events: the paths a non-interrupting boundary event opened outlive the task it sits on.

SpiffWorkflow joins a task with boundary events behind a `BoundaryEventJoin`: when the task finishes (or
an interrupting boundary event fires) the join cancels every boundary event still waiting, with all it
holds. A non-interrupting timer *cycle* keeps waiting after each round and hangs the path each round
opened below itself, so finishing the host task cancelled the weekly report the cycle had opened
(tests/fixtures/corpus/real_launch_beta_cycle.bpmn); a duration timer completes when it fires, so its path
survived. In BPMN a path a non-interrupting event started is a token of its own: it runs to its end.

`keep_side_paths` swaps in a join that first moves those paths beside the host task (under the split the
host and its boundary events hang from), then cancels the waiting events as before.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState


class KeepingBoundaryEventJoin(BoundaryEventJoin):  # type: ignore[misc]
    """A boundary event join that leaves the paths of non-interrupting events running."""

    def _check_threshold_structured(self, my_task: Any) -> tuple[bool, list[Any]]:
        split = my_task.find_ancestor(self.split_task)
        if split is None:
            raise WorkflowException(f"Split at {self.split_task} was not reached", task_spec=self)
        events = [t for t in split.children if isinstance(t.task_spec, BoundaryEvent)]
        # The host task is the split's first other child: moved side paths are appended after it.
        host = next((t for t in split.children if not isinstance(t.task_spec, BoundaryEvent)), None)
        if host is None:
            raise WorkflowException("No main task found", task_spec=self)
        interrupted = any(
            t.task_spec.cancel_activity and t.has_state(TaskState.READY | TaskState.COMPLETED) for t in events
        )
        if not (interrupted or host.has_state(TaskState.FINISHED_MASK)):
            return False, []
        waiting = [t for t in events if t.state == TaskState.WAITING]
        for event in waiting:
            if not event.task_spec.cancel_activity:
                _move_side_paths(event, split)
        return True, ([*waiting, host] if interrupted else waiting)


def _move_side_paths(event: Any, split: Any) -> None:
    """Hang the paths a waiting non-interrupting event opened (its children other than the join's
    instances and mere predictions) from the split, so cancelling the event leaves them be."""
    for child in list(event.children):
        if isinstance(child.task_spec, BoundaryEventJoin) or not child.has_state(
            TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK
        ):
            continue
        event._children.remove(child.id)
        child.parent = split
        split._children.append(child.id)


def keep_side_paths(spec: Any) -> None:
    """Swap every boundary event join of a process spec for the keeping one (same state, same name)."""
    for task_spec in spec.task_specs.values():
        if type(task_spec) is BoundaryEventJoin:
            task_spec.__class__ = KeepingBoundaryEventJoin
