"""Shared fixtures. Every database test runs on SQLite and, when LAUNCHGATE_TEST_DATABASE_URL is set, on
PostgreSQL too (each test in a schema of its own). LAUNCHGATE_REQUIRE_ALL=1 turns a missing database or
browser into a failure instead of a skip."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from engine import Database, FixedClock, WorkflowEngine, upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_URL = os.environ.get("LAUNCHGATE_TEST_DATABASE_URL", "")
REQUIRE_ALL = os.environ.get("LAUNCHGATE_REQUIRE_ALL") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs `--dist loadgroup`) every browser test goes to one worker: they
    share that worker's server and Chromium (session fixtures of tests/e2e/conftest.py), which are slow to
    start, so one set is started instead of one per worker."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))


def _backends() -> list[object]:
    return ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def fresh_database_url(kind: str, directory: Path) -> Iterator[str]:
    """An empty database: a SQLite file in `directory`, or a new PostgreSQL schema dropped afterwards
    (skipped without LAUNCHGATE_TEST_DATABASE_URL, failed when LAUNCHGATE_REQUIRE_ALL=1)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'launchgate.db'}"
        return
    if not PG_URL:
        if REQUIRE_ALL:
            pytest.fail("LAUNCHGATE_TEST_DATABASE_URL is not set but LAUNCHGATE_REQUIRE_ALL=1")
        pytest.skip("LAUNCHGATE_TEST_DATABASE_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backends_waiting_for(db_engine: Engine, holder_pid: int) -> int:
    """How many PostgreSQL backends wait for a lock the backend `holder_pid` holds. Only those: tests of
    other workers run on other schemas of the same database at the same time. (A new transaction each
    time: PostgreSQL keeps one snapshot of pg_stat_activity per transaction.)"""
    with db_engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"),
                {"holder": holder_pid},
            ).scalar_one()
        )


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL for one test, on each backend."""
    with fresh_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = Database.from_url(db_url)
    upgrade_to_head(db.db_engine)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def engine(database: Database, clock: FixedClock) -> WorkflowEngine:
    workflow_engine = WorkflowEngine(database, clock=clock)
    workflow_engine.sync_shipped_processes(BPMN_DIR)
    return workflow_engine
