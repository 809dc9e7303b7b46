"""Scratch databases: a fresh SQLite file (on disk, durable settings) or a fresh PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import Database, WorkflowEngine, upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
PG_ENV_VARS = ("LAUNCHGATE_BENCH_DATABASE_URL", "LAUNCHGATE_TEST_DATABASE_URL")


def postgres_admin_url() -> str | None:
    """The PostgreSQL server to create scratch databases on, from the environment (None when unset)."""
    for name in PG_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            if value.startswith("postgresql://"):
                value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
            return value
    return None


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" or "postgresql"
    admin_url: str | None = None  # PostgreSQL only
    scratch_dir: Path | None = None  # SQLite only: where the files go (default: the system temp dir)

    @contextmanager
    def scratch(self, label: str) -> Iterator[str]:
        """A new, empty database URL, removed afterwards."""
        if self.name == "sqlite":
            base = tempfile.mkdtemp(prefix=f"lgbench-{label}-", dir=self.scratch_dir)
            try:
                yield f"sqlite:///{Path(base) / 'bench.db'}"
            finally:
                shutil.rmtree(base, ignore_errors=True)
            return
        if self.admin_url is None:
            raise RuntimeError(
                "PostgreSQL needs LAUNCHGATE_BENCH_DATABASE_URL or LAUNCHGATE_TEST_DATABASE_URL"
            )
        name = f"lgbench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                yield make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def prepared_engine(url: str, *, cache_size: int = 256) -> WorkflowEngine:
    """Migrate the database to head, deploy the shipped diagram, return an engine on it."""
    database = Database.from_url(url)
    upgrade_to_head(database.db_engine)
    engine = WorkflowEngine(database, cache_size=cache_size)
    engine.sync_shipped_processes(BPMN_DIR)
    return engine
