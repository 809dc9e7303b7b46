"""THE SpiffWorkflow adapter: build specs, start, complete user tasks, run engine steps, report status.

No I/O here. SpiffWorkflow objects never leave this module (and engine.serialization): callers get plain
ids, names and dicts.

Two things SpiffWorkflow does by default that we change:
- conditions go through `SafeScriptEngine`, which evaluates our small grammar and refuses to run scripts;
- the task tree is compacted after every step (completed single-child links are spliced out), so a rework
  loop costs the same at round 1000 as at round 10 and never reaches the iterator's depth limit of 1000;
- timer events take "now" from the engine's clock, not from `datetime.now()`: SpiffWorkflow's timer
  definitions are swapped for `ClockedDurationTimer` / `ClockedDateTimer` when a spec is built, and those
  ask the workflow's script engine (`SafeScriptEngine.now()`, which carries the clock) for the time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.bounds import timer_bound_problem
from engine.clock import Clock, SystemClock
from engine.errors import (
    EngineError,
    ExpressionEvaluationError,
    StepBudgetExceededError,
    UnsafeExpressionError,
    WorkflowStuckError,
)
from engine.expressions import evaluate, evaluate_condition, parse_expression

logger = logging.getLogger(__name__)

START_DOCUMENT = "launch"
# Compaction keeps the tree shallow; this is a tripwire far below SpiffWorkflow's iterator limit (1000).
MAX_TREE_DEPTH = 400
# The step budget of one command (see _StepBudget).
MAX_ENGINE_STEPS = 10_000
MAX_COMMAND_CPU_SECONDS = 2.0


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluates conditions with engine.expressions; never evaluates or executes Python.

    It also carries the clock: SpiffWorkflow hands every task its workflow's script engine, so this is
    where our timer definitions ask for the time (`now()`)."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(environment=None)
        self.clock: Clock = clock or SystemClock()

    def now(self) -> datetime:
        return self.clock.now()

    def validate(self, expression: str) -> None:
        parse_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        return evaluate_condition(parse_expression(expression), task.data)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: scripts are not allowed")

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: service calls are not allowed")


_SCRIPT_ENGINE = SafeScriptEngine()


# -- timers ------------------------------------------------------------------------------------------------


def _now(my_task: Any) -> datetime:
    """The time as the workflow's clock sees it (wall time for a script engine without a clock)."""
    now = getattr(my_task.workflow.script_engine, "now", None)
    return now() if callable(now) else datetime.now(UTC)


def timer_literal(my_task: Any, expression: str) -> str:
    """A timer's expression is a string literal in our safe grammar (checked at load): its value."""
    value = evaluate(parse_expression(expression), my_task.data)
    if not isinstance(value, str):
        raise ExpressionEvaluationError(f"timer expression {expression!r} is not a text value")
    return value


class ClockedDurationTimer(DurationTimerEventDefinition):  # type: ignore[misc]
    """`timeDuration`: fires that long after the event started waiting, by the engine's clock."""

    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            start = _now(my_task)
            parsed = TimerEventDefinition.parse_iso_duration(timer_literal(my_task, self.expression))
            due = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=due)
        if TimerEventDefinition.get_datetime(due) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDateTimer(TimeDateEventDefinition):  # type: ignore[misc]
    """`timeDate`: fires at that moment (an ISO 8601 date-time with a UTC offset), by the engine's clock."""

    def has_fired(self, my_task: Any) -> bool:
        due = my_task._get_internal_data("event_value")
        if due is None:
            due = timer_literal(my_task, self.expression)
            my_task._set_internal_data(event_value=due)
        if TimerEventDefinition.get_datetime(due) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


_CLOCKED = {DurationTimerEventDefinition: ClockedDurationTimer, TimeDateEventDefinition: ClockedDateTimer}


def timer_problem(kind: str, expression: str) -> str | None:
    """Why a timer expression cannot run (None when it can). `kind` is timeDuration or timeDate.

    Only a quoted ISO 8601 literal is accepted: a duration like 'PT2H' or 'P3D', or a date-time with
    its UTC offset like '2030-06-01T09:00:00+00:00'."""
    example = "'PT2H'" if kind == "timeDuration" else "'2030-06-01T09:00:00+00:00'"
    try:
        parsed = parse_expression(expression)
    except UnsafeExpressionError:
        parsed = None
    value = evaluate(parsed, {}) if parsed is not None and not parsed.names else None
    if not isinstance(value, str):
        return (
            f"timer expression {expression!r} is not supported: write a quoted ISO 8601 literal, "
            f"like {example}"
        )
    duration: dict[str, float] | None = None
    try:
        if kind == "timeDuration":
            if not value.upper().startswith("P") or len(value) > 64:
                raise ValueError(value)
            duration = TimerEventDefinition.parse_iso_duration(value)
        elif datetime.fromisoformat(value).tzinfo is None:
            return f"timer date {value!r} needs a UTC offset, like {example}"
    except Exception:  # SpiffWorkflow raises a bare Exception for a bad duration
        return f"timer expression {expression!r} is not a valid ISO 8601 value, like {example}"
    return timer_bound_problem(kind, value, duration)


