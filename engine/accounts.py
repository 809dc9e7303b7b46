"""Users, sign-in, browser sessions and API tokens. Framework-free; the API layer calls it.

- Passwords: argon2id (argon2-cffi defaults). Unknown users cost the same hash check as wrong passwords.
- Sessions and tokens: random secrets handed to the client once; only their SHA-256 is stored.
- Sign-in rate limit per account and per client address, counted in the database so it holds across
  server processes. Every failure is audited, without the password.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, update

from engine import audit
from engine.clock import Clock, SystemClock
from engine.db.models import ApiTokenRecord, AuthSessionRecord, SignInFailureRecord, UserRecord
from engine.db.session import Database, OneRowQuery
from engine.domain import SYSTEM_ACTOR, Actor, Role
from engine.errors import (
    AuthenticationError,
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationFailedError,
)

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
SESSION_LIFETIME = timedelta(hours=12)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
SIGN_IN_FAILED = "unknown user name or wrong password"
TOKEN_PREFIX = "lg_"  # noqa: S105 - a public marker, not a secret

_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A real hash to check unknown users against (same cost as a wrong password); made on first use,
    not at import, so server start-up stays quick."""
    global _DUMMY_HASH  # noqa: PLW0603 - a lazily built module constant
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("launch-gate-timing-equaliser")
    return _DUMMY_HASH


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    email: str
    roles: frozenset[Role]
    active: bool
    created_at: datetime

    def actor(self, request_id: str | None = None) -> Actor:
        return Actor(self.username, self.roles, request_id)


@dataclass(frozen=True)
class SessionGrant:
    """What a successful sign-in hands out: the cookie value (once) and the CSRF token."""

    session_token: str
    csrf_token: str
    expires_at: datetime
    user: UserView


@dataclass(frozen=True)
class SessionView:
    user: UserView
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _roles_text(roles: Iterable[Role | str]) -> str:
    return ",".join(sorted({Role(r).value for r in roles}))


def _view(record: UserRecord) -> UserView:
    return UserView(
        id=record.id,
        username=record.username,
        display_name=record.display_name,
        email=record.email,
        roles=frozenset(Role(r) for r in record.roles.split(",") if r),
        active=record.active,
        created_at=record.created_at,
    )


# The per-request credential look-ups: one indexed SELECT each of only the columns needed, built once and
# run by Database.fetch_one (no ORM, no transaction); revoked credentials and disabled users are filtered
# out by the database.
_USER_COLUMNS = (
    UserRecord.id,
    UserRecord.username,
    UserRecord.display_name,
    UserRecord.email,
    UserRecord.roles,
    UserRecord.created_at,
)
_TOKEN_CALLER = OneRowQuery(
    select(*_USER_COLUMNS)
    .join_from(ApiTokenRecord, UserRecord, UserRecord.id == ApiTokenRecord.user_id)
    .where(
        ApiTokenRecord.token_hash == bindparam("digest"),
        ApiTokenRecord.revoked_at.is_(None),
        UserRecord.active.is_(True),
    )
)
_SESSION_CALLER = OneRowQuery(
    select(AuthSessionRecord.csrf_token, AuthSessionRecord.expires_at, *_USER_COLUMNS)
    .join_from(AuthSessionRecord, UserRecord, UserRecord.id == AuthSessionRecord.user_id)
    .where(
        AuthSessionRecord.id == bindparam("digest"),
        AuthSessionRecord.revoked_at.is_(None),
        UserRecord.active.is_(True),
    )
)


@lru_cache(maxsize=64)
def _parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


def _user_view(columns: Sequence[Any]) -> UserView:
    """An active user, from the values of _USER_COLUMNS."""
    user_id, username, display_name, email, roles, created_at = columns
    return UserView(
        id=user_id,
        username=username,
        display_name=display_name,
        email=email,
        roles=_parse_roles(roles),
        active=True,
        created_at=created_at,
    )


def _password_problems(password: str, field: str = "password") -> list[FieldProblem]:
    if len(password) < MIN_PASSWORD:
        return [FieldProblem((field,), f"use at least {MIN_PASSWORD} characters", "too_short")]
    if len(password) > MAX_PASSWORD:
        return [FieldProblem((field,), f"use at most {MAX_PASSWORD} characters", "too_long")]
    return []


