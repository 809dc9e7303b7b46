"""What the account commands hand out: frozen views of users, sessions and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from engine.db.models import ApiTokenRecord, UserRecord
from engine.domain import Actor, Role, view_from


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


@lru_cache(maxsize=64)
def parse_roles(text: str) -> frozenset[Role]:
    """The roles of a user row: a sorted comma-separated list of Role values."""
    return frozenset(Role(r) for r in text.split(",") if r)


def user_view(record: UserRecord) -> UserView:
    return view_from(UserView, record, roles=parse_roles(record.roles))


def active_user_view(columns: Sequence[Any]) -> UserView:
    """An active user, from the values of engine.db.accounts.USER_COLUMNS (a credential look-up)."""
    user_id, username, display_name, email, roles, created_at = columns
    return UserView(
        id=user_id,
        username=username,
        display_name=display_name,
        email=email,
        roles=parse_roles(roles),
        active=True,
        created_at=created_at,
    )


def token_view(record: ApiTokenRecord) -> ApiTokenView:
    return view_from(ApiTokenView, record, revoked=record.revoked_at is not None)
