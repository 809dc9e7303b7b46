"""The SQL of idempotency keys (engine.idempotency has the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db.models import IdempotencyKeyRecord


def insert_or_find(session: Session, values: dict[str, Any]) -> tuple[IdempotencyKeyRecord | None, bool]:
    """(the row, True) when this call inserted it; (the existing row or None when it is not visible yet,
    False) when another request holds the same (username, route, key)."""
    try:
        with session.begin_nested():
            record = IdempotencyKeyRecord(**values)
            session.add(record)
            session.flush()
        return record, True
    except IntegrityError:
        pass
    found = session.scalars(
        select(IdempotencyKeyRecord).where(
            IdempotencyKeyRecord.username == values["username"],
            IdempotencyKeyRecord.route == values["route"],
            IdempotencyKeyRecord.key == values["key"],
        )
    ).first()
    return found, False


def take_over(session: Session, record_id: int, *, expired_before: datetime, locked_until: datetime) -> bool:
    """Take an abandoned, uncommitted reservation whose lease ran out (the request that held it died)."""
    result = session.execute(
        update(IdempotencyKeyRecord)
        .where(
            IdempotencyKeyRecord.id == record_id,
            IdempotencyKeyRecord.committed.is_(False),
            IdempotencyKeyRecord.locked_until <= expired_before,
        )
        .values(locked_until=locked_until)
    )
    return bool(getattr(result, "rowcount", 0))


def mark_committed(session: Session, record_id: int, launch_id: str) -> None:
    session.execute(
        update(IdempotencyKeyRecord)
        .where(IdempotencyKeyRecord.id == record_id)
        .values(committed=True, launch_id=launch_id)
    )


def finish(session: Session, record_id: int, *, status_code: int, body: str) -> None:
    session.execute(
        update(IdempotencyKeyRecord)
        .where(IdempotencyKeyRecord.id == record_id)
        .values(status_code=status_code, response_body=body)
    )


def delete_uncommitted(session: Session, record_id: int) -> None:
    session.execute(
        delete(IdempotencyKeyRecord).where(
            IdempotencyKeyRecord.id == record_id, IdempotencyKeyRecord.committed.is_(False)
        )
    )


def purge(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(IdempotencyKeyRecord).where(IdempotencyKeyRecord.expires_at <= now))
    return int(getattr(result, "rowcount", 0))
