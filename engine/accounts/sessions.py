"""Sign-in, browser sessions and sign-out.

A session is a random secret handed to the client once (the cookie); only its SHA-256 is stored. An
unknown user and a wrong password get the same error in about the same time, rate limited per account
and per client address (engine.accounts.rate_limit).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from engine import audit
from engine.accounts import rate_limit
from engine.accounts.passwords import digest, password_matches
from engine.accounts.views import SessionGrant, SessionView, active_user_view, user_view
from engine.clock import Clock
from engine.db import accounts as rows
from engine.db.models import AuthSessionRecord
from engine.db.session import Database
from engine.errors import AuthenticationError

SESSION_LIFETIME = timedelta(hours=12)
SIGN_IN_FAILED = "unknown user name or wrong password"


def sign_in(database: Database, clock: Clock, *, username: str, password: str, client: str) -> SessionGrant:
    """Check the password and open a new session (always a new id)."""
    name = username.strip().lower()[:100]
    now = clock.now()
    rate_limit.check_rate(database, name, client, now)
    with database.read() as session:
        record = rows.user_by_name(session, name)
    ok = password_matches(record.password_hash if record else None, password)
    if record is None or not ok or not record.active:
        rate_limit.record_failure(
            database, name, client, now, reason="unknown user" if record is None else "bad credentials"
        )
        raise AuthenticationError(SIGN_IN_FAILED)
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now + SESSION_LIFETIME
    user = user_view(record)
    with database.write() as session:
        rows.add_session(
            session,
            AuthSessionRecord(
                id=digest(raw),
                user_id=record.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
                client=client[:100],
            ),
        )
        rows.forget_failures_of(session, rate_limit.account_key(name))
        audit.append_event(
            session, actor=user.actor(), action="auth.signed_in", at=now, detail={"client": client}
        )
    return SessionGrant(session_token=raw, csrf_token=csrf, expires_at=expires, user=user)


def resolve_session(database: Database, clock: Clock, raw: str) -> SessionView | None:
    """The open session with this cookie value and its active user, or None."""
    if not raw or len(raw) > 200:
        return None
    now = clock.now()
    row = rows.session_caller(database, digest(raw))
    if row is None:
        return None
    csrf_token, expires_at = row[0], row[1]
    if expires_at <= now:
        return None
    return SessionView(user=active_user_view(row[2:]), csrf_token=csrf_token, expires_at=expires_at)


def sign_out(database: Database, clock: Clock, raw: str) -> None:
    """Revoke the session; the cookie value is worthless from now on."""
    view = resolve_session(database, clock, raw)
    if view is None:
        return
    now = clock.now()
    with database.write() as session:
        rows.revoke_session(session, digest(raw), at=now)
        audit.append_event(session, actor=view.user.actor(), action="auth.signed_out", at=now)
