"""Multi-instance tasks and sub-processes, run our way.

SpiffWorkflow parses `multiInstanceLoopCharacteristics` into a multi-instance task spec (named after the
element) whose instances run a child spec (`<id> [child]`, same BPMN id). When a spec is built, each such
spec gets our class (`LaunchMultiInstance`) and its `InstancePlan` (read from the diagram by
engine.specs.multi_instance), which decide:

- the instances: `cardinality` of them, or one per element of a list in the launch data (`collection`,
  a dotted name like `proposal.regions`), at most `engine.bounds.MAX_INSTANCES`;
- what each instance sees: its data holds `instance` = {label, index (from 1), total, item};
- what the multi-instance leaves behind: its `document` holds each instance's document by instance label,
  and `instances.<id>` its counts (completed, approved, rejected, total) and `passed`;
- when it is done: after each instance completes, the completion condition (our safe grammar) is
  evaluated with the counts `completed`, `approved` (instances whose pass rule — the task's
  `gate_pass_when` — holds; every completed instance without one), `rejected` and `total`. Default: all
  instances. When it holds, the instances still open are cancelled.

Instances run in parallel, or one after the other in list order (`sequential`).
"""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs.defaults import ParallelMultiInstanceTask
from SpiffWorkflow.util.task import TaskState

from engine.bounds import MAX_INSTANCES
from engine.errors import EngineError, ExpressionEvaluationError
from engine.expressions import Expression, evaluate, evaluate_condition

INSTANCE_KEY = "instance"
OUTCOME_KEY = "instances"  # the outcome of each finished multi-instance, by its id
COUNT_NAMES = frozenset({"completed", "approved", "rejected", "total"})
_STATE = "launchgate_mi"  # our bookkeeping in the multi-instance task's internal data


@dataclass(frozen=True)
class InstancePlan:
    """How one multi-instance element runs (checked at deploy)."""

    bpmn_id: str
    sequential: bool = False
    cardinality: int | None = None  # a fixed number of instances, or
    collection: Expression | None = None  # a list in the data: one instance per element
    condition: Expression | None = None  # None: every instance
    passes: Expression | None = None  # an instance's pass rule (None: completing it passes)
    document: str | None = None  # the document each instance writes

    def holds(self, *, completed: int, approved: int, total: int) -> bool:
        """The completion condition with these counts (default: every instance completed)."""
        if self.condition is None:
            return completed >= total
        counts = {
            "completed": completed,
            "approved": approved,
            "rejected": completed - approved,
            "total": total,
        }
        return evaluate_condition(self.condition, counts)

    def needed(self, total: int) -> int | None:
        """How many passing instances make the condition hold (None: no number does)."""
        return next((k for k in range(total + 1) if self.holds(completed=k, approved=k, total=total)), None)


@dataclass(frozen=True)
class InstanceProgress:
    """Where one instance stands in its multi-instance, and how far the multi-instance is."""

    bpmn_id: str  # the multi-instance element
    label: str
    index: int  # 1-based
    total: int
    done: int  # instances completed so far
    approved: int  # of which passed
    needed: int | None  # passing instances the completion condition needs
    finished: bool  # the multi-instance is done (its condition held, or every instance completed)
    passed: bool  # the condition holds counting passing instances only: what a gate item needs


def instance_label(item: Any, index: int) -> str:
    """How an instance is named: the element itself (a text or number), a mapping's name/label/id, or
    its position."""
    if isinstance(item, str | int | float) and not isinstance(item, bool):
        return str(item)[:100]
    if isinstance(item, Mapping):
        for key in ("name", "label", "id"):
            if isinstance(item.get(key), str | int):
                return str(item[key])[:100]
    return str(index)


