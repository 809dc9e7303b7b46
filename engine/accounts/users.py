"""User administration: create, list, change roles, disable, reset passwords. Admins only; audited."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from engine import audit
from engine.accounts.passwords import hash_password, password_problems
from engine.accounts.views import UserView, user_view
from engine.clock import Clock
from engine.db import accounts as rows
from engine.db.models import UserRecord
from engine.db.session import Database
from engine.domain import Actor, Role
from engine.errors import (
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def roles_text(roles: Iterable[Role | str]) -> str:
    return ",".join(sorted({Role(r).value for r in roles}))


def role_problems(roles: Sequence[Role | str]) -> list[FieldProblem]:
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


def new_user_problems(
    username: str, password: str, roles: Sequence[Role | str], display_name: str, email: str
) -> list[FieldProblem]:
    """What is wrong with a new user's fields (`username` already normalised)."""
    problems: list[FieldProblem] = []
    if not USERNAME_PATTERN.match(username):
        problems.append(
            FieldProblem(
                ("username",), "3-64 characters: lower-case letters, digits, '.', '_' or '-'", "pattern"
            )
        )
    problems += password_problems(password)
    problems += role_problems(roles)
    if email and not EMAIL_PATTERN.match(email):
        problems.append(FieldProblem(("email",), "not a valid e-mail address", "email_invalid"))
    if len(display_name) > 200:
        problems.append(FieldProblem(("display_name",), "use at most 200 characters", "too_long"))
    return problems


def require_admin(database: Database, clock: Clock, actor: Actor, action: str) -> None:
    """Refuse (audited as `<action>_denied`) unless the actor is an admin."""
    if actor.has_role(Role.ADMIN):
        return
    with database.write() as session:
        audit.append_event(
            session, actor=actor, action=f"{action}_denied", at=clock.now(), detail={"reason": "admins only"}
        )
    raise PermissionDeniedError("only an admin can manage users")


def create_user(
    database: Database,
    clock: Clock,
    *,
    username: str,
    password: str,
    roles: Sequence[Role | str],
    display_name: str,
    email: str,
    actor: Actor,
) -> UserView:
    username = username.strip().lower()
    problems = new_user_problems(username, password, roles, display_name, email)
    if problems:
        raise ValidationFailedError("the user cannot be created", problems)
    now = clock.now()
    password_hash = hash_password(password)
    with database.write() as session:
        if rows.user_id_by_name(session, username) is not None:
            raise ConflictError(f"a user named {username!r} already exists")
        record = rows.add_user(
            session,
            UserRecord(
                username=username,
                display_name=display_name.strip() or username,
                email=email.strip(),
                password_hash=password_hash,
                roles=roles_text(roles),
                active=True,
                created_at=now,
                updated_at=now,
            ),
        )
        audit.append_event(
            session,
            actor=actor,
            action="user.created",
            at=now,
            after={"username": username, "roles": record.roles, "email": record.email},
        )
        return user_view(record)


def find_user(database: Database, username: str) -> UserView | None:
    with database.read() as session:
        record = rows.user_by_name(session, username.strip().lower())
        return user_view(record) if record is not None else None


def get_user(database: Database, user_id: int) -> UserView:
    with database.read() as session:
        record = rows.user_by_id(session, user_id)
        if record is None:
            raise NotFoundError(f"user {user_id} does not exist")
        return user_view(record)


def list_users(database: Database) -> list[UserView]:
    with database.read() as session:
        return [user_view(r) for r in rows.users_by_name(session)]


def usernames_with_role(database: Database, role: Role) -> list[str]:
    with database.read() as session:
        return [r.username for r in rows.active_users(session) if role.value in r.roles.split(",")]


def user_id(database: Database, username: str) -> int:
    with database.read() as session:
        found = rows.user_id_by_name(session, username)
    if found is None:
        raise NotFoundError(f"user {username!r} does not exist")
    return found


def update_user(
    database: Database,
    clock: Clock,
    user_id: int,
    actor: Actor,
    action: str,
    *,
    revoke: bool = False,
    revoke_sessions: bool = False,
    **values: object,
) -> UserView:
    """Change the user's columns in `values`, audited as `action`. `revoke` ends their sessions and API
    tokens, `revoke_sessions` only their sessions."""
    now = clock.now()
    with database.write() as session:
        record = rows.user_by_id(session, user_id)
        if record is None:
            raise NotFoundError(f"user {user_id} does not exist")
        before = {"roles": record.roles, "active": record.active}
        if not revoke_sessions and all(getattr(record, n) == v for n, v in values.items()):
            return user_view(record)  # already so (same roles, already disabled): no write, no event
        for name, value in values.items():
            setattr(record, name, value)
        record.updated_at = now
        if revoke or revoke_sessions:
            rows.revoke_sessions_of(session, user_id, at=now)
        if revoke:
            rows.revoke_tokens_of(session, user_id, at=now)
        session.flush()
        audit.append_event(
            session,
            actor=actor,
            action=action,
            at=now,
            before=before,
            after={"username": record.username, "roles": record.roles, "active": record.active},
        )
        return user_view(record)
