"""Database engines and transactions.

SQLite: WAL, synchronous=FULL, foreign keys on, a busy timeout, and write transactions opened with
BEGIN IMMEDIATE (so two writers never both read-then-upgrade). PostgreSQL via psycopg 3.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

_WRITE_OPTION = "launchgate_write"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Build a SQLAlchemy Engine for `url` with Launch Gate's durability settings."""
    if is_sqlite(url):
        db_engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=20,
        )
        _configure_sqlite(db_engine)
        return db_engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(db_engine: Engine) -> None:
    @event.listens_for(db_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (DEFERRED or IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
        finally:
            cursor.close()

    @event.listens_for(db_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Owns the db_engine and hands out read and write transactions."""

    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine
        self.url = db_engine.url.render_as_string(hide_password=False)
        self.is_sqlite = db_engine.dialect.name == "sqlite"
        # A command's reads must come from one snapshot (the task row and the launch state agree);
        # PostgreSQL's default READ COMMITTED would mix snapshots, SQLite's read transactions never do.
        read_bind = db_engine
        if db_engine.dialect.name == "postgresql":
            read_bind = db_engine.execution_options(isolation_level="REPEATABLE READ")
        self._read = sessionmaker(bind=read_bind, expire_on_commit=False, autoflush=False)
        self._write = sessionmaker(
            bind=db_engine.execution_options(**{_WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(create_db_engine(url, **kwargs))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work. Closing ends its transaction; loaded objects stay readable."""
        session = self._read()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back on any exception."""
        session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.db_engine.dispose()
