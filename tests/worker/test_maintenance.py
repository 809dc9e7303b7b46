"""The worker's maintenance step: it refreshes the planner statistics on its first tick and then at most
once per interval (by the engine's clock), and it is isolated like every other step: its failure does not
stop the tick, and another step's failure does not stop it."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from engine import AccountService, FixedClock, WorkflowEngine
from engine import worker as worker_module
from engine.db.models import TaskRecord
from engine.worker import MAINTENANCE_EVERY
from tests.engine.driver import start
from tests.worker.conftest import WebhookReceiver, make_worker
from tests.worker.test_webhooks_and_incidents import _notice_key, _notice_launch, _row


def _analysed_task_rows(engine: WorkflowEngine) -> float | None:
    """How many task rows the planner statistics say there are (None: none recorded)."""
    with engine.db.db_engine.connect() as conn:
        if engine.db.is_sqlite:
            stat = conn.execute(
                text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'task' AND idx = 'ix_task_launch'")
            ).scalar()
            return None if stat is None else float(str(stat).split()[0])
        return conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('task')")).scalar()


def _tasks(engine: WorkflowEngine) -> int:
    with engine.db.read() as session:
        return int(session.execute(select(func.count()).select_from(TaskRecord)).scalar_one())


def test_first_tick_refreshes_the_statistics_then_once_per_interval(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    worker = make_worker(engine)
    start(engine)
    assert _analysed_task_rows(engine) in (None, 0)  # analysed while empty, when the database was migrated

    assert worker.tick().maintained is True
    assert _analysed_task_rows(engine) == _tasks(engine)

    start(engine)  # more rows; the statistics stay as they were until the interval has passed
    clock.advance(MAINTENANCE_EVERY - timedelta(seconds=1))
    assert worker.tick().maintained is False
    assert _analysed_task_rows(engine) < _tasks(engine)  # type: ignore[operator]

    clock.advance(timedelta(seconds=1))
    report = worker.tick()
    assert report.maintained is True
    assert not report.busy  # maintenance alone does not make the worker poll again at once
    assert _analysed_task_rows(engine) == _tasks(engine)


def test_interval_is_configurable_and_a_clock_going_back_does_not_stall_it(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    worker = worker_module.Worker(engine, make_worker(engine).config, maintenance_every=timedelta(minutes=5))
    assert worker.maintain() is True
    clock.advance(timedelta(minutes=4))
    assert worker.maintain() is False
    clock.advance(timedelta(minutes=1))
    assert worker.maintain() is True
    clock.advance(timedelta(hours=-2))  # e.g. the clock was corrected
    assert worker.maintain() is True


def test_a_failing_maintenance_step_does_not_stop_the_tick(
    engine: WorkflowEngine,
    clock: FixedClock,
    people: AccountService,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = make_worker(engine, webhook=webhook)
    key = _notice_key(engine, _notice_launch(engine))
    calls: list[object] = []

    def broken(database: object) -> None:
        calls.append(database)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(worker_module, "refresh_statistics", broken)
    with caplog.at_level(logging.ERROR, logger="engine.worker"):
        report = worker.tick()

    assert len(calls) == 1
    assert report.maintained is False
    delivered_keys = webhook.keys()
    assert key in delivered_keys
    assert _row(engine, key).status == "delivered"
    assert any("maintenance step failed" in r.getMessage() for r in caplog.records)

    # Not retried on every tick (it would hold SQLite's write lock each time); again after the interval.
    worker.tick()
    assert len(calls) == 1
    clock.advance(MAINTENANCE_EVERY)
    worker.tick()
    assert len(calls) == 2


def test_maintenance_runs_when_the_other_steps_fail(
    engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = make_worker(engine)

    def broken(*_args: object, **_kwargs: object) -> list[str]:
        raise RuntimeError("a broken launch")

    monkeypatch.setattr(engine, "fire_due_timers", broken)
    monkeypatch.setattr(worker, "deliver_due", broken)
    start(engine)

    report = worker.tick()

    assert (report.timers, report.claimed, report.maintained) == (0, 0, True)
    assert _analysed_task_rows(engine) == _tasks(engine)
