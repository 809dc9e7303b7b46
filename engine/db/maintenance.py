"""Database upkeep the worker runs now and then."""

from __future__ import annotations

from engine.db.migrate import analyze
from engine.db.session import Database


def refresh_statistics(database: Database) -> None:
    """Refresh the query planner's statistics of Launch Gate's tables (engine.db.migrate.analyze), in one
    write transaction."""
    with database.write() as session:
        analyze(session.connection())