class LaunchMultiInstance(ParallelMultiInstanceTask):  # type: ignore[misc]
    """A multi-instance element run by its `plan` (set when the spec is built)."""

    plan: InstancePlan

    def _update_hook(self, my_task: Any) -> bool | None:
        if _STATE in my_task.internal_data:  # already running its instances
            return None
        BpmnTaskSpec._update_hook(self, my_task)
        items = self._items(my_task)
        my_task.internal_data[_STATE] = {
            "labels": [instance_label(item, i + 1) for i, item in enumerate(items)],
            "items": items if self.plan.sequential else [],
            "merged": [],
            "approved": [],
        }
        if not items:
            return True
        my_task._set_state(TaskState.STARTED)
        if self.plan.sequential:
            self._add_instance(my_task, 0, items[0])
        else:
            for index, item in enumerate(items):
                self._add_instance(my_task, index, item)
        return None

    def _items(self, my_task: Any) -> list[Any]:
        plan = self.plan
        if plan.collection is None:
            return list(range(1, (plan.cardinality or 0) + 1))
        try:
            found = evaluate(plan.collection, my_task.data)
        except ExpressionEvaluationError as exc:
            raise EngineError(f"multi-instance {plan.bpmn_id}: {exc.message}") from exc
        if not isinstance(found, list):
            raise EngineError(
                f"multi-instance {plan.bpmn_id}: {plan.collection.source} is "
                f"{type(found).__name__}, not a list"
            )
        if not found or len(found) > MAX_INSTANCES:
            raise EngineError(
                f"multi-instance {plan.bpmn_id}: {plan.collection.source} has {len(found)} elements; "
                f"it needs 1 to {MAX_INSTANCES}"
            )
        return list(found)

    def _add_instance(self, my_task: Any, index: int, item: Any) -> None:
        child_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not child_spec.completed_event.is_connected(self.merge_child):
            child_spec.completed_event.connect(self.merge_child)
        labels = my_task.internal_data[_STATE]["labels"]
        child = my_task._add_child(child_spec, TaskState.WAITING)
        child.triggered = True
        child.internal_data["key_or_index"] = index
        child.data[INSTANCE_KEY] = {
            "label": labels[index],
            "index": index + 1,
            "total": len(labels),
            "item": deepcopy(item) if self.plan.collection is not None else index + 1,
        }
        child.task_spec._update(child)

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        state = my_task.internal_data[_STATE]
        state["merged"].append(str(child.id))
        if self._passes(child):
            state["approved"].append(str(child.id))
        document = self.plan.document
        if document is not None:
            label = state["labels"][child.internal_data["key_or_index"]]
            collected = my_task.data.get(document)
            collected = dict(collected) if isinstance(collected, dict) else {}
            collected[label] = deepcopy(child.data.get(document))
            my_task.data[document] = collected
        total = len(state["labels"])
        if self.plan.holds(completed=len(state["merged"]), approved=len(state["approved"]), total=total):
            for instance in self._instances(my_task):
                if not instance.has_state(TaskState.FINISHED_MASK):
                    instance.cancel()
            self._record_outcome(my_task)
            my_task._set_state(TaskState.READY)
        elif len(state["merged"]) >= total:
            self._record_outcome(my_task)
            my_task._set_state(TaskState.READY)
        elif self.plan.sequential:
            index = len(state["merged"])
            self._add_instance(my_task, index, state["items"][index])

    def _record_outcome(self, my_task: Any) -> None:
        """What the finished multi-instance leaves for the conditions after it: `instances.<id>` holds
        its counts and whether it passed (its completion condition counting passing instances only),
        e.g. a gateway's `instances.review_proposal.rejected > 0`."""
        state = my_task.internal_data[_STATE]
        total, completed, approved = len(state["labels"]), len(state["merged"]), len(state["approved"])
        outcomes = my_task.data.get(OUTCOME_KEY)
        outcomes = dict(outcomes) if isinstance(outcomes, dict) else {}
        outcomes[self.plan.bpmn_id] = {
            "completed": completed,
            "approved": approved,
            "rejected": completed - approved,
            "total": total,
            "passed": self.plan.holds(completed=approved, approved=approved, total=total),
        }
        my_task.data[OUTCOME_KEY] = outcomes

    def _passes(self, child: Any) -> bool:
        if self.plan.passes is None:
            return True
        try:
            return evaluate_condition(self.plan.passes, child.data)
        except ExpressionEvaluationError as exc:  # fail loudly: never count a broken rule as a "no"
            raise EngineError(
                f"the gate rule of {self.plan.bpmn_id} could not be evaluated: {exc.message}"
            ) from exc

    def children_complete(self, my_task: Any) -> bool:
        state = my_task.internal_data.get(_STATE, {})
        return len(state.get("merged", [])) >= len(state.get("labels", []))


def progress_of(task: Any) -> InstanceProgress | None:
    """The instance a task is, or is inside (a user task in an instance of a multi-instance
    sub-process): None when it is no instance."""
    node = task
    while node is not None:
        parent = node.parent
        if parent is not None and isinstance(parent.task_spec, LaunchMultiInstance):
            return _progress(parent, node)
        workflow = node.workflow
        node = (
            workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
            if workflow.parent_task_id
            else None
        )
    return None


def _progress(parent: Any, child: Any) -> InstanceProgress | None:
    state = parent.internal_data.get(_STATE)
    index = child.internal_data.get("key_or_index")
    if state is None or not isinstance(index, int):
        return None
    plan: InstancePlan = parent.task_spec.plan
    labels, done, approved = state["labels"], len(state["merged"]), len(state["approved"])
    total = len(labels)
    return InstanceProgress(
        bpmn_id=plan.bpmn_id,
        label=labels[index],
        index=index + 1,
        total=total,
        done=done,
        approved=approved,
        needed=plan.needed(total),
        finished=parent.has_state(TaskState.READY | TaskState.FINISHED_MASK),
        passed=plan.holds(completed=approved, approved=approved, total=total),
    )


def apply_plans(specs: Mapping[str, Any], plans: Mapping[str, InstancePlan]) -> None:
    """Give every multi-instance spec of these workflow specs our class and its plan, and let its
    instances report to it. That is wired here, when the spec is built, and not when the first instance
    starts: a workflow restored on a spec that never started one (another server process, a fresh
    cache) would otherwise never hear its instances complete."""
    for spec in specs.values():
        for task_spec in list(spec.task_specs.values()):
            plan = plans.get(getattr(task_spec, "bpmn_id", None) or "")
            if plan is not None and hasattr(task_spec, "cardinality") and hasattr(task_spec, "task_spec"):
                task_spec.__class__ = LaunchMultiInstance
                task_spec.plan = plan
                child_spec = spec.task_specs[task_spec.task_spec]
                if not child_spec.completed_event.is_connected(task_spec.merge_child):
                    child_spec.completed_event.connect(task_spec.merge_child)
