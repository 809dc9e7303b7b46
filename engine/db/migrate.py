"""Schema migrations with Alembic, driven from code (`launchgate db …`). Alembic's own command line works
too from the source tree (`alembic upgrade head`: its configuration is [tool.alembic] in pyproject.toml,
the database is LAUNCHGATE_DATABASE_URL, see migrations/env.py)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from engine.db.models import Base

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db_engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # ConfigParser treats "%" as interpolation; URLs may contain it (options=-csearch_path%3D…).
    url = db_engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(db_engine: Engine) -> None:
    """Bring the schema to the newest revision. Safe to run again and from several processes in turn.

    When a revision was applied, the planner statistics are refreshed in the same transaction: new indexes
    have none yet (SQLite plans with guesses until ANALYZE, and a database that was never analysed at all
    gets its first statistics here)."""
    config = alembic_config(db_engine)
    with db_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _lock_schema_for_migration(connection)
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if MigrationContext.configure(connection).get_current_revision() != before:
            analyze(connection)


def downgrade_to(db_engine: Engine, revision: str) -> None:
    """Take the schema back to `revision` (an id from schema_history, or "-1" for one step back).
    Refuses an unknown revision with ValueError. Whatever the newer revisions stored is dropped."""
    config = alembic_config(db_engine)
    script = ScriptDirectory.from_config(config)
    if revision not in {"base", "-1"}:
        try:
            script.get_revision(revision)
        except (CommandError, ResolutionError):
            raise ValueError(f"unknown revision {revision!r} (see `launchgate db history`)") from None
    with db_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _lock_schema_for_migration(connection)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def schema_history(db_engine: Engine) -> list[tuple[str, str]]:
    """Every revision, oldest first, with the first line of its description."""
    script = ScriptDirectory.from_config(alembic_config(db_engine))
    return [
        (rev.revision, (rev.doc or "").strip().splitlines()[0] if rev.doc else "")
        for rev in reversed(list(script.walk_revisions()))
    ]


def _lock_schema_for_migration(connection: Connection) -> None:
    """Several server processes may start at once on one schema: one migrates (up or down), the others
    wait (until its transaction ends) and find it done. The lock is keyed by the schema being migrated
    (the first existing schema of the search_path), so processes migrating different schemas of one
    database, such as parallel test runs, do not wait for each other. (A hash collision between two
    schema names only makes them wait in turn.)"""
    connection.exec_driver_sql(
        "SELECT pg_advisory_xact_lock(7411001, hashtext(coalesce(current_schema(), '')))"
    )


def analyze(connection: Connection) -> None:
    """Refresh the query planner's statistics for Launch Gate's tables (ANALYZE, table by table, so that a
    PostgreSQL database shared with other schemas or applications is left alone).

    Which index answers the inbox, the launch list and most other queries depends on these statistics;
    SQLite has none until ANALYZE runs and never gathers them by itself. The worker calls this now and then
    (engine.worker.Worker.maintain). Cost: SQLite reads each index once (about 0.1 s for 10,000 launches and
    77,000 tasks); PostgreSQL reads a sample of each table."""
    preparer = connection.dialect.identifier_preparer
    for table in Base.metadata.sorted_tables:
        connection.exec_driver_sql(f"ANALYZE {preparer.format_table(table)}")


def head_revision(db_engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db_engine)).get_current_head()


def current_revision(db_engine: Engine) -> str | None:
    with db_engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(db_engine: Engine) -> bool:
    return current_revision(db_engine) == head_revision(db_engine)
