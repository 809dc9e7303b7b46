"""At least once across crashes, exactly once in the normal case:
- `kill -9` of a worker process in the middle of an SMTP delivery: after a restart every message is
  delivered (the killed one once its lease expired), none is lost, none is accepted twice;
- two workers on PostgreSQL and 200 queued messages: each delivered exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import Database, SystemClock, Worker, WorkflowEngine, outbox
from engine.db.models import OutboxMessageRecord
from tests.worker.conftest import SmtpServer, WebhookReceiver, insert_people, make_worker

WAIT = 120.0  # upper bound for waits on another process; never an assertion on time


def _queue(database: Database, count: int, *, prefix: str) -> list[str]:
    """`count` reminder messages to sam.support (who has an e-mail address), due now by the wall clock."""
    keys = [f"{prefix}:{i}" for i in range(count)]
    now = datetime.now(UTC)
    with database.write() as session:
        for key in keys:
            outbox.add_message(
                session,
                kind="task_reminder",
                key=key,
                launch_id=None,
                task_id=None,
                payload={"title": key, "to": {"users": ["sam.support"]}},
                now=now,
            )
    return keys


def _statuses(database: Database) -> Counter[str]:
    with database.read() as session:
        rows = session.execute(
            select(OutboxMessageRecord.status, func.count()).group_by(OutboxMessageRecord.status)
        ).all()
    return Counter({status: int(n) for status, n in rows})


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def system_engine(database: Database) -> WorkflowEngine:
    return WorkflowEngine(database, clock=SystemClock())


@pytest.fixture
def worker_processes(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _spawn_worker(
    db_url: str, smtp: SmtpServer, cwd: Path, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LAUNCHGATE_DATABASE_URL": db_url,
        "LAUNCHGATE_SMTP_HOST": smtp.host,
        "LAUNCHGATE_SMTP_PORT": str(smtp.port),
        "LAUNCHGATE_SMTP_TIMEOUT_SECONDS": "2",
        "LAUNCHGATE_DELIVERY_LEASE_SECONDS": "3",  # a killed worker's messages come back after 3 s
        "LAUNCHGATE_DELIVERY_BACKOFF_SECONDS": "0",
        "LAUNCHGATE_WEBHOOK_URL": "",
        "LAUNCHGATE_SMTP_STARTTLS": "false",
        "LAUNCHGATE_SMTP_USERNAME": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--poll-seconds", "0.2"],
        cwd=cwd,  # no .env of the developer's is read
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started.append(process)
    return process


@pytest.mark.slow
def test_killed_worker_loses_no_message_and_the_restarted_one_delivers_each_once(
    db_url: str,
    database: Database,
    system_engine: WorkflowEngine,
    smtp_server: SmtpServer,
    worker_processes: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    insert_people(database)
    keys = _queue(database, 3, prefix="crash")
    handler = smtp_server.handler
    handler.stall_next = 1  # the first DATA hangs: the worker is in the middle of a delivery

    first = _spawn_worker(db_url, smtp_server, tmp_path, worker_processes)
    assert handler.stalling.wait(WAIT), "the worker never reached the SMTP server"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert _statuses(database) == Counter({"pending": 3})  # nothing was recorded as delivered
    handler.release.set()  # the server gives up on the dead connection (and never accepted it)

    second = _spawn_worker(db_url, smtp_server, tmp_path, worker_processes)
    _wait_until(lambda: _statuses(database) == Counter({"delivered": 3}), "every message delivered")
    second.send_signal(signal.SIGTERM)
    assert second.wait(WAIT) == 0

    [stalled] = handler.stalled
    accepted = Counter(str(r.message["Message-ID"]) for r in handler.accepted)
    assert sorted(str(r.message["X-LaunchGate-Key"]) for r in handler.accepted) == sorted(keys)
    assert set(accepted.values()) == {1}  # each message accepted exactly once
    assert accepted[str(stalled.message["Message-ID"])] == 1  # the interrupted one, with the same id
    with database.read() as session:
        attempts = sorted(session.execute(select(OutboxMessageRecord.attempts)).scalars())
    assert attempts == [2, 2, 2]  # claimed by the killed worker, then delivered by the restarted one


@pytest.mark.postgres
def test_two_workers_on_postgresql_deliver_200_messages_each_exactly_once(
    db_url: str, database: Database, webhook: WebhookReceiver
) -> None:
    if database.is_sqlite:
        pytest.skip("several workers at once need PostgreSQL")
    insert_people(database)
    keys = _queue(database, 200, prefix="bulk")
    webhook.delay_seconds = 0.002
    workers = []
    for name in ("worker-a", "worker-b"):
        own = Database.from_url(db_url)  # its own connection pool, as a separate process would have
        worker = make_worker(WorkflowEngine(own, clock=SystemClock()), webhook=webhook, worker_id=name)
        workers.append(worker)
    delivered: Counter[str] = Counter()
    barrier = threading.Barrier(len(workers))

    def run(worker: Worker) -> None:
        barrier.wait(WAIT)
        while True:
            claimed, done, _, _ = worker.deliver_due()
            delivered[worker.worker_id] += done
            if claimed == 0:
                return

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    for worker in workers:
        worker.engine.db.dispose()

    print(f"\n200 messages, 2 workers: delivered per worker {dict(delivered)}")
    assert Counter(webhook.keys()) == Counter(dict.fromkeys(keys, 1))
    assert all(r.signature_ok and r.status == 200 for r in webhook.requests)
    assert sum(delivered.values()) == 200
    assert _statuses(database) == Counter({"delivered": 200})
    with database.read() as session:
        assert set(session.execute(select(OutboxMessageRecord.attempts)).scalars()) == {1}
