"""Who is asking, and may they call this route at all.

Every route declares a policy (deny by default): `Depends(allow(...))`. The authorization matrix test walks
every route and fails when one has none. Fine-grained rules (the task's role, its assignee, four eyes, the
launch's PM) are the engine's; a policy only states who may call the route at all.

Credentials: a session cookie (browser) or `Authorization: Bearer <token>` (automation). A request that
uses the cookie to change something must carry the session's CSRF token in `X-CSRF-Token` and, when it sends
an Origin header, come from our own origin.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from api.errors import ApiError
from engine import AccountService, Actor, Role, WorkflowEngine

SESSION_COOKIE = "lg_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Access(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    ROLES = "roles"


@dataclass(frozen=True)
class Policy:
    access: Access
    roles: frozenset[Role] = frozenset()

    def describe(self) -> str:
        if self.access is Access.ROLES:
            return "roles: " + ", ".join(sorted(r.value for r in self.roles))
        return self.access.value


@dataclass(frozen=True)
class Caller:
    actor: Actor
    via_session: bool
    csrf_token: str | None


def get_engine(request: Request) -> WorkflowEngine:
    engine: WorkflowEngine = request.app.state.engine
    return engine


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.accounts
    return accounts


EngineDep = Annotated[WorkflowEngine, Depends(get_engine)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]


def request_id(request: Request) -> str:
    supplied = request.headers.get("X-Request-ID", "")
    return supplied[:100] if supplied else uuid.uuid4().hex


def resolve_caller(request: Request) -> Caller | None:
    """The signed-in caller, from a Bearer token or the session cookie; None when anonymous."""
    accounts = get_accounts(request)
    rid = request_id(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthenticated", "use `Authorization: Bearer <token>`")
        user = accounts.resolve_token(token.strip())
        if user is None:
            raise ApiError(401, "unauthenticated", "the API token is unknown or revoked")
        return Caller(user.actor(rid), via_session=False, csrf_token=None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = accounts.resolve_session(cookie)
        if session is not None:
            return Caller(session.user.actor(rid), via_session=True, csrf_token=session.csrf_token)
    return None


def refused(request: Request, caller: Caller, kind: str, detail: str) -> ApiError:
    """A signed-in caller refused before the engine is reached: audit the attempt (G7: every denied
    attempt is one audit row), then hand back the 403 to raise."""
    get_engine(request).record_event(
        actor=caller.actor,
        action="request.denied",
        detail={"method": request.method, "path": request.url.path, "reason": detail},
    )
    return ApiError(403, kind, detail)


def _check_csrf(request: Request, caller: Caller) -> None:
    if request.method in SAFE_METHODS or not caller.via_session:
        return
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise refused(request, caller, "csrf", f"cross-site request refused (Origin {origin!r})")
    if request.headers.get(CSRF_HEADER) != caller.csrf_token:
        raise refused(
            request,
            caller,
            "csrf",
            f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated change",
        )


def allow(policy: Policy) -> Callable[[Request], Caller | None]:
    """The dependency that enforces a route's policy. It carries the policy for the matrix test."""

    def dependency(request: Request) -> Caller | None:
        if policy.access is Access.PUBLIC:
            return None
        caller = resolve_caller(request)
        if caller is None:
            raise ApiError(401, "unauthenticated", "sign in, or send an API token")
        _check_csrf(request, caller)
        if not caller.actor.roles:
            raise refused(request, caller, "forbidden", "your account has no role")
        if policy.access is Access.ROLES and not caller.actor.roles & policy.roles:
            raise refused(
                request, caller, "forbidden", f"this needs one of the roles {policy.describe()[7:]}"
            )
        request.state.caller = caller
        return caller

    dependency.policy = policy  # type: ignore[attr-defined]
    return dependency


PUBLIC = Policy(Access.PUBLIC)
SIGNED_IN = Policy(Access.SIGNED_IN)


def roles(*allowed: Role) -> Policy:
    return Policy(Access.ROLES, frozenset(allowed))


def actor_of(caller: Caller | None) -> Actor:
    if caller is None:  # pragma: no cover - only public routes get None, and they take no actor
        raise ApiError(401, "unauthenticated", "sign in, or send an API token")
    return caller.actor
