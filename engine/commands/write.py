"""The write of a launch change: ONE transaction, and the only place that opens it for a launch.

A command decides on the launch's rows at one version and describes what changes (`LaunchChange`). This
module writes all of it together — the launch row (a conditional UPDATE on the version it decided on), the
task index, the gate facts, the drafts of a completed task, the outbox messages and the audit event — so
they commit together or not at all (G2). When the launch is no longer at that version another writer won:
`StaleVersionError`, nothing of this attempt is written, and the runner starts the command again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine import audit, idempotency, outbox, scheduling
from engine.commands.context import EngineContext
from engine.db import rows
from engine.db.rows import LaunchRow, NewTask, TaskRow
from engine.domain import Actor, GateFact, TaskStatus
from engine.model import ProcessModel
from engine.runtime import ReadyTask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Launch columns a change may write (the rest never change after the launch starts).
_CHANGING = ("version", "updated_at", "status", "completed_at", "gate_passed", "blocked_by")


class StaleVersionError(Exception):
    """The launch changed between our read and our write: start the command again."""


@dataclass(frozen=True)
class Message:
    """An outbox message of this change (delivered only if the change commits)."""

    kind: str
    key: str
    task_id: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    actor: Actor
    action: str
    task_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Completion:
    """The task this change completes: it must still be READY (else another completion won)."""

    task_id: str
    by: str
    assignee: str


@dataclass(frozen=True)
class LaunchChange:
    """Everything one command writes to one launch."""

    before: LaunchRow  # the rows were decided on at before.version
    after: LaunchRow  # version + 1
    now: datetime
    audit: AuditEntry | None
    state: str | None = None  # a new workflow state (None: the workflow did not move)
    completion: Completion | None = None
    assignment: tuple[str, str | None] | None = None  # (task id, new assignee)
    new_tasks: Sequence[NewTask] = ()
    gone: Collection[str] = ()  # ids of tasks no longer ready (cancelled)
    gate: Sequence[GateFact] = ()  # gate facts that changed
    instances_done: Sequence[tuple[str, int]] = ()  # (multi-instance BPMN id, instances done now)
    messages: Sequence[Message] = field(default_factory=tuple)


def write_change(ctx: EngineContext, change: LaunchChange) -> None:
    """Write `change` in one transaction, or raise StaleVersionError having written nothing."""
    with ctx.db.write() as session:
        _update_launch(session, change)
        if change.completion is not None:
            done = change.completion
            if not rows.complete_task(
                session,
                task_id=done.task_id,
                at=change.now,
                by=done.by,
                sequence=change.after.version,
                assignee=done.assignee,
            ):
                raise StaleVersionError()
        if change.assignment is not None:
            rows.set_assignee(session, task_id=change.assignment[0], assignee=change.assignment[1])
        _write_task_index(session, change.after, change.new_tasks, gone=change.gone, now=change.now)
        rows.update_gate_items(session, change.before.id, change.gate)
        for bpmn_id, count in change.instances_done:
            rows.update_instances_done(session, change.before.id, bpmn_id, count)
        if change.completion is not None:
            rows.delete_drafts(session, change.completion.task_id)
        for message in change.messages:
            _add_message(session, change.before.id, message, now=change.now)
        if change.audit is not None:
            _append_audit(session, change.before.id, change.audit, now=change.now)
        idempotency.mark_in(session, change.before.id)


def write_new_launch(
    ctx: EngineContext,
    launch: LaunchRow,
    *,
    state: str,
    facts: Sequence[GateFact],
    new_tasks: Sequence[NewTask],
    entry: AuditEntry,
    messages: Sequence[Message] = (),
) -> None:
    """A new launch in one transaction: its row, gate facts, first tasks (and their announcements), the
    messages of the steps that ran (send tasks right after the start), audit."""
    with ctx.db.write() as session:
        rows.insert_launch(session, launch, state=state)
        rows.insert_gate_facts(session, launch.id, facts)
        _write_task_index(session, launch, new_tasks, gone=(), now=launch.created_at)
        for message in messages:
            _add_message(session, launch.id, message, now=launch.created_at)
        _append_audit(session, launch.id, entry, now=launch.created_at)
        idempotency.mark_in(session, launch.id)


def plan_new_tasks(
    ctx: EngineContext,
    launch: LaunchRow,
    model: ProcessModel,
    ready: Sequence[ReadyTask],
    *,
    known: frozenset[str],
    now: datetime,
) -> list[NewTask]:
    """Index rows for the tasks that became ready (not in `known`): due date, first ladder step, and
    the launch PM as assignee of PM tasks."""
    planned = []
    for item in ready:
        if item.id in known:
            continue
        spec = model.tasks[item.bpmn_id]
        due = scheduling.task_due_at(
            now=now,
            task_id=item.bpmn_id,
            default_days=spec.due_in_business_days,
            overrides=launch.due_overrides,
            holds_gate_item=bool(spec.gate_item or spec.gate_part_of),
            planned_launch_date=launch.planned_launch_date,
            policy=ctx.schedule,
            holidays=ctx.holidays,
        )
        step, remind_at = scheduling.next_ladder_step(
            due_at=due,
            created_at=now,
            start=0,
            ladder=ctx.schedule.ladder,
            holidays=ctx.holidays,
            tz=ctx.schedule.timezone,
        )
        row = TaskRow(
            id=item.id,
            launch_id=launch.id,
            bpmn_id=item.bpmn_id,
            title=spec.title,
            role=spec.role,
            assignee=launch.pm if spec.role == "pm" or spec.to_starter else None,
            status=TaskStatus.READY.value,
            gate_item=spec.gate_item,
            is_go_live=spec.go_live,
            created_at=now,
            due_at=due,
            completed_at=None,
            completed_by=None,
            escalated_at=None,
            **_instance_columns(item),
        )
        planned.append(NewTask(row=row, ladder_step=step, remind_at=remind_at))
    return planned


def _instance_columns(item: ReadyTask) -> dict[str, Any]:
    """Which instance of a multi-instance task a new task is (nothing for a task that is none)."""
    found = item.instance
    if found is None:
        return {}
    return {
        "instance_label": found.label,
        "instance_index": found.index,
        "instance_total": found.total,
        "instance_done": found.done,
        "instance_needed": found.needed,
    }


def _update_launch(session: Session, change: LaunchChange) -> None:
    """Store `after` (and a new workflow state) only if the launch is still at `before.version`."""
    values: dict[str, Any] = {name: getattr(change.after, name) for name in _CHANGING}
    if change.state is not None:
        values["state"] = change.state
        values["next_timer_at"] = change.after.next_timer_at  # a new state has its own waiting timers
        values["waiting"] = [dict(w) for w in change.after.waiting]
    if not rows.update_launch(
        session,
        launch_id=change.before.id,
        expected_version=change.before.version,
        values=values,
    ):
        raise StaleVersionError()


def _write_task_index(
    session: Session, launch: LaunchRow, new_tasks: Sequence[NewTask], *, gone: Collection[str], now: datetime
) -> None:
    """Cancel the rows of tasks no longer ready, insert the new ones; a task that waits in a role's
    queue is announced to that role."""
    rows.cancel_tasks(session, gone, at=now)
    rows.insert_tasks(session, new_tasks)
    for new in new_tasks:
        task = new.row
        if task.assignee is None:
            message = Message(
                kind="task_available",
                key=f"task_available:{task.id}",
                task_id=task.id,
                payload={
                    "task_id": task.id,
                    "title": task.title,
                    "role": task.role,
                    "due_at": task.due_at.isoformat() if task.due_at else None,
                    "to": {"roles": [task.role]},
                },
            )
            _add_message(session, launch.id, message, now=now)


def _add_message(session: Session, launch_id: str, message: Message, *, now: datetime) -> None:
    outbox.add_message(
        session,
        kind=message.kind,
        key=message.key,
        launch_id=launch_id,
        task_id=message.task_id,
        payload=message.payload,
        now=now,
    )


def _append_audit(session: Session, launch_id: str, entry: AuditEntry, *, now: datetime) -> None:
    audit.append_event(
        session,
        actor=entry.actor,
        action=entry.action,
        at=now,
        launch_id=launch_id,
        task_id=entry.task_id,
        before=entry.before,
        after=entry.after,
        detail=entry.detail,
    )
