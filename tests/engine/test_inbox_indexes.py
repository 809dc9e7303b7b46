"""The inbox and launch-list indexes (migration 0006) and the inbox query that uses them
(engine.db.repository.task_page), on every database the suite runs on.

- the migration creates the indexes (partial where intended, descending where intended), goes down and up
  again, and leaves the schema exactly as the models declare it;
- migrating refreshes the planner statistics;
- task_page answers exactly what the old single query answered (same total, same rows, same order: due
  date with no-due-date last, then created_at, then id), ties and missing due dates included, for several
  users, role sets, filters and pages;
- on SQLite (whose planner only has ANALYZE's averages) the inbox statements read the inbox indexes.
No timing is asserted anywhere."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, event, func, insert, inspect, select, text
from sqlalchemy.engine.interfaces import ReflectedIndex

from api.demo import DEMO_SUPPORT
from bench.inbox import seed
from engine import Actor, Database, Role, TaskStatus, WorkflowEngine, upgrade_to_head
from engine.db import repository as repo
from engine.db.migrate import alembic_config, current_revision, head_revision
from engine.db.models import Base, LaunchRecord, TaskRecord
from tests.conftest import fresh_database_url
from tests.engine.driver import start

PREVIOUS = "0005_task_completion_order"
PARTIAL = {
    "ix_task_assigned": (["assignee", "status"], ["assignee IS NOT NULL"]),
    "ix_task_inbox_assignee": (
        ["assignee", "due_at", "created_at", "id"],
        ["status", "'ready'", "assignee IS NOT NULL"],
    ),
    "ix_task_inbox_role": (
        ["role", "due_at", "created_at", "id", "status", "assignee"],
        ["status", "'ready'", "assignee IS NULL"],
    ),
}


def _indexes(db_engine: Engine, table: str) -> dict[str, ReflectedIndex]:
    return {ix["name"]: ix for ix in inspect(db_engine).get_indexes(table) if ix["name"]}


def _where(index: ReflectedIndex) -> str:
    options = index.get("dialect_options", {})
    return str(options.get("sqlite_where", options.get("postgresql_where", "")))


def _launch_created_is_descending(db_engine: Engine) -> bool:
    if db_engine.dialect.name == "sqlite":
        with db_engine.connect() as conn:
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_launch_created'")
            ).scalar()
        return "created_at DESC, id" in str(sql)
    index = _indexes(db_engine, "launch")["ix_launch_created"]
    return index.get("column_sorting", {}) == {"created_at": ("desc",)}


def _migrate(db_engine: Engine, verb: str, revision: str) -> None:
    config = alembic_config(db_engine)
    with db_engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def test_migration_creates_the_inbox_and_launch_list_indexes(database: Database) -> None:
    task = _indexes(database.db_engine, "task")
    for name, (columns, where_parts) in PARTIAL.items():
        assert task[name]["column_names"] == columns
        where = _where(task[name])
        assert all(part in where for part in where_parts), (name, where)
    assert "ix_task_assignee_status" not in task  # replaced by ix_task_assigned (no unassigned rows)
    launch = _indexes(database.db_engine, "launch")
    assert launch["ix_launch_created"]["column_names"] == ["created_at", "id"]
    assert _launch_created_is_descending(database.db_engine)
    assert launch["ix_launch_status_blocked"]["column_names"] == ["status", "blocked_by"]
    assert _where(launch["ix_launch_status_blocked"]) == ""


def test_migration_goes_down_and_up_again(database: Database) -> None:
    db_engine = database.db_engine
    head = head_revision(db_engine)  # the newest revision (0006 is the one under test here)
    assert head is not None and head > PREVIOUS
    assert current_revision(db_engine) == head

    _migrate(db_engine, "downgrade", PREVIOUS)

    assert current_revision(db_engine) == PREVIOUS
    task = _indexes(db_engine, "task")
    assert task["ix_task_assignee_status"]["column_names"] == ["assignee", "status"]
    assert _where(task["ix_task_assignee_status"]) == ""
    assert not set(PARTIAL) & set(task)
    assert not {"ix_launch_created", "ix_launch_status_blocked"} & set(_indexes(db_engine, "launch"))

    upgrade_to_head(db_engine)

    assert current_revision(db_engine) == head
    assert set(PARTIAL) <= set(_indexes(db_engine, "task"))
    assert "ix_task_assignee_status" not in _indexes(db_engine, "task")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_migrations_build_the_schema_the_models_declare(kind: str, tmp_path: Path) -> None:
    """Alembic's autogenerate finds nothing to add, and every index (name, columns, order, partial WHERE)
    reflects the same from a migrated database as from one built by Base.metadata.create_all."""
    (tmp_path / "m").mkdir()
    (tmp_path / "c").mkdir()
    with (
        fresh_database_url(kind, tmp_path / "m") as migrated_url,
        fresh_database_url(kind, tmp_path / "c") as created_url,
    ):
        migrated, created = Database.from_url(migrated_url), Database.from_url(created_url)
        try:
            upgrade_to_head(migrated.db_engine)
            Base.metadata.create_all(created.db_engine)
            with migrated.db_engine.connect() as conn:
                assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            for table in Base.metadata.sorted_tables:
                assert _index_shapes(migrated.db_engine, table.name) == _index_shapes(
                    created.db_engine, table.name
                ), table.name
        finally:
            migrated.dispose()
            created.dispose()


def _index_shapes(db_engine: Engine, table: str) -> dict[str, tuple[Any, ...]]:
    shapes: dict[str, tuple[Any, ...]] = {
        name: (ix["column_names"], bool(ix["unique"]), ix.get("column_sorting"), _where(ix))
        for name, ix in _indexes(db_engine, table).items()
    }
    if db_engine.dialect.name == "sqlite":  # SQLite reflects no sort order: compare its DDL instead
        with db_engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                {"t": table},
            ).all()
        for name, sql in rows:
            if name in shapes:
                shapes[name] = (*shapes[name], " ".join(str(sql).split()))
    return shapes


def _analysed_task_rows(database: Database) -> float | None:
    """How many task rows the planner statistics say there are (None: none recorded)."""
    with database.db_engine.connect() as conn:
        if database.is_sqlite:
            stat = conn.execute(
                text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'task' AND idx = 'ix_task_launch'")
            ).scalar()
            return None if stat is None else float(str(stat).split()[0])
        return conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('task')")
        ).scalar_one_or_none()


def test_migrating_refreshes_the_planner_statistics(engine: WorkflowEngine) -> None:
    """A database with rows and stale statistics (none at all on SQLite): after a migration, ANALYZE has
    counted the rows. A run with nothing to migrate leaves the statistics alone."""
    start(engine)
    db_engine = engine.db.db_engine
    with engine.db.read() as session:
        tasks = session.execute(select(func.count()).select_from(TaskRecord)).scalar_one()
    assert tasks > 0
    assert _analysed_task_rows(engine.db) in (None, 0)  # analysed while empty, on the first migration

    upgrade_to_head(db_engine)  # nothing to do: no ANALYZE
    assert _analysed_task_rows(engine.db) in (None, 0)

    _migrate(db_engine, "downgrade", PREVIOUS)
    upgrade_to_head(db_engine)
    assert _analysed_task_rows(engine.db) == tasks


# ------------------------------------------------------------------------------------------- the inbox query


@pytest.fixture
def seeded(engine: WorkflowEngine) -> Iterator[WorkflowEngine]:
    """A few hundred launches and tasks (the bench's generator, which also runs the worker's maintenance),
    plus tasks that tie on due date and creation time, and tasks without a due date."""
    seed(engine, launches=120, open_tasks=700)
    with engine.db.write() as session:
        launch_ids = session.execute(select(LaunchRecord.id).where(LaunchRecord.status == "active")).scalars()
        launch_id = next(iter(launch_ids))
        now = engine.clock.now()
        rows = []
        for n in range(24):
            assignee = ("sam.support", None, "sue.support")[n % 3]
            rows.append(
                {
                    "id": str(uuid.UUID(int=n + 1)),
                    "launch_id": launch_id,
                    "bpmn_id": "tie",
                    "title": f"Tie {n}",
                    "role": Role.SUPPORT_LEAD.value if n % 4 else Role.SUPPORT_MANAGER.value,
                    "assignee": assignee,
                    "status": TaskStatus.READY.value,
                    "created_at": now - timedelta(days=400),
                    "due_at": None if n % 5 == 0 else now - timedelta(days=400 + n % 2),
                }
            )
        session.execute(insert(TaskRecord), rows)
    yield engine


def _reference(session: Any, offset: int, limit: int, **filters: Any) -> tuple[int, list[str]]:
    """What list_tasks answered before task_page: one query, every matching row sorted."""
    query = repo.filter_tasks(**filters)
    total = repo.count(session, query)
    rows = session.execute(query.order_by(*repo.task_order()).offset(offset).limit(limit)).scalars()
    return total, [r.id for r in rows]


INBOXES: list[tuple[str, Sequence[str]]] = [
    ("sam.support", [Role.SUPPORT_LEAD.value]),
    ("pat.pm", [Role.PM.value]),
    ("sue.support", [Role.SUPPORT_LEAD.value, Role.SUPPORT_MANAGER.value, Role.SUPPORT_LEAD.value]),
    ("max.manager", [Role.SUPPORT_MANAGER.value]),
    ("nobody", []),
]


@pytest.mark.parametrize("username,roles", INBOXES)
def test_inbox_pages_are_the_rows_and_order_of_the_single_query(
    seeded: WorkflowEngine, username: str, roles: Sequence[str]
) -> None:
    with seeded.db.read() as session:
        total, _ = _reference(session, 0, 1, status="ready", inbox_of=(username, roles))
        for offset, limit in ((0, 50), (0, 1), (3, 7), (50, 50), (max(total - 4, 0), 10), (total + 5, 10)):
            expected = _reference(session, offset, limit, status="ready", inbox_of=(username, roles))
            found, records = repo.task_page(
                session, status="ready", inbox_of=(username, roles), offset=offset, limit=limit
            )
            assert (found, [r.id for r in records]) == expected, (offset, limit)
            assert all(r.status == "ready" for r in records)


def test_inbox_with_filters_and_plain_lists_match_the_single_query(seeded: WorkflowEngine) -> None:
    inbox = ("sue.support", [Role.SUPPORT_LEAD.value, Role.SUPPORT_MANAGER.value])
    with seeded.db.read() as session:
        launch_id = session.execute(select(TaskRecord.launch_id).where(TaskRecord.bpmn_id == "tie")).scalar()
        cases: list[dict[str, Any]] = [
            {"status": "ready", "inbox_of": inbox, "launch_id": launch_id},
            {"status": "ready", "inbox_of": inbox, "role": Role.SUPPORT_MANAGER.value},
            {"status": "ready", "inbox_of": inbox, "assignee": "sue.support"},
            {"status": "completed", "inbox_of": inbox},
            {"inbox_of": inbox},
            {"status": "ready", "role": Role.SUPPORT_LEAD.value},
            {"assignee": "sam.support"},
            {"launch_id": launch_id},
            {},
        ]
        for filters in cases:
            for offset, limit in ((0, 50), (10, 25), (5_000, 10)):  # the last: past the end
                expected = _reference(session, offset, limit, **filters)
                found, records = repo.task_page(session, offset=offset, limit=limit, **filters)
                assert (found, [r.id for r in records]) == expected, filters


def test_list_tasks_inbox_agrees_with_task_page(seeded: WorkflowEngine) -> None:
    actor = Actor("sue.support", frozenset({Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER}))
    for offset in (0, 50):
        page = seeded.list_tasks(actor=actor, inbox=True, offset=offset, limit=50)
        with seeded.db.read() as session:
            total, records = repo.task_page(
                session,
                status="ready",
                inbox_of=(actor.username, [r.value for r in actor.roles]),
                offset=offset,
                limit=50,
            )
        assert page.total == total
        assert [t.id for t in page.items] == [r.id for r in records]
        dues = [t.due_at for t in page.items]
        assert dues == sorted(dues, key=lambda d: (d is None, d))


# ------------------------------------------------------------------------------------------- SQLite plans


def _plans(database: Database, run: Any) -> list[tuple[str, str]]:
    """(statement, EXPLAIN QUERY PLAN) of every SELECT `run` executes, explained with the same values."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Connection, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(database.db_engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(database.db_engine, "before_cursor_execute", record)
    plans = []
    with database.db_engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.append((statement, "\n".join(str(r[-1]) for r in rows)))
    return plans


