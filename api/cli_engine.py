"""Opening the database and a checked engine for the command line (shared by `launchgate` and its
`audit` commands)."""

from __future__ import annotations

from pathlib import Path

import typer

from api.settings import get_settings
from engine import Database, WorkflowEngine, is_at_head


def open_database(url: str | None) -> Database:
    resolved = url or get_settings().database_url
    if resolved.startswith("sqlite:///"):
        Path(resolved.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return Database.from_url(resolved)


def open_engine(url: str | None) -> WorkflowEngine:
    """An engine on a database at the newest schema revision (exit code 2 otherwise)."""
    database = open_database(url)
    if not is_at_head(database.db_engine):
        typer.echo("error: the database schema is not up to date; run `launchgate db migrate`", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    return WorkflowEngine(database, holidays=settings.holiday_calendar(), schedule=settings.schedule_policy())
