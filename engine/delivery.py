"""Delivery channels: e-mail over SMTP and signed webhooks. Standard library only.

Every message carries its outbox idempotency key on every attempt:
- e-mail: a `Message-ID` derived from the key (the same for every attempt) and an `X-LaunchGate-Key`
  header;
- webhook: the `Idempotency-Key` header, and the key as the event's `id`.

Webhook bodies are signed: `X-LaunchGate-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
shared secret>`. A receiver recomputes it over the bytes it received (`verify_signature`) and compares in
constant time. Webhooks are POSTed directly to the configured URL: no proxy, no redirects.

Webhook connectors (a send or service task's `url`, engine.connectors) sign the timestamp too:
`X-LaunchGate-Timestamp: <unix seconds>` and `X-LaunchGate-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>." + body>`, so a receiver can also refuse an old replay (`verify_timestamped_signature`).
Only the connector's own URL gets its message; a host outside `webhook_hosts` (when that allow-list is
set) is refused without a retry.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import urlsplit

from engine.notifications import Notification
from engine.outbox import RetryPolicy

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-LaunchGate-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-LaunchGate-Event"
KEY_HEADER = "X-LaunchGate-Key"
TIMESTAMP_HEADER = "X-LaunchGate-Timestamp"
CONNECTOR_WEBHOOK_KIND = "connector_webhook"


class DeliveryError(Exception):
    """One attempt failed. `permanent`: no retry can fix it (it becomes an incident at once)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    starttls: bool = False
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "launchgate@localhost"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str = field(repr=False)
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("the webhook URL must be http:// or https:// with a host")
        if not self.secret:
            raise ValueError("a webhook needs a secret to sign its bodies")


@dataclass(frozen=True)
class DeliveryConfig:
    """What the worker needs to deliver messages (built from settings by the API layer)."""

    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None
    base_url: str = "http://127.0.0.1:8000"
    support_distribution: tuple[str, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_size: int = 20
    # Webhook connectors: the key their bodies are signed with, and the hosts they may call (empty: any).
    webhook_secret: str = field(default="", repr=False)
    webhook_hosts: tuple[str, ...] = ()
    webhook_timeout_seconds: float = 10.0


class Channel(Protocol):
    """Sends one notification one way. Raises DeliveryError when the attempt failed."""

    name: str

    def send(self, notification: Notification) -> None: ...


# -- e-mail ------------------------------------------------------------------------------------------------


def message_id_for(key: str, sender: str) -> str:
    """The same Message-ID for every attempt of one message, so mail systems can drop a repeat."""
    domain = sender.rpartition("@")[2] or "launchgate.localhost"
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}@{domain}>"


# Long header values (the idempotency key) stay readable instead of being folded into encoded words.
_EMAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def build_email(notification: Notification, *, sender: str) -> EmailMessage:
    email = EmailMessage(policy=_EMAIL_POLICY)
    email["From"] = sender
    email["To"] = ", ".join(notification.recipients)
    email["Subject"] = notification.subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id_for(notification.key, sender)
    email[KEY_HEADER] = notification.key
    email[EVENT_HEADER] = notification.kind
    email.set_content(notification.body)
    return email


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, notification: Notification) -> None:
        if not notification.recipients:
            raise DeliveryError(notification.no_recipients or "nobody to e-mail", permanent=True)
        s = self.settings
        email = build_email(notification, sender=s.sender)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(email, from_addr=s.sender, to_addrs=list(notification.recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"every recipient was refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {s.host}:{s.port}: {exc!r}") from exc
        if refused:
            logger.warning("message %s: some recipients were refused: %s", notification.key, refused)


# -- webhooks ----------------------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """For receivers: does the signature header match these exact bytes?"""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def webhook_body(notification: Notification) -> bytes:
    return json.dumps(notification.event, sort_keys=True, separators=(",", ":"), default=str).encode()


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> None:
    """POST `body` to `url` directly (no proxy, no redirects); DeliveryError unless it answers 2xx."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        status = response.status
        response.read(10_000)
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryError(f"webhook {parts.hostname}: {exc!r}") from exc
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook {parts.hostname} answered HTTP {status}")


class WebhookChannel:
    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def send(self, notification: Notification) -> None:
        body = webhook_body(notification)
        headers = {
            "User-Agent": "LaunchGate-Webhook/1",
            IDEMPOTENCY_HEADER: notification.key,
            EVENT_HEADER: notification.kind,
            SIGNATURE_HEADER: sign(body, self.settings.secret),
        }
        post_json(self.settings.url, body, headers, timeout=self.settings.timeout_seconds)


def sign_timestamped(body: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_timestamped_signature(
    body: bytes,
    secret: str,
    *,
    timestamp: str | None,
    header: str | None,
    now: float | None = None,
    tolerance_seconds: int = 300,
) -> bool:
    """For receivers of a webhook connector: does the signature match these bytes and this timestamp,
    and is the timestamp within `tolerance_seconds` of now?"""
    if header is None or timestamp is None or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign_timestamped(body, secret, int(timestamp)), header)


class ConnectorWebhookChannel:
    """Delivers a webhook connector's message to the URL its task names, signed with a timestamp."""

    name = "webhook_connector"

    def __init__(
        self, secret: str, *, hosts: tuple[str, ...] = (), timeout_seconds: float = 10.0, clock: Any = None
    ) -> None:
        self.secret = secret
        self.hosts = frozenset(h.lower() for h in hosts)
        self.timeout_seconds = timeout_seconds
        self.clock = clock or time.time

    def send(self, notification: Notification) -> None:
        if not self.secret:
            raise DeliveryError(
                "no webhook secret is configured (LAUNCHGATE_WEBHOOK_SECRET): webhook connectors cannot sign",
                permanent=True,
            )
        host = (urlsplit(notification.url).hostname or "").lower()
        if self.hosts and host not in self.hosts:
            raise DeliveryError(
                f"webhook host {host!r} is not in the allowed hosts (LAUNCHGATE_WEBHOOK_HOSTS)",
                permanent=True,
            )
        body = webhook_body(notification)
        timestamp = int(self.clock())
        headers = {
            "User-Agent": "LaunchGate-Webhook/1",
            IDEMPOTENCY_HEADER: notification.key,
            EVENT_HEADER: notification.kind,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign_timestamped(body, self.secret, timestamp),
        }
        post_json(notification.url, body, headers, timeout=self.timeout_seconds)


def channels_for(config: DeliveryConfig) -> list[Channel]:
    found: list[Channel] = []
    if config.smtp is not None:
        found.append(EmailChannel(config.smtp))
    if config.webhook is not None:
        found.append(WebhookChannel(config.webhook))
    return found


def connector_channel(config: DeliveryConfig, *, clock: Any = None) -> ConnectorWebhookChannel:
    """The channel of webhook connectors; `clock` gives the signature's timestamp (unix seconds)."""
    return ConnectorWebhookChannel(
        config.webhook_secret,
        hosts=config.webhook_hosts,
        timeout_seconds=config.webhook_timeout_seconds,
        clock=clock,
    )
