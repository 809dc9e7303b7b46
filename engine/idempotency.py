"""Idempotency keys of command requests: a retry with the same key (same user, same route) gets the first
answer back instead of running the command again.

1. `begin` reserves (username, route, key) with the request's fingerprint, in a transaction of its own.
   Someone else holds it: the first answer (a replay), or 409 while it is still running, or 409 when the
   same key came with a different request.
2. The command runs inside `pending(record_id)`: its own transaction (engine.commands.write) marks the
   reservation committed, with the launch, so "did it happen?" commits with the command itself.
3. `finish` stores the answer. If the process died between 2 and 3, a retry finds the reservation
   committed without an answer: a replay naming the launch (the caller answers with the launch as it is).
   If it died before 2, the reservation's lease runs out and a retry runs the command.
Keys are kept `ttl` (LAUNCHGATE_IDEMPOTENCY_TTL_HOURS) and purged by the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine.db import idempotency as rows
from engine.db.session import Database
from engine.errors import ConflictError

_PENDING: ContextVar[int | None] = ContextVar("launchgate_idempotency", default=None)
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class IdempotentReplay:
    """The first answer to this key: status and body, or (committed, no answer stored) the launch."""

    status_code: int | None
    body: str | None
    launch_id: str | None


class IdempotencyKeyReusedError(ConflictError):
    """The key was used for a different request (another body), or that request is still running."""


def begin(
    database: Database,
    *,
    username: str,
    route: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
) -> int | IdempotentReplay:
    """The id of a new reservation to run the command under, or the first answer."""
    values = {
        "username": username,
        "route": route,
        "key": key,
        "fingerprint": fingerprint,
        "committed": False,
        "locked_until": now + LEASE,
        "created_at": now,
        "expires_at": now + ttl,
    }
    with database.write() as session:
        record, inserted = rows.insert_or_find(session, values)
        if inserted and record is not None:
            return record.id
        if record is None:
            raise IdempotencyKeyReusedError(f"a request with Idempotency-Key {key!r} is still running")
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {key!r} was already used for a different request; use a new key"
            )
        if record.status_code is not None or record.committed:
            return IdempotentReplay(record.status_code, record.response_body, record.launch_id)
        if rows.take_over(session, record.id, expired_before=now, locked_until=now + LEASE):
            return record.id
    raise IdempotencyKeyReusedError(f"a request with Idempotency-Key {key!r} is still running")


@contextmanager
def pending(record_id: int) -> Iterator[None]:
    """Run a command under a reservation: its transaction marks the reservation committed."""
    token = _PENDING.set(record_id)
    try:
        yield
    finally:
        _PENDING.reset(token)


def mark_in(session: Session, launch_id: str) -> None:
    """Called inside a command's transaction (engine.commands.write)."""
    record_id = _PENDING.get()
    if record_id is not None:
        rows.mark_committed(session, record_id, launch_id)


def finish(database: Database, record_id: int, *, status_code: int, body: str) -> None:
    with database.write() as session:
        rows.finish(session, record_id, status_code=status_code, body=body)


def abandon(database: Database, record_id: int) -> None:
    """The request failed unexpectedly before its command committed: a retry may run it."""
    with database.write() as session:
        rows.delete_uncommitted(session, record_id)


def purge(database: Database, *, now: datetime) -> int:
    with database.write() as session:
        return rows.purge(session, now=now)
