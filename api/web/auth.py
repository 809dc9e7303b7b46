"""Who is looking at a page. Pages use the session cookie only; a missing session redirects to sign-in, a
missing role renders the 403 page. Every page route declares its policy like the API routes do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request

from api.errors import ApiError
from api.security import SESSION_COOKIE, Access, Caller, Policy, get_accounts


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
    if origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(403, "csrf", "This form was sent from another site, so it was refused.")
    form = await request.form()
    if form.get("csrf_token") != caller.csrf_token:
        raise ApiError(
            403, "csrf", "This form has expired (its security token does not match). Reload and try again."
        )


def page(policy: Policy) -> Callable[[Request], Awaitable[Caller | None]]:
    """Dependency for a page route: GET pages need the policy; POSTs also need a valid CSRF token."""

    async def dependency(request: Request) -> Caller | None:
        caller = session_caller(request)
        if policy.access is Access.PUBLIC:
            request.state.caller = caller
            return caller
        if caller is None:
            raise SignInRequiredError(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
        if request.method == "POST":
            await _check_form_csrf(request, caller)
        if policy.access is Access.ROLES and not caller.actor.roles & policy.roles:
            raise ApiError(403, "forbidden", f"This page is for {policy.describe()[7:]}.")
        request.state.caller = caller
        return caller

    dependency.policy = policy  # type: ignore[attr-defined]
    return dependency
