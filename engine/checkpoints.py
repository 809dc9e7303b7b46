"""Signed audit checkpoints: the Merkle root of every chain head and the number of events they cover,
signed with Ed25519 and sent out through the outbox, so a copy of the trail's state lives outside the
database. Written by the worker (`Worker.checkpoint`) at most once per interval, and only when a chain
changed; verified by `verify_all` (every chain, every signature, every root against the chains).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from engine import outbox
from engine.audit import ChainCheck, canonical_json, describe_chain
from engine.audit_merkle import Leaf, inclusion_proof, merkle_root
from engine.audit_signing import Signer, key_id, signature_ok
from engine.clock import format_utc
from engine.db import audit as audit_rows
from engine.db.session import Database
from engine.domain import AuditVerification

logger = logging.getLogger(__name__)

FORMAT = "launchgate-audit-checkpoint/1"
DEFAULT_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class CheckpointView:
    id: int
    created_at: datetime
    global_position: int
    chain_count: int
    root: str
    payload: str
    key_id: str | None
    signature: str | None

    def as_dict(self) -> dict[str, Any]:
        """What goes out (outbox, bundles): the signed text, its signature and the key's id."""
        return {"payload": self.payload, "signature": self.signature, "key_id": self.key_id}


def _view(row: Mapping[str, Any]) -> CheckpointView:
    return CheckpointView(**{name: row[name] for name in CheckpointView.__dataclass_fields__})


