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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.errors import PENDING_AUTHORIZATION_KEY, ApiError
from engine import AccountService, Actor, Role, UserView, WorkflowEngine

SESSION_COOKIE = "lg_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


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
    user: UserView | None = None  # the account as read when the credential was checked


def get_engine(request: Request) -> WorkflowEngine:
    engine: WorkflowEngine = request.app.state.engine
    return engine


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.accounts
    return accounts


# The dependencies are coroutines so that FastAPI calls them on the event loop: a plain `def` dependency
# costs a trip through the threadpool on every request.
async def _engine_dependency(request: Request) -> WorkflowEngine:
    return get_engine(request)


async def _accounts_dependency(request: Request) -> AccountService:
    return get_accounts(request)


EngineDep = Annotated[WorkflowEngine, Depends(_engine_dependency)]
AccountsDep = Annotated[AccountService, Depends(_accounts_dependency)]
REQUEST_ID_KEY = "launchgate.request_id"  # set in the ASGI scope by api.app.SecurityHeaders


def request_id(request: Request) -> str:
    """The id of this request: the one the security-headers middleware echoes in X-Request-ID."""
    rid: str | None = request.scope.get(REQUEST_ID_KEY)
    if rid:
        return rid
    supplied = request.headers.get("X-Request-ID", "")
    return supplied[:100] if supplied else uuid.uuid4().hex


def resolve_caller(request: Request) -> Caller | None:
    """The signed-in caller, from a Bearer token or the session cookie; None when anonymous. One indexed
    read of the credential joined with its user, on every request (a revoked token or a disabled user is
    refused at once, in every server process)."""
    accounts = get_accounts(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthenticated", "use `Authorization: Bearer <token>`")
        user = accounts.resolve_token(token.strip())
        if user is None:
            raise ApiError(401, "unauthenticated", "the API token is unknown or revoked")
        return Caller(user.actor(request_id(request)), via_session=False, csrf_token=None, user=user)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = accounts.resolve_session(cookie)
        if session is not None:
            return Caller(
                session.user.actor(request_id(request)),
                via_session=True,
                csrf_token=session.csrf_token,
                user=session.user,
            )
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


def _authorize(request: Request, policy: Policy) -> Caller:
    """Who is calling, and may they call this route at all (401 / 403, refusals audited)."""
    caller = resolve_caller(request)
    if caller is None:
        raise ApiError(401, "unauthenticated", "sign in, or send an API token")
    _check_csrf(request, caller)
    if not caller.actor.roles:
        raise refused(request, caller, "forbidden", "your account has no role")
    if policy.access is Access.ROLES and not caller.actor.roles & policy.roles:
        raise refused(request, caller, "forbidden", f"this needs one of the roles {policy.describe()[7:]}")
    request.state.caller = caller
    return caller


class DeferredCaller:
    """A route's authorization, to be decided in the route's own threadpool trip (see in_threadpool)
    instead of in a trip of its own. Decided once: the caller, or the refusal, is kept."""

    __slots__ = ("_caller", "_policy", "_refusal", "_request")

    def __init__(self, request: Request, policy: Policy) -> None:
        self._request = request
        self._policy = policy
        self._caller: Caller | None = None
        self._refusal: ApiError | None = None

    def resolve(self) -> Caller:
        if self._caller is None:
            if self._refusal is None:
                try:
                    self._caller = _authorize(self._request, self._policy)
                except ApiError as refusal:
                    self._refusal = refusal
            if self._refusal is not None:
                raise self._refusal
        assert self._caller is not None
        return self._caller


# Set by in_threadpool on the endpoints it wraps: their policy is decided inside their threadpool trip.
AUTHORIZES_IN_THREADPOOL = "__launchgate_authorizes_in_threadpool__"


def allow(policy: Policy) -> Callable[..., Awaitable[Caller | DeferredCaller | None]]:
    """The dependency that enforces a route's policy. It carries the policy for the matrix test.

    Reading the credential takes the database, so it runs in FastAPI's threadpool. For a route wrapped by
    `in_threadpool` (every blocking JSON route) that is the route's own trip: the dependency hands over a
    DeferredCaller that the wrapper resolves, in the thread, before the route's code runs. The policy
    still comes first: when the parameters or the body do not validate, the 422 handler decides the
    policy before answering (401 / 403 win over 422, refusals are audited), as if it had run first.
    Any other route gets the decided Caller, in a threadpool trip of its own. A public route's dependency
    has nothing to look up."""
    if policy.access is Access.PUBLIC:

        async def public() -> None:
            return None

        public.policy = policy  # type: ignore[attr-defined]
        return public

    async def dependency(request: Request) -> Caller | DeferredCaller:
        deferred = DeferredCaller(request, policy)
        if getattr(request.scope.get("endpoint"), AUTHORIZES_IN_THREADPOOL, False):
            request.scope[PENDING_AUTHORIZATION_KEY] = deferred.resolve
            return deferred
        return await run_in_threadpool(deferred.resolve)

    dependency.policy = policy  # type: ignore[attr-defined]
    return dependency


def call_authorized(endpoint: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Run a route's code with its DeferredCaller arguments decided first (in this thread)."""
    for name, value in kwargs.items():
        if isinstance(value, DeferredCaller):
            kwargs[name] = value.resolve()
    return endpoint(*args, **kwargs)


PUBLIC = Policy(Access.PUBLIC)
SIGNED_IN = Policy(Access.SIGNED_IN)


def roles(*allowed: Role) -> Policy:
    return Policy(Access.ROLES, frozenset(allowed))


def actor_of(caller: Caller | None) -> Actor:
    if caller is None:  # pragma: no cover - only public routes get None, and they take no actor
        raise ApiError(401, "unauthenticated", "sign in, or send an API token")
    return caller.actor
