"""Webhooks to a receiver on loopback: signed bodies, retries with backoff and the same idempotency key,
and the last failed attempt becoming an incident that the launch page and the API show and an admin can
retry."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.settings import Settings
from engine import AccountService, FixedClock, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from engine.delivery import sign, verify_signature
from tests.engine import driver
from tests.worker.conftest import SECRET, SmtpServer, WebhookReceiver, make_worker


def _notice_launch(engine: WorkflowEngine) -> str:
    return driver.advance_until(engine, driver.start(engine), "acknowledge_launch_notice").id


def _row(engine: WorkflowEngine, key: str) -> OutboxMessageRecord:
    with engine.db.read() as session:
        return session.execute(
            select(OutboxMessageRecord).where(OutboxMessageRecord.idempotency_key == key)
        ).scalar_one()


def _notice_key(engine: WorkflowEngine, launch_id: str) -> str:
    with engine.db.read() as session:
        return session.execute(
            select(OutboxMessageRecord.idempotency_key).where(
                OutboxMessageRecord.launch_id == launch_id, OutboxMessageRecord.kind == "launch_notice_email"
            )
        ).scalar_one()


def _only_this_one_pending(engine: WorkflowEngine, key: str) -> None:
    """Mark every other message delivered, so what the receiver counts is this message's attempts."""
    with engine.db.write() as session:
        session.execute(
            update(OutboxMessageRecord)
            .where(OutboxMessageRecord.idempotency_key != key)
            .values(status="delivered")
        )


def test_signature_verifies_only_the_exact_body_with_the_secret() -> None:
    body = b'{"id":"k","kind":"launch_notice_email"}'
    header = sign(body, SECRET)

    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(body, SECRET, header)
    assert not verify_signature(body + b" ", SECRET, header)
    assert not verify_signature(body, "another-secret", header)
    assert not verify_signature(body, SECRET, None)


def test_webhook_receiver_gets_every_message_signed_with_its_idempotency_key(
    engine: WorkflowEngine, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook)
    launch_id = _notice_launch(engine)

    worker.tick()

    assert webhook.requests and all(r.signature_ok for r in webhook.requests)
    assert all(r.key == r.event["id"] for r in webhook.requests)
    assert len(set(webhook.keys())) == len(webhook.requests)  # each message once
    [notice] = [r for r in webhook.requests if r.event["kind"] == "launch_notice_email"]
    assert notice.key == _notice_key(engine, launch_id)
    assert notice.event["launch_id"] == launch_id
    assert notice.event["payload"]["content"]["rollback_plan"] == "Turn the reminders flag off."
    assert notice.event["links"]["launch"] == f"https://launchgate.example.org/launches/{launch_id}"


def test_failing_receiver_gets_the_message_again_per_failure_with_the_same_key(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook, backoff_seconds=60, max_attempts=5)
    launch_id = _notice_launch(engine)
    key = _notice_key(engine, launch_id)
    _only_this_one_pending(engine, key)
    webhook.fail_next = 2

    worker.tick()  # attempt 1 fails
    assert webhook.keys() == [key]
    clock.advance(timedelta(seconds=59))
    worker.tick()  # backoff not over: nothing
    assert webhook.keys() == [key]
    clock.advance(timedelta(seconds=1))
    worker.tick()  # attempt 2 fails; next wait is 120 s
    clock.advance(timedelta(seconds=119))
    worker.tick()
    assert len(webhook.requests) == 2
    clock.advance(timedelta(seconds=1))
    worker.tick()  # attempt 3 succeeds
    clock.advance(timedelta(days=3))
    worker.tick()  # and it is never sent again (the reminder ladder has its own messages by now)

    notices = [r for r in webhook.requests if r.key == key]
    assert [r.status for r in notices] == [503, 503, 200]
    assert all(r.signature_ok for r in notices)
    row = _row(engine, key)
    assert (row.status, row.attempts, row.delivered_channels, row.last_error) == (
        "delivered",
        3,
        "webhook",
        None,
    )


