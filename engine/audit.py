"""Append-only audit events in hash chains, one chain per launch (plus one for events with no launch).

Each event's hash is SHA-256 over a canonical JSON form of its fields, which include its position in its
chain and the hash of the event before it in that chain. Appending locks only that chain's row
(`engine.db.audit.claim_position`), so commands on different launches never wait on each other. An
edited, inserted, reordered or deleted row breaks its chain at a (launch, position) that verification
names; signed checkpoints (`engine.checkpoints`) carry the chain heads outside the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.audit_merkle import merkle_root
from engine.clock import format_utc
from engine.db import audit as audit_rows
from engine.db.audit import GENESIS_HASH, SYSTEM_CHAIN
from engine.db.models import AuditEventRecord
from engine.domain import Actor, AuditEventView, AuditVerification

logger = logging.getLogger(__name__)

__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "SYSTEM_CHAIN",
    "ChainCheck",
    "append_event",
    "chain_of",
    "describe_chain",
    "event_hash",
    "lock_chain",
    "record_fields",
    "to_view",
    "verify_chain",
    "verify_events",
]

HASHED_FIELDS = (
    "sequence",
    "chain_position",
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


def chain_of(launch_id: str | None) -> str:
    return launch_id if launch_id else SYSTEM_CHAIN


def describe_chain(chain_id: str) -> str:
    return f"launch {chain_id}" if chain_id else "the chain of events with no launch"


def lock_chain(session: Session, *, launch_id: str | None = None) -> None:
    """Lock one chain for the rest of the transaction (default: the chain of events with no launch, which
    process deploys use to take turns)."""
    audit_rows.lock_chain(session, chain_of(launch_id))


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
    """Append one event to its launch's chain inside the caller's transaction; returns its global sequence
    number. Call it last, just before commit: it locks the chain's row until the transaction ends."""
    session.flush()  # the ORM rows this event describes go first (foreign keys)
    chain_id = chain_of(launch_id)
    position, prev_hash, sequence = audit_rows.claim_position(session, chain_id)
    fields: dict[str, Any] = {
        "sequence": sequence,
        "chain_position": position,
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
    audit_rows.insert_event(session, fields, chain_id=chain_id)
    logger.info(
        "audit #%s (%s #%s) %s by %s task=%s",
        sequence,
        describe_chain(chain_id),
        position,
        action,
        actor.username,
        task_id,
    )
    return sequence


def to_view(record: AuditEventRecord) -> AuditEventView:
    return AuditEventView(**{name: getattr(record, name) for name in (*HASHED_FIELDS, "hash")})


def record_fields(record: AuditEventRecord | AuditEventView | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(record, Mapping):
        return {name: record.get(name) for name in (*HASHED_FIELDS, "hash")}
    return {name: getattr(record, name) for name in (*HASHED_FIELDS, "hash")}


@dataclass
class ChainCheck:
    """Walks events in global order and checks every chain they belong to; the first problem wins."""

    count: int = 0
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # chain → (length, head hash)
    problem: AuditVerification | None = None
    last_sequence: int = 0
    wanted: Mapping[str, set[int]] = field(default_factory=dict)  # positions whose hash to keep
    kept: dict[tuple[str, int], str] = field(default_factory=dict)

    def fail(self, chain_id: str, position: int, sequence: int | None, message: str) -> None:
        self.problem = AuditVerification(
            ok=False,
            count=self.count,
            head_hash=None,
            broken_sequence=sequence,
            broken_launch=chain_id or None,
            broken_position=position,
            message=message,
        )

    def add(self, event: Mapping[str, Any]) -> bool:
        """Check one event; False once a problem was found."""
        if self.problem is not None:
            return False
        chain_id = chain_of(event.get("launch_id"))
        where = describe_chain(chain_id)
        sequence, position = int(event["sequence"]), int(event["chain_position"])
        length, prev = self.heads.get(chain_id, (0, GENESIS_HASH))
        expected = length + 1
        if sequence <= self.last_sequence:
            self.fail(
                chain_id,
                position,
                sequence,
                f"{where}, event #{position} (sequence {sequence}) is "
                f"out of order: it comes after sequence {self.last_sequence}",
            )
        elif position > expected:
            self.fail(
                chain_id,
                expected,
                None,
                f"{where}, event #{expected} is missing "
                f"(the next one present is #{position}, sequence {sequence})",
            )
        elif position < expected:
            self.fail(
                chain_id,
                position,
                sequence,
                f"{where}, event #{position} (sequence {sequence}) appears twice or out of order",
            )
        elif event["prev_hash"] != prev:
            self.fail(
                chain_id,
                position,
                sequence,
                f"{where}, event #{position} (sequence {sequence}) does not link to the event before it",
            )
        elif event_hash(event) != event["hash"]:
            self.fail(
                chain_id,
                position,
                sequence,
                f"{where}, event #{position} (sequence {sequence}) "
                "was altered: its content does not match its hash",
            )
        if self.problem is not None:
            return False
        self.heads[chain_id] = (position, str(event["hash"]))
        self.last_sequence = sequence
        self.count += 1
        if position in self.wanted.get(chain_id, ()):
            self.kept[(chain_id, position)] = str(event["hash"])
        return True

    def compare_heads(self, recorded: Mapping[str, tuple[int, str]]) -> None:
        """The chain rows must agree with the events (a deleted last event leaves a longer head)."""
        for chain_id in sorted(recorded):
            length, head = recorded[chain_id]
            seen_length, seen_head = self.heads.get(chain_id, (0, GENESIS_HASH))
            where = describe_chain(chain_id)
            if seen_length < length:
                self.fail(
                    chain_id,
                    seen_length + 1,
                    None,
                    f"{where}, event #{seen_length + 1} is missing: the chain's head records {length} events",
                )
                return
            if (seen_length, seen_head) != (length, head) and length:
                self.fail(
                    chain_id, seen_length, None, f"{where}: the chain's head does not match its last event"
                )
                return

    def result(self) -> AuditVerification:
        if self.problem is not None:
            return self.problem
        leaves = [(chain, length, head) for chain, (length, head) in self.heads.items()]
        return AuditVerification(ok=True, count=self.count, head_hash=merkle_root(leaves))


def verify_events(
    events: Iterable[Mapping[str, Any]], *, heads: Mapping[str, tuple[int, str]] | None = None
) -> AuditVerification:
    """Verify events given as dicts in global order (from the database or from an export file). OK with
    the Merkle root of the chain heads as `head_hash`, or the first broken (launch, position)."""
    check = ChainCheck()
    for event in events:
        if not check.add(event):
            break
    if check.problem is None and heads is not None:
        check.compare_heads(heads)
    return check.result()


def verify_chain(session: Session) -> AuditVerification:
    """Every chain in the database, against the chain rows (checkpoints: `engine.checkpoints`)."""
    return verify_events(audit_rows.iter_events(session), heads=audit_rows.chain_heads(session))
