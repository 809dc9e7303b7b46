"""Signed audit checkpoints and offline bundles (RELIABILITY G10), on SQLite and PostgreSQL.

The worker signs the chain heads when something changed and the interval has passed, and sends each
checkpoint through the outbox; `verify_audit` checks every chain, signature and root; a launch's bundle
verifies offline with the public key alone and detects truncation, reordering, deletion of the last
events before the checkpoint and a database rewritten after it."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Connection, Table, delete, select, text, update

from engine import DeliveryConfig, FixedClock, Worker, WorkflowEngine
from engine.audit import event_hash
from engine.audit_bundle import build_bundle, verify_bundle
from engine.audit_export import write_csv
from engine.audit_signing import Signer, generate_private_key_pem, load_public_key, public_key_base64
from engine.db.models import AuditChainRecord, AuditCheckpointRecord, AuditEventRecord, OutboxMessageRecord
from tests.engine import driver

# the ORM types __table__ as a FromClause; these are Tables (as in engine/db/audit.py)
EVENTS = cast(Table, AuditEventRecord.__table__)
CHAINS = cast(Table, AuditChainRecord.__table__)
CHECKPOINTS = cast(Table, AuditCheckpointRecord.__table__)


@pytest.fixture
def signer() -> Signer:
    return Signer.from_pem(generate_private_key_pem())


@pytest.fixture
def worker(engine: WorkflowEngine, signer: Signer) -> Worker:
    return Worker(engine, DeliveryConfig(), channels=[], signer=signer, checkpoint_every=timedelta(minutes=5))


@pytest.fixture
def launches(engine: WorkflowEngine) -> list[str]:
    first, second = driver.start(engine), driver.start(engine, product_name="Second")
    driver.advance(engine, first, "draft_proposal", "review_proposal")
    driver.complete(engine, second, "draft_proposal")
    return [first.id, second.id]


def _unguarded(engine: WorkflowEngine, edit: Callable[[Connection], object]) -> None:
    """What someone with write access to the database can do: switch the guards off, change rows."""
    with engine.db.db_engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for table in ("audit_event", "audit_checkpoint"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_insert_only"))
            conn.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_insert_only"))
        edit(conn)


def _rewrite_chain(
    conn: Connection, launch_id: str, change: dict[str, Any], *, keep: int | None = None
) -> None:
    """Change the chain's first event and rehash the whole chain consistently (optionally keeping only the
    first `keep` events), heads included: every check inside the database passes afterwards."""
    rows = [
        dict(r)
        for r in conn.execute(
            select(EVENTS).where(EVENTS.c.chain_id == launch_id).order_by(EVENTS.c.chain_position)
        ).mappings()
    ]
    if keep is not None:
        for row in rows[keep:]:
            conn.execute(delete(EVENTS).where(EVENTS.c.sequence == row["sequence"]))
        rows = rows[:keep]
    rows[0].update(change)
    prev = "0" * 64
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = event_hash(row)
        prev = row["hash"]
        conn.execute(update(EVENTS).where(EVENTS.c.sequence == row["sequence"]).values(**row))
    conn.execute(
        update(CHAINS).where(CHAINS.c.chain_id == launch_id).values(length=len(rows), head_hash=prev)
    )


def _bundle(engine: WorkflowEngine, launch_id: str | None) -> bytes:
    return build_bundle(engine.db, launch_id=launch_id, created_at="2030-03-04T09:00:00Z")


def _repack(data: bytes, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> bytes:
    """Change a bundle's events and make its CSV and manifest agree again, as a forger would."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    events = edit(json.loads(files["events.json"]))
    files["events.json"] = json.dumps(events).encode()
    files["events.csv"] = "".join(write_csv(events)).encode()
    manifest = json.loads(files.pop("manifest.json"))
    manifest["files"] = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_worker_checkpoints_when_due_and_changed_and_sends_it_out(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str], clock: FixedClock
) -> None:
    assert worker.tick().checkpoint == 1
    assert worker.tick().checkpoint is None  # nothing changed
    driver.start(engine, product_name="Third")
    assert worker.tick().checkpoint is None  # changed, but the interval has not passed
    clock.advance(timedelta(minutes=5))
    assert worker.tick().checkpoint == 2

    result = engine.verify_audit(public_key=signer.public)
    assert result.ok, result.message
    assert result.checkpoints == 2
    with engine.db.read() as session:
        rows = (
            session.execute(select(AuditCheckpointRecord).order_by(AuditCheckpointRecord.id)).scalars().all()
        )
        sent = (
            session.execute(
                select(OutboxMessageRecord)
                .where(OutboxMessageRecord.kind == "audit_checkpoint")
                .order_by(OutboxMessageRecord.id)
            )
            .scalars()
            .all()
        )
    assert [r.id for r in rows] == [0, 1, 2]
    assert rows[1].legacy_head == rows[0].legacy_head  # the first signed checkpoint repeats the old head
    assert rows[2].global_position == result.count
    assert [m.payload["checkpoint"]["payload"] for m in sent] == [rows[1].payload, rows[2].payload]
    assert all(m.payload["to"] == {"roles": ["auditor"]} for m in sent)


