"""Who is looking at a page. Pages use the session cookie only; a missing session redirects to sign-in, a
missing role renders the 403 page. Every page route declares its policy (api.authorization) with `page`."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.authorization import Access, Policy
from api.errors import ApiError
from api.paths import app_path, cookie_path, same_origin
from api.security import SESSION_COOKIE, Caller, get_accounts, refused, tokens_match


class SignInRequiredError(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def sign_in_url(next_path: str) -> str:
    return "/sign-in?next=" + quote(next_path, safe="/")


def session_caller(request: Request) -> Caller | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = get_accounts(request).resolve_session(cookie)
    if session is None:
        return None
    return Caller(
        session.user.actor(request.headers.get("X-Request-ID")),
        via_session=True,
        csrf_token=session.csrf_token,
    )


async def _check_form_csrf(request: Request, caller: Caller) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request, origin):
        raise refused(request, caller, "csrf", "This form was sent from another site, so it was refused.")
    form = await request.form()
    sent = form.get("csrf_token")
    if not tokens_match(sent if isinstance(sent, str) else None, caller.csrf_token):
        raise refused(
            request,
            caller,
            "csrf",
            "This form has expired (its security token does not match). Reload and try again.",
        )


def posted_form(request: Request) -> FormData:
    """The form of a POST to a page, read (on the event loop) by the page's dependency, so the page's own
    code can be a plain function that FastAPI runs in its threadpool (it blocks: the engine, argon2)."""
    form: FormData = request.state.form
    return form


async def _refuse_nul(request: Request) -> None:
    """No NUL characters in path, query or form fields: PostgreSQL cannot store them in text."""
    values = [str(v) for v in request.path_params.values()]
    values += [k + v for k, v in request.query_params.multi_items()]
    if request.method == "POST":
        form = request.state.form = await request.form()
        values += [k + v for k, v in form.multi_items() if isinstance(v, str)]
    if any("\x00" in value for value in values):
        raise ApiError(400, "bad-request", "The request contains a NUL character, which is not allowed.")


def page(policy: Policy) -> Callable[[Request], Awaitable[Caller | None]]:
    """Dependency for a page route: GET pages need the policy; POSTs also need a valid CSRF token."""

    async def dependency(request: Request) -> Caller | None:
        await _refuse_nul(request)
        caller = await run_in_threadpool(session_caller, request)
        if policy.access is Access.PUBLIC:
            request.state.caller = caller
            return caller
        if caller is None:
            raise SignInRequiredError(app_path(request))
        if request.method == "POST":
            await _check_form_csrf(request, caller)
        if not policy.admits_roles_of(caller.actor):
            raise refused(request, caller, "forbidden", f"This page is for {policy.describe()[7:]}.")
        request.state.caller = caller
        return caller

    dependency.policy = policy  # type: ignore[attr-defined]
    return dependency


# Login CSRF: the sign-in form has no session yet, so it carries a pre-session token instead, kept in a
# cookie of its own (double submit). Another site can make a browser post the form (the Origin check
# passes when a browser sends no Origin), but it cannot read or set our cookie, so it cannot send the
# matching field: nobody is signed into an account of the attacker's choosing.
PRESESSION_COOKIE = "lg_sign_in"
_PRESESSION_MAX_AGE = 12 * 3600


def presession_token(request: Request) -> str:
    """The pre-session token of this browser: the one it holds, or a new one."""
    held = request.cookies.get(PRESESSION_COOKIE, "")
    return held if 20 <= len(held) <= 100 and held.isascii() else secrets.token_urlsafe(32)


def set_presession_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        PRESESSION_COOKIE,
        token,
        max_age=_PRESESSION_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=cookie_path(request.scope, "/sign-in"),
    )


def presession_matches(request: Request, form: FormData) -> bool:
    """The sign-in form's hidden token is the one in this browser's pre-session cookie."""
    sent = form.get("csrf_token")
    return tokens_match(sent if isinstance(sent, str) else None, request.cookies.get(PRESESSION_COOKIE))
