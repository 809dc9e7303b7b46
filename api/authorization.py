"""Who may call a route at all: every route's policy, and when it is decided.

How a route declares its policy (deny by default): a JSON route takes one of the typed dependencies of
`api.routes.deps` (`SignedInDep`, `PmDep`, `AdminDep`…, each `Depends(allow(policy))`); a page one of
`api.web.pages.shared` (`SignedInPage`, `AdminPage`…, each `Depends(page(policy))`, see api.web.auth). The
policy only says who may call the route (signed in, which roles); the fine-grained rules (the task's role,
its assignee, four eyes, the launch's PM) are the engine's.

When it is decided: before the route's own code runs. Reading the credential takes the database, so it is
blocking work, done in FastAPI's threadpool:
- a JSON route whose work blocks is wrapped by `in_threadpool`: `allow` hands it a `DeferredCaller`, and the
  wrapper decides the policy in the route's own threadpool trip, then runs the route (one trip, not two);
- when the parameters or the body of such a route do not validate, FastAPI answers before the route runs:
  the 422 handler first decides the pending policy (`refusal_before_input`), so 401 / 403 win over 422 and
  the refusal is audited, as if the policy had been decided first;
- any other route (a coroutine route) has its policy decided by the dependency, in a threadpool trip of
  its own; a page by `page(policy)`, which also checks the form's CSRF token and redirects to sign-in.
A refusal is decided once (a `DeferredCaller` keeps it) and every refusal of a signed-in caller is one
audit row (`api.security.refused`).

How a route without a policy is refused: it cannot pass the build. tests/api/test_authorization_matrix.py
walks every route of the app and fails on one whose dependencies carry no `.policy` (set by `allow` and
`page`), and on one that has no row in its table of who may call what.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.security import CSRF_HEADER, SESSION_COOKIE, Caller, check_csrf, refused, resolve_caller
from engine import Actor, Role

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
# ASGI scope key: the route's pending policy decision (a zero-argument callable that raises ApiError on
# refusal), for the 422 handler.
PENDING_AUTHORIZATION_KEY = "launchgate.pending_authorization"
# Set by in_threadpool on the endpoints it wraps: their policy is decided inside their threadpool trip.
AUTHORIZES_IN_THREADPOOL = "__launchgate_authorizes_in_threadpool__"


# The two ways to send credentials, declared so /openapi.json lists them as security schemes on every route
# that needs a caller (Swagger's Authorize button). They only document: resolve_caller reads the request.
_BEARER = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="personal API token",
    description="`Authorization: Bearer <token>` with a token from POST /api/v1/auth/tokens",
    auto_error=False,
)
_SESSION = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="sessionCookie",
    description=f"The session cookie of POST /api/v1/auth/sign-in; changes also need `{CSRF_HEADER}`",
    auto_error=False,
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
SessionDoc = Annotated[str | None, Depends(_SESSION)]


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

    def admits_roles_of(self, actor: Actor) -> bool:
        """The role part of the policy (a signed-in caller with no role at all is refused apart)."""
        return self.access is not Access.ROLES or bool(actor.roles & self.roles)


PUBLIC = Policy(Access.PUBLIC)
SIGNED_IN = Policy(Access.SIGNED_IN)


def roles(*allowed: Role) -> Policy:
    return Policy(Access.ROLES, frozenset(allowed))


def authorize(request: Request, policy: Policy) -> Caller:
    """Who is calling, and may they call this route at all (401 / 403, refusals audited)."""
    caller = resolve_caller(request)
    if caller is None:
        raise ApiError(401, "unauthenticated", "sign in, or send an API token")
    check_csrf(request, caller)
    if not caller.actor.roles:
        raise refused(request, caller, "forbidden", "your account has no role")
    if not policy.admits_roles_of(caller.actor):
        raise refused(request, caller, "forbidden", f"this needs one of the roles {policy.describe()[7:]}")
    request.state.caller = caller
    return caller


class DeferredCaller:
    """A route's policy decision, made in the route's own threadpool trip (see in_threadpool) instead of
    in a trip of its own. Decided once: the caller, or the refusal, is kept."""

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
                    self._caller = authorize(self._request, self._policy)
                except ApiError as refusal:
                    self._refusal = refusal
            if self._refusal is not None:
                raise self._refusal
        assert self._caller is not None
        return self._caller


def allow(policy: Policy) -> Callable[..., Awaitable[Caller | DeferredCaller | None]]:
    """The dependency that enforces a route's policy; it carries the policy (`.policy`) for the matrix
    test. A route wrapped by `in_threadpool` gets a DeferredCaller (decided by the wrapper), any other
    route the decided Caller, in a threadpool trip of its own. A public route has nothing to look up."""
    if policy.access is Access.PUBLIC:

        async def public() -> None:
            return None

        public.policy = policy  # type: ignore[attr-defined]
        return public

    async def dependency(
        request: Request, _bearer: BearerDoc = None, _session: SessionDoc = None
    ) -> Caller | DeferredCaller:
        deferred = DeferredCaller(request, policy)
        if getattr(request.scope.get("endpoint"), AUTHORIZES_IN_THREADPOOL, False):
            request.scope[PENDING_AUTHORIZATION_KEY] = deferred.resolve
            return deferred
        return await run_in_threadpool(deferred.resolve)

    dependency.policy = policy  # type: ignore[attr-defined]
    return dependency


def _call_authorized(endpoint: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Run a route's code with its DeferredCaller arguments decided first (in this thread)."""
    for name, value in kwargs.items():
        if isinstance(value, DeferredCaller):
            kwargs[name] = value.resolve()
    return endpoint(*args, **kwargs)


def in_threadpool(endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """For a route whose work blocks (the engine, the database): one threadpool trip per request that
    decides the route's policy, runs the route's code, and hands the result back to the event loop, where
    FastAPI validates and serializes it (for a model instance: a pass-through plus pydantic's JSON dump).

    A plain `def` route costs up to three trips instead: one for the policy dependency, one for the route,
    one for the response validation. Put it under the route decorator; FastAPI reads the parameters and
    their annotations from the wrapped function (functools.wraps)."""

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_threadpool(_call_authorized, endpoint, args, kwargs)

    setattr(run, AUTHORIZES_IN_THREADPOOL, True)
    return run


async def refusal_before_input(request: Request) -> ApiError | None:
    """For the 422 handler: the refusal of the route's pending policy, if it has one (decided now, in the
    threadpool, and audited), so that who may not call the route hears 401 / 403 rather than 422."""
    decide = request.scope.get(PENDING_AUTHORIZATION_KEY)
    if decide is None:
        return None
    try:
        await run_in_threadpool(decide)
    except ApiError as refusal:
        return refusal
    return None
