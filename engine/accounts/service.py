"""AccountService: the one entry point the API layer calls for users and credentials. Each method
delegates to the module that owns that job (users, sessions, tokens); admin-only commands check the
actor's role first, and everything is audited."""

from __future__ import annotations

from collections.abc import Sequence

from engine.accounts import sessions, tokens, users
from engine.accounts.passwords import hash_password, password_problems
from engine.accounts.views import ApiTokenView, SessionGrant, SessionView, UserView
from engine.clock import Clock, SystemClock
from engine.db.session import Database
from engine.domain import SYSTEM_ACTOR, Actor, Role
from engine.errors import ConflictError, ValidationFailedError


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
        users.require_admin(self.db, self.clock, actor, "user.create")
        return users.create_user(
            self.db,
            self.clock,
            username=username,
            password=password,
            roles=roles,
            display_name=display_name,
            email=email,
            actor=actor,
        )

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
        return users.find_user(self.db, username)

    def get_user(self, *, user_id: int, actor: Actor) -> UserView:
        users.require_admin(self.db, self.clock, actor, "user.read")
        return users.get_user(self.db, user_id)

    def list_users(self, *, actor: Actor) -> list[UserView]:
        users.require_admin(self.db, self.clock, actor, "user.list")
        return users.list_users(self.db)

    def usernames_with_role(self, role: Role) -> list[str]:
        return users.usernames_with_role(self.db, role)

    def set_roles(self, *, user_id: int, roles: Sequence[Role | str], actor: Actor) -> UserView:
        users.require_admin(self.db, self.clock, actor, "user.set_roles")
        problems = users.role_problems(roles)
        if problems:
            raise ValidationFailedError("the roles are not valid", problems)
        return users.update_user(
            self.db, self.clock, user_id, actor, "user.roles_set", roles=users.roles_text(roles)
        )

    def set_active(self, *, user_id: int, active: bool, actor: Actor) -> UserView:
        """Disable (or re-enable) a user. Disabling revokes their sessions and API tokens."""
        users.require_admin(self.db, self.clock, actor, "user.set_active")
        if not active and user_id == users.user_id(self.db, actor.username):
            raise ConflictError("you cannot disable your own account")
        action = "user.enabled" if active else "user.disabled"
        return users.update_user(
            self.db, self.clock, user_id, actor, action, active=active, revoke=not active
        )

    def reset_password(self, *, user_id: int, password: str, actor: Actor) -> UserView:
        """Set a new password and revoke the user's sessions (API tokens are separate credentials)."""
        users.require_admin(self.db, self.clock, actor, "user.reset_password")
        problems = password_problems(password)
        if problems:
            raise ValidationFailedError("the password is not valid", problems)
        return users.update_user(
            self.db,
            self.clock,
            user_id,
            actor,
            "user.password_reset",
            password_hash=hash_password(password),
            revoke_sessions=True,
        )

    # ---------------------------------------------------------------- sign-in and sessions

    def sign_in(self, *, username: str, password: str, client: str) -> SessionGrant:
        """Check the password and open a new session (always a new id). Same error and similar time for an
        unknown user and a wrong password; rate limited per account and per client address."""
        return sessions.sign_in(self.db, self.clock, username=username, password=password, client=client)

    def resolve_session(self, raw: str) -> SessionView | None:
        return sessions.resolve_session(self.db, self.clock, raw)

    def sign_out(self, raw: str) -> None:
        """Revoke the session; the cookie value is worthless from now on."""
        sessions.sign_out(self.db, self.clock, raw)

    # ---------------------------------------------------------------- API tokens

    def create_token(self, *, actor: Actor, name: str) -> tuple[ApiTokenView, str]:
        """A new personal API token for the actor. The token itself is returned once and never stored."""
        return tokens.create_token(self.db, self.clock, actor=actor, name=name)

    def list_tokens(self, *, actor: Actor) -> list[ApiTokenView]:
        return tokens.list_tokens(self.db, actor=actor)

    def revoke_token(self, *, token_id: int, actor: Actor) -> ApiTokenView:
        return tokens.revoke_token(self.db, self.clock, token_id=token_id, actor=actor)

    def resolve_token(self, raw: str) -> UserView | None:
        """The active user holding this unrevoked API token, or None. Read on every request, never cached:
        a revoked token or a disabled user stops working at once, in every process."""
        return tokens.resolve_token(self.db, raw)
