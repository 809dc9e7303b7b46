"""What a launch's workflow run means for the launch, for every command that runs it (completion, timer,
message): its new status, the tasks still ready, and the outbox messages its events send.

- An error nobody caught: the launch is `failed` (never live), its open tasks are cancelled, and an
  incident (`workflow_error` outbox row, failed at once by the worker) names the error.
- A gateway where no condition holds and there is no default flow (exclusive or inclusive): the same,
  the incident naming the gateway (RunningWorkflow.incident; the state keeps the gateway in error).
- A terminate end event: the launch is `terminated` (never live, whatever its gate says).
- The end of the workflow: `live`, refused while a gate item is open (engine.gate).
- Message and signal throw events: one `bpmn_event` outbox message each, delivered by the worker to the
  other launches that wait for it (engine.commands.messages.deliver_thrown).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine import gate
from engine.commands.write import Message
from engine.db.rows import LaunchRow
from engine.domain import GateFact, LaunchStatus
from engine.runtime import ReadyTask, RunningWorkflow
from engine.runtime.events import EventLog

THROWN_KIND = "bpmn_event"
ERROR_KIND = "workflow_error"


@dataclass(frozen=True)
class Outcome:
    status: LaunchStatus
    ready: list[ReadyTask]
    messages: list[Message]
    events: EventLog

    @property
    def ended(self) -> bool:
        return self.status is not LaunchStatus.ACTIVE

    def detail(self) -> dict[str, Any]:
        """What the audit row of the command says about events (empty when nothing happened)."""
        found: dict[str, Any] = {}
        if self.events.thrown:
            found["thrown"] = [{"kind": t.kind, "name": t.name, "by": t.bpmn_id} for t in self.events.thrown]
        if self.events.terminated:
            found["terminated"] = True
        if self.events.uncaught_errors:
            found["uncaught_errors"] = list(self.events.uncaught_errors)
        for message in self.messages:
            if message.kind == ERROR_KIND and "gateway" in message.payload:
                found["incident"] = {
                    "gateway": message.payload["gateway"],
                    "reason": message.payload["reason"],
                }
        return found


def settle(workflow: RunningWorkflow, launch: LaunchRow, facts: Iterable[GateFact]) -> Outcome:
    """The outcome of the run that just happened on `workflow` (its event log is taken)."""
    events = workflow.take_events()
    finished = workflow.is_finished()
    messages = _thrown_messages(launch, events)
    stopped = workflow.incident()
    if events.uncaught_errors:
        status = LaunchStatus.FAILED
        messages.append(_incident(launch, events.uncaught_errors))
    elif stopped is not None:  # a gateway with no way out: an incident, never a silent stall
        status = LaunchStatus.FAILED
        payload = {"gateway": stopped.bpmn_id, "reason": stopped.message}
        messages.append(Message(ERROR_KIND, f"{ERROR_KIND}:{launch.id}:{launch.version + 1}", None, payload))
    elif events.terminated:
        status = LaunchStatus.TERMINATED
    else:
        gate.refuse_finish_with_open_items(finished, facts)
        status = LaunchStatus.LIVE if finished else LaunchStatus.ACTIVE
    ready = workflow.ready_user_tasks() if status is LaunchStatus.ACTIVE else []
    return Outcome(status=status, ready=ready, messages=messages, events=events)


def waiting_rows(workflow: RunningWorkflow) -> tuple[dict[str, Any], ...]:
    """What the workflow waits for, as the launch row stores it (JSON objects; engine.views reads them)."""
    return tuple(
        {
            "kind": e.kind,
            "name": e.name,
            "element_id": e.bpmn_id,
            "due_at": e.due.isoformat() if e.due is not None else None,
            "boundary": e.boundary,
            "interrupting": e.interrupting,
        }
        for e in workflow.waiting_events()
    )


def _thrown_messages(launch: LaunchRow, events: EventLog) -> list[Message]:
    version = launch.version + 1
    found = []
    for index, thrown in enumerate(events.thrown):
        body = thrown.data.get(thrown.name)
        payload = {
            "kind": thrown.kind,
            "name": thrown.name,
            "thrown_by": thrown.bpmn_id,
            "from_launch": launch.id,
            "process_version_id": launch.process_version_id,
            "payload": dict(body) if isinstance(body, dict) else {},
        }
        if thrown.correlate is not None:
            payload["correlate"] = {"path": thrown.correlate[0], "value": thrown.correlate[1]}
        key = f"{THROWN_KIND}:{launch.id}:{version}:{index}"
        found.append(Message(THROWN_KIND, key, None, payload))
    return found


def _incident(launch: LaunchRow, errors: list[str]) -> Message:
    payload = {"errors": errors, "reason": f"error {', '.join(errors)} was thrown and nothing caught it"}
    return Message(ERROR_KIND, f"{ERROR_KIND}:{launch.id}:{launch.version + 1}", None, payload)


def launch_after(
    launch: LaunchRow, workflow: RunningWorkflow, outcome: Outcome, *, now: datetime
) -> LaunchRow:
    """The launch row after a command that ran its workflow on an event (a timer, a message): one
    version on, with the status, end, next timer and waiting events the workflow was left with."""
    return replace(
        launch,
        version=launch.version + 1,
        updated_at=now,
        status=outcome.status.value,
        completed_at=now if outcome.ended else None,
        next_timer_at=workflow.next_timer_at(),
        waiting=waiting_rows(workflow),
    )
