"""THE SpiffWorkflow adapter: build specs, start, complete user tasks, run engine steps, report status.

No I/O here. SpiffWorkflow objects never leave this module (and engine.serialization): callers get plain
ids, names and dicts.

Two things SpiffWorkflow does by default that we change:
- conditions go through `SafeScriptEngine`, which evaluates our small grammar and refuses to run scripts;
- the task tree is compacted after every step (completed single-child links are spliced out), so a rework
  loop costs the same at round 1000 as at round 10 and never reaches the iterator's depth limit of 1000.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import EngineError, ExpressionEvaluationError, WorkflowStuckError
from engine.expressions import evaluate_condition, parse_expression

logger = logging.getLogger(__name__)

START_DOCUMENT = "launch"
# Compaction keeps the tree shallow; this is a tripwire far below SpiffWorkflow's iterator limit (1000).
MAX_TREE_DEPTH = 400


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluates conditions with engine.expressions; never evaluates or executes Python."""

    def __init__(self) -> None:
        super().__init__(environment=None)

    def validate(self, expression: str) -> None:
        parse_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        return evaluate_condition(parse_expression(expression), task.data)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: scripts are not allowed")

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: service calls are not allowed")


_SCRIPT_ENGINE = SafeScriptEngine()


def build_spec(root: etree._Element, process_id: str) -> Any:
    """Build the SpiffWorkflow spec from an already hardened and validated document."""
    parser = BpmnParser()
    parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
    return parser.get_spec(process_id)


@dataclass(frozen=True)
class ReadyTask:
    id: str
    bpmn_id: str


class RunningWorkflow:
    """One launch's workflow, in memory. Mutated only through these methods."""

    def __init__(self, workflow: Any, *, launch_id: str | None = None) -> None:
        self._wf = workflow
        self._wf.script_engine = _SCRIPT_ENGINE
        self.launch_id = launch_id

    @property
    def raw(self) -> Any:
        """The SpiffWorkflow object, for engine.serialization only."""
        return self._wf

    @classmethod
    def start(cls, spec: Any, *, start_data: Mapping[str, Any], launch_id: str) -> RunningWorkflow:
        workflow = BpmnWorkflow(spec, script_engine=_SCRIPT_ENGINE)
        running = cls(workflow, launch_id=launch_id)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data[START_DOCUMENT] = dict(start_data)
        running._advance()
        return running

    def ready_user_tasks(self) -> list[ReadyTask]:
        return [
            ReadyTask(id=str(t.id), bpmn_id=t.task_spec.bpmn_id)
            for t in self._wf.tasks.values()
            if t.state == TaskState.READY and isinstance(t.task_spec, UserTask)
        ]

    def data_for(self, task_id: str) -> dict[str, Any]:
        """The workflow data as the given task sees it (documents written so far)."""
        return dict(self._task(task_id).data)

    def latest_data(self) -> dict[str, Any]:
        """The data of the most recently completed task (all documents written so far on that path)."""
        last = self._wf.last_task
        return dict(last.data) if last is not None else {}

    def complete_user_task(self, task_id: str, *, document: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Store the form data under its document key, complete the task, run engine steps.

        Returns the data as the task left it (what gate rules read)."""
        task = self._task(task_id)
        if task.state != TaskState.READY or not isinstance(task.task_spec, UserTask):
            raise WorkflowStuckError(f"task {task_id} is not a ready user task")
        task.data[document] = dict(data)
        after = dict(task.data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise self._stuck(f"task {task.task_spec.bpmn_id} could not complete: {exc}") from exc
        self._advance()
        return after

    def is_finished(self) -> bool:
        """True only when no task anywhere is unfinished (checked over all tasks, not SpiffWorkflow's
        depth-limited iterator, so a deep tree can never look finished by mistake) and Spiff agrees."""
        unfinished = [t for t in self._wf.tasks.values() if t.has_state(TaskState.NOT_FINISHED_MASK)]
        if unfinished:
            return False
        return bool(self._wf.is_completed())

    def has_waiting_events(self) -> bool:
        return any(
            isinstance(t.task_spec, CatchingEvent) and t.state == TaskState.WAITING
            for t in self._wf.tasks.values()
        )

    def task_count(self) -> int:
        return len(self._wf.tasks)

    def depth(self) -> int:
        deepest = 0
        depths: dict[UUID, int] = {}
        for task in self._wf.tasks.values():
            chain: list[Any] = []
            node = task
            while node is not None and node.id not in depths:
                chain.append(node)
                node = node.parent
            base = depths[node.id] if node is not None else -1
            for item in reversed(chain):
                base += 1
                depths[item.id] = base
            deepest = max(deepest, depths[task.id])
        return deepest

    # -- internals -------------------------------------------------------------------------------------

    def _task(self, task_id: str) -> Any:
        try:
            task = self._wf.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None:
            raise WorkflowStuckError(f"task {task_id} is not part of this workflow")
        return task

    def _advance(self) -> None:
        try:
            self._wf.do_engine_steps()
        except ExpressionEvaluationError as exc:
            raise self._stuck(f"a gateway condition could not be evaluated: {exc.message}") from exc
        except SpiffWorkflowException as exc:
            raise self._stuck(f"the workflow could not advance: {exc}") from exc
        self._compact()
        self._check_progress()

    def _stuck(self, message: str) -> WorkflowStuckError:
        logger.error("launch %s: %s", self.launch_id, message)
        return WorkflowStuckError(message)

    def _compact(self) -> None:
        """Splice out completed tasks whose only child is also completed.

        Parallel joins look at the parents of their own instances and at ancestry; both survive, because a
        task is removed only when its single child has already completed (so no waiting join hangs off it)
        and ancestry order is kept."""
        tasks = self._wf.tasks
        root = self._wf.task_tree
        for task in list(tasks.values()):
            if task is root or task.state != TaskState.COMPLETED or len(task._children) != 1:
                continue
            parent = task.parent
            if parent is None:
                continue
            child = tasks.get(task._children[0])
            if child is None or child.state != TaskState.COMPLETED:
                continue
            parent._children[parent._children.index(task.id)] = child.id
            child._parent = parent.id
            del tasks[task.id]
            if self._wf.last_task is task:
                self._wf.last_task = child

    def _check_progress(self) -> None:
        if self.depth() > MAX_TREE_DEPTH:
            raise self._stuck(f"task tree depth exceeds {MAX_TREE_DEPTH}; refusing to continue")
        if self.is_finished():
            return
        if self.ready_user_tasks() or self.has_waiting_events():
            return
        raise self._stuck("no task is ready and the workflow is not finished")
