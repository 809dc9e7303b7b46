"""The outbox table's reads and writes. Every function runs on the caller's session (its transaction).

No rules here: when a message is due, retried or an incident is decided in engine/outbox.py. The
conditional updates return whether they matched the row (False: another worker holds it now).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.db.models import OutboxMessageRecord

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

_INSERT_MESSAGE = insert(cast(Table, OutboxMessageRecord.__table__))


def insert_message(
    session: Session,
    *,
    kind: str,
    key: str,
    launch_id: str | None,
    task_id: str | None,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    """A new pending message, due at `now`."""
    session.flush()  # the launch and task rows it refers to go first (foreign keys)
    session.connection().execute(
        _INSERT_MESSAGE,
        {
            "idempotency_key": key,
            "kind": kind,
            "launch_id": launch_id,
            "task_id": task_id,
            "payload": dict(payload),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "delivered_channels": "",
        },
    )


def due_messages(session: Session, *, now: datetime, limit: int, lock: bool) -> Sequence[OutboxMessageRecord]:
    """Up to `limit` pending messages due by `now` whose lease is free or expired, oldest due first.
    `lock`: take row locks, skipping rows another transaction holds (PostgreSQL's FOR UPDATE SKIP LOCKED)."""
    query = (
        select(OutboxMessageRecord)
        .where(
            OutboxMessageRecord.status == PENDING,
            OutboxMessageRecord.next_attempt_at <= now,
            or_(OutboxMessageRecord.locked_until.is_(None), OutboxMessageRecord.locked_until <= now),
        )
        .order_by(OutboxMessageRecord.next_attempt_at, OutboxMessageRecord.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).scalars().all()


def message_by_id(session: Session, message_id: int, *, lock: bool = False) -> OutboxMessageRecord | None:
    """The message, row-locked (FOR UPDATE) when `lock`."""
    query = select(OutboxMessageRecord).where(OutboxMessageRecord.id == message_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def failed_messages(session: Session, launch_id: str) -> Sequence[OutboxMessageRecord]:
    """The launch's incidents, in the order they failed."""
    return (
        session.execute(
            select(OutboxMessageRecord)
            .where(OutboxMessageRecord.launch_id == launch_id, OutboxMessageRecord.status == FAILED)
            .order_by(OutboxMessageRecord.failed_at, OutboxMessageRecord.id)
        )
        .scalars()
        .all()
    )


def extend_lease(
    session: Session, *, message_id: int, worker_id: str, now: datetime, until: datetime
) -> bool:
    """Move the lease to `until` if this worker still holds an unexpired lease on the pending message."""
    result = session.execute(
        update(OutboxMessageRecord)
        .where(
            OutboxMessageRecord.id == message_id,
            OutboxMessageRecord.locked_by == worker_id,
            OutboxMessageRecord.status == PENDING,
            OutboxMessageRecord.locked_until > now,
        )
        .values(locked_until=until)
    )
    return _rowcount(result) == 1


def update_held(session: Session, *, message_id: int, worker_id: str, values: Mapping[str, Any]) -> bool:
    """Write `values` to the message if it is still pending and held by this worker."""
    result = session.execute(
        update(OutboxMessageRecord)
        .where(
            OutboxMessageRecord.id == message_id,
            OutboxMessageRecord.locked_by == worker_id,
            OutboxMessageRecord.status == PENDING,
        )
        .values(**values)
    )
    return _rowcount(result) == 1


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
