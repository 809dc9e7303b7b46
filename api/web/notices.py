"""The one-time notice a page shows after a redirect ("Draft saved."), kept out of the URL.

A notice in the query string (`?notice=`) let a crafted link show any sentence under our banner. Now the
redirect that follows a change sets a short-lived cookie holding the text and an HMAC of it keyed by the
session's CSRF token (so it is bound to the session that made the change: a cookie tossed in by anyone
else, or a ?notice= parameter, shows nothing). The next page that renders the layout takes it, and the
NoticeCookie middleware deletes the cookie on that response, so it is shown once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.paths import cookie_path, site_url
from api.security import Caller

NOTICE_COOKIE = "lg_notice"
MAX_NOTICE = 300
_TAKEN = "notice_taken"


def _deletion(scope: Scope) -> bytes:
    return f"{NOTICE_COOKIE}=; Max-Age=0; Path={cookie_path(scope)}; HttpOnly; SameSite=lax".encode("latin-1")


def _mac(caller: Caller, text: str) -> str:
    key = (caller.csrf_token or "").encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def see_other_with_notice(request: Request, path: str, caller: Caller, text: str) -> RedirectResponse:
    """A 303 to `path` (inside the application: the root path goes in front) whose page shows `text`
    once, to this session only."""
    response = RedirectResponse(site_url(request, path), status_code=303)
    text = text[:MAX_NOTICE]
    if caller.csrf_token:
        body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
        response.set_cookie(
            NOTICE_COOKIE,
            f"{body}.{_mac(caller, text)}",
            max_age=120,
            httponly=True,
            samesite="lax",
            path=cookie_path(request.scope),
        )
    return response


def take_notice(request: Request, caller: Caller | None) -> str:
    """The notice of this session waiting for this page ("" when none or not genuine); it is deleted on
    this response either way."""
    raw = request.cookies.get(NOTICE_COOKIE)
    if not raw:
        return ""
    request.scope.setdefault("state", {})[_TAKEN] = True
    if caller is None or not caller.csrf_token:
        return ""
    body, _, mac = raw.rpartition(".")
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, ValueError):
        return ""
    if not secrets.compare_digest(mac.encode(), _mac(caller, text).encode()):
        return ""
    return text[:MAX_NOTICE]


class NoticeCookie:
    """Pure ASGI middleware: a response of a request that took the notice deletes its cookie (unless the
    response sets a new one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_deleting(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get(_TAKEN):
                headers = list(message.get("headers", ()))
                prefix = NOTICE_COOKIE.encode() + b"="
                if not any(k.lower() == b"set-cookie" and v.startswith(prefix) for k, v in headers):
                    message["headers"] = [*headers, (b"set-cookie", _deletion(scope))]
            await send(message)

        await self.app(scope, receive, send_deleting)
