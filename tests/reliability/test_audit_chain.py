"""The audit trail (RELIABILITY G7): hash-chained, insert-only at the database, verifiable online and
offline, and verification names the first broken sequence number. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from itertools import pairwise
from typing import Any, cast

import pytest
from sqlalchemy import Connection, Table, delete, exc, func, select, text, update

from engine import ConflictError, PermissionDeniedError, WorkflowEngine
from engine.audit import GENESIS_HASH, event_hash, record_fields, verify_events
from engine.audit_merkle import merkle_root
from engine.db.models import AuditChainRecord, AuditEventRecord
from tests.engine import driver

AUDIT = cast(Table, AuditEventRecord.__table__)  # the ORM types __table__ as a FromClause
_SQLITE_GUARDS = {
    verb: f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is insert-only'); END"
    for verb in ("UPDATE", "DELETE")
}


@pytest.fixture
def history(engine: WorkflowEngine) -> WorkflowEngine:
    """An engine whose audit chain holds a deploy, a start, completions, a denial and a conflict."""
    launch = driver.start(engine)
    draft = driver.open_task(launch, "draft_proposal")
    launch = driver.complete(engine, launch, "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    with pytest.raises(PermissionDeniedError):
        engine.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.OTHER_PM)
    with pytest.raises(ConflictError):
        engine.complete_task(task_id=draft.id, data=driver.form("draft_proposal"), actor=driver.PM)
    driver.complete(engine, launch, "review_proposal")
    return engine


def _rows(engine: WorkflowEngine) -> list[dict[str, Any]]:
    with engine.db.read() as session:
        query = select(AuditEventRecord).order_by(AuditEventRecord.sequence)
        return [record_fields(r) for r in session.execute(query).scalars()]


def _tamper(engine: WorkflowEngine, edit: Callable[[Connection], object]) -> None:
    """What a DBA with the keys could do: switch the insert-only guard off, change rows, switch it back
    on, all in one transaction."""
    with engine.db.db_engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for verb in _SQLITE_GUARDS:
                conn.execute(text(f"DROP TRIGGER audit_event_no_{verb.lower()}"))
            edit(conn)
            for ddl in _SQLITE_GUARDS.values():
                conn.execute(text(ddl))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_insert_only"))
            edit(conn)
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_insert_only"))


def _chains(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    chains: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        chains.setdefault(row["launch_id"] or "", []).append(row)
    return chains


def test_verify_audit_is_ok_and_each_launch_has_its_own_gap_free_chain(history: WorkflowEngine) -> None:
    rows = _rows(history)
    actions = [r["action"] for r in rows]
    assert {"process.deployed", "launch.started", "task.completed"} <= set(actions)
    assert {"task.complete_denied", "task.complete_conflict"} <= set(actions)

    result = history.verify_audit()

    assert result.ok, result.message
    assert result.broken_sequence is None and result.broken_position is None
    assert result.count == len(rows)
    sequences = [r["sequence"] for r in rows]
    assert sequences == sorted(set(sequences))  # one global order
    chains = _chains(rows)
    assert set(chains) >= {"", rows[-1]["launch_id"]}  # deploys have no launch; the rest is the launch's
    leaves = []
    for chain_id, events in chains.items():
        assert [e["chain_position"] for e in events] == list(range(1, len(events) + 1))
        assert events[0]["prev_hash"] == GENESIS_HASH
        for previous, row in pairwise(events):
            assert row["prev_hash"] == previous["hash"]
        leaves.append((chain_id, len(events), events[-1]["hash"]))
    assert result.head_hash == merkle_root(leaves)
    with history.db.read() as session:
        heads = {
            r.chain_id: (r.length, r.head_hash) for r in session.execute(select(AuditChainRecord)).scalars()
        }
    assert heads == {chain: (length, head) for chain, length, head in leaves}


@pytest.mark.parametrize(
    "statement",
    [
        update(AUDIT).where(AUDIT.c.sequence == 2).values(actor="mallory"),
        update(AUDIT).values(detail={"rewritten": True}),
        delete(AUDIT).where(AUDIT.c.sequence == 2),
        delete(AUDIT),
    ],
    ids=["update-one", "update-all", "delete-one", "delete-all"],
)
def test_audit_event_change_is_refused_by_the_database(history: WorkflowEngine, statement: Any) -> None:
    before = _rows(history)

    with pytest.raises(exc.DBAPIError) as caught, history.db.db_engine.begin() as conn:
        conn.execute(statement)

    assert "audit_event is insert-only" in str(caught.value)
    assert _rows(history) == before
    assert history.verify_audit().ok


def test_audit_event_truncate_is_refused_by_the_database(history: WorkflowEngine) -> None:
    before = _rows(history)
    # SQLite has no TRUNCATE; an unqualified DELETE is its truncate optimisation (triggers turn it off).
    statement = "DELETE FROM audit_event" if history.db.is_sqlite else "TRUNCATE audit_event"

    with (
        pytest.raises(exc.DBAPIError, match="audit_event is insert-only"),
        history.db.db_engine.begin() as conn,
    ):
        conn.execute(text(statement))

    assert _rows(history) == before


def test_audit_guard_is_back_after_tampering(history: WorkflowEngine) -> None:
    _tamper(history, lambda conn: None)

    with (
        pytest.raises(exc.DBAPIError, match="audit_event is insert-only"),
        history.db.db_engine.begin() as conn,
    ):
        conn.execute(update(AUDIT).values(actor="mallory"))


@pytest.mark.parametrize("field", ["actor", "detail", "after"])
def test_verify_audit_names_the_row_when_a_row_was_edited(history: WorkflowEngine, field: str) -> None:
    rows = _rows(history)
    target = next(r for r in rows[1:-1] if r["action"] == "task.completed")
    new_value = {"actor": "mallory", "detail": {"task": "forged"}, "after": {"decision": "approve"}}[field]
    assert target[field] != new_value
    _tamper(
        history,
        lambda conn: conn.execute(
            update(AUDIT).where(AUDIT.c.sequence == target["sequence"]).values({field: new_value})
        ),
    )

    result = history.verify_audit()

    assert not result.ok
    assert result.broken_sequence == target["sequence"]
    assert (result.broken_launch, result.broken_position) == (target["launch_id"], target["chain_position"])
    assert f"launch {target['launch_id']}, event #{target['chain_position']}" in result.message
    assert "altered" in result.message
    assert result.head_hash is None


def test_verify_audit_names_the_next_row_when_an_edited_row_was_rehashed(history: WorkflowEngine) -> None:
    rows = _rows(history)
    chain = _chains(rows)[rows[-1]["launch_id"]]
    target = dict(chain[1])
    target["actor"] = "mallory"
    forged_hash = event_hash(target)
    _tamper(
        history,
        lambda conn: conn.execute(
            update(AUDIT)
            .where(AUDIT.c.sequence == target["sequence"])
            .values(actor="mallory", hash=forged_hash)
        ),
    )

    result = history.verify_audit()

    assert not result.ok
    assert result.broken_sequence == chain[2]["sequence"]  # the next row of its chain no longer links to it
    assert result.broken_position == 3
    assert "does not link to the event before it" in result.message


@pytest.mark.parametrize("where", ["middle", "last"])
def test_verify_audit_names_launch_and_position_when_a_row_was_deleted(
    history: WorkflowEngine, where: str
) -> None:
    rows = _rows(history)
    chain = _chains(rows)[rows[-1]["launch_id"]]
    victim = chain[len(chain) // 2] if where == "middle" else chain[-1]
    _tamper(history, lambda conn: conn.execute(delete(AUDIT).where(AUDIT.c.sequence == victim["sequence"])))
    with history.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEventRecord)) == len(rows) - 1

    result = history.verify_audit()

    assert not result.ok
    assert (result.broken_launch, result.broken_position) == (victim["launch_id"], victim["chain_position"])
    assert f"launch {victim['launch_id']}, event #{victim['chain_position']} is missing" in result.message


def test_verify_events_checks_an_exported_chain_offline(history: WorkflowEngine) -> None:
    views = history.audit_events(actor=driver.AUDITOR, limit=10_000)
    exported = json.loads(json.dumps([record_fields(v) for v in views]))  # as read back from an export file
    assert len(exported) == len(_rows(history))

    result = verify_events(exported)

    assert result.ok, result.message
    assert result.count == len(exported)
    assert result == history.verify_audit()


def test_verify_events_checks_one_launch_of_an_export_on_its_own(history: WorkflowEngine) -> None:
    launch_id = _rows(history)[-1]["launch_id"]
    views = history.audit_events(actor=driver.AUDITOR, launch_id=launch_id, limit=10_000)
    exported = json.loads(json.dumps([record_fields(v) for v in views]))
    assert {e["launch_id"] for e in exported} == {launch_id}

    result = verify_events(exported)

    assert result.ok, result.message
    assert result.count == len(exported)
    reordered = [exported[1], exported[0], *exported[2:]]
    assert not verify_events(reordered).ok


def test_verify_events_detects_an_edit_in_an_exported_chain(history: WorkflowEngine) -> None:
    exported = json.loads(json.dumps([record_fields(v) for v in history.audit_events(actor=driver.AUDITOR)]))
    edited = copy.deepcopy(exported)
    edited[3]["detail"]["forged"] = True
    missing = exported[:4] + exported[5:]

    changed = verify_events(edited)
    gap = verify_events(missing)

    assert not changed.ok
    assert changed.broken_sequence == exported[3]["sequence"]
    assert f"event #{exported[3]['chain_position']} (sequence {exported[3]['sequence']})" in changed.message
    assert not gap.ok
    assert (gap.broken_launch or "", gap.broken_position) == (
        exported[4]["launch_id"] or "",
        exported[4]["chain_position"],
    )
    assert verify_events(exported).ok  # the untouched export still verifies
