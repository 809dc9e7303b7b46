"""Append-only, hash-chained audit events.

Each event's hash is SHA-256 over a canonical JSON form of its fields and the previous event's hash, so an
edited, inserted or deleted row breaks the chain at a sequence number that `verify_chain` names. Appending
locks the single chain-head row, which keeps the chain linear across server processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.clock import format_utc
from engine.db.models import AuditEventRecord, AuditHeadRecord
from engine.domain import Actor, AuditEventView, AuditVerification

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor",
    "role",
    "action",
    "launch_id",
    "task_id",
    "request_id",
    "before",
    "after",
    "detail",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(fields: Mapping[str, Any]) -> str:
    payload = canonical_json({name: fields.get(name) for name in HASHED_FIELDS})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_HEAD = cast(Table, AuditHeadRecord.__table__)
_EVENT = cast(Table, AuditEventRecord.__table__)
_LOCK_HEAD = select(_HEAD.c.sequence, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_EVENT = insert(_EVENT)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(sequence=bindparam("new_sequence"), hash=bindparam("new_hash"))
)


def lock_chain(session: Session) -> tuple[int, str]:
    """Lock the chain head for the rest of the transaction (a row lock on PostgreSQL; SQLite's write
    transactions are already exclusive). Returns the head's sequence number and hash."""
    sequence, head_hash = session.connection().execute(_LOCK_HEAD).one()
    return int(sequence), str(head_hash)


def append_event(
    session: Session,
    *,
    actor: Actor,
    action: str,
    at: datetime,
    launch_id: str | None = None,
    task_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction and return its sequence number. Call it last, just
    before commit: it locks the chain head until the transaction ends."""
    session.flush()  # the ORM rows this event describes go first (foreign keys)
    sequence, prev_hash = lock_chain(session)
    fields: dict[str, Any] = {
        "sequence": sequence + 1,
        "occurred_at": format_utc(at),
        "actor": actor.username,
        "role": actor.primary_role,
        "action": action,
        "launch_id": launch_id,
        "task_id": task_id,
        "request_id": actor.request_id,
        "before": dict(before) if before is not None else None,
        "after": dict(after) if after is not None else None,
        "detail": dict(detail or {}),
        "prev_hash": prev_hash,
    }
    # Normalise through JSON so the hash covers exactly what the database gives back.
    fields = json.loads(canonical_json(fields))
    fields["hash"] = event_hash(fields)
    conn = session.connection()
    conn.execute(_INSERT_EVENT, fields)
    conn.execute(_MOVE_HEAD, {"new_sequence": fields["sequence"], "new_hash": fields["hash"]})
    logger.info(
        "audit #%s %s by %s launch=%s task=%s", fields["sequence"], action, actor.username, launch_id, task_id
    )
    return int(fields["sequence"])


def to_view(record: AuditEventRecord) -> AuditEventView:
    return AuditEventView(
        sequence=record.sequence,
        occurred_at=record.occurred_at,
        actor=record.actor,
        role=record.role,
        action=record.action,
        launch_id=record.launch_id,
        task_id=record.task_id,
        request_id=record.request_id,
        before=record.before,
        after=record.after,
        detail=record.detail,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


def record_fields(record: AuditEventRecord | AuditEventView) -> dict[str, Any]:
    return {name: getattr(record, name) for name in (*HASHED_FIELDS, "hash")}


def verify_events(
    events: Iterable[Mapping[str, Any]], *, head_sequence: int | None = None, head_hash: str | None = None
) -> AuditVerification:
    """Verify a chain given as dicts in sequence order (from the database or from an export file)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in events:
        seq = int(event["sequence"])
        if seq != expected_seq:
            return AuditVerification(
                ok=False,
                count=count,
                head_hash=None,
                broken_sequence=expected_seq,
                message=f"event #{expected_seq} is missing (next present is #{seq})",
            )
        if event["prev_hash"] != expected_prev:
            return AuditVerification(
                ok=False,
                count=count,
                head_hash=None,
                broken_sequence=seq,
                message=f"event #{seq} does not link to the event before it",
            )
        if event_hash(event) != event["hash"]:
            return AuditVerification(
                ok=False,
                count=count,
                head_hash=None,
                broken_sequence=seq,
                message=f"event #{seq} was altered: its content does not match its hash",
            )
        expected_prev = event["hash"]
        expected_seq += 1
        count += 1
    if head_sequence is not None and head_sequence != count:
        missing = count + 1
        return AuditVerification(
            ok=False,
            count=count,
            head_hash=None,
            broken_sequence=missing,
            message=f"event #{missing} is missing: the chain head records {head_sequence} events",
        )
    if head_hash is not None and count and head_hash != expected_prev:
        return AuditVerification(
            ok=False, count=count, head_hash=None, broken_sequence=count, message="chain head does not match"
        )
    return AuditVerification(ok=True, count=count, head_hash=expected_prev if count else GENESIS_HASH)


def iter_events(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    last = 0
    while True:
        rows = (
            session.execute(
                select(AuditEventRecord)
                .where(AuditEventRecord.sequence > last)
                .order_by(AuditEventRecord.sequence)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield record_fields(row)
        last = rows[-1].sequence


def verify_chain(session: Session) -> AuditVerification:
    head = session.execute(select(AuditHeadRecord).where(AuditHeadRecord.id == 1)).scalar_one()
    return verify_events(iter_events(session), head_sequence=head.sequence, head_hash=head.hash)
