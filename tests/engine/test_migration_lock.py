"""Migrating on PostgreSQL takes an advisory lock keyed by the schema being migrated: processes starting at
once on one schema migrate in turn (the later ones wait, then find it done), while processes on different
schemas of one database (parallel test workers, one schema per installation) do not wait for each other.
No time is asserted: the checks are "finished" and "waiting for the holder"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import Database, is_at_head, upgrade_to_head
from engine.db.migrate import _lock_schema_for_migration
from tests.conftest import backends_waiting_for, fresh_database_url

pytestmark = pytest.mark.postgres
WAIT = 120.0  # upper bound on a busy machine; never an assertion on time


@pytest.fixture
def two_schemas(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with (
        fresh_database_url("postgresql", tmp_path) as first,
        fresh_database_url("postgresql", tmp_path) as second,
    ):
        yield first, second


def _migrate_in_thread(url: str) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def migrate() -> None:
        database = Database.from_url(url)
        try:
            upgrade_to_head(database.db_engine)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            database.dispose()

    thread = threading.Thread(target=migrate, daemon=True)
    thread.start()
    return thread, errors


def _at_head(url: str) -> bool:
    database = Database.from_url(url)
    try:
        return is_at_head(database.db_engine)
    finally:
        database.dispose()


def test_migration_waits_only_for_a_migration_of_the_same_schema(two_schemas: tuple[str, str]) -> None:
    busy_url, other_url = two_schemas
    busy = create_engine(busy_url)
    observer = create_engine(busy_url)
    try:
        with busy.begin() as holder:
            _lock_schema_for_migration(holder)  # a migration of the busy schema, still running
            holder_pid = int(holder.execute(text("SELECT pg_backend_pid()")).scalar_one())

            other, other_errors = _migrate_in_thread(other_url)
            other.join(timeout=WAIT)
            assert not other.is_alive(), "a migration of another schema waited for the busy one"
            assert other_errors == []
            assert _at_head(other_url)

            same, same_errors = _migrate_in_thread(busy_url)
            deadline = time.monotonic() + WAIT
            while (
                backends_waiting_for(observer, holder_pid) == 0
                and same.is_alive()
                and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            assert same.is_alive() and backends_waiting_for(observer, holder_pid) == 1, (
                "a second migration of the busy schema did not wait"
            )
            assert not _at_head(busy_url)
        same.join(timeout=WAIT)
        assert not same.is_alive()
        assert same_errors == []
        assert _at_head(busy_url)
    finally:
        busy.dispose()
        observer.dispose()