def _plan_of(plans: list[tuple[str, str]], *fragments: str) -> str:
    [plan] = [p for statement, p in plans if all(f in " ".join(statement.split()) for f in fragments)]
    return plan


def test_sqlite_plans_read_the_inbox_and_launch_list_indexes(tmp_path: Path) -> None:
    with fresh_database_url("sqlite", tmp_path) as url:
        database = Database.from_url(url)
        upgrade_to_head(database.db_engine)
        engine = WorkflowEngine(database)
        engine.sync_shipped_processes(Path(__file__).resolve().parents[2] / "bpmn")
        try:
            seed(engine, launches=300, open_tasks=2000)  # then ANALYZE (the worker's maintenance step)

            def inbox() -> None:
                with database.read() as session:
                    repo.task_page(
                        session, status="ready", inbox_of=(DEMO_SUPPORT.username, ["support_lead", "pm"])
                    )

            (_, count), (_, page) = _plans(database, inbox)
            assert "USING COVERING INDEX ix_task_inbox_role" in count
            assert "ix_task_assigned" in count or "ix_task_inbox_assignee" in count
            assert "SCAN task" not in count
            assert page.count("USING INDEX ix_task_inbox_role") == 2
            assert "USING INDEX ix_task_inbox_assignee" in page
            assert "SCAN task" not in page

            launches = _plans(database, lambda: engine.list_launches(actor=DEMO_SUPPORT, limit=50))
            page = _plan_of(launches, "FROM launch ORDER BY launch.created_at DESC")
            assert "SCAN launch USING INDEX ix_launch_created" in page
            assert "TEMP B-TREE" not in page
            blocked = _plans(
                database, lambda: engine.list_launches(actor=DEMO_SUPPORT, blocked=True, limit=50)
            )
            assert "USING COVERING INDEX ix_launch_status_blocked" in _plan_of(blocked, "count(")
        finally:
            database.dispose()
