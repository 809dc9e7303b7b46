"""Database engines and transactions.

SQLite: WAL, synchronous=FULL, foreign keys on, a busy timeout, and write transactions opened with
BEGIN IMMEDIATE (so two writers never both read-then-upgrade). PostgreSQL via psycopg 3.

PostgreSQL connections that died while they sat in the pool (the database restarted, or an administrator
ended them) are replaced before anyone uses them, without a round trip on every checkout (SQLAlchemy's
pool_pre_ping costs a `SELECT 1` each time: three per task completion). At checkout, a look at the socket
(no I/O: a server that ends a connection says so and closes it, so an idle connection that has something
to read is a dead one), and a real ping only for a connection idle for IDLE_PING_S or more (a server or a
network that vanished without a word). A connection that fails in use anyway makes SQLAlchemy drop every
pooled connection as old as it (its disconnect handling; Database.fetch_one drops the one it used), so the
pool recovers after one failed request.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import DatabaseUnavailableError

logger = logging.getLogger(__name__)

_WRITE_OPTION = "launchgate_write"
IDLE_PING_S = 10.0  # PostgreSQL: ping a pooled connection before use when it sat idle at least this long
OUTAGE_LOG_EVERY_S = 30.0  # while the database is unavailable, one warning this often (OutageLog)
POOL_RECYCLE_S = 1800  # PostgreSQL: replace connections older than this (server or network idle limits)
_CHECKED_IN_AT = "launchgate_checked_in_at"


# SQLite's answers for "not now": another writer holds the lock past the busy timeout, or the file cannot
# be opened (a missing directory, a full or read-only disk).
_SQLITE_UNAVAILABLE = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_FULL"})


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used right now, not that a statement was wrong: the
    connection was lost (SQLAlchemy recognised a disconnect, or PostgreSQL ended the session:
    AdminShutdown, a closed socket), no connection could be made (PostgreSQL refused it, or the database
    does not exist: psycopg's OperationalError), the driver's connection is unusable (InterfaceError), or
    SQLite stayed locked past its busy timeout."""
    if isinstance(exc, DisconnectionError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    return type(exc.orig).__module__.startswith("psycopg") or sqlite_unavailable(exc)


def sqlite_unavailable(exc: BaseException) -> bool:
    """SQLite's error (wrapped by SQLAlchemy or the driver's own) says the database is locked or cannot
    be opened."""
    return getattr(getattr(exc, "orig", exc), "sqlite_errorname", "") in _SQLITE_UNAVAILABLE


def lost(exc: BaseException, *, outcome_unknown: bool = False) -> DatabaseUnavailableError:
    what = "while committing; the change may or may not have been applied" if outcome_unknown else ""
    if sqlite_unavailable(exc):
        message = "the database is busy (locked by another writer)"
    else:
        message = f"the database could not be reached or its connection was lost {what}".strip()
    return DatabaseUnavailableError(message + " (try again in a moment)", outcome_unknown=outcome_unknown)


class OutageLog:
    """One warning per outage, not one per request: the first failure is logged, then at most one line
    every `every_s` seconds saying how many went unlogged (every request against a database that is down
    would otherwise bury the log)."""

    def __init__(self, every_s: float = OUTAGE_LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._lock = threading.Lock()
        self._last: float | None = None
        self._unlogged = 0

    def note(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last < self.every_s:
                self._unlogged += 1
                return
            unlogged, self._unlogged, self._last = self._unlogged, 0, now
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        more = f" ({unlogged} more since the last report)" if unlogged else ""
        logger.warning("database unavailable: %s%s", first_line, more)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def default_database_url(data_dir: Path) -> str:
    """The SQLite file of a data directory (the default database)."""
    return f"sqlite:///{data_dir / 'launchgate.db'}"


def check_database_url(url: str) -> str:
    """The URL as Launch Gate uses it (postgresql:// means psycopg 3), or ValueError saying what is wrong."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite:///"):
        if not url.removeprefix("sqlite:///").partition("?")[0]:
            raise ValueError(
                "sqlite:/// needs a file after the three slashes, e.g. sqlite:///var/launchgate.db "
                "(relative) or sqlite:////srv/launchgate/launchgate.db (absolute)"
            )
    elif not url.startswith("postgresql+psycopg://"):
        raise ValueError("use sqlite:///<file> or postgresql+psycopg://<user>@<host>/<database>")
    try:
        make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {exc}") from None
    return url


def create_db_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    echo: bool = False,
    idle_ping_s: float = IDLE_PING_S,
    busy_timeout_s: float = 30.0,
) -> Engine:
    """Build a SQLAlchemy Engine for `url` with Launch Gate's durability settings. Each process keeps up
    to `pool_size` connections open and opens up to `max_overflow` more under load. SQLite waits up to
    `busy_timeout_s` for another writer's lock before the database counts as unavailable."""
    if is_sqlite(url):
        db_engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        _configure_sqlite(db_engine, busy_timeout_s)
        return db_engine
    db_engine = create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=POOL_RECYCLE_S
    )
    _check_pooled_connections(db_engine, idle_ping_s)
    return db_engine


def _check_pooled_connections(db_engine: Engine, idle_ping_s: float) -> None:
    """Replace a dead pooled connection at checkout (see the module docstring)."""

    @event.listens_for(db_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(db_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.pop(_CHECKED_IN_AT, None)
        if checked_in_at is None:
            return  # a new connection
        if closed_by_server(dbapi_connection):
            raise DisconnectionError("the server closed this pooled connection")
        if time.monotonic() - checked_in_at >= idle_ping_s:
            try:
                db_engine.dialect.do_ping(dbapi_connection)
            except db_engine.dialect.loaded_dbapi.Error as exc:
                raise DisconnectionError("a pooled connection did not answer a ping") from exc


def closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection was closed by the server. The client sends nothing while a
    connection is idle in the pool, so the server sends nothing either, except when it ends the
    connection (a message, then end of file): anything to read, a hang-up or an error means it is gone.
    (A rare unsolicited notice would only cost a reconnection.)"""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _configure_sqlite(db_engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(db_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (DEFERRED or IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(db_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@dataclass(frozen=True)
class _CompiledQuery:
    sql: str
    positional: tuple[str, ...] | None  # parameter names in order, for a positional paramstyle
    defaults: dict[str, Any]  # values bound in the statement itself
    bind_converters: dict[str, Callable[[Any], Any]]  # per parameter, from its SQLAlchemy type
    converters: tuple[Callable[[Any], Any] | None, ...]  # per result column, from its SQLAlchemy type

    def arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self.defaults, **params}
        for name, convert in self.bind_converters.items():
            values[name] = convert(values[name])
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return values


class OneRowQuery:
    """A SELECT built once (module level) for a look-up made on every request, run by Database.fetch_one
    without SQLAlchemy's execution layer (Connection, execution context, Result): the SQL is compiled once
    per dialect, result values are converted by the selected columns' own types, exactly as a Result
    would, and so are bind parameters. Only for plain read-only statements (no expanding IN parameters)."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: dict[str, _CompiledQuery] = {}

    def compiled_for(self, dialect: Dialect) -> _CompiledQuery:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            bind_converters: dict[str, Callable[[Any], Any]] = {}
            for name, bind in compiled.binds.items():
                convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if convert is not None:
                    bind_converters[name] = convert
            found = _CompiledQuery(
                sql=str(compiled),
                positional=tuple(compiled.positiontup or ()) if compiled.positional else None,
                defaults=dict(compiled.params),
                bind_converters=bind_converters,
                converters=tuple(
                    column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in self.statement.selected_columns
                ),
            )
            self._compiled[dialect.name] = found
        return found


class Database:
    """Owns the db_engine and hands out read and write transactions."""

    def __init__(self, db_engine: Engine) -> None:
        self.db_engine = db_engine
        self.url = db_engine.url.render_as_string(hide_password=False)
        self.is_sqlite = db_engine.dialect.name == "sqlite"
        self.outage = OutageLog()
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
        """A read-only unit of work. Closing ends its transaction; loaded objects stay readable. A lost
        connection raises DatabaseUnavailableError (the pool replaces the connection; a read is safe to
        run again, see `read_retrying`)."""
        session = self._read()
        try:
            yield session
        except (DBAPIError, DisconnectionError) as exc:
            if connection_lost(exc):
                raise self._lost(exc) from exc
            raise
        finally:
            session.close()

    def fetch_one(self, query: OneRowQuery, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a prebuilt read-only SELECT (see OneRowQuery), or None.

        Straight on a pooled DBAPI connection, outside any transaction: one statement reads one consistent
        snapshot on both databases (SQLite connections are in autocommit mode, see _configure_sqlite;
        PostgreSQL's is switched to autocommit for the statement: no BEGIN and ROLLBACK round trips). The
        pool's checks (a dead PostgreSQL connection is replaced at checkout) apply as to any checkout."""
        compiled = query.compiled_for(self.db_engine.dialect)
        args = compiled.arguments(params)
        try:
            pooled = self.db_engine.raw_connection()
        except Exception as exc:  # the driver's own error: raw_connection() does not wrap it
            if connection_lost(exc) or self._driver_unavailable(exc):  # no connection could be made
                raise self._lost(exc) from exc
            raise
        try:
            dbapi_connection: Any = pooled.dbapi_connection
            if not self.is_sqlite:
                dbapi_connection.autocommit = True
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(compiled.sql, args)
                row = cursor.fetchone()
            finally:
                cursor.close()
            if not self.is_sqlite:
                dbapi_connection.autocommit = False
        except BaseException as exc:
            pooled.invalidate()  # its state is unknown: never hand it out again
            if self._driver_unavailable(exc):
                raise self._lost(exc) from exc
            raise
        finally:
            pooled.close()
        if row is None:
            return None
        return tuple(
            value if convert is None else convert(value)
            for convert, value in zip(compiled.converters, row, strict=True)
        )

    def _lost(self, exc: BaseException, *, outcome_unknown: bool = False) -> DatabaseUnavailableError:
        self.outage.note(exc)
        return lost(exc, outcome_unknown=outcome_unknown)

    def _driver_unavailable(self, exc: BaseException) -> bool:
        """A DBAPI driver's error (not SQLAlchemy's) saying the database cannot be used right now."""
        if self.is_sqlite:
            return sqlite_unavailable(exc)
        dbapi = self.db_engine.dialect.loaded_dbapi
        return isinstance(exc, (dbapi.OperationalError, dbapi.InterfaceError))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends normally, rolled back on any exception."""
        session = self._write()
        try:
            try:
                yield session
            except (DBAPIError, DisconnectionError) as exc:
                if connection_lost(exc):  # before the commit: nothing of it was written
                    raise self._lost(exc) from exc
                raise
            try:
                session.commit()
            except (DBAPIError, DisconnectionError) as exc:
                if connection_lost(exc):  # during the commit: applied or not, nobody can tell
                    raise self._lost(exc, outcome_unknown=True) from exc
                raise
        except BaseException:
            _rollback_quietly(session)
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.db_engine.dispose()


def _rollback_quietly(session: Session) -> None:
    """Roll back after a failure; on a lost connection there is nothing left to roll back."""
    try:
        session.rollback()
    except (DBAPIError, DisconnectionError) as exc:
        if not connection_lost(exc):
            raise
