"""The command path's reads and writes in SQLAlchemy Core: plain frozen rows in and out, no ORM objects.

A completion is the hot path of the whole product, so its statements skip the ORM's unit of work and
identity map; they run on the connection of the caller's Session (its transaction), so they commit or
roll back with everything else the command writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, RowMapping, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.db.models import GateItemRecord, LaunchRecord, TaskDraftRecord, TaskRecord
from engine.domain import GateFact, GateItemStatus, TaskStatus

_LAUNCH = cast(Table, LaunchRecord.__table__)
_TASK = cast(Table, TaskRecord.__table__)
_GATE = cast(Table, GateItemRecord.__table__)
_DRAFT = cast(Table, TaskDraftRecord.__table__)


@dataclass(frozen=True, slots=True)
class LaunchRow:
    """A launch row without its workflow state."""

    id: str
    process_version_id: int
    product_name: str
    summary: str
    planned_launch_date: date
    pm: str
    status: str
    version: int
    gate_total: int
    gate_passed: int
    blocked_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    support_distribution: tuple[str, ...]
    due_overrides: Mapping[str, int]
    next_timer_at: datetime | None
    waiting: tuple[Mapping[str, Any], ...] = ()  # what the workflow waits for (JSON objects)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A row of the task index."""

    id: str
    launch_id: str
    bpmn_id: str
    title: str
    role: str
    assignee: str | None
    status: str
    gate_item: str | None
    is_go_live: bool
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    escalated_at: datetime | None
    instance_label: str | None = None  # an instance of a multi-instance task (None: none)
    instance_index: int | None = None
    instance_total: int | None = None
    instance_done: int | None = None
    instance_needed: int | None = None


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task row to insert: the index row plus its first reminder-ladder step."""

    row: TaskRow
    ladder_step: int
    remind_at: datetime | None


_LAUNCH_COLUMNS = [_LAUNCH.c[name] for name in LaunchRow.__slots__]
_TASK_COLUMNS = [_TASK.c[name] for name in TaskRow.__slots__]
_GATE_COLUMNS = [_GATE.c[name] for name in GateFact.__dataclass_fields__]

_SELECT_LAUNCH = select(*_LAUNCH_COLUMNS).where(_LAUNCH.c.id == bindparam("launch_id"))
_SELECT_LAUNCH_WITH_STATE = select(*_LAUNCH_COLUMNS, _LAUNCH.c.state).where(
    _LAUNCH.c.id == bindparam("launch_id")
)
_SELECT_TASK = select(*_TASK_COLUMNS).where(_TASK.c.id == bindparam("task_id"))
_SELECT_READY = (
    select(*_TASK_COLUMNS)
    .where(_TASK.c.launch_id == bindparam("launch_id"), _TASK.c.status == TaskStatus.READY.value)
    .order_by(_TASK.c.created_at, _TASK.c.id)
)
_SELECT_GATE = (
    select(*_GATE_COLUMNS).where(_GATE.c.launch_id == bindparam("launch_id")).order_by(_GATE.c.position)
)
_COMPLETE_TASK = (
    update(_TASK)
    .where(_TASK.c.id == bindparam("task_id"), _TASK.c.status == TaskStatus.READY.value)
    .values(
        status=TaskStatus.COMPLETED.value,
        completed_at=bindparam("at"),
        completed_by=bindparam("by"),
        completed_version=bindparam("sequence"),
        assignee=bindparam("assignee"),
    )
)
_CANCEL_TASK = (
    update(_TASK)
    .where(_TASK.c.id == bindparam("task_id"), _TASK.c.status == TaskStatus.READY.value)
    .values(status=TaskStatus.CANCELLED.value, completed_at=bindparam("at"))
)
_SET_ASSIGNEE = update(_TASK).where(_TASK.c.id == bindparam("task_id")).values(assignee=bindparam("to"))
_INSERT_TASK = insert(_TASK)
_INSERT_LAUNCH = insert(_LAUNCH)
_INSERT_GATE = insert(_GATE)
_UPDATE_GATE = (
    update(_GATE)
    .where(_GATE.c.launch_id == bindparam("of_launch"), _GATE.c.key == bindparam("item"))
    .values(
        status=bindparam("to_status"),
        passed_at=bindparam("at"),
        passed_by=bindparam("by"),
        content_hash=bindparam("hash"),
        progress_done=bindparam("done"),
        progress_total=bindparam("total"),
        progress_needed=bindparam("needed"),
    )
)
# The instances of a multi-instance still open learn how many of theirs are done.
_UPDATE_INSTANCES_DONE = (
    update(_TASK)
    .where(
        _TASK.c.launch_id == bindparam("of_launch"),
        _TASK.c.bpmn_id == bindparam("bpmn"),
        _TASK.c.status == TaskStatus.READY.value,
        _TASK.c.instance_total.is_not(None),
    )
    .values(instance_done=bindparam("done"))
)
_DELETE_DRAFTS = delete(_DRAFT).where(_DRAFT.c.task_id == bindparam("task_id"))


def launch_row(row: RowMapping) -> LaunchRow:
    values = {name: row[name] for name in LaunchRow.__slots__}
    values["support_distribution"] = tuple(values["support_distribution"] or ())
    values["due_overrides"] = dict(values["due_overrides"] or {})
    values["waiting"] = tuple(values["waiting"] or ())
    return LaunchRow(**values)


def task_row(row: RowMapping) -> TaskRow:
    return TaskRow(**{name: row[name] for name in TaskRow.__slots__})


def gate_fact(row: RowMapping) -> GateFact:
    values = dict(row)
    values["status"] = GateItemStatus(values["status"])
    return GateFact(**values)


def read_launch(session: Session, launch_id: str) -> LaunchRow | None:
    found = session.connection().execute(_SELECT_LAUNCH, {"launch_id": launch_id}).mappings().first()
    return launch_row(found) if found is not None else None


def read_launch_with_state(session: Session, launch_id: str) -> tuple[LaunchRow, str] | None:
    found = (
        session.connection().execute(_SELECT_LAUNCH_WITH_STATE, {"launch_id": launch_id}).mappings().first()
    )
    return (launch_row(found), found["state"]) if found is not None else None


def read_task(session: Session, task_id: str) -> TaskRow | None:
    found = session.connection().execute(_SELECT_TASK, {"task_id": task_id}).mappings().first()
    return task_row(found) if found is not None else None


def read_ready_tasks(session: Session, launch_id: str) -> tuple[TaskRow, ...]:
    return tuple(
        task_row(r) for r in session.connection().execute(_SELECT_READY, {"launch_id": launch_id}).mappings()
    )


def read_gate_facts(session: Session, launch_id: str) -> tuple[GateFact, ...]:
    return tuple(
        gate_fact(r) for r in session.connection().execute(_SELECT_GATE, {"launch_id": launch_id}).mappings()
    )


def insert_launch(session: Session, launch: LaunchRow, *, state: str) -> None:
    values = asdict(launch)
    values.update(
        state=state,
        product_name_lower=launch.product_name.lower(),
        support_distribution=list(launch.support_distribution),
        due_overrides=dict(launch.due_overrides),
        waiting=[dict(w) for w in launch.waiting],
    )
    session.connection().execute(_INSERT_LAUNCH, values)


def insert_gate_facts(session: Session, launch_id: str, facts: Sequence[GateFact]) -> None:
    if facts:
        session.connection().execute(
            _INSERT_GATE, [{**asdict(f), "status": f.status.value, "launch_id": launch_id} for f in facts]
        )


def update_launch(
    session: Session, *, launch_id: str, expected_version: int, values: Mapping[str, Any]
) -> bool:
    """Write `values` only if the launch is still at `expected_version` (False: someone else wrote first)."""
    statement = (
        update(_LAUNCH)
        .where(_LAUNCH.c.id == launch_id, _LAUNCH.c.version == expected_version)
        .values(**values)
    )
    return _rowcount(session.connection().execute(statement)) == 1


def clear_timer_schedule(session: Session, *, launch_id: str, due_by: datetime) -> None:
    """Take a launch's failed timers off the schedule; a state stored since (with a later timer) keeps it."""
    session.connection().execute(
        update(_LAUNCH)
        .where(_LAUNCH.c.id == launch_id, _LAUNCH.c.next_timer_at <= due_by)
        .values(next_timer_at=None)
    )


