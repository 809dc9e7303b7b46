"""The outbox: messages written in the same transaction as the command that caused them (G2, G5), and
the bookkeeping of their delivery by the worker.

A message's life: `pending` → (claimed by a worker with a lease) → `delivered`; or, after its last
attempt, `failed` (an incident, shown on the launch page and in the API, retried by an admin).

- Claiming takes due rows whose lease is free or expired, counts the attempt and sets `locked_until`.
  On PostgreSQL it is `SELECT … FOR UPDATE SKIP LOCKED`, so several workers never take the same row; on
  SQLite the write transaction (BEGIN IMMEDIATE) makes the claim atomic.
- A worker that dies mid-delivery leaves its lease; once it expires another worker delivers the message
  again (at least once). Each message keeps its idempotency key for every attempt, so receivers can
  drop a repeat.
- Channels (e-mail, webhook) are recorded one by one as they succeed, so a retry never repeats a
  channel that already went through.
- Finishing a delivery only touches the row while the same worker still holds it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine import audit
from engine.db import outbox as rows
from engine.db.models import OutboxMessageRecord
from engine.db.outbox import DELIVERED, FAILED, PENDING
from engine.db.session import Database
from engine.domain import Actor, view_from
from engine.errors import ConflictError, NotFoundError
from engine.scheduling import WORKER_ACTOR

logger = logging.getLogger(__name__)

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "OutboxMessageView",
    "RetryPolicy",
    "add_message",
    "claim",
    "finish_delivered",
    "finish_failed",
    "incidents",
    "record_channel",
    "renew_lease",
    "retry",
    "to_view",
]

MAX_ERROR = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a message is tried.

    The wait after the n-th failed attempt is `backoff · 2^(n-1)`, capped at `max_backoff_seconds`, less a
    random part of up to `jitter` of it (so the workers that failed together do not all retry at the same
    second). It never exceeds the cap, whatever the attempt number."""

    max_attempts: int = 5
    backoff_seconds: float = 30.0
    lease_seconds: float = 120.0
    max_backoff_seconds: float = 3600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff_seconds < 0 or self.lease_seconds <= 0:
            raise ValueError("max_attempts >= 1, backoff_seconds >= 0 and lease_seconds > 0 are required")
        if self.max_backoff_seconds < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("max_backoff_seconds >= 0 and 0 <= jitter <= 1 are required")

    def delay(self, attempts: int, *, draw: Callable[[], float] = random.random) -> timedelta:
        """The wait after the `attempts`-th failed attempt. `draw` gives a number in [0, 1)."""
        exponent = min(max(0, attempts - 1), _MAX_EXPONENT)  # 2^62 · any backoff is far past any cap
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * float(2**exponent))
        return timedelta(seconds=ceiling * (1 - self.jitter * draw()))


_MAX_EXPONENT = 62


@dataclass(frozen=True)
class OutboxMessageView:
    id: int
    idempotency_key: str
    kind: str
    launch_id: str | None
    task_id: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    delivered_channels: frozenset[str] = frozenset()
    payload: dict[str, Any] = field(default_factory=dict)


def add_message(
    session: Session,
    *,
    kind: str,
    key: str,
    launch_id: str | None,
    task_id: str | None,
    payload: Mapping[str, Any],
    now: datetime,
) -> None:
    """Queue a message inside the caller's transaction; it is delivered only if that transaction commits."""
    rows.insert_message(
        session, kind=kind, key=key, launch_id=launch_id, task_id=task_id, payload=payload, now=now
    )


def claim(
    database: Database, *, now: datetime, worker_id: str, policy: RetryPolicy, limit: int
) -> list[OutboxMessageView]:
    """Take up to `limit` due messages for this worker until `now + lease`; each claim is an attempt."""
    with database.write() as session:
        due = rows.due_messages(session, now=now, limit=limit, lock=not database.is_sqlite)
        lease = now + timedelta(seconds=policy.lease_seconds)
        claimed = []
        for row in due:
            if row.locked_until is not None:
                logger.warning(
                    "outbox message %s: the lease of %s expired; delivering again", row.id, row.locked_by
                )
                if row.attempts >= policy.max_attempts:
                    # Every attempt so far died with its worker: an incident, not an endless retry (G6).
                    _fail_abandoned(session, row, now=now)
                    continue
            row.attempts += 1
            row.locked_until = lease
            row.locked_by = worker_id
            claimed.append(row)
        session.flush()
        return [to_view(r) for r in claimed]