def test_last_failed_attempt_is_an_incident_on_the_page_and_in_the_api_and_an_admin_retries_it(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook, backoff_seconds=10, max_attempts=3)
    launch_id = _notice_launch(engine)
    key = _notice_key(engine, launch_id)
    _only_this_one_pending(engine, key)
    webhook.always_fail = True
    for _ in range(3):
        worker.tick()
        clock.advance(timedelta(minutes=5))
    worker.tick()

    assert webhook.keys() == [key] * 3
    [incident] = engine.list_incidents(launch_id=launch_id, actor=driver.PM)
    assert (incident.idempotency_key, incident.status, incident.attempts) == (key, "failed", 3)
    assert "HTTP 503" in (incident.last_error or "")
    failed_audit = [
        e for e in engine.launch_history(launch_id=launch_id, actor=driver.PM) if e.action == "outbox.failed"
    ]
    assert [e.detail["message"] for e in failed_audit if e.detail["kind"] == "launch_notice_email"] == [
        incident.id
    ]

    app = create_app(Settings(database_url=engine.db.url), database=engine.db)
    tokens = {}
    for username in ("pat.pm", "ada.admin"):
        user = people.find_user(username)
        assert user is not None
        tokens[username] = {"Authorization": f"Bearer {people.create_token(actor=user.actor(), name='t')[1]}"}
    with TestClient(app) as client:
        listed = client.get(f"/api/v1/launches/{launch_id}/incidents", headers=tokens["pat.pm"])
        denied = client.post(f"/api/v1/outbox/{incident.id}/retry", headers=tokens["pat.pm"])
        client.post("/api/v1/auth/sign-in", json={"username": "ada.admin", "password": "a-long-passphrase"})
        page = client.get(f"/launches/{launch_id}")
        retried = client.post(f"/api/v1/outbox/{incident.id}/retry", headers=tokens["ada.admin"])
        missing = client.post("/api/v1/outbox/999999/retry", headers=tokens["ada.admin"])

        assert listed.status_code == 200
        assert [m["idempotency_key"] for m in listed.json()["items"]] == [key]
        assert denied.status_code == 403
        assert page.status_code == 200
        assert "Delivery incidents" in page.text
        assert f"/launches/{launch_id}/incidents/{incident.id}/retry" in page.text  # the admin's button
        assert retried.status_code == 200
        assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
        assert missing.status_code == 404

        webhook.always_fail = False
        worker.tick()
        again = client.post(f"/api/v1/outbox/{incident.id}/retry", headers=tokens["ada.admin"])

    assert webhook.keys() == [key] * 4
    assert _row(engine, key).status == "delivered"
    assert engine.list_incidents(launch_id=launch_id, actor=driver.PM) == []
    assert again.status_code == 409
    actions = [e.action for e in engine.launch_history(launch_id=launch_id, actor=driver.PM)]
    assert "outbox.retried" in actions
    assert engine.verify_audit().ok


def test_incident_retry_from_the_launch_page_needs_an_admin_and_the_form_token(
    engine: WorkflowEngine, people: AccountService, webhook: WebhookReceiver
) -> None:
    worker = make_worker(engine, webhook=webhook, max_attempts=1)
    launch_id = _notice_launch(engine)
    webhook.always_fail = True
    worker.tick()
    incidents = engine.list_incidents(launch_id=launch_id, actor=driver.PM)
    assert incidents
    target = f"/launches/{launch_id}/incidents/{incidents[0].id}/retry"
    app = create_app(Settings(database_url=engine.db.url), database=engine.db)

    with TestClient(app) as client:
        pm = client.post("/api/v1/auth/sign-in", json={"username": "pat.pm", "password": "a-long-passphrase"})
        as_pm = client.post(target, data={"csrf_token": pm.json()["csrf_token"]}, follow_redirects=False)
        admin = client.post(
            "/api/v1/auth/sign-in", json={"username": "ada.admin", "password": "a-long-passphrase"}
        )
        forged = client.post(target, data={"csrf_token": "wrong"}, follow_redirects=False)
        done = client.post(target, data={"csrf_token": admin.json()["csrf_token"]}, follow_redirects=False)

    assert as_pm.status_code == 403
    assert forged.status_code == 403
    assert done.status_code == 303
    assert done.headers["location"] == f"/launches/{launch_id}#incidents"
    assert engine.list_incidents(launch_id=launch_id, actor=driver.PM) == incidents[1:]


def test_channel_that_went_through_is_not_repeated_when_another_one_fails(
    engine: WorkflowEngine,
    clock: FixedClock,
    people: AccountService,
    webhook: WebhookReceiver,
    smtp_server: SmtpServer,
) -> None:
    worker = make_worker(engine, smtp=smtp_server, webhook=webhook, backoff_seconds=60)
    launch_id = _notice_launch(engine)
    key = _notice_key(engine, launch_id)
    _only_this_one_pending(engine, key)
    webhook.fail_next = 1

    worker.tick()  # e-mail goes through, the webhook fails
    clock.advance(timedelta(seconds=60))
    worker.tick()  # only the webhook is tried again

    assert [str(r.message["X-LaunchGate-Key"]) for r in smtp_server.handler.accepted] == [key]
    assert [r.status for r in webhook.requests] == [503, 200]
    row = _row(engine, key)
    assert (row.status, row.attempts, row.delivered_channels) == ("delivered", 2, "email,webhook")
