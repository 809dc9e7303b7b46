"""Alembic environment: runs against the connection or URL handed in by engine.db.migrate, or, when
Alembic's own command line runs it (`alembic upgrade head` with [tool.alembic] of pyproject.toml), against
LAUNCHGATE_DATABASE_URL (default: the SQLite file in LAUNCHGATE_DATA_DIR, ./var), like `launchgate db`."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import context
from sqlalchemy import create_engine

from engine.db.models import Base
from engine.db.session import check_database_url, default_database_url

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    handed_in = config.file_config.has_section(config.config_ini_section)  # no .ini: Alembic's command line
    url = (handed_in and config.get_main_option("sqlalchemy.url")) or _url_from_environment()
    db_engine = create_engine(url)
    with db_engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    db_engine.dispose()


def _url_from_environment() -> str:
    url = os.environ.get("LAUNCHGATE_DATABASE_URL", "")
    if not url:
        data_dir = Path(os.environ.get("LAUNCHGATE_DATA_DIR") or "var").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        url = default_database_url(data_dir)
    return check_database_url(url)


run_migrations()
