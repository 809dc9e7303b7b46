"""Audit chains per launch, checkpoints, no global head row.

Upgrade: the single chain of the earlier releases is verified first (a broken chain stops the migration
with the sequence number it breaks at: nothing is rewritten); then every event is re-chained into its
launch's chain (or the chain of events with no launch), `audit_chain` gets one row per chain, and
checkpoint 0 records the old chain's head (sequence and hash), which the first signed checkpoint
repeats, so a proof made of the old head still leads to a signed statement. `audit_head` goes; on
PostgreSQL the global order comes from the sequence `audit_event_sequence` from now on.

Downgrade: the chains are verified, then every event is put back into one chain in sequence order (the
sequence renumbered 1…N where PostgreSQL left gaps) and `audit_head` restored.

The hash rules of both formats are written out here, frozen, so later changes to engine.audit cannot
change what this migration does.

Revision ID: 0007_audit_chains
Revises: 0006_inbox_indexes
Create Date: 2026-12-01
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.db.models import UTCDateTime

revision = "0007_audit_chains"
down_revision = "0006_inbox_indexes"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OLD_FIELDS = (
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
_NEW_FIELDS = (
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
_JSON = ("before", "after", "detail")


def _hash(event: dict[str, Any], fields: tuple[str, ...]) -> str:
    payload = json.dumps(
        {name: event.get(name) for name in fields},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _leaf(chain_id: str, length: int, head: str) -> bytes:
    data = json.dumps([chain_id, length, head], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + data.encode("utf-8")).digest()


def _root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + _root(hashes[:k]) + _root(hashes[k:])).digest()


def _events(conn: sa.Connection, columns: str) -> list[dict[str, Any]]:
    # Column names come from the constants above, never from input.
    rows = conn.execute(sa.text(f"SELECT {columns} FROM audit_event ORDER BY sequence")).mappings()  # noqa: S608
    events = []
    for row in rows:
        event = dict(row)
        for name in _JSON:  # SQLite hands JSON back as text through a plain text() query
            if isinstance(event.get(name), str):
                event[name] = json.loads(event[name])
        events.append(event)
    return events


def _drop_guards(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb}")
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_insert_only")


def _restore_guards(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is insert-only'); END"
            )
    else:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_insert_only")


def _verify_old_chain(events: list[dict[str, Any]], head: tuple[int, str]) -> None:
    prev = GENESIS
    for number, event in enumerate(events, start=1):
        if event["sequence"] != number:
            raise RuntimeError(f"audit chain broken at sequence {number}: event #{number} is missing")
        if event["prev_hash"] != prev or _hash(event, _OLD_FIELDS) != event["hash"]:
            raise RuntimeError(f"audit chain broken at sequence {number}: refusing to re-chain it")
        prev = event["hash"]
    if head != (len(events), prev if events else GENESIS):
        raise RuntimeError(f"audit chain head does not match its {len(events)} events: refusing to re-chain")


def upgrade() -> None:
    conn = op.get_bind()
    _create_chain_tables()
    head_row = conn.execute(sa.text("SELECT sequence, hash FROM audit_head WHERE id = 1")).one()
    old_columns = ", ".join((*_OLD_FIELDS, "hash"))
    events = _events(conn, old_columns)
    _verify_old_chain(events, (int(head_row[0]), str(head_row[1])))
    legacy = {"sequence": int(head_row[0]), "hash": str(head_row[1])}

    op.add_column("audit_event", sa.Column("chain_id", sa.String(36), nullable=False, server_default=""))
    op.add_column("audit_event", sa.Column("chain_position", _BIGINT, nullable=False, server_default="0"))
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event ALTER COLUMN chain_id DROP DEFAULT")
        op.execute("ALTER TABLE audit_event ALTER COLUMN chain_position DROP DEFAULT")
    heads = _rechain_events(conn, events)
    op.create_index("uq_audit_chain_position", "audit_event", ["chain_id", "chain_position"], unique=True)
    _insert_chain_rows(conn, heads)
    _insert_checkpoint_zero(conn, legacy)
    op.drop_table("audit_head")
    if conn.dialect.name == "postgresql":
        start = (events[-1]["sequence"] + 1) if events else 1
        op.execute(f"CREATE SEQUENCE audit_event_sequence AS BIGINT START WITH {int(start)}")
    _guard_checkpoints(conn)


def _create_chain_tables() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("chain_id", sa.String(36), primary_key=True),
        sa.Column("length", _BIGINT, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("checkpointed_length", _BIGINT, nullable=False),
        sa.Column("checkpointed_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("global_position", _BIGINT, nullable=False),
        sa.Column("chain_count", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("legacy_head", sa.JSON(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("signature", sa.String(200), nullable=True),
    )


def _rechain_events(conn: sa.Connection, events: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """Link every event to the previous event of its launch; returns each chain's (length, head hash)."""
    heads: dict[str, tuple[int, str]] = {}
    updates = []
    for event in events:
        chain_id = event["launch_id"] or ""
        length, prev = heads.get(chain_id, (0, GENESIS))
        event["chain_position"] = length + 1
        event["prev_hash"] = prev
        event["hash"] = _hash(event, _NEW_FIELDS)
        heads[chain_id] = (length + 1, event["hash"])
        updates.append(
            {"s": event["sequence"], "c": chain_id, "p": length + 1, "ph": prev, "h": event["hash"]}
        )
    _drop_guards(conn)
    if updates:
        conn.execute(
            sa.text(
                "UPDATE audit_event SET chain_id = :c, chain_position = :p, prev_hash = :ph, hash = :h "
                "WHERE sequence = :s"
            ),
            updates,
        )
    _restore_guards(conn)
    return heads


