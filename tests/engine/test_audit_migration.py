"""Migration 0007 (audit chains per launch) on data made by the release before it: the single chain is
verified, re-chained per launch, and checkpoint 0 records the old head; down and up again round-trips;
a broken old chain stops the migration with nothing rewritten. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from engine import Database, WorkflowEngine, upgrade_to_head
from engine.db.migrate import alembic_config, current_revision
from engine.db.models import AuditCheckpointRecord
from tests.engine import driver

PREVIOUS = "0006_inbox_indexes"
OLD_FIELDS = (
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


def _migrate(db_engine: Engine, verb: str, revision: str) -> None:
    config = alembic_config(db_engine)
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def _old_rows(db_engine: Engine) -> list[dict[str, Any]]:
    with db_engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {', '.join(OLD_FIELDS)}, hash FROM audit_event ORDER BY sequence"))
        out = []
        for row in rows.mappings():
            event = dict(row)
            for name in ("before", "after", "detail"):
                if isinstance(event[name], str):
                    event[name] = json.loads(event[name])
            out.append(event)
        return out


def _old_hash(event: dict[str, Any]) -> str:
    """The previous release's rule: one chain, SHA-256 of the canonical JSON of these fields."""
    payload = json.dumps(
        {k: event[k] for k in OLD_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@pytest.fixture
def old_release(engine: WorkflowEngine) -> WorkflowEngine:
    """Two launches with history and refusals, then the schema taken back to the previous release."""
    first, second = driver.start(engine), driver.start(engine, product_name="Second")
    driver.advance(engine, first, "draft_proposal", "review_proposal")
    driver.complete(engine, second, "draft_proposal")
    engine.record_event(actor=driver.AUDITOR, action="audit.exported", detail={"format": "csv"})
    _migrate(engine.db.db_engine, "downgrade", PREVIOUS)
    assert current_revision(engine.db.db_engine) == PREVIOUS
    return engine


def test_downgrade_leaves_one_valid_chain_as_the_previous_release_wrote_it(
    old_release: WorkflowEngine,
) -> None:
    rows = _old_rows(old_release.db.db_engine)
    assert [r["sequence"] for r in rows] == list(range(1, len(rows) + 1))
    prev = "0" * 64
    for row in rows:
        assert row["prev_hash"] == prev and _old_hash(row) == row["hash"]
        prev = row["hash"]
    with old_release.db.db_engine.connect() as conn:
        assert tuple(conn.execute(text("SELECT sequence, hash FROM audit_head")).one()) == (len(rows), prev)


def test_upgrade_rechains_per_launch_and_checkpoint_zero_keeps_the_old_head(
    old_release: WorkflowEngine,
) -> None:
    db_engine = old_release.db.db_engine
    old = _old_rows(db_engine)
    old_head = {"sequence": len(old), "hash": old[-1]["hash"]}

    upgrade_to_head(db_engine)

    engine = driver.restart(old_release)
    result = engine.verify_audit()
    assert result.ok, result.message
    assert result.count == len(old)
    events = engine.audit_events(actor=driver.AUDITOR, limit=1000)
    assert [e.sequence for e in events] == [r["sequence"] for r in old]  # the global order is kept
    assert [(e.action, e.actor, e.detail) for e in events] == [
        (r["action"], r["actor"], r["detail"]) for r in old
    ]
    by_chain: dict[str, list[int]] = {}
    for event in events:
        by_chain.setdefault(event.launch_id or "", []).append(event.chain_position)
    assert len(by_chain) == 3  # two launches and the events with no launch
    assert all(positions == list(range(1, len(positions) + 1)) for positions in by_chain.values())
    with engine.db.read() as session:
        zero = session.get(AuditCheckpointRecord, 0)
        assert zero is not None
        assert zero.legacy_head == old_head
        assert json.loads(zero.payload)["legacy_head"] == old_head
    # New events go on where the old ones stopped.
    later = driver.start(engine, product_name="After the migration")
    assert engine.audit_events(actor=driver.AUDITOR, launch_id=later.id)[0].sequence > len(old)
    assert engine.verify_audit().ok


def test_upgrade_refuses_a_broken_old_chain_and_rewrites_nothing(old_release: WorkflowEngine) -> None:
    db_engine = old_release.db.db_engine
    with db_engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE sequence = 3"))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_insert_only"))
            conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE sequence = 3"))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_insert_only"))
    before = _old_rows(db_engine)

    with pytest.raises(RuntimeError, match="broken at sequence 3"):
        upgrade_to_head(db_engine)

    assert current_revision(db_engine) == PREVIOUS
    assert _old_rows(db_engine) == before


def test_fresh_database_has_the_no_launch_chain_and_checkpoint_zero(database: Database) -> None:
    with database.db_engine.connect() as conn:
        assert conn.execute(text("SELECT chain_id, length FROM audit_chain")).all() == [("", 0)]
        zero = conn.execute(text("SELECT id, legacy_head FROM audit_checkpoint")).one()
    assert zero[0] == 0