def build_spec(root: etree._Element, process_id: str) -> Any:
    """Build the SpiffWorkflow spec from an already hardened and validated document; its timer
    definitions are swapped for the clocked ones."""
    parser = BpmnParser()
    parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
    spec = parser.get_spec(process_id)
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        clocked = _CLOCKED.get(type(definition))
        if clocked is not None and definition is not None:
            task_spec.event_definition = clocked(
                definition.name, definition.expression, description=definition.description
            )
    return spec


class _StepBudget:
    """What one command may spend on engine steps (gateways, events): `MAX_ENGINE_STEPS` steps or
    `MAX_COMMAND_CPU_SECONDS` of this thread's CPU time. Past it the command stops with
    StepBudgetExceededError; the caller writes nothing (the workflow in memory is thrown away) and audits
    the refusal. Diagrams are checked at deploy so that this never trips; it is the last line."""

    def __init__(self, launch_id: str | None) -> None:
        self.launch_id = launch_id
        self.steps = 0
        self.started = time.thread_time()

    def spend(self, task: Any) -> None:
        self.steps += 1
        spent = self._overspent(task)
        if spent is not None:
            message = (
                f"the workflow used more than {spent} in one command without reaching a wait state "
                f"(last at {task.task_spec.bpmn_id}); it was stopped and nothing was stored"
            )
            logger.error("launch %s: %s", self.launch_id, message)
            raise StepBudgetExceededError(message)

    def _overspent(self, task: Any) -> str | None:
        if self.steps > MAX_ENGINE_STEPS:
            return f"{MAX_ENGINE_STEPS} engine steps"
        # A chain of engine steps deepens the task tree by one each; SpiffWorkflow walks the tree
        # recursively and quietly stops near Python's recursion limit, long before MAX_ENGINE_STEPS.
        if task.depth > MAX_TREE_DEPTH:
            return f"{MAX_TREE_DEPTH} engine steps in a row"
        if self.steps % 100 == 0 and self._cpu() > MAX_COMMAND_CPU_SECONDS:
            return f"{MAX_COMMAND_CPU_SECONDS} s of CPU"
        return None

    def _cpu(self) -> float:
        return time.thread_time() - self.started


@dataclass(frozen=True)
class ReadyTask:
    id: str
    bpmn_id: str


class RunningWorkflow:
    """One launch's workflow, in memory. Mutated only through these methods."""

    def __init__(self, workflow: Any, *, launch_id: str | None = None, clock: Clock | None = None) -> None:
        self._wf = workflow
        self._wf.script_engine = _SCRIPT_ENGINE if clock is None else SafeScriptEngine(clock)
        self.launch_id = launch_id

    @property
    def raw(self) -> Any:
        """The SpiffWorkflow object, for engine.serialization only."""
        return self._wf

    @classmethod
    def start(
        cls, spec: Any, *, start_data: Mapping[str, Any], launch_id: str, clock: Clock | None = None
    ) -> RunningWorkflow:
        workflow = BpmnWorkflow(spec, script_engine=_SCRIPT_ENGINE)
        running = cls(workflow, launch_id=launch_id, clock=clock)
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

    def waiting_timers(self) -> dict[str, datetime]:
        """Each waiting timer event (BPMN id) with the moment it fires."""
        found: dict[str, datetime] = {}
        for task in self._wf.tasks.values():
            definition = getattr(task.task_spec, "event_definition", None)
            if task.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
                continue
            due = task._get_internal_data("event_value")
            if isinstance(due, str):
                found[task.task_spec.bpmn_id] = TimerEventDefinition.get_datetime(due)
        return found

    def next_timer_at(self) -> datetime | None:
        """When the earliest waiting timer fires (None: no timer is waiting)."""
        return min(self.waiting_timers().values(), default=None)

    def fire_due_timers(self) -> list[str]:
        """Fire every waiting timer that is due by the clock and run the engine steps that follow.
        Returns the BPMN ids of the timers that fired."""
        now = self._wf.script_engine.now()
        due_now = {bpmn_id: due for bpmn_id, due in self.waiting_timers().items() if due <= now}
        if not due_now:
            return []
        try:
            self._wf.refresh_timers()
        except (SpiffWorkflowException, EngineError) as exc:
            raise self._stuck(f"a timer could not fire: {exc}") from exc
        self._advance()
        after = self.waiting_timers()
        return sorted(bpmn_id for bpmn_id, due in due_now.items() if after.get(bpmn_id) != due)

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
        budget = _StepBudget(self.launch_id)
        try:
            self._wf.do_engine_steps(will_complete_task=budget.spend)
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
