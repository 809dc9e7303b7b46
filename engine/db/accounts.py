"""The account tables' reads and writes: users, browser sessions, API tokens, failed sign-ins.

Every function runs on the caller's session (its transaction), except the two per-request credential
look-ups, which run one prebuilt indexed SELECT through `Database.fetch_one` (no ORM, no transaction).
No rules here: who may do what, and what is valid, is decided in engine/accounts/.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from engine.db.models import ApiTokenRecord, AuthSessionRecord, SignInFailureRecord, UserRecord
from engine.db.session import Database, OneRowQuery

# The per-request credential look-ups select only these columns of the user, in this order (a session
# look-up puts its csrf_token and expires_at in front); revoked credentials and disabled users are
# filtered out by the database.
USER_COLUMNS = (
    UserRecord.id,
    UserRecord.username,
    UserRecord.display_name,
    UserRecord.email,
    UserRecord.roles,
    UserRecord.created_at,
)
_TOKEN_CALLER = OneRowQuery(
    select(*USER_COLUMNS)
    .join_from(ApiTokenRecord, UserRecord, UserRecord.id == ApiTokenRecord.user_id)
    .where(
        ApiTokenRecord.token_hash == bindparam("digest"),
        ApiTokenRecord.revoked_at.is_(None),
        UserRecord.active.is_(True),
    )
)
_SESSION_CALLER = OneRowQuery(
    select(AuthSessionRecord.csrf_token, AuthSessionRecord.expires_at, *USER_COLUMNS)
    .join_from(AuthSessionRecord, UserRecord, UserRecord.id == AuthSessionRecord.user_id)
    .where(
        AuthSessionRecord.id == bindparam("digest"),
        AuthSessionRecord.revoked_at.is_(None),
        UserRecord.active.is_(True),
    )
)


# ---------------------------------------------------------------- credentials, per request


def token_caller(database: Database, digest: str) -> tuple[Any, ...] | None:
    """The USER_COLUMNS of the active user holding the unrevoked token with this hash."""
    return database.fetch_one(_TOKEN_CALLER, {"digest": digest})


def session_caller(database: Database, digest: str) -> tuple[Any, ...] | None:
    """(csrf_token, expires_at, *USER_COLUMNS) of the unrevoked session with this id and its active user."""
    return database.fetch_one(_SESSION_CALLER, {"digest": digest})


# ---------------------------------------------------------------- users


def user_by_id(session: Session, user_id: int) -> UserRecord | None:
    return session.get(UserRecord, user_id)


def user_by_name(session: Session, username: str) -> UserRecord | None:
    return session.execute(select(UserRecord).where(UserRecord.username == username)).scalar_one_or_none()


def user_id_by_name(session: Session, username: str) -> int | None:
    return session.execute(select(UserRecord.id).where(UserRecord.username == username)).scalar_one_or_none()


def users_by_name(session: Session) -> Sequence[UserRecord]:
    """Every user, sorted by user name."""
    return session.execute(select(UserRecord).order_by(UserRecord.username)).scalars().all()


def active_users(session: Session) -> Sequence[UserRecord]:
    return session.execute(select(UserRecord).where(UserRecord.active.is_(True))).scalars().all()


def add_user(session: Session, record: UserRecord) -> UserRecord:
    """Insert a new user; its id is set on return."""
    session.add(record)
    session.flush()
    return record


def revoke_sessions_of(session: Session, user_id: int, *, at: datetime) -> None:
    """Revoke every open browser session of the user."""
    session.execute(
        update(AuthSessionRecord)
        .where(AuthSessionRecord.user_id == user_id, AuthSessionRecord.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def revoke_tokens_of(session: Session, user_id: int, *, at: datetime) -> None:
    """Revoke every unrevoked API token of the user."""
    session.execute(
        update(ApiTokenRecord)
        .where(ApiTokenRecord.user_id == user_id, ApiTokenRecord.revoked_at.is_(None))
        .values(revoked_at=at)
    )


# ---------------------------------------------------------------- browser sessions


def add_session(session: Session, record: AuthSessionRecord) -> None:
    session.add(record)


def revoke_session(session: Session, digest: str, *, at: datetime) -> None:
    session.execute(update(AuthSessionRecord).where(AuthSessionRecord.id == digest).values(revoked_at=at))


# ---------------------------------------------------------------- API tokens


def add_token(session: Session, record: ApiTokenRecord) -> ApiTokenRecord:
    """Insert a new token; its id is set on return."""
    session.add(record)
    session.flush()
    return record


def token_by_id(session: Session, token_id: int) -> ApiTokenRecord | None:
    return session.get(ApiTokenRecord, token_id)


def tokens_of(session: Session, user_id: int) -> Sequence[ApiTokenRecord]:
    """The user's tokens, oldest first."""
    return (
        session.execute(
            select(ApiTokenRecord).where(ApiTokenRecord.user_id == user_id).order_by(ApiTokenRecord.id)
        )
        .scalars()
        .all()
    )


# ---------------------------------------------------------------- failed sign-ins


def failures_since(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    """How many failures are recorded under `key` after `since`, and the oldest of them."""
    count, oldest = session.execute(
        select(func.count(), func.min(SignInFailureRecord.at)).where(
            SignInFailureRecord.key == key, SignInFailureRecord.at > since
        )
    ).one()
    return int(count), oldest


def add_failures(session: Session, keys: Iterable[str], *, at: datetime) -> None:
    session.add_all(SignInFailureRecord(key=key, at=at) for key in keys)


def forget_failures_of(session: Session, key: str) -> None:
    session.execute(delete(SignInFailureRecord).where(SignInFailureRecord.key == key))


def forget_failures_before(session: Session, before: datetime) -> None:
    session.execute(delete(SignInFailureRecord).where(SignInFailureRecord.at < before))
