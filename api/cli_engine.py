"""Opening the database and a checked engine for the command line (shared by `launchgate` and its
`audit` commands)."""

from __future__ import annotations

from pathlib import Path

import typer

from api.settings import get_settings
from engine import Database, WorkflowEngine, check_database_url, is_at_head


def open_database(url: str | None, *, existing: bool = False) -> Database:
    """The database of --database-url (checked like LAUNCHGATE_DATABASE_URL) or of the settings; a SQLite
    file's directory is made if missing — or, with `existing` (a command that only reads), a missing
    SQLite file is an error (exit code 2) rather than a new empty database."""
    settings = get_settings()
    try:
        resolved = check_database_url(url) if url is not None else settings.database_url
    except ValueError as exc:
        typer.echo(f"error: --database-url: {exc}", err=True)
        raise typer.Exit(2) from exc
    if resolved.startswith("sqlite:///"):
        path = Path(resolved.removeprefix("sqlite:///").partition("?")[0])
        if existing and not path.is_file():
            typer.echo(f"error: --database-url: there is no SQLite database at {path}", err=True)
            raise typer.Exit(2)
        path.parent.mkdir(parents=True, exist_ok=True)
    return Database.from_url(resolved, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)


def open_engine(url: str | None, *, existing: bool = False) -> WorkflowEngine:
    """An engine on a database at the newest schema revision (exit code 2 otherwise); `existing`: as
    for `open_database`."""
    database = open_database(url, existing=existing)
    if not is_at_head(database.db_engine):
        typer.echo("error: the database schema is not up to date; run `launchgate db migrate`", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    return WorkflowEngine(database, holidays=settings.holiday_calendar(), schedule=settings.schedule_policy())
