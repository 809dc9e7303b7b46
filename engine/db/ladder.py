"""The reminder ladder's reads over the task index (engine/reminders.py decides what a step does)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.models import TaskRecord
from engine.domain import TaskStatus


def due_task_ids(session: Session, *, now: datetime, limit: int) -> Sequence[str]:
    """Up to `limit` ready tasks whose next ladder step is due by `now`, the most overdue first."""
    return (
        session.execute(
            select(TaskRecord.id)
            .where(TaskRecord.status == TaskStatus.READY.value, TaskRecord.remind_at <= now)
            .order_by(TaskRecord.remind_at, TaskRecord.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def task_due_for_step(session: Session, task_id: str, *, now: datetime, lock: bool) -> TaskRecord | None:
    """The task if it is still ready with a step due by `now`. `lock`: row-lock it, or None when another
    transaction holds it (PostgreSQL's FOR UPDATE SKIP LOCKED)."""
    query = select(TaskRecord).where(
        TaskRecord.id == task_id,
        TaskRecord.status == TaskStatus.READY.value,
        TaskRecord.remind_at <= now,
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).scalar_one_or_none()
