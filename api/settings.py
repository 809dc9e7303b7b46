"""Settings from the environment (prefix LAUNCHGATE_) or a .env file. Bad values are refused at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.resources import BPMN_DIR
from engine import (
    DeliveryConfig,
    HolidayCalendar,
    LadderAction,
    LadderStep,
    RetryPolicy,
    SchedulePolicy,
    SmtpSettings,
    WebhookSettings,
    check_database_url,
    default_database_url,
    normalize_email,
)

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["text", "json"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAUNCHGATE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"),
        validate_default=True,
        description="Where Launch Gate keeps its data: the default SQLite database, the local SMTP sink's "
        "mail, metrics of several server processes (relative: to the working directory)",
    )
    database_url: str = Field(
        default_factory=lambda data: default_database_url(data["data_dir"]),
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db "
        "(default: launchgate.db in the data directory)",
    )
    bpmn_dir: Path = Field(
        default=BPMN_DIR, description="Diagrams deployed at migrate time (default: shipped)"
    )
    host: str = Field(default="127.0.0.1", description="Address `launchgate serve` listens on")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=1, ge=1, le=64, description="Server processes (use PostgreSQL for more than one)"
    )
    # ---- operations: the server, the database pool, logs, metrics
    forwarded_allow_ips: str = Field(
        default="",
        description="Proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or "
        "networks, '*' for any); empty: none, the client is the connection's address",
    )
    root_path: str = Field(default="", description="The path prefix a proxy serves Launch Gate under")
    worker_start_timeout: int = Field(
        default=60, ge=1, le=3600, description="Seconds a server process may take to start (several workers)"
    )
    db_pool_size: int = Field(default=10, ge=1, le=1000, description="Database connections kept per process")
    db_max_overflow: int = Field(
        default=20, ge=0, le=1000, description="Extra connections per process under load"
    )
    log_level: LogLevel = Field(default="info", description="debug, info, warning or error")
    log_format: LogFormat = Field(default="text", description="text (one line each) or json")
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="/metrics answers requests with `Authorization: Bearer <this>` (empty: only loopback "
        "clients and metrics_allow_ips)",
    )
    metrics_allow_ips: str = Field(
        default="", description="Client addresses or networks allowed to read /metrics without the token"
    )
    fault_injection: str = Field(
        default="",
        description="TESTS ONLY: 'before_write:<command>' or 'after_commit:<command>' makes the server stop "
        "there (write a marker file in fault_marker_dir, then hang) so a test can kill it",
    )
    fault_marker_dir: Path | None = None

    # ---- links in messages
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of the links in e-mails and webhook events"
    )
    # ---- e-mail (SMTP); an empty host turns e-mail off
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server (empty: no e-mail)")
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS")
    smtp_username: str = Field(default="", description="SMTP login (empty: no login)")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    smtp_sender: str = Field(default="launchgate@localhost", description="The From address")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    smtp_sink: bool = Field(
        default=True,
        description="`launchgate run` starts the local SMTP sink when smtp_host is a loopback address",
    )
    mail_dir: Path = Field(
        default_factory=lambda data: data["data_dir"] / "mail",
        description="Where the local SMTP sink writes .eml files (default: mail in the data directory)",
    )
    support_distribution: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Default recipients of the launch notice (comma-separated or a JSON list) for "
        "launches that name none",
    )
    # ---- webhooks (optional)
    webhook_url: str = Field(default="", description="POST every message here as signed JSON (empty: off)")
    webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC-SHA256 key for signatures (of webhook_url and of the diagrams' webhook connectors)",
    )
    webhook_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts the diagrams' webhook connectors may call (comma-separated; empty: any)",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # ---- delivery
    delivery_max_attempts: int = Field(default=5, ge=1, le=100, description="Attempts before an incident")
    delivery_backoff_seconds: float = Field(
        default=30.0, ge=0, le=86_400, description="Wait after the first failure; doubles every time"
    )
    delivery_backoff_max_seconds: float = Field(
        default=3600.0, ge=0, le=7 * 86_400, description="The longest wait between two attempts"
    )
    delivery_backoff_jitter: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Each wait is shortened by a random part of up to this fraction (0: no jitter)",
    )
    delivery_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="How long a worker holds a message it is delivering (a crashed worker's messages are "
        "delivered again after this)",
    )
    idempotency_ttl_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="How long an Idempotency-Key's first answer is kept (the worker purges older ones)",
    )
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    # ---- time
    timezone: str = Field(
        default="UTC",
        description="The team's time zone (IANA name, e.g. Australia/Sydney): where business days, "
        "weekends and holidays fall, and the times pages show",
    )
    holidays: Annotated[list[date], NoDecode] = Field(
        default_factory=list, description="Days that are not business days (ISO dates, comma-separated)"
    )
    holidays_country: str = Field(
        default="", description="Also skip this country's public holidays (ISO code, e.g. AU; empty: none)"
    )
    holidays_subdiv: str = Field(
        default="", description="The country's subdivision whose holidays apply too (e.g. NSW)"
    )
    reminder_ladder: Annotated[list[LadderStep], NoDecode] = Field(
        default_factory=lambda: list(SchedulePolicy().ladder),
        description="Reminder ladder: business-day offset from the due date and action, "
        "e.g. '-1:remind,0:remind,1:escalate'",
    )
    support_days_before_launch: int = Field(
        default=2,
        ge=0,
        le=60,
        description="Tasks holding a gate item are due at least this many business days before the "
        "planned launch date",
    )

    @field_validator("support_distribution", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        items = _split(value)
        return [_email(str(item)) for item in items] if isinstance(items, list) else items

    @field_validator("holidays", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("webhook_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        items = _split(value)
        return (
            [str(item).strip().lower() for item in items if str(item).strip()]
            if isinstance(items, list)
            else items
        )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin") from exc
        return value

    @field_validator("holidays_country")
    @classmethod
    def _country(cls, value: str) -> str:
        HolidayCalendar(country=value)  # refuses a country the holidays package does not know
        return value.upper()

    @field_validator("holidays_subdiv")
    @classmethod
    def _subdivision(cls, value: str, info: ValidationInfo) -> str:
        if value and "holidays_country" in info.data:
            HolidayCalendar(country=info.data["holidays_country"], subdiv=value)
        return value.upper()

    @field_validator("reminder_ladder", mode="before")
    @classmethod
    def _ladder(cls, value: Any) -> Any:
        items = _split(value)
        if not isinstance(items, list):
            return items
        steps = []
        for item in items:
            if isinstance(item, LadderStep):
                steps.append(item)
                continue
            offset, _, action = str(item).partition(":")
            try:
                steps.append(LadderStep(int(offset), LadderAction(action.strip())))
            except ValueError as exc:
                raise ValueError(f"ladder step {item!r}: write <business days>:remind|escalate") from exc
        SchedulePolicy(ladder=tuple(steps))  # refuses unsorted or repeated offsets
        return steps

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.webhook_url:
            WebhookSettings(self.webhook_url, self.webhook_secret.get_secret_value() or "-")
            if not self.webhook_secret.get_secret_value():
                raise ValueError("webhook_url needs webhook_secret (the key its bodies are signed with)")
        slowest = self.smtp_timeout_seconds + (self.webhook_timeout_seconds if self.webhook_url else 0)
        if self.delivery_lease_seconds <= slowest:
            raise ValueError(
                "delivery_lease_seconds must be longer than the delivery timeouts together "
                f"({slowest:g} s), or a slow delivery would be taken over by another worker"
            )
        return self

    def schedule_policy(self) -> SchedulePolicy:
        return SchedulePolicy(
            ladder=tuple(self.reminder_ladder),
            support_days_before_launch=self.support_days_before_launch,
            timezone=self.zone(),
        )

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday_calendar(self) -> HolidayCalendar:
        """The manual holidays and, when a country is set, its public holidays (and its subdivision's)."""
        return _calendar(tuple(self.holidays), self.holidays_country, self.holidays_subdiv)

    def delivery_config(self) -> DeliveryConfig:
        smtp = (
            SmtpSettings(
                host=self.smtp_host,
                port=self.smtp_port,
                starttls=self.smtp_starttls,
                username=self.smtp_username,
                password=self.smtp_password.get_secret_value(),
                sender=self.smtp_sender,
                timeout_seconds=self.smtp_timeout_seconds,
            )
            if self.smtp_host
            else None
        )
        webhook = (
            WebhookSettings(
                self.webhook_url, self.webhook_secret.get_secret_value(), self.webhook_timeout_seconds
            )
            if self.webhook_url
            else None
        )
        return DeliveryConfig(
            smtp=smtp,
            webhook=webhook,
            base_url=self.public_url,
            support_distribution=tuple(self.support_distribution),
            webhook_secret=self.webhook_secret.get_secret_value(),
            webhook_hosts=tuple(self.webhook_hosts),
            webhook_timeout_seconds=self.webhook_timeout_seconds,
            retry=RetryPolicy(
                max_attempts=self.delivery_max_attempts,
                backoff_seconds=self.delivery_backoff_seconds,
                lease_seconds=self.delivery_lease_seconds,
                max_backoff_seconds=self.delivery_backoff_max_seconds,
                jitter=self.delivery_backoff_jitter,
            ),
        )

    def smtp_is_local(self) -> bool:
        """Is the SMTP host this machine (where `launchgate run` may start the sink)?"""
        if self.smtp_host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.smtp_host).is_loopback
        except ValueError:
            return False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()


@lru_cache(maxsize=8)
def _calendar(manual: tuple[date, ...], country: str, subdiv: str) -> HolidayCalendar:
    return HolidayCalendar(manual, country=country, subdiv=subdiv)


def _split(value: Any) -> Any:
    """A list from the environment: a JSON list, or comma-separated values (blank: empty list)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [part.strip() for part in text.split(",") if part.strip()]


def _email(value: str) -> str:
    return normalize_email(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def override_settings(**values: object) -> Settings:
    """The settings with these values (None: unchanged) in place of the environment's, for this process and
    the processes it starts (as LAUNCHGATE_* variables). Bad values raise ValidationError as at start-up."""
    for name, value in values.items():
        if value is not None:
            os.environ[f"LAUNCHGATE_{name.upper()}"] = str(value)
    get_settings.cache_clear()
    return get_settings()
