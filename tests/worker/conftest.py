"""Real receivers on loopback for the worker's tests: an SMTP server (aiosmtpd) that records what it
accepts (and can stall in the middle of a delivery), and a webhook receiver (http.server) that checks
signatures and can be told to fail. Plus demo users with e-mail addresses and a worker factory."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from argon2 import PasswordHasher

from engine import (
    AccountService,
    Database,
    DeliveryConfig,
    RetryPolicy,
    Role,
    SmtpSettings,
    WebhookSettings,
    Worker,
    WorkflowEngine,
)
from engine.db.models import UserRecord
from engine.delivery import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_signature
from tests.ports import LOOPBACK, on_free_ports

SECRET = "test-webhook-secret"
PASSWORD = "a-long-passphrase"
PEOPLE = {
    "pat.pm": (Role.PM, "pat@example.com"),
    "sam.support": (Role.SUPPORT_LEAD, "sam@example.com"),
    "sue.support": (Role.SUPPORT_LEAD, "sue@example.com"),
    "max.manager": (Role.SUPPORT_MANAGER, "max@example.com"),
    "ada.admin": (Role.ADMIN, "ada@example.com"),
}


# ------------------------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    rcpt_tos: list[str]
    mail_from: str
    message: Message

    @property
    def text(self) -> str:
        payload = self.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode("utf-8")


class RecordingHandler:
    """Accepts every message (250) and keeps it; `stall_next` makes the next DATA hang (the client sees
    nothing) until `release` is set, and that one is then refused (451), never accepted."""

    def __init__(self) -> None:
        self.accepted: list[Received] = []
        self.stalled: list[Received] = []
        self.stall_next = 0
        self.stalling = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        received = Received(
            list(envelope.rcpt_tos),
            str(envelope.mail_from),
            message_from_bytes(envelope.original_content or b""),
        )
        with self.lock:
            stall = self.stall_next > 0
            if stall:
                self.stall_next -= 1
        if stall:
            self.stalled.append(received)
            self.stalling.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 Requested action aborted"
        with self.lock:
            self.accepted.append(received)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.accepted]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler

    def settings(self, *, timeout: float = 5.0) -> SmtpSettings:
        return SmtpSettings(
            host=self.host, port=self.port, sender="launchgate@example.org", timeout_seconds=timeout
        )


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = RecordingHandler()

    def start(port: int) -> Controller:
        controller = Controller(handler, hostname=LOOPBACK, port=port, ready_timeout=10)
        controller.start()  # OSError(EADDRINUSE) when another process took the port: on_free_ports retries
        return controller

    controller = on_free_ports(start)
    try:
        yield SmtpServer(LOOPBACK, controller.port, handler)
    finally:
        handler.release.set()
        controller.stop()


# ------------------------------------------------------------------------------------------- webhooks


@dataclass
class WebhookRequest:
    key: str
    signature_ok: bool
    event: dict[str, Any]
    status: int


@dataclass
class WebhookReceiver:
    url: str
    requests: list[WebhookRequest] = field(default_factory=list)
    fail_next: int = 0
    always_fail: bool = False
    delay_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def settings(self) -> WebhookSettings:
        return WebhookSettings(url=self.url, secret=SECRET, timeout_seconds=5)

    def keys(self) -> list[str]:
        return [r.key for r in self.requests]

    def accepted_keys(self) -> list[str]:
        return [r.key for r in self.requests if r.status == 200]


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_signature(body, SECRET, self.headers.get(SIGNATURE_HEADER))
            if receiver.delay_seconds:
                threading.Event().wait(receiver.delay_seconds)
            with receiver.lock:
                failing = receiver.always_fail or receiver.fail_next > 0
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                status = 503 if failing or not ok else 200
                receiver.requests.append(
                    WebhookRequest(self.headers.get(IDEMPOTENCY_HEADER, ""), ok, json.loads(body), status)
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/launchgate"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------------------- people, worker


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash of PASSWORD for every test user (hashing is slow on purpose)."""
    return PasswordHasher().hash(PASSWORD)


@pytest.fixture
def people(engine: WorkflowEngine, password_hash: str) -> AccountService:
    """The driver's actors as accounts with e-mail addresses (notifications go to them); they sign in
    with PASSWORD."""
    insert_people(engine.db, password_hash=password_hash, now=engine.clock.now())
    return AccountService(engine.db, clock=engine.clock)


def insert_people(database: Database, *, password_hash: str = "-", now: datetime | None = None) -> None:
    """PEOPLE as user rows (fast: no hashing; with the default hash nobody can sign in)."""
    moment = now or datetime.now(UTC)
    with database.write() as session:
        for username, (role, email) in PEOPLE.items():
            session.add(
                UserRecord(
                    username=username,
                    display_name=username,
                    email=email,
                    password_hash=password_hash,
                    roles=role.value,
                    active=True,
                    created_at=moment,
                    updated_at=moment,
                )
            )


def make_worker(
    engine: WorkflowEngine,
    *,
    smtp: SmtpServer | None = None,
    webhook: WebhookReceiver | None = None,
    max_attempts: int = 3,
    backoff_seconds: float = 60.0,
    distribution: tuple[str, ...] = ("support-team@example.com",),
    worker_id: str | None = None,
) -> Worker:
    config = DeliveryConfig(
        smtp=smtp.settings() if smtp else None,
        webhook=webhook.settings() if webhook else None,
        base_url="https://launchgate.example.org",
        support_distribution=distribution,
        retry=RetryPolicy(
            max_attempts=max_attempts, backoff_seconds=backoff_seconds, lease_seconds=60, jitter=0.0
        ),
    )
    return Worker(engine, config, worker_id=worker_id)
