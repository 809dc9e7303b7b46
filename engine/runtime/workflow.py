"""RunningWorkflow: one launch's workflow in memory, mutated only through its methods."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.defaults import (
    ExclusiveGateway,
    InclusiveGateway,
    ManualTask,
    NoneTask,
    SendTask,
    ServiceTask,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.clock import Clock
from engine.errors import EngineError, ExpressionEvaluationError, WorkflowStuckError
from engine.runtime import budget, event_scopes, events, triggers
from engine.runtime.events import EventLog, WaitingEvent
from engine.runtime.multi_instance import InstanceProgress, LaunchMultiInstance, progress_of
from engine.runtime.script_engine import SCRIPT_ENGINE, SafeScriptEngine
from engine.runtime.spec import SpecBundle
from engine.runtime.subworkflows import all_tasks, drop_orphans, drop_subprocess, workflows

logger = logging.getLogger(__name__)

START_DOCUMENT = "launch"
# The workflow-level data key where the keys of the deliveries taken are remembered, and how many.
_RECEIVED = "launchgate_received"
_REMEMBERED = 200
# The task specs a person completes: user tasks, manual tasks and plain <task>s. SpiffWorkflow marks the
# last two `manual` as well, so its engine steps leave them READY for a person, like user tasks.
HUMAN_TASK_SPECS = (UserTask, ManualTask, NoneTask)


# The task specs a connector stands behind (engine.connectors): they complete at once in an engine step.
AUTOMATED_TASK_SPECS = (SendTask, ServiceTask)
# Gateways that stop with an incident when no way out holds (no condition true, no default flow).
CHOOSING_GATEWAYS = (ExclusiveGateway, InclusiveGateway)


@dataclass(frozen=True)
class ReadyTask:
    id: str
    bpmn_id: str
    instance: InstanceProgress | None = None  # which instance of a multi-instance it is (None: none)


@dataclass(frozen=True)
class AutomatedStep:
    """A send or service task that completed in an engine step: its task id (one per run, so a loop
    sends again), BPMN id and the workflow data it saw."""

    id: str
    bpmn_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Incident:
    """Why the workflow stopped where no person can move it on (a gateway with no way out)."""

    bpmn_id: str
    message: str


class RunningWorkflow:
    """One launch's workflow, in memory. Mutated only through these methods."""

    def __init__(self, workflow: Any, *, launch_id: str | None = None, clock: Clock | None = None) -> None:
        self._wf = workflow
        event_scopes.install(workflow)
        self._wf.script_engine = SCRIPT_ENGINE if clock is None else SafeScriptEngine(clock)
        self.launch_id = launch_id
        self._events = EventLog()
        self._automated: list[AutomatedStep] = []
        # The instance the last completed user task was (counts after it), or None: what the gate reads.
        self.completed_instance: InstanceProgress | None = None

    @property
    def raw(self) -> Any:
        """The SpiffWorkflow object, for engine.serialization only."""
        return self._wf

    @classmethod
    def start(
        cls, spec: SpecBundle, *, start_data: Mapping[str, Any], launch_id: str, clock: Clock | None = None
    ) -> RunningWorkflow:
        own = spec.for_one_workflow()
        workflow = BpmnWorkflow(own.top, dict(own.subprocesses), script_engine=SCRIPT_ENGINE)
        running = cls(workflow, launch_id=launch_id, clock=clock)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data[START_DOCUMENT] = dict(start_data)
        running._advance()
        return running

    def ready_user_tasks(self) -> list[ReadyTask]:
        """Every ready user task, in the top workflow and in every sub-process and called process."""
        return [
            ReadyTask(id=str(t.id), bpmn_id=t.task_spec.bpmn_id, instance=progress_of(t))
            for t in all_tasks(self._wf)
            if t.state == TaskState.READY and isinstance(t.task_spec, HUMAN_TASK_SPECS)
        ]

    def instance_progress(self, task_id: str) -> InstanceProgress | None:
        """Where the multi-instance of a task (ready or completed) stands: None when it is no instance
        (a completed task that is no instance may be compacted away already)."""
        try:
            task = self._task(task_id)
        except WorkflowStuckError:
            return None
        return progress_of(task)

    def take_automated(self) -> list[AutomatedStep]:
        """The send and service tasks that completed since the last call, in the order they ran (the
        caller queues their connectors' messages in the same transaction as the new state)."""
        found, self._automated = self._automated, []
        return found

    def incident(self) -> Incident | None:
        """The gateway where the workflow stopped (no condition held and there is no default), or None.
        Read from the state itself, so it survives save-and-restore."""
        for task in all_tasks(self._wf):
            if task.state == TaskState.ERROR and isinstance(task.task_spec, CHOOSING_GATEWAYS):
                kind = "exclusive" if isinstance(task.task_spec, ExclusiveGateway) else "inclusive"
                return Incident(
                    task.task_spec.bpmn_id,
                    f"no condition holds on any flow out of {kind} gateway {task.task_spec.bpmn_id!r} "
                    "and it has no default flow: the launch stopped there",
                )
        return None

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
        if task.state != TaskState.READY or not isinstance(task.task_spec, HUMAN_TASK_SPECS):
            raise WorkflowStuckError(f"task {task_id} is not a ready user task")
        task.data[document] = dict(data)
        after = dict(task.data)
        try:
            task.run()
        except WorkflowStuckError:
            raise
        except EngineError as exc:  # e.g. the multi-instance it starts has no instances to run
            raise self._stuck(f"task {task.task_spec.bpmn_id} could not complete: {exc.message}") from exc
        except SpiffWorkflowException as exc:
            raise self._stuck(f"task {task.task_spec.bpmn_id} could not complete: {exc}") from exc
        self.completed_instance = progress_of(task)  # before compaction may splice its multi-instance
        self._advance()
        return after

    def is_finished(self) -> bool:
        """True only when no task anywhere is unfinished (checked over all tasks, not SpiffWorkflow's
        depth-limited iterator, so a deep tree can never look finished by mistake) and Spiff agrees."""
        unfinished = [t for t in all_tasks(self._wf) if t.has_state(TaskState.NOT_FINISHED_MASK)]
        if unfinished:
            return False
        return bool(self._wf.is_completed())

    def has_waiting_events(self) -> bool:
        return any(
            isinstance(t.task_spec, CatchingEvent) and t.state == TaskState.WAITING
            for t in all_tasks(self._wf)
        )

    def task_count(self) -> int:
        return sum(len(w.tasks) for w in workflows(self._wf))

    def waiting_timers(self) -> dict[str, datetime]:
        """Each waiting timer event (BPMN id) with the moment it fires (a cycle: its next round)."""
        return {e.bpmn_id: e.due for e in self.waiting_events() if e.kind == events.TIMER and e.due}

    def waiting_events(self) -> list[WaitingEvent]:
        """Every message, signal, timer, error and escalation event the workflow waits for."""
        return events.waiting_events(self._wf)

    def waits_for(self, kind: str, name: str) -> bool:
        return events.waits_for(self._wf, kind, name)

    def has_received(self, key: str) -> bool:
        """A delivery with this key (a thrown event's outbox key) was taken already."""
        return key in self._wf.data.get(_RECEIVED, [])

    def receive(self, kind: str, name: str, payload: dict[str, Any] | None, *, key: str | None = None) -> int:
        """Deliver a message (its payload lands in the data under `name`) or a signal from outside, and
        run the engine steps that follow; how many waiting events caught it (0: none, nothing changed).
        `key`: remembered (the last few hundred), so `has_received` tells a repeated delivery."""
        if key is not None:
            self._wf.data[_RECEIVED] = [*self._wf.data.get(_RECEIVED, [])[-(_REMEMBERED - 1) :], key]
        try:
            caught = events.deliver(self._wf, kind, name, payload)
        except (SpiffWorkflowException, EngineError) as exc:
            raise self._stuck(f"the {kind} {name!r} could not be delivered: {exc}") from exc
        if caught:
            self._advance()
        return caught

    def take_events(self) -> EventLog:
        """What throw events, terminate end events and uncaught errors did since the last call."""
        log, self._events = self._events, EventLog()
        return log

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
        self._advance(fire_timers=True)
        after = self.waiting_timers()
        return sorted(bpmn_id for bpmn_id, due in due_now.items() if after.get(bpmn_id) != due)

    def depth(self) -> int:
        """The deepest task tree of any of the launch's workflows."""
        return max(_tree_depth(w) for w in workflows(self._wf))

    # -- internals -------------------------------------------------------------------------------------

    def _task(self, task_id: str) -> Any:
        try:
            task = self._wf.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None:
            raise WorkflowStuckError(f"task {task_id} is not part of this workflow")
        return task

    def _advance(self, fire_timers: bool = False) -> None:
        """Run engine steps (after firing the due timers, with `fire_timers`) until only people's tasks
        and waiting events are left, with the interruptions SpiffWorkflow leaves to us."""
        steps = budget.StepBudget(self.launch_id)
        try:
            self._steps(steps, fire_timers)
            while triggers.close_idle_event_subprocesses(self._wf):  # their process ended
                self._wf.do_engine_steps(will_complete_task=steps.spend, did_complete_task=self._note_done)
        except ExpressionEvaluationError as exc:
            raise self._stuck(f"a gateway condition could not be evaluated: {exc.message}") from exc
        except WorkflowStuckError:
            raise  # the step budget: already worded
        except EngineError as exc:  # e.g. a multi-instance whose collection is missing
            raise self._stuck(f"the workflow could not advance: {exc.message}") from exc
        except SpiffWorkflowException as exc:
            found = self.incident()
            if found is None:
                raise self._stuck(f"the workflow could not advance: {exc}") from exc
            logger.warning("launch %s: incident at %s: %s", self.launch_id, found.bpmn_id, found.message)
        self._events.note_unhandled(self._wf)
        for workflow in list(workflows(self._wf)):
            self._compact(workflow)
        drop_orphans(self._wf)
        if self.incident() is None:
            self._check_progress()

    def _steps(self, steps: budget.StepBudget, fire_timers: bool) -> None:
        """Engine steps, again after each interrupting event sub-process that started during them (by a
        throw of this launch or a timer: SpiffWorkflow starts it beside the running path)."""
        interrupted = True
        while interrupted:
            before, waited = set(self._wf.subprocesses), events.waiting_starts(self._wf)
            if fire_timers:
                fire_timers = False
                try:
                    self._wf.refresh_timers()
                except (SpiffWorkflowException, EngineError) as exc:
                    raise self._stuck(f"a timer could not fire: {exc}") from exc
            self._wf.do_engine_steps(will_complete_task=steps.spend, did_complete_task=self._note_done)
            interrupted = events.interrupt_started(self._wf, before, waited)

    def _note_done(self, task: Any) -> None:
        self._events.record(task)
        if isinstance(task.task_spec, AUTOMATED_TASK_SPECS) and task.state == TaskState.COMPLETED:
            self._automated.append(AutomatedStep(str(task.id), task.task_spec.bpmn_id, dict(task.data)))

    def _stuck(self, message: str) -> WorkflowStuckError:
        logger.error("launch %s: %s", self.launch_id, message)
        return WorkflowStuckError(message)

    def _compact(self, workflow: Any) -> None:
        """Splice out completed tasks whose only child is also completed (in one workflow of the launch).

        Parallel joins look at the parents of their own instances and at ancestry; both survive, because a
        task is removed only when its single child has already completed (so no waiting join hangs off it)
        and ancestry order is kept. A spliced task that had started a sub-process (finished, since the
        task completed) takes that sub-process with it."""
        tasks = workflow.tasks
        root = workflow.task_tree
        self._drop_finished_instances(workflow)
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
            drop_subprocess(self._wf, task.id)
            if workflow.last_task is task:
                workflow.last_task = child

    def _drop_finished_instances(self, workflow: Any) -> None:
        """Once a new round of a multi-instance runs, the completed earlier round forgets its finished
        instances (their documents are merged into its data, their counts into its bookkeeping), so it has
        one child and compacts like any task: a rework loop over a regional review stays shallow at round
        1000, while the last round's instances stay readable (`instance_progress`)."""
        tasks = workflow.tasks
        running = {
            t.task_spec.name
            for t in tasks.values()
            if isinstance(t.task_spec, LaunchMultiInstance)
            and t.has_state(TaskState.STARTED | TaskState.READY | TaskState.WAITING)
        }
        for task in list(tasks.values()):
            if task.state != TaskState.COMPLETED or task.task_spec.name not in running:
                continue
            for child_id in list(task._children):
                child = tasks.get(child_id)
                if (
                    child is None
                    or child.task_spec.name != task.task_spec.task_spec
                    or not child.has_state(TaskState.FINISHED_MASK)
                    or child._children
                ):
                    continue
                task._children.remove(child_id)
                del tasks[child_id]
                drop_subprocess(self._wf, child_id)
                if workflow.last_task is child:
                    workflow.last_task = task

    def _check_progress(self) -> None:
        if self.depth() > budget.MAX_TREE_DEPTH:
            raise self._stuck(f"task tree depth exceeds {budget.MAX_TREE_DEPTH}; refusing to continue")
        if self.is_finished():
            return
        if self.ready_user_tasks() or self.has_waiting_events():
            return
        raise self._stuck("no task is ready and the workflow is not finished")


def _tree_depth(workflow: Any) -> int:
    deepest = 0
    depths: dict[UUID, int] = {}
    for task in workflow.tasks.values():
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