def _insert_chain_rows(conn: sa.Connection, heads: dict[str, tuple[int, str]]) -> None:
    chain_rows = [{"c": chain, "n": length, "h": head} for chain, (length, head) in sorted(heads.items())]
    if "" not in heads:
        chain_rows.append({"c": "", "n": 0, "h": GENESIS})
    conn.execute(
        sa.text(
            "INSERT INTO audit_chain (chain_id, length, head_hash, checkpointed_length, checkpointed_hash) "
            "VALUES (:c, :n, :h, 0, :g)"
        ),
        [{**row, "g": GENESIS} for row in chain_rows],
    )


def _insert_checkpoint_zero(conn: sa.Connection, legacy: dict[str, Any]) -> None:
    created = datetime.now(UTC).replace(microsecond=0)
    root = _root([]).hex()
    payload = json.dumps(
        {
            "format": "launchgate-audit-checkpoint/1",
            "id": 0,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "global_position": 0,
            "chain_count": 0,
            "root": root,
            "previous": None,
            "legacy_head": legacy,
            "key_id": None,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    conn.execute(
        sa.text(
            "INSERT INTO audit_checkpoint (id, created_at, global_position, chain_count, root, changes, "
            "legacy_head, payload, key_id, signature) VALUES (0, :at, 0, 0, :root, :changes, :legacy, "
            ":payload, NULL, NULL)"
        ).bindparams(
            sa.bindparam("at", type_=UTCDateTime()),
            sa.bindparam("changes", type_=sa.JSON()),
            sa.bindparam("legacy", type_=sa.JSON()),
        ),
        {"at": created, "root": root, "changes": {}, "legacy": legacy, "payload": payload},
    )


def _guard_checkpoints(conn: sa.Connection) -> None:
    """Checkpoints are insert-only too."""
    if conn.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoint_no_{verb.lower()} BEFORE {verb} ON audit_checkpoint "
                "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is insert-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_checkpoint_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_checkpoint is insert-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_checkpoint_insert_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoint "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_insert_only()"
    )


def _verify_chains(events: list[dict[str, Any]]) -> None:
    heads: dict[str, tuple[int, str]] = {}
    for event in events:
        chain_id = event["chain_id"]
        length, prev = heads.get(chain_id, (0, GENESIS))
        if (
            event["chain_position"] != length + 1
            or event["prev_hash"] != prev
            or _hash(event, _NEW_FIELDS) != event["hash"]
        ):
            raise RuntimeError(
                f"audit chain {chain_id or '(no launch)'} broken at position {length + 1}: refusing to "
                "re-chain it"
            )
        heads[chain_id] = (length + 1, event["hash"])


def downgrade() -> None:
    conn = op.get_bind()
    events = _events(conn, ", ".join(("chain_id", *_NEW_FIELDS, "hash")))
    _verify_chains(events)
    if conn.dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_checkpoint_no_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_insert_only ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_insert_only()")
        op.execute("DROP SEQUENCE IF EXISTS audit_event_sequence")
    op.drop_index("uq_audit_chain_position", table_name="audit_event")
    _drop_guards(conn)
    prev = GENESIS
    for number, event in enumerate(events, start=1):
        old = event["sequence"]
        event["sequence"] = number
        event["prev_hash"] = prev
        event["hash"] = _hash(event, _OLD_FIELDS)
        prev = event["hash"]
        conn.execute(
            sa.text("UPDATE audit_event SET sequence = :n, prev_hash = :ph, hash = :h WHERE sequence = :s"),
            {"n": number, "ph": event["prev_hash"], "h": event["hash"], "s": old},
        )
    op.execute("ALTER TABLE audit_event DROP COLUMN chain_position")
    op.execute("ALTER TABLE audit_event DROP COLUMN chain_id")
    _restore_guards(conn)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sequence", _BIGINT, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    conn.execute(
        sa.text("INSERT INTO audit_head (id, sequence, hash) VALUES (1, :n, :h)"),
        {"n": len(events), "h": prev},
    )
    op.drop_table("audit_checkpoint")
    op.drop_table("audit_chain")
