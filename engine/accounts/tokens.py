"""Personal API tokens: a random secret shown once (prefixed `lg_`), only its SHA-256 stored. A token is
checked on every request and never cached: a revoked token or a disabled user stops working at once, in
every process."""

from __future__ import annotations

import secrets

from engine import audit
from engine.accounts.passwords import digest
from engine.accounts.users import user_id
from engine.accounts.views import ApiTokenView, UserView, active_user_view, token_view
from engine.clock import Clock
from engine.db import accounts as rows
from engine.db.models import ApiTokenRecord
from engine.db.session import Database
from engine.domain import Actor
from engine.errors import FieldProblem, NotFoundError, ValidationFailedError

TOKEN_PREFIX = "lg_"  # noqa: S105 - a public marker, not a secret


def create_token(database: Database, clock: Clock, *, actor: Actor, name: str) -> tuple[ApiTokenView, str]:
    """A new personal API token for the actor. The token itself is returned once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailedError("the token needs a name", [FieldProblem(("name",), "1-100 characters")])
    owner = user_id(database, actor.username)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with database.write() as session:
        record = rows.add_token(
            session,
            ApiTokenRecord(user_id=owner, name=name, token_hash=digest(raw), prefix=raw[:10], created_at=now),
        )
        audit.append_event(
            session, actor=actor, action="token.created", at=now, after={"id": record.id, "name": name}
        )
        return token_view(record), raw


def list_tokens(database: Database, *, actor: Actor) -> list[ApiTokenView]:
    owner = user_id(database, actor.username)
    with database.read() as session:
        return [token_view(r) for r in rows.tokens_of(session, owner)]


def revoke_token(database: Database, clock: Clock, *, token_id: int, actor: Actor) -> ApiTokenView:
    owner = user_id(database, actor.username)
    now = clock.now()
    with database.write() as session:
        record = rows.token_by_id(session, token_id)
        if record is None or record.user_id != owner:
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
        return token_view(record)


def resolve_token(database: Database, raw: str) -> UserView | None:
    """The active user holding this unrevoked API token, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    row = rows.token_caller(database, digest(raw))
    return active_user_view(row) if row is not None else None
