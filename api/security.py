"""Who is asking: the credentials of a request, and the refusals of a signed-in caller.

Credentials: a session cookie (browser) or `Authorization: Bearer <token>` (automation). A request that
uses the cookie to change something must carry the session's CSRF token in `X-CSRF-Token` and, when it sends
an Origin header, come from our own origin. Whether the caller may call a route at all (its policy) is
decided in api.authorization.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from api.errors import ApiError
from api.paths import cookie_path, same_origin
from engine import AccountService, Actor, UserView, WorkflowEngine

SESSION_COOKIE = "lg_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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


def set_session_cookie(response: Response, request: Request, session_token: str) -> None:
    """The session cookie of a sign-in (API and page alike): HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=SESSION_MAX_AGE,
        path=cookie_path(request.scope),
    )


def refused(request: Request, caller: Caller, kind: str, detail: str) -> ApiError:
    """A signed-in caller refused before the engine is reached: audit the attempt (G7: every denied
    attempt is one audit row), then hand back the 403 to raise."""
    get_engine(request).record_event(
        actor=caller.actor,
        action="request.denied",
        detail={"method": request.method, "path": request.url.path, "reason": detail},
    )
    return ApiError(403, kind, detail)


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """A CSRF token check in constant time (secrets.compare_digest); an empty or missing token never
    matches. Bytes, so that a token with non-ASCII characters is refused rather than an error."""
    if not sent or not expected:
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())


def check_csrf(request: Request, caller: Caller) -> None:
    """A cookie-authenticated change: our own origin and the session's CSRF token (refusals audited)."""
    if request.method in SAFE_METHODS or not caller.via_session:
        return
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request, origin):
        raise refused(request, caller, "csrf", f"cross-site request refused (Origin {origin!r})")
    if not tokens_match(request.headers.get(CSRF_HEADER), caller.csrf_token):
        raise refused(
            request,
            caller,
            "csrf",
            f"missing or wrong {CSRF_HEADER} header for a cookie-authenticated change",
        )
