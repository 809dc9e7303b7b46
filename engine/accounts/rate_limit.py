"""The sign-in rate limit, per account and per client address, counted in the database so that it holds
across server processes. Every failure is audited, without the password."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from engine import audit
from engine.db import accounts as rows
from engine.db.session import Database
from engine.domain import Actor
from engine.errors import RateLimitedError

logger = logging.getLogger(__name__)

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


def account_key(name: str) -> str:
    return f"user:{name}"


def address_key(client: str) -> str:
    return f"addr:{client}"


def check_rate(database: Database, name: str, client: str, now: datetime) -> None:
    """Refuse (RateLimitedError, with the seconds to wait) once the account or the address has had too
    many failures within FAILURE_WINDOW."""
    since = now - FAILURE_WINDOW
    with database.read() as session:
        for key, limit in (
            (account_key(name), MAX_FAILURES_PER_ACCOUNT),
            (address_key(client), MAX_FAILURES_PER_ADDRESS),
        ):
            count, oldest = rows.failures_since(session, key, since)
            if count >= limit and oldest is not None:
                retry = max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1)
                raise RateLimitedError("too many failed sign-ins; try again later", retry)


def record_failure(database: Database, name: str, client: str, now: datetime, *, reason: str) -> None:
    """Count a failed sign-in against the account and the address, forget those past the window, audit."""
    with database.write() as session:
        rows.add_failures(session, (account_key(name), address_key(client)), at=now)
        rows.forget_failures_before(session, now - FAILURE_WINDOW)
        audit.append_event(
            session,
            actor=Actor(name or "(blank)", frozenset()),
            action="auth.sign_in_failed",
            at=now,
            detail={"client": client, "reason": reason},
        )
    logger.info("failed sign-in for %r from %s", name, client)
