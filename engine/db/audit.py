"""The audit trail's statements: appending to a chain, reading chains and events, checkpoints.

Appending locks the chain's own row in `audit_chain` (an upsert, so the first event of a launch creates
its chain), never a row shared by every command: two launches' commands never wait on each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.db.models import (
    AuditChainRecord,
    AuditCheckpointRecord,
    AuditEventRecord,
    LaunchRecord,
    ProcessVersionRecord,
)

GENESIS_HASH = "0" * 64
SYSTEM_CHAIN = ""  # the chain of events that belong to no launch
SEQUENCE_NAME = "audit_event_sequence"  # PostgreSQL: the global order (see docs/audit.md)

_EVENT = cast(Table, AuditEventRecord.__table__)
_CHAIN = cast(Table, AuditChainRecord.__table__)
_CHECKPOINT = cast(Table, AuditCheckpointRecord.__table__)
EVENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in _EVENT.columns)

Bind = Session | Connection  # the caller's transaction


def _conn(bind: Bind) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


_INSERT_EVENT = insert(_EVENT)
_MOVE_HEAD = (
    update(_CHAIN).where(_CHAIN.c.chain_id == bindparam("chain")).values(head_hash=bindparam("new_hash"))
)
_NEXT_SQLITE_SEQUENCE = select(func.coalesce(func.max(_EVENT.c.sequence), 0) + 1)


def _claim_statement(dialect: str, *, advance: bool) -> Any:
    """INSERT the chain's row (first event: position 1) or move its length on by one, returning the new
    length and the current head hash; either way the row stays locked until the transaction ends."""
    values: dict[str, Any] = {
        "chain_id": bindparam("chain"),
        "length": 1 if advance else 0,
        "head_hash": GENESIS_HASH,
        "checkpointed_length": 0,
        "checkpointed_hash": GENESIS_HASH,
    }
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        build(_CHAIN)
        .values(values)
        .on_conflict_do_update(
            index_elements=[_CHAIN.c.chain_id],
            set_={"length": _CHAIN.c.length + (1 if advance else 0)},
        )
    )
    returning: list[Any] = [_CHAIN.c.length, _CHAIN.c.head_hash]
    if dialect == "postgresql" and advance:
        returning.append(func.nextval(SEQUENCE_NAME))
    return statement.returning(*returning)


_CLAIMS = {
    (dialect, advance): _claim_statement(dialect, advance=advance)
    for dialect in ("postgresql", "sqlite")
    for advance in (True, False)
}


def claim_position(bind: Bind, chain_id: str) -> tuple[int, str, int]:
    """Lock the chain and take its next position: (position, previous hash, global sequence number)."""
    conn = _conn(bind)
    dialect = conn.dialect.name
    row = conn.execute(_CLAIMS[(dialect, True)], {"chain": chain_id}).one()
    if dialect == "postgresql":
        return int(row[0]), str(row[1]), int(row[2])
    sequence = conn.execute(_NEXT_SQLITE_SEQUENCE).scalar_one()
    return int(row[0]), str(row[1]), int(sequence)


def lock_chain(bind: Bind, chain_id: str = SYSTEM_CHAIN) -> None:
    """Lock a chain's row without appending (created if missing)."""
    conn = _conn(bind)
    conn.execute(_CLAIMS[(conn.dialect.name, False)], {"chain": chain_id}).one()


def insert_event(bind: Bind, fields: Mapping[str, Any], *, chain_id: str) -> None:
    conn = _conn(bind)
    conn.execute(_INSERT_EVENT, {**fields, "chain_id": chain_id})
    conn.execute(_MOVE_HEAD, {"chain": chain_id, "new_hash": fields["hash"]})


def _row_dict(row: Any) -> dict[str, Any]:
    return {name: row[name] for name in EVENT_COLUMNS}