def complete_task(
    session: Session, *, task_id: str, at: datetime, by: str, sequence: int, assignee: str
) -> bool:
    """Mark a ready task completed (False: it was no longer ready)."""
    result = session.connection().execute(
        _COMPLETE_TASK, {"task_id": task_id, "at": at, "by": by, "sequence": sequence, "assignee": assignee}
    )
    return _rowcount(result) == 1


def cancel_tasks(session: Session, task_ids: Iterable[str], *, at: datetime) -> None:
    for task_id in sorted(task_ids):
        session.connection().execute(_CANCEL_TASK, {"task_id": task_id, "at": at})


def set_assignee(session: Session, *, task_id: str, assignee: str | None) -> None:
    session.connection().execute(_SET_ASSIGNEE, {"task_id": task_id, "to": assignee})


def insert_tasks(session: Session, tasks: Sequence[NewTask]) -> None:
    if not tasks:
        return
    session.connection().execute(
        _INSERT_TASK,
        [{**asdict(t.row), "ladder_step": t.ladder_step, "remind_at": t.remind_at} for t in tasks],
    )


def update_gate_items(session: Session, launch_id: str, facts: Iterable[GateFact]) -> None:
    for fact in facts:
        session.connection().execute(
            _UPDATE_GATE,
            {
                "of_launch": launch_id,
                "item": fact.key,
                "to_status": fact.status.value,
                "at": fact.passed_at,
                "by": fact.passed_by,
                "hash": fact.content_hash,
                "done": fact.progress_done,
                "total": fact.progress_total,
                "needed": fact.progress_needed,
            },
        )


def update_instances_done(session: Session, launch_id: str, bpmn_id: str, done: int) -> None:
    """The ready instances of a multi-instance task now show `done` instances completed."""
    session.connection().execute(
        _UPDATE_INSTANCES_DONE, {"of_launch": launch_id, "bpmn": bpmn_id, "done": done}
    )


def delete_drafts(session: Session, task_id: str) -> None:
    session.connection().execute(_DELETE_DRAFTS, {"task_id": task_id})


def _rowcount(result: CursorResult[Any]) -> int:
    return result.rowcount
