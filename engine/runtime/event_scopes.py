"""Event sub-processes of sub-processes: they start when their event is caught, as the top process's do.

SpiffWorkflow 3.2's event manager starts a message, signal, error or escalation event sub-process only for
the top process (`EventManager.update_collaboration` reads the top spec's start triggers alone): one drawn
inside an embedded sub-process never started, and an error thrown inside went past it to whatever caught
it further out, or became an incident.

`ScopedEventManager` looks in the scopes an event can reach first:
- an error or escalation is thrown in a workflow (its `target`); from there outwards, the first workflow
  with a waiting event that catches it (e.g. a boundary event on the sub-process it left) or with an event
  sub-process whose start catches it takes it, as BPMN's innermost enclosing catcher does; past the
  sub-processes, SpiffWorkflow goes on as before (the top process);
- a message or signal starts the matching event sub-process of every running sub-process (SpiffWorkflow
  then starts the top's and delivers it to every waiting event, the new starts among them).

The wiring the start adds to a sub-process spec is what SpiffWorkflow adds for the top process
(`BpmnStartTask.trigger_wf`): specs with triggers are copied per launch (`SpecBundle.for_one_workflow`)
and `triggers.rewire` restores it. A sub-process entered again in the same launch then starts the event
sub-process with it, waiting for its start like a timer start; `triggers.close_idle_event_subprocesses`
ends it with its process as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.util.task import TaskState

from engine.runtime.events import interrupted, interrupted_flows, is_event_subprocess


class ScopedEventManager(EventManager):  # type: ignore[misc]
    """The top workflow's event manager, starting event sub-processes of sub-processes too."""

    def catch(self, event: Any, internal: bool = True) -> int:
        if event.target is not None and event.target is not self.workflow:
            event.target, past_handler = self._innermost_catcher(event, event.target)
            if past_handler:  # thrown by a handler of the top process: never start that one again
                event.launchgate_past_top_handlers = True
        elif event.target is None and isinstance(
            event.event_definition, (MessageEventDefinition, SignalEventDefinition)
        ):
            stopped = interrupted_flows(self.workflow)
            for flow in list(self.workflow.subprocesses.values()):
                if not flow.is_completed() and not any(flow is s for s in stopped):
                    self._start_event_subprocess(flow, event, checked=True)
        return int(super().catch(event, internal))

    def update_collaboration(self, event: Any) -> None:
        if getattr(event, "launchgate_past_top_handlers", False) or interrupted(self.workflow, self.workflow):
            return  # the top process's handlers: not for what one of them threw, none once one interrupts
        super().update_collaboration(event)

    def _innermost_catcher(self, event: Any, flow: Any) -> tuple[Any, bool]:
        """The workflow that takes a thrown error or escalation: `flow` or one around it (the top when
        no sub-process catches it), and whether the throw left an event sub-process of the top process.
        What an event sub-process throws goes past the process it handles (a boundary event on that
        sub-process, or further out): that process's own handlers would take it again and again."""
        skip = False
        while flow is not self.workflow:
            if not skip:
                if any(
                    t.workflow is flow and t.task_spec.event_definition.catches(t, event)
                    for t in self.tasks.values()
                ):
                    return flow, False
                started = self._start_event_subprocess(flow, event)
                if started is not None:
                    return started, False  # its start event waits in it and catches the event there
            skip = is_event_subprocess(flow)
            flow = flow.parent_workflow
        return flow, skip

    def _start_event_subprocess(self, flow: Any, event: Any, *, checked: bool = False) -> Any | None:
        """Start the event sub-process of `flow` whose start catches `event` (or find the one already
        waiting for it); its workflow, or None when `flow` has none (`checked`: the caller knows no
        interrupting one of `flow` runs)."""
        if not checked and interrupted(self.workflow, flow):
            return None  # an interrupting one runs: the process it interrupted starts no more handlers
        start = flow.spec.start
        for name in getattr(start, "trigger_specs", ()):
            spec = self.workflow.subprocess_specs.get(name)
            if spec is None:
                continue
            for start_event in spec.bpmn_start_events:
                if start_event.event_definition != event.event_definition:
                    continue
                waiting = next(_waiting_for(self.workflow, flow, start_event.name), None)
                if waiting is not None:
                    return waiting
                child_id = start.trigger_wf(flow.task_tree, name)
                host = flow.get_task_from_id(child_id)
                # Its way to the sub-process's end join: SpiffWorkflow adds the task started, not what
                # follows it, and a sub-workflow whose End never runs never tells its task it finished.
                host.task_spec._predict(host, mask=TaskState.NOT_FINISHED_MASK)
                started = self.workflow.subprocesses[child_id]
                started.correlations.update(event.correlations)
                return started
        return None


def _waiting_for(top: Any, flow: Any, start_name: str) -> Iterator[Any]:
    """The event sub-process workflows started inside `flow` whose start `start_name` still waits."""
    for sub in top.subprocesses.values():
        if sub.parent_workflow is flow and sub.get_next_task(state=TaskState.WAITING, spec_name=start_name):
            yield sub


def install(workflow: Any) -> None:
    """Give a top workflow (new or restored) the scoped event manager, keeping what it waits for."""
    if isinstance(workflow.event_manager, ScopedEventManager):
        return
    manager = ScopedEventManager(workflow)
    manager.tasks = workflow.event_manager.tasks
    workflow.event_manager = manager
