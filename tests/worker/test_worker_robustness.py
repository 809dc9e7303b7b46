"""The worker keeps its promises when things go wrong around it: a lease taken over is never sent twice,
a message that keeps killing its workers becomes an incident, one failing step does not stop the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from engine import AccountService, FixedClock, WorkflowEngine
from engine import outbox as outbox_module
from engine.db.models import OutboxMessageRecord
from tests.engine.driver import AUDITOR
from tests.worker.conftest import WebhookReceiver, make_worker
from tests.worker.test_webhooks_and_incidents import _notice_key, _notice_launch, _only_this_one_pending, _row


def test_message_is_not_sent_when_another_worker_took_over_its_lease(
    engine: WorkflowEngine, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook, worker_id="worker-a")
    key = _notice_key(engine, _notice_launch(engine))
    _only_this_one_pending(engine, key)
    [message] = outbox_module.claim(
        engine.db, now=engine.clock.now(), worker_id="worker-a", policy=worker.config.retry, limit=5
    )
    with engine.db.write() as session:  # worker A stalled past its lease; worker B holds the message now
        session.execute(
            update(OutboxMessageRecord)
            .where(OutboxMessageRecord.id == message.id)
            .values(locked_by="worker-b", locked_until=engine.clock.now() + timedelta(minutes=5))
        )

    assert worker.deliver(message) == "lost"
    assert webhook.requests == []
    assert _row(engine, key).locked_by == "worker-b"


def test_message_becomes_incident_when_every_attempt_died_with_its_worker(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook, max_attempts=3)
    launch_id = _notice_launch(engine)
    key = _notice_key(engine, launch_id)
    _only_this_one_pending(engine, key)
    with engine.db.write() as session:  # three claims, each ended by a kill before the outcome was written
        session.execute(
            update(OutboxMessageRecord)
            .where(OutboxMessageRecord.idempotency_key == key)
            .values(attempts=3, locked_by="dead-worker", locked_until=clock.now() - timedelta(seconds=1))
        )

    worker.tick()

    row = _row(engine, key)
    assert (row.status, row.attempts) == ("failed", 3)
    assert webhook.requests == []
    assert [m.id for m in engine.list_incidents(launch_id=launch_id, actor=AUDITOR)] == [row.id]
    failed = engine.audit_events(actor=AUDITOR, action="outbox.failed", launch_id=launch_id)
    assert len(failed) == 1 and "ended with its worker" in failed[0].detail["error"]


def test_tick_still_delivers_when_the_timer_step_fails(
    engine: WorkflowEngine, people: AccountService, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = make_worker(engine, webhook=webhook)
    key = _notice_key(engine, _notice_launch(engine))

    def broken(*_args: object, **_kwargs: object) -> list[str]:
        raise RuntimeError("a broken launch")

    monkeypatch.setattr(engine, "fire_due_timers", broken)
    report = worker.tick()

    assert report.timers == 0
    delivered_keys = webhook.keys()
    assert key in delivered_keys
    assert _row(engine, key).status == "delivered"
