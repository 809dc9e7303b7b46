"""PostgreSQL pooled connections that died while idle (a restarted database, an administrator ending them)
are replaced before use, without SQLAlchemy's pool_pre_ping round trip on every checkout; and
Database.fetch_one (the per-request credential look-ups) returns what SQLAlchemy would, outside any
transaction, on both databases.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, bindparam, create_engine, event, func, literal, select, text
from sqlalchemy.exc import OperationalError

from engine import AccountService, Database, Role
from engine.clock import FixedClock
from engine.db import session as session_module
from engine.db.models import UserRecord
from engine.db.session import OneRowQuery
from engine.domain import SYSTEM_ACTOR
from tests.conftest import PG_URL, fresh_database_url

BACKEND_PID = text("SELECT pg_backend_pid()")
PID_QUERY = OneRowQuery(select(func.pg_backend_pid()))


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database_url("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def end_backend() -> Iterator[Callable[[int], None]]:
    """end_backend(pid): what a database restart does to a connection (pg_terminate_backend), waiting
    until the server process is gone."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")

    def end(pid: int) -> None:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            for _ in range(400):  # bounded: at most ~20 s
                gone = not connection.execute(
                    text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).first()
                if gone:
                    return
                time.sleep(0.05)
        pytest.fail(f"backend {pid} did not end")

    yield end
    admin.dispose()


def _pid(connection: Connection) -> int:
    return int(connection.execute(BACKEND_PID).scalar_one())


@pytest.mark.postgres
def test_plain_pool_fails_once_when_pooled_connection_was_ended(
    pg_url: str, end_backend: Callable[[int], None]
) -> None:
    """The control: without a check at checkout, the next use of the dead connection fails."""
    plain = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with plain.connect() as connection:
            pid = _pid(connection)
        end_backend(pid)
        with pytest.raises(OperationalError), plain.connect() as connection:
            _pid(connection)
    finally:
        plain.dispose()


@pytest.mark.postgres
def test_pooled_connection_replaced_when_server_ended_it(
    pg_url: str, end_backend: Callable[[int], None]
) -> None:
    db = Database.from_url(pg_url, pool_size=1)
    try:
        with db.read() as session:
            first = int(session.execute(BACKEND_PID).scalar_one())
        end_backend(first)
        with db.read() as session:  # replaced at checkout: no error
            second = int(session.execute(BACKEND_PID).scalar_one())
        assert second != first
        end_backend(second)
        row = db.fetch_one(PID_QUERY, {})
        assert row is not None
        third = int(row[0])
        assert third not in {first, second}
        end_backend(third)
        with db.write() as session:
            assert int(session.execute(BACKEND_PID).scalar_one()) not in {first, second, third}
    finally:
        db.dispose()


@pytest.mark.postgres
def test_idle_pooled_connection_pinged_when_its_end_went_unseen(
    pg_url: str, end_backend: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server or network that vanished without a word (nothing on the socket): a connection idle for
    idle_ping_s or more is pinged before use, and replaced when the ping fails."""
    monkeypatch.setattr(session_module, "closed_by_server", lambda _connection: False)
    db = Database.from_url(pg_url, pool_size=1, idle_ping_s=0.0)
    try:
        with db.read() as session:
            first = int(session.execute(BACKEND_PID).scalar_one())
        end_backend(first)
        with db.read() as session:
            assert int(session.execute(BACKEND_PID).scalar_one()) != first
    finally:
        db.dispose()


@pytest.mark.postgres
def test_live_pooled_connection_kept_when_checked_out_again(pg_url: str) -> None:
    db = Database.from_url(pg_url, pool_size=1)
    try:
        with db.read() as session:
            first = int(session.execute(BACKEND_PID).scalar_one())
        for _ in range(3):
            assert db.fetch_one(PID_QUERY, {}) == (first,)
            with db.write() as session:
                assert int(session.execute(BACKEND_PID).scalar_one()) == first
    finally:
        db.dispose()


def test_fetch_one_returns_what_sqlalchemy_returns_when_types_convert(database: Database) -> None:
    """Column types convert the values as a Result would (aware UTC datetimes on SQLite too), bind
    parameters go by name on either paramstyle, no row is None."""
    clock = FixedClock(datetime(2031, 3, 3, 9, 0, 0, 123456, tzinfo=UTC))
    accounts = AccountService(database, clock=clock)
    user = accounts.create_user(username="kim.pm", password="k" * 12, roles=[Role.PM], actor=SYSTEM_ACTOR)
    query = OneRowQuery(
        select(UserRecord.id, UserRecord.username, UserRecord.created_at, UserRecord.active).where(
            UserRecord.username == bindparam("name"), UserRecord.id >= bindparam("low")
        )
    )
    row = database.fetch_one(query, {"name": "kim.pm", "low": 1})
    with database.read() as session:
        expected = session.execute(query.statement, {"name": "kim.pm", "low": 1}).one()
    assert row == tuple(expected) == (user.id, "kim.pm", clock.now(), True)
    assert row is not None and row[2].tzinfo is not None
    assert database.fetch_one(query, {"name": "nobody", "low": 1}) is None


def _in_transaction(dbapi_connection: Any) -> bool:
    if hasattr(dbapi_connection, "in_transaction"):  # sqlite3
        return bool(dbapi_connection.in_transaction)
    return bool(dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)


def test_fetch_one_runs_outside_any_transaction(database: Database) -> None:
    states: list[bool] = []

    def on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        states.append(_in_transaction(dbapi_connection))

    event.listen(database.db_engine, "reset", on_reset)
    try:
        assert database.fetch_one(OneRowQuery(select(literal(1))), {}) == (1,)
    finally:
        event.remove(database.db_engine, "reset", on_reset)
    assert states == [False], "back in the pool with no transaction to roll back"
    if not database.is_sqlite:  # the statement was its own transaction, unlike in a read unit of work
        own = OneRowQuery(select(func.now() == func.statement_timestamp()))
        assert database.fetch_one(own, {}) == (True,)
        with database.read() as session:
            assert session.execute(own.statement).scalar_one() is False
