"""Appending to the audit trail locks only the launch's own chain (issue 14): on PostgreSQL a command on one
launch goes through while another transaction holds a second launch's chain, and a command on the held
launch waits for it. No time is asserted: the checks are "finished" and "waiting on a lock"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text

from engine import LaunchView, WorkflowEngine, audit
from engine.domain import Actor
from tests.conftest import backends_waiting_for
from tests.engine import driver


def _in_thread(run: Callable[[], LaunchView]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def target() -> None:
        try:
            outcome.append(run())
        except Exception as exc:  # reported by the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def test_command_on_other_launch_goes_through_while_a_chain_is_held(engine: WorkflowEngine) -> None:
    if engine.db.is_sqlite:
        pytest.skip("SQLite write transactions are exclusive by design (one writer at a time)")
    held, other = driver.start(engine), driver.start(engine)
    holder = Actor("hold.test", frozenset())
    with engine.db.write() as session:
        holder_pid = int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        audit.append_event(
            session, actor=holder, action="test.held", at=engine.clock.now(), launch_id=held.id
        )
        free, free_outcome = _in_thread(lambda: driver.complete(engine, other, "draft_proposal"))
        free.join(timeout=120)
        assert not free.is_alive(), "a command on another launch waited for the held chain"
        assert isinstance(free_outcome[0], LaunchView)

        blocked, blocked_outcome = _in_thread(lambda: driver.complete(engine, held, "draft_proposal"))
        deadline = time.monotonic() + 120
        while (
            backends_waiting_for(engine.db.db_engine, holder_pid) == 0
            and blocked.is_alive()
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert blocked.is_alive() and backends_waiting_for(engine.db.db_engine, holder_pid) == 1, (
            "the held launch's command did not wait"
        )
    blocked.join(timeout=120)
    assert isinstance(blocked_outcome[0], LaunchView)
    assert engine.verify_audit().ok