def _fail_abandoned(session: Session, row: OutboxMessageRecord, *, now: datetime) -> None:
    row.status = FAILED
    row.failed_at = now
    row.locked_until = None
    row.last_error = "every attempt ended with its worker (crash or kill) before finishing"
    _audit_incident(session, row, error=row.last_error, now=now)


def _audit_incident(
    session: Session, message: OutboxMessageRecord | OutboxMessageView, *, error: str, now: datetime
) -> None:
    """A message became an incident: one `outbox.failed` audit row, by the worker."""
    audit.append_event(
        session,
        actor=WORKER_ACTOR,
        action="outbox.failed",
        at=now,
        launch_id=message.launch_id,
        task_id=message.task_id,
        detail={"message": message.id, "kind": message.kind, "attempts": message.attempts, "error": error},
    )


def renew_lease(
    database: Database, *, message_id: int, worker_id: str, now: datetime, policy: RetryPolicy
) -> bool:
    """Extend our lease right before sending; False when it expired and another worker may hold the
    message (then we must not send)."""
    with database.write() as session:
        return rows.extend_lease(
            session,
            message_id=message_id,
            worker_id=worker_id,
            now=now,
            until=now + timedelta(seconds=policy.lease_seconds),
        )


def record_channel(database: Database, *, message_id: int, worker_id: str, channel: str) -> None:
    """Remember that one channel of a message went through (so no retry repeats it)."""
    with database.write() as session:
        row = rows.message_by_id(session, message_id)
        if row is None or row.locked_by != worker_id:
            return
        done = {c for c in row.delivered_channels.split(",") if c} | {channel}
        row.delivered_channels = ",".join(sorted(done))


def finish_delivered(database: Database, *, message_id: int, worker_id: str, now: datetime) -> bool:
    with database.write() as session:
        return rows.update_held(
            session,
            message_id=message_id,
            worker_id=worker_id,
            values={"status": DELIVERED, "delivered_at": now, "locked_until": None, "last_error": None},
        )


def finish_failed(
    database: Database,
    *,
    message: OutboxMessageView,
    worker_id: str,
    now: datetime,
    error: str,
    policy: RetryPolicy,
    permanent: bool,
) -> bool:
    """Record a failed attempt: try again after the backoff, or, after the last attempt (or an error no
    retry can fix), make it an incident, audited as `outbox.failed`. True when it became an incident."""
    incident = permanent or message.attempts >= policy.max_attempts
    values: dict[str, Any] = {"last_error": error[:MAX_ERROR], "locked_until": None}
    if incident:
        values.update(status=FAILED, failed_at=now)
    else:
        values["next_attempt_at"] = now + policy.delay(message.attempts)
    with database.write() as session:
        if not rows.update_held(session, message_id=message.id, worker_id=worker_id, values=values):
            return False
        if incident:
            _audit_incident(session, message, error=error[:500], now=now)
    return incident


def incidents(session: Session, *, launch_id: str) -> list[OutboxMessageView]:
    return [to_view(r) for r in rows.failed_messages(session, launch_id)]


def retry(database: Database, *, message_id: int, actor: Actor, now: datetime) -> OutboxMessageView:
    """Start a message's attempts again, due now (an incident, or a pending message sent early).
    Channels already delivered stay delivered. Audited as `outbox.retried`."""
    with database.write() as session:
        row = rows.message_by_id(session, message_id, lock=not database.is_sqlite)
        if row is None:
            raise NotFoundError(f"message {message_id} does not exist")
        if row.status == DELIVERED:
            raise ConflictError(f"message {message_id} was already delivered")
        if row.status == PENDING and row.locked_until is not None and row.locked_until > now:
            raise ConflictError(f"message {message_id} is being delivered right now")
        before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
        row.status = PENDING
        row.attempts = 0
        row.next_attempt_at = now
        row.failed_at = None
        row.locked_until = None
        audit.append_event(
            session,
            actor=actor,
            action="outbox.retried",
            at=now,
            launch_id=row.launch_id,
            task_id=row.task_id,
            before=before,
            after={"status": PENDING, "attempts": 0},
            detail={"message": row.id, "kind": row.kind},
        )
        session.flush()
        return to_view(row)


def to_view(record: OutboxMessageRecord) -> OutboxMessageView:
    return view_from(
        OutboxMessageView,
        record,
        delivered_channels=frozenset(c for c in (record.delivered_channels or "").split(",") if c),
        payload=dict(record.payload or {}),
    )