class AccountService:
    """Users and credentials. Admin-only commands check the actor's role; everything is audited."""

    def __init__(self, database: Database, *, clock: Clock | None = None) -> None:
        self.db = database
        self.clock: Clock = clock or SystemClock()

    # ---------------------------------------------------------------- users (admin)

    def create_user(
        self,
        *,
        username: str,
        password: str,
        roles: Sequence[Role | str],
        actor: Actor,
        display_name: str = "",
        email: str = "",
    ) -> UserView:
        self._require_admin(actor, "user.create")
        username = username.strip().lower()
        problems: list[FieldProblem] = []
        if not USERNAME_PATTERN.match(username):
            problems.append(
                FieldProblem(
                    ("username",), "3-64 characters: lower-case letters, digits, '.', '_' or '-'", "pattern"
                )
            )
        problems += _password_problems(password)
        problems += self._role_problems(roles)
        if email and not EMAIL_PATTERN.match(email):
            problems.append(FieldProblem(("email",), "not a valid e-mail address", "email_invalid"))
        if len(display_name) > 200:
            problems.append(FieldProblem(("display_name",), "use at most 200 characters", "too_long"))
        if problems:
            raise ValidationFailedError("the user cannot be created", problems)
        now = self.clock.now()
        password_hash = _hasher.hash(password)
        with self.db.write() as session:
            if session.execute(select(UserRecord.id).where(UserRecord.username == username)).first():
                raise ConflictError(f"a user named {username!r} already exists")
            record = UserRecord(
                username=username,
                display_name=display_name.strip() or username,
                email=email.strip(),
                password_hash=password_hash,
                roles=_roles_text(roles),
                active=True,
                created_at=now,
                updated_at=now,
            )
            session.add(record)
            session.flush()
            audit.append_event(
                session,
                actor=actor,
                action="user.created",
                at=now,
                after={"username": username, "roles": record.roles, "email": record.email},
            )
            return _view(record)

    def ensure_user(
        self,
        *,
        username: str,
        password: str,
        roles: Sequence[Role | str],
        display_name: str,
        email: str = "",
    ) -> UserView:
        """Create the user unless one with that name exists (seeding)."""
        existing = self.find_user(username)
        if existing is not None:
            return existing
        return self.create_user(
            username=username,
            password=password,
            roles=roles,
            display_name=display_name,
            email=email,
            actor=SYSTEM_ACTOR,
        )

    def find_user(self, username: str) -> UserView | None:
        with self.db.read() as session:
            record = session.execute(
                select(UserRecord).where(UserRecord.username == username.strip().lower())
            ).scalar_one_or_none()
            return _view(record) if record is not None else None

    def get_user(self, *, user_id: int, actor: Actor) -> UserView:
        self._require_admin(actor, "user.read")
        with self.db.read() as session:
            record = session.get(UserRecord, user_id)
            if record is None:
                raise NotFoundError(f"user {user_id} does not exist")
            return _view(record)

    def list_users(self, *, actor: Actor) -> list[UserView]:
        self._require_admin(actor, "user.list")
        with self.db.read() as session:
            return [
                _view(r) for r in session.execute(select(UserRecord).order_by(UserRecord.username)).scalars()
            ]

    def usernames_with_role(self, role: Role) -> list[str]:
        with self.db.read() as session:
            rows = session.execute(select(UserRecord).where(UserRecord.active.is_(True))).scalars()
            return [r.username for r in rows if role.value in r.roles.split(",")]

    def set_roles(self, *, user_id: int, roles: Sequence[Role | str], actor: Actor) -> UserView:
        self._require_admin(actor, "user.set_roles")
        problems = self._role_problems(roles)
        if problems:
            raise ValidationFailedError("the roles are not valid", problems)
        return self._update_user(user_id, actor, "user.roles_set", roles=_roles_text(roles))

    def set_active(self, *, user_id: int, active: bool, actor: Actor) -> UserView:
        """Disable (or re-enable) a user. Disabling revokes their sessions and API tokens."""
        self._require_admin(actor, "user.set_active")
        if not active and user_id == self._user_id(actor.username):
            raise ConflictError("you cannot disable your own account")
        return self._update_user(
            user_id, actor, "user.enabled" if active else "user.disabled", active=active, revoke=not active
        )

    def reset_password(self, *, user_id: int, password: str, actor: Actor) -> UserView:
        """Set a new password and revoke the user's sessions (API tokens are separate credentials)."""
        self._require_admin(actor, "user.reset_password")
        problems = _password_problems(password)
        if problems:
            raise ValidationFailedError("the password is not valid", problems)
        return self._update_user(
            user_id, actor, "user.password_reset", password_hash=_hasher.hash(password), revoke_sessions=True
        )

    # ---------------------------------------------------------------- sign-in and sessions

    def sign_in(self, *, username: str, password: str, client: str) -> SessionGrant:
        """Check the password and open a new session (always a new id). Same error and similar time for an
        unknown user and a wrong password; rate limited per account and per client address."""
        name = username.strip().lower()[:100]
        now = self.clock.now()
        self._check_rate(name, client, now)
        with self.db.read() as session:
            record = session.execute(
                select(UserRecord).where(UserRecord.username == name)
            ).scalar_one_or_none()
        ok = False
        try:
            ok = _hasher.verify(record.password_hash if record else _dummy_hash(), password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            ok = False
        if record is None or not ok or not record.active:
            self._record_failure(
                name, client, now, reason="unknown user" if record is None else "bad credentials"
            )
            raise AuthenticationError(SIGN_IN_FAILED)
        raw = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        expires = now + SESSION_LIFETIME
        user = _view(record)
        with self.db.write() as session:
            session.add(
                AuthSessionRecord(
                    id=_digest(raw),
                    user_id=record.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                    client=client[:100],
                )
            )
            session.execute(delete(SignInFailureRecord).where(SignInFailureRecord.key == f"user:{name}"))
            audit.append_event(
                session, actor=user.actor(), action="auth.signed_in", at=now, detail={"client": client}
            )
        return SessionGrant(session_token=raw, csrf_token=csrf, expires_at=expires, user=user)

    def resolve_session(self, raw: str) -> SessionView | None:
        if not raw or len(raw) > 200:
            return None
        now = self.clock.now()
        row = self.db.fetch_one(_SESSION_CALLER, {"digest": _digest(raw)})
        if row is None:
            return None
        csrf_token, expires_at = row[0], row[1]
        if expires_at <= now:
            return None
        return SessionView(user=_user_view(row[2:]), csrf_token=csrf_token, expires_at=expires_at)

    def sign_out(self, raw: str) -> None:
        """Revoke the session; the cookie value is worthless from now on."""
        view = self.resolve_session(raw)
        if view is None:
            return
        now = self.clock.now()
        with self.db.write() as session:
            session.execute(
                update(AuthSessionRecord).where(AuthSessionRecord.id == _digest(raw)).values(revoked_at=now)
            )
            audit.append_event(session, actor=view.user.actor(), action="auth.signed_out", at=now)

    # ---------------------------------------------------------------- API tokens

    def create_token(self, *, actor: Actor, name: str) -> tuple[ApiTokenView, str]:
        """A new personal API token for the actor. The token itself is returned once and never stored."""
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise ValidationFailedError(
                "the token needs a name", [FieldProblem(("name",), "1-100 characters")]
            )
        user_id = self._user_id(actor.username)
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.db.write() as session:
            record = ApiTokenRecord(
                user_id=user_id, name=name, token_hash=_digest(raw), prefix=raw[:10], created_at=now
            )
            session.add(record)
            session.flush()
            audit.append_event(
                session, actor=actor, action="token.created", at=now, after={"id": record.id, "name": name}
            )
            return _token_view(record), raw

    def list_tokens(self, *, actor: Actor) -> list[ApiTokenView]:
        user_id = self._user_id(actor.username)
        with self.db.read() as session:
            rows = session.execute(
                select(ApiTokenRecord).where(ApiTokenRecord.user_id == user_id).order_by(ApiTokenRecord.id)
            ).scalars()
            return [_token_view(r) for r in rows]

    def revoke_token(self, *, token_id: int, actor: Actor) -> ApiTokenView:
        user_id = self._user_id(actor.username)
        now = self.clock.now()
        with self.db.write() as session:
            record = session.get(ApiTokenRecord, token_id)
            if record is None or record.user_id != user_id:
                raise NotFoundError(f"token {token_id} does not exist")
            if record.revoked_at is None:
                record.revoked_at = now
                audit.append_event(
                    session,
                    actor=actor,
                    action="token.revoked",
                    at=now,
                    before={"id": token_id, "name": record.name},
                )
            session.flush()
            return _token_view(record)

    def resolve_token(self, raw: str) -> UserView | None:
        """The active user holding this unrevoked API token, or None. Read on every request, never cached:
        a revoked token or a disabled user stops working at once, in every process."""
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        row = self.db.fetch_one(_TOKEN_CALLER, {"digest": _digest(raw)})
        return _user_view(row) if row is not None else None

    # ---------------------------------------------------------------- internals

    def _check_rate(self, name: str, client: str, now: datetime) -> None:
        since = now - FAILURE_WINDOW
        with self.db.read() as session:
            for key, limit in (
                (f"user:{name}", MAX_FAILURES_PER_ACCOUNT),
                (f"addr:{client}", MAX_FAILURES_PER_ADDRESS),
            ):
                count, oldest = session.execute(
                    select(func.count(), func.min(SignInFailureRecord.at)).where(
                        SignInFailureRecord.key == key, SignInFailureRecord.at > since
                    )
                ).one()
                if count >= limit:
                    retry = max(1, int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1)
                    raise RateLimitedError("too many failed sign-ins; try again later", retry)

    def _record_failure(self, name: str, client: str, now: datetime, *, reason: str) -> None:
        with self.db.write() as session:
            session.add(SignInFailureRecord(key=f"user:{name}", at=now))
            session.add(SignInFailureRecord(key=f"addr:{client}", at=now))
            session.execute(delete(SignInFailureRecord).where(SignInFailureRecord.at < now - FAILURE_WINDOW))
            audit.append_event(
                session,
                actor=Actor(name or "(blank)", frozenset()),
                action="auth.sign_in_failed",
                at=now,
                detail={"client": client, "reason": reason},
            )
        logger.info("failed sign-in for %r from %s", name, client)

    def _require_admin(self, actor: Actor, action: str) -> None:
        if actor.has_role(Role.ADMIN):
            return
        with self.db.write() as session:
            audit.append_event(
                session,
                actor=actor,
                action=f"{action}_denied",
                at=self.clock.now(),
                detail={"reason": "admins only"},
            )
        raise PermissionDeniedError("only an admin can manage users")

    @staticmethod
    def _role_problems(roles: Sequence[Role | str]) -> list[FieldProblem]:
        problems = []
        known = {r.value for r in Role}
        for i, role in enumerate(roles):
            if str(role) not in known:
                problems.append(
                    FieldProblem(("roles", i), f"unknown role {role!r}; one of {sorted(known)}", "enum")
                )
        if not roles:
            problems.append(FieldProblem(("roles",), "give at least one role", "too_short"))
        return problems

    def _user_id(self, username: str) -> int:
        with self.db.read() as session:
            found = session.execute(
                select(UserRecord.id).where(UserRecord.username == username)
            ).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"user {username!r} does not exist")
        return found

    def _update_user(
        self,
        user_id: int,
        actor: Actor,
        action: str,
        *,
        revoke: bool = False,
        revoke_sessions: bool = False,
        **values: object,
    ) -> UserView:
        now = self.clock.now()
        with self.db.write() as session:
            record = session.get(UserRecord, user_id)
            if record is None:
                raise NotFoundError(f"user {user_id} does not exist")
            before = {"roles": record.roles, "active": record.active}
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = now
            if revoke or revoke_sessions:
                session.execute(
                    update(AuthSessionRecord)
                    .where(AuthSessionRecord.user_id == user_id, AuthSessionRecord.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            if revoke:
                session.execute(
                    update(ApiTokenRecord)
                    .where(ApiTokenRecord.user_id == user_id, ApiTokenRecord.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            session.flush()
            audit.append_event(
                session,
                actor=actor,
                action=action,
                at=now,
                before=before,
                after={"username": record.username, "roles": record.roles, "active": record.active},
            )
            return _view(record)


def _token_view(record: ApiTokenRecord) -> ApiTokenView:
    return ApiTokenView(
        id=record.id,
        name=record.name,
        prefix=record.prefix,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        revoked=record.revoked_at is not None,
    )
