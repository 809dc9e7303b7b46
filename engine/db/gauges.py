"""Counts for the operator's gauges (/metrics): launches by status, blocked launches, open tasks by role,
completed tasks, outbox messages pending and failed (incidents). Read with one grouped query per table,
answered by the status indexes."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db.models import LaunchRecord, OutboxMessageRecord, TaskRecord
from engine.db.session import Database


@dataclass(frozen=True)
class OperationalCounts:
    launches_by_status: dict[str, int] = field(default_factory=dict)
    blocked_launches: int = 0
    open_tasks_by_role: dict[str, int] = field(default_factory=dict)
    completed_tasks: int = 0
    outbox_by_status: dict[str, int] = field(default_factory=dict)


def operational_counts(session: Session) -> OperationalCounts:
    launch_rows = session.execute(select(LaunchRecord.status, func.count()).group_by(LaunchRecord.status))
    launches = {str(status): int(count) for status, count in launch_rows.all()}
    blocked = session.scalar(
        select(func.count())
        .select_from(LaunchRecord)
        .where(LaunchRecord.status == "active", LaunchRecord.blocked_by != "")
    )
    task_rows = session.execute(
        select(TaskRecord.status, TaskRecord.role, func.count()).group_by(TaskRecord.status, TaskRecord.role)
    )
    open_by_role: dict[str, int] = {}
    completed = 0
    for status, role, count in task_rows.all():
        if status == "ready":
            open_by_role[str(role)] = int(count)
        elif status == "completed":
            completed += int(count)
    outbox_rows = session.execute(
        select(OutboxMessageRecord.status, func.count()).group_by(OutboxMessageRecord.status)
    )
    outbox = {str(status): int(count) for status, count in outbox_rows.all()}
    return OperationalCounts(launches, int(blocked or 0), open_by_role, completed, outbox)


def read_operational_counts(database: Database) -> OperationalCounts:
    """The counts, read in one transaction."""
    with database.read() as session:
        return operational_counts(session)