def test_worker_without_a_key_writes_no_checkpoint(engine: WorkflowEngine, launches: list[str]) -> None:
    assert Worker(engine, DeliveryConfig(), channels=[]).tick().checkpoint is None
    assert engine.verify_audit().checkpoints == 0


def test_verify_names_the_checkpoint_whose_signature_fails(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    other = Signer.from_pem(generate_private_key_pem())
    assert not engine.verify_audit(public_key=other.public).ok

    forged = other.sign("x")
    _unguarded(
        engine,
        lambda conn: conn.execute(update(CHECKPOINTS).where(CHECKPOINTS.c.id == 1).values(signature=forged)),
    )
    result = engine.verify_audit(public_key=signer.public)

    assert not result.ok
    assert result.broken_checkpoint == 1
    assert "signature does not verify" in result.message


def test_verify_names_the_checkpoint_when_the_database_was_rewritten(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    _unguarded(engine, lambda conn: _rewrite_chain(conn, launches[0], {"actor": "mallory"}))

    result = engine.verify_audit(public_key=signer.public)

    assert not result.ok
    assert result.broken_checkpoint == 1
    assert "root does not match the chains" in result.message


def test_launch_bundle_verifies_offline_with_the_public_key_alone(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    driver.start(engine, product_name="Later")  # another launch after the checkpoint changes nothing here
    public = load_public_key(public_key_base64(signer.public))

    result = verify_bundle(_bundle(engine, launches[0]), public)

    assert result.ok, result.message
    assert result.events == result.covered > 2
    with zipfile.ZipFile(io.BytesIO(_bundle(engine, launches[0]))) as archive:
        names = set(archive.namelist())
    assert {"manifest.json", "events.json", "events.csv", "checkpoint.json", "proof.json"} <= names
    assert "process/launch_gate.bpmn" in names and "forms/review_proposal-schema.json" in names


def test_launch_bundle_reports_events_after_the_checkpoint(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    engine.record_event(actor=driver.AUDITOR, action="audit.looked", detail={}, launch_id=launches[1])

    result = verify_bundle(_bundle(engine, launches[1]), signer.public)

    assert result.ok, result.message
    assert result.events == result.covered + 1
    assert "1 later, chained but not yet signed" in result.message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda events: events[:-1], "were removed or the bundle was cut short"),  # truncated
        (lambda events: [events[1], events[0], *events[2:]], "event #1 is missing"),  # reordered
        (lambda events: events[:2] + events[3:], "is missing"),  # one removed in the middle
    ],
    ids=["truncated", "reordered", "middle-removed"],
)
def test_launch_bundle_detects_a_forged_file(
    engine: WorkflowEngine,
    worker: Worker,
    signer: Signer,
    launches: list[str],
    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    expected: str,
) -> None:
    worker.tick()

    result = verify_bundle(_repack(_bundle(engine, launches[0]), edit), signer.public)

    assert not result.ok
    assert expected in result.message


def test_launch_bundle_detects_last_events_deleted_from_the_database(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    _unguarded(engine, lambda conn: _rewrite_chain(conn, launches[0], {}, keep=2))
    assert engine.verify_audit().ok is False  # the checkpoint no longer matches

    result = verify_bundle(_bundle(engine, launches[0]), signer.public)

    assert not result.ok
    assert "the signed checkpoint covers" in result.message and "the bundle has 2" in result.message


def test_launch_bundle_detects_a_rewritten_database(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    _unguarded(engine, lambda conn: _rewrite_chain(conn, launches[0], {"actor": "mallory"}))

    result = verify_bundle(_bundle(engine, launches[0]), signer.public)

    assert not result.ok
    assert "not the one the checkpoint signed" in result.message


def test_bundle_refused_without_a_checkpoint_or_with_another_key(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    assert "no signed checkpoint" in verify_bundle(_bundle(engine, launches[0]), signer.public).message
    worker.tick()
    other = Signer.from_pem(generate_private_key_pem())
    assert "signed with key" in verify_bundle(_bundle(engine, launches[0]), other.public).message


def test_full_bundle_verifies_and_detects_truncation(
    engine: WorkflowEngine, worker: Worker, signer: Signer, launches: list[str]
) -> None:
    worker.tick()
    data = _bundle(engine, None)

    assert verify_bundle(data, signer.public).ok
    cut = verify_bundle(_repack(data, lambda events: events[:5]), signer.public)
    assert not cut.ok and "cut short" in cut.message
