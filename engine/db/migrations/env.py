"""Alembic environment: runs against the connection or URL handed in by engine.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engine.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    db_engine = create_engine(url)
    with db_engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    db_engine.dispose()


run_migrations()