def payload_hash(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_checkpoint(
    db: Database,
    signer: Signer,
    *,
    now: datetime,
    interval: timedelta = DEFAULT_INTERVAL,
    send_to: Mapping[str, Any] | None = None,
    force: bool = False,
) -> CheckpointView | None:
    """Sign the chain heads if a chain changed and the last checkpoint is `interval` old (or `force`).
    One transaction: the changed chains are marked, the checkpoint row and its outbox message written."""
    with db.write() as session:
        latest = audit_rows.lock_latest_checkpoint(session)
        if latest is None:
            raise RuntimeError("the audit checkpoints are missing (checkpoint 0 comes with the migration)")
        signed_before = latest["signature"] is not None
        due = force or not signed_before or now >= latest["created_at"] + interval
        if not due or not audit_rows.has_unchecked_changes(session):
            return None
        changes = audit_rows.mark_checkpointed(session)
        leaves = audit_rows.checkpointed_heads(session)
        number = int(latest["id"]) + 1
        row = _checkpoint_row(latest, number, leaves, changes, signer, now=now)
        audit_rows.insert_checkpoint(session, row)
        view = _view(row)
        outbox.add_message(
            session,
            kind="audit_checkpoint",
            key=f"audit_checkpoint:{number}:{payload_hash(row['payload'])[:16]}",
            launch_id=None,
            task_id=None,
            payload={"checkpoint": view.as_dict(), "to": dict(send_to or {"roles": ["auditor"]})},
            now=now,
        )
    logger.info(
        "audit checkpoint %s: %s events in %s chains, root %s",
        number,
        row["global_position"],
        len(leaves),
        row["root"],
    )
    return view


def _checkpoint_row(
    latest: Mapping[str, Any],
    number: int,
    leaves: list[tuple[str, int, str]],
    changes: Mapping[str, tuple[int, str]],
    signer: Signer,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The signed checkpoint row after `latest`: its canonical payload, Merkle root and signature."""
    signed_before = latest["signature"] is not None
    body: dict[str, Any] = {
        "format": FORMAT,
        "id": number,
        "created_at": format_utc(now),
        "global_position": sum(length for _, length, _ in leaves),
        "chain_count": len(leaves),
        "root": merkle_root(leaves),
        "previous": payload_hash(str(latest["payload"])),
        "legacy_head": None if signed_before else latest["legacy_head"],
        "key_id": signer.key_id,
    }
    payload = canonical_json(body)
    row = {
        "id": number,
        "created_at": now,
        "global_position": body["global_position"],
        "chain_count": body["chain_count"],
        "root": body["root"],
        "changes": {chain: length for chain, (length, _) in sorted(changes.items())},
        "legacy_head": body["legacy_head"],
        "payload": payload,
        "key_id": signer.key_id,
        "signature": signer.sign(payload),
    }
    return row


def latest_with_proof(session: Session, chain_id: str) -> tuple[CheckpointView, dict[str, object]] | None:
    """The newest signed checkpoint and the inclusion proof of `chain_id`'s head in it (None: no signed
    checkpoint covers that chain yet). Call inside one read transaction (one snapshot)."""
    latest = audit_rows.latest_signed_checkpoint(session)
    if latest is None:
        return None
    leaves = audit_rows.checkpointed_heads(session)
    if chain_id not in {leaf[0] for leaf in leaves}:
        return None
    return _view(latest), inclusion_proof(leaves, chain_id)


# --------------------------------------------------------------------------------------------- verification


def _checkpoint_problem(number: int, count: int, message: str) -> AuditVerification:
    return AuditVerification(
        ok=False,
        count=count,
        head_hash=None,
        broken_checkpoint=number,
        message=f"checkpoint {number}: {message}",
    )


def _check_signed(
    row: Mapping[str, Any], public: Ed25519PublicKey | None, previous: str | None
) -> str | None:
    """What is wrong with one checkpoint's text and signature (None: nothing)."""
    try:
        body = json.loads(str(row["payload"]))
    except ValueError:
        return "its signed text is not JSON"
    if body.get("format") != FORMAT or body.get("id") != row["id"]:
        return "its signed text is not this checkpoint's"
    if (body.get("root"), body.get("global_position")) != (row["root"], row["global_position"]):
        return "its row does not match its signed text"
    if previous is not None and body.get("previous") != payload_hash(previous):
        return "it does not link to the checkpoint before it (one was removed or replaced)"
    if row["signature"] is None:
        return None if row["id"] == 0 else "it is not signed"
    if public is None:
        return None
    if body.get("key_id") != key_id(public):
        return f"it was signed with key {body.get('key_id')}, not with the key given ({key_id(public)})"
    if not signature_ok(public, str(row["payload"]), str(row["signature"])):
        return "its signature does not verify with the public key"
    return None


def verify_all(db: Database, public: Ed25519PublicKey | None) -> AuditVerification:
    """Every chain (in global order), every checkpoint's signature and link, and every checkpoint's root
    against the chains. The first problem found is named."""
    with db.read() as session:
        rows = audit_rows.checkpoints(session)
        wanted: dict[str, set[int]] = {}
        for row in rows:
            for chain, length in dict(row["changes"]).items():
                wanted.setdefault(str(chain), set()).add(int(length))
        check = ChainCheck(wanted=wanted)
        for event in audit_rows.iter_events(session):
            if not check.add(event):
                break
        if check.problem is None:
            check.compare_heads(audit_rows.chain_heads(session))
    if check.problem is not None:
        return check.problem
    return _verify_checkpoints(rows, check, public)


def _verify_checkpoints(
    rows: Sequence[Mapping[str, Any]], check: ChainCheck, public: Ed25519PublicKey | None
) -> AuditVerification:
    lengths: dict[str, int] = {}
    previous: str | None = None
    signed = 0
    for row in rows:
        problem = _check_signed(row, public, previous)
        if problem is not None:
            return _checkpoint_problem(int(row["id"]), check.count, problem)
        lengths.update({str(k): int(v) for k, v in dict(row["changes"]).items()})
        leaves: list[Leaf] = []
        for chain, length in lengths.items():
            head = check.kept.get((chain, length))
            if head is None:
                return _checkpoint_problem(
                    int(row["id"]),
                    check.count,
                    f"{describe_chain(chain)} had {length} events at this checkpoint; the chain has fewer",
                )
            leaves.append((chain, length, head))
        if merkle_root(leaves) != row["root"] or sum(lengths.values()) != row["global_position"]:
            return _checkpoint_problem(int(row["id"]), check.count, "its root does not match the chains")
        previous = str(row["payload"])
        signed += row["signature"] is not None
    result = check.result()
    return AuditVerification(ok=True, count=result.count, head_hash=result.head_hash, checkpoints=signed)