def iter_events(bind: Bind, *, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Every event in global order, read in pages (keyset on the sequence)."""
    conn = _conn(bind)
    last = -1
    statement = (
        select(_EVENT).where(_EVENT.c.sequence > bindparam("after")).order_by(_EVENT.c.sequence).limit(batch)
    )
    while True:
        rows = conn.execute(statement, {"after": last}).mappings().all()
        if not rows:
            return
        for row in rows:
            yield _row_dict(row)
        last = int(rows[-1]["sequence"])


def chain_events(bind: Bind, chain_id: str) -> list[dict[str, Any]]:
    """One chain's events in chain order."""
    conn = _conn(bind)
    statement = select(_EVENT).where(_EVENT.c.chain_id == chain_id).order_by(_EVENT.c.chain_position)
    return [_row_dict(r) for r in conn.execute(statement).mappings()]


def chain_heads(bind: Bind) -> dict[str, tuple[int, str]]:
    """chain id → (length, head hash), as the chain rows record them."""
    conn = _conn(bind)
    statement = select(_CHAIN.c.chain_id, _CHAIN.c.length, _CHAIN.c.head_hash)
    return {str(r[0]): (int(r[1]), str(r[2])) for r in conn.execute(statement)}


def lock_latest_checkpoint(bind: Bind) -> dict[str, Any] | None:
    """The newest checkpoint, locked: checkpoint writers take turns (appenders never touch this table)."""
    conn = _conn(bind)
    statement = select(_CHECKPOINT).order_by(_CHECKPOINT.c.id.desc()).limit(1)
    if conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    found = conn.execute(statement).mappings().first()
    return dict(found) if found is not None else None


def has_unchecked_changes(bind: Bind) -> bool:
    conn = _conn(bind)
    statement = select(_CHAIN.c.chain_id).where(_CHAIN.c.length != _CHAIN.c.checkpointed_length).limit(1)
    return conn.execute(statement).first() is not None


def mark_checkpointed(bind: Bind) -> dict[str, tuple[int, str]]:
    """Copy each changed chain's head into its checkpointed columns (one statement: each row's values are
    read and written together, and the rows stay locked until the checkpoint commits). Returns the
    changes: chain id → (length, head hash)."""
    conn = _conn(bind)
    statement = (
        update(_CHAIN)
        .where(_CHAIN.c.length != _CHAIN.c.checkpointed_length)
        .values(checkpointed_length=_CHAIN.c.length, checkpointed_hash=_CHAIN.c.head_hash)
        .returning(_CHAIN.c.chain_id, _CHAIN.c.length, _CHAIN.c.head_hash)
    )
    return {str(r[0]): (int(r[1]), str(r[2])) for r in conn.execute(statement)}


def checkpointed_heads(bind: Bind) -> list[tuple[str, int, str]]:
    """(chain id, length, head hash) of every chain as the checkpoints know it, ordered by chain id."""
    conn = _conn(bind)
    statement = (
        select(_CHAIN.c.chain_id, _CHAIN.c.checkpointed_length, _CHAIN.c.checkpointed_hash)
        .where(_CHAIN.c.checkpointed_length > 0)
        .order_by(_CHAIN.c.chain_id)
    )
    return [(str(r[0]), int(r[1]), str(r[2])) for r in conn.execute(statement)]


def insert_checkpoint(bind: Bind, values: Mapping[str, Any]) -> None:
    conn = _conn(bind)
    conn.execute(insert(_CHECKPOINT), dict(values))


def checkpoints(bind: Bind) -> list[dict[str, Any]]:
    conn = _conn(bind)
    statement = select(_CHECKPOINT).order_by(_CHECKPOINT.c.id)
    return [dict(r) for r in conn.execute(statement).mappings()]


def latest_signed_checkpoint(bind: Bind) -> dict[str, Any] | None:
    conn = _conn(bind)
    statement = (
        select(_CHECKPOINT)
        .where(_CHECKPOINT.c.signature.is_not(None))
        .order_by(_CHECKPOINT.c.id.desc())
        .limit(1)
    )
    found = conn.execute(statement).mappings().first()
    return dict(found) if found is not None else None


def bundle_sources(bind: Bind, launch_id: str) -> dict[str, Any] | None:
    """A launch's row facts and its process version's diagram and stored forms, for its audit bundle."""
    conn = _conn(bind)
    launch, version = cast(Table, LaunchRecord.__table__), cast(Table, ProcessVersionRecord.__table__)
    statement = (
        select(
            launch.c.product_name,
            launch.c.status,
            launch.c.pm,
            version.c.process_id,
            version.c.version,
            version.c.content_hash,
            version.c.bpmn_xml,
            version.c.forms,
        )
        .join(version, version.c.id == launch.c.process_version_id)
        .where(launch.c.id == launch_id)
    )
    found = conn.execute(statement).mappings().first()
    return dict(found) if found is not None else None
