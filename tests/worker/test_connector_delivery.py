"""Send and service task connectors delivered by the worker: the e-mail connector to its addresses and to
every active user of its role, with its placeholders filled; the webhook connector POSTed to its own URL
only, signed over timestamp and body, retried with the outbox backoff and the same idempotency key, an
incident after its last attempt, and refused without a retry outside the allowed hosts or without a
secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from engine import DeliveryConfig, FixedClock, RetryPolicy, Worker, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from engine.delivery import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_timestamped,
    verify_timestamped_signature,
)
from tests.engine.diagram_builder import Node, chain, diagram
from tests.engine.driver import ADMIN, PM
from tests.engine.form_examples import VALID_LAUNCH_START
from tests.ports import listening_socket
from tests.worker.conftest import SECRET, SmtpServer

pytestmark = pytest.mark.usefixtures("people")


@dataclass
class Hook:
    key: str
    signature_ok: bool
    event: dict[str, Any]


@dataclass
class Receiver:
    url: str = ""
    hooks: list[Hook] = field(default_factory=list)
    fail_next: int = 0
    always_fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_timestamped_signature(
                body,
                SECRET,
                timestamp=self.headers.get(TIMESTAMP_HEADER),
                header=self.headers.get(SIGNATURE_HEADER),
                now=clock.now().timestamp(),
            )
            with found.lock:
                failing = found.always_fail or found.fail_next > 0
                found.fail_next = max(0, found.fail_next - 1)
                found.hooks.append(Hook(self.headers.get(IDEMPOTENCY_HEADER, ""), ok, json.loads(body)))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    sock = listening_socket()
    server = ThreadingHTTPServer(sock.getsockname(), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    found.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/launch"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def _launch(engine: WorkflowEngine, url: str) -> str:
    """A launch whose first step ran an e-mail send task and a webhook service task."""
    email = {
        "connector": "email",
        "to": "ops@example.com, role:support_lead",
        "subject": "{product_name}: {task}",
        "body": "{product_name} by {pm} goes ahead.\nThe launch: {launch_url}\n",
    }
    nodes = [
        Node("startEvent", "start"),
        Node("sendTask", "tell_support", name="Tell Support", props=email),
        Node("serviceTask", "tell_crm", props={"connector": "webhook", "url": url, "documents": "launch"}),
        Node("manualTask", "done"),
        Node("endEvent", "end"),
    ]
    xml = diagram("wired", nodes, chain("start", "tell_support", "tell_crm", "done", "end"))
    engine.deploy_process(xml=xml, actor=ADMIN)
    return engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="wired").id


def _worker(engine: WorkflowEngine, smtp: SmtpServer | None = None, **webhook: Any) -> Worker:
    config = DeliveryConfig(
        smtp=smtp.settings() if smtp else None,
        base_url="https://launchgate.example.org",
        retry=RetryPolicy(max_attempts=3, backoff_seconds=60, lease_seconds=60, jitter=0.0),
        webhook_secret=webhook.pop("secret", SECRET),
        **webhook,
    )
    return Worker(engine, config)


def _row(engine: WorkflowEngine, launch_id: str, kind: str) -> OutboxMessageRecord:
    with engine.db.read() as session:
        return session.execute(
            select(OutboxMessageRecord).where(
                OutboxMessageRecord.launch_id == launch_id, OutboxMessageRecord.kind == kind
            )
        ).scalar_one()


def test_the_email_connector_reaches_its_addresses_and_its_role_with_the_fields_filled(
    engine: WorkflowEngine, smtp_server: SmtpServer, receiver: Receiver
) -> None:
    launch_id = _launch(engine, receiver.url)
    _worker(engine, smtp_server).deliver_due()
    key = _row(engine, launch_id, "connector_email").idempotency_key
    [mail] = [m for m in smtp_server.handler.accepted if m.message["X-LaunchGate-Key"] == key]
    assert sorted(mail.rcpt_tos) == ["ops@example.com", "sam@example.com", "sue@example.com"]
    product = VALID_LAUNCH_START["product_name"]
    assert mail.message["Subject"] == f"{product}: Tell Support"
    assert f"{product} by {PM.username} goes ahead." in mail.text
    assert f"https://launchgate.example.org/launches/{launch_id}" in mail.text
    assert _row(engine, launch_id, "connector_email").status == "delivered"


def test_the_webhook_connector_posts_signed_json_to_its_own_url_only(
    engine: WorkflowEngine, smtp_server: SmtpServer, receiver: Receiver
) -> None:
    launch_id = _launch(engine, receiver.url)
    _worker(engine, smtp_server).deliver_due()
    row = _row(engine, launch_id, "connector_webhook")
    [hook] = receiver.hooks
    assert (hook.key, hook.signature_ok, row.status) == (row.idempotency_key, True, "delivered")
    assert hook.event["task"] == "tell_crm"
    assert hook.event["launch_id"] == launch_id
    assert hook.event["documents"]["launch"]["product_name"] == VALID_LAUNCH_START["product_name"]
    assert hook.event["fields"]["launch_url"] == f"https://launchgate.example.org/launches/{launch_id}"
    keys = [m.message["X-LaunchGate-Key"] for m in smtp_server.handler.accepted]
    assert row.idempotency_key not in keys, "a webhook connector's message is never e-mailed"


def test_a_failing_webhook_is_retried_after_the_backoff_with_the_same_key(
    engine: WorkflowEngine, clock: FixedClock, receiver: Receiver
) -> None:
    launch_id = _launch(engine, receiver.url)
    receiver.fail_next = 1
    worker = _worker(engine)
    worker.deliver_due()
    assert _row(engine, launch_id, "connector_webhook").status == "pending"
    worker.deliver_due()
    assert len(receiver.hooks) == 1, "not due before the backoff"
    clock.advance(timedelta(seconds=61))
    worker.deliver_due()
    row = _row(engine, launch_id, "connector_webhook")
    assert (row.status, row.attempts) == ("delivered", 2)
    assert [h.key for h in receiver.hooks] == [row.idempotency_key] * 2
    assert all(h.signature_ok for h in receiver.hooks)


def test_a_webhook_that_keeps_failing_becomes_an_incident_after_its_last_attempt(
    engine: WorkflowEngine, clock: FixedClock, receiver: Receiver
) -> None:
    launch_id = _launch(engine, receiver.url)
    receiver.always_fail = True
    worker = _worker(engine)
    for wait in (0, 61, 121, 241, 481):
        clock.advance(timedelta(seconds=wait))
        worker.deliver_due()
    row = _row(engine, launch_id, "connector_webhook")
    assert (row.status, row.attempts, len(receiver.hooks)) == ("failed", 3, 3)
    assert row.last_error is not None and "HTTP 500" in row.last_error
    [incident] = [m for m in engine.list_incidents(launch_id=launch_id, actor=ADMIN) if m.kind == row.kind]
    assert incident.id == row.id


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"webhook_hosts": ("hooks.example.org",)}, "not in the allowed hosts"),
        ({"secret": ""}, "no webhook secret is configured"),
    ],
)
def test_a_webhook_outside_the_allowed_hosts_or_without_a_secret_is_an_incident_at_once(
    engine: WorkflowEngine, receiver: Receiver, settings: dict[str, Any], error: str
) -> None:
    launch_id = _launch(engine, receiver.url)
    _worker(engine, **settings).deliver_due()
    row = _row(engine, launch_id, "connector_webhook")
    assert (row.status, row.attempts, receiver.hooks) == ("failed", 1, [])
    assert row.last_error is not None and error in row.last_error


def test_the_timestamped_signature_verifies_only_those_bytes_that_secret_and_a_fresh_time() -> None:
    body, now = b'{"id":"k"}', 1_900_000_000
    header = sign_timestamped(body, SECRET, now)
    assert verify_timestamped_signature(body, SECRET, timestamp=str(now), header=header, now=now + 10)
    assert not verify_timestamped_signature(body + b" ", SECRET, timestamp=str(now), header=header, now=now)
    assert not verify_timestamped_signature(body, "other", timestamp=str(now), header=header, now=now)
    assert not verify_timestamped_signature(body, SECRET, timestamp=str(now + 1), header=header, now=now)
    assert not verify_timestamped_signature(body, SECRET, timestamp=str(now), header=header, now=now + 301)
    assert not verify_timestamped_signature(body, SECRET, timestamp=None, header=header, now=now)
