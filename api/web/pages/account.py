"""Sign-in and sign-out pages, and one's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.errors import ApiError
from api.paths import cookie_path, same_origin
from api.schemas import RowId
from api.security import SESSION_COOKIE, AccountsDep, EngineDep, set_session_cookie
from api.web.auth import (
    PRESESSION_COOKIE,
    posted_form,
    presession_matches,
    presession_token,
    set_presession_cookie,
)
from api.web.notices import see_other_with_notice
from api.web.pages.shared import PublicPage, SignedInPage, context, safe_next, see_other
from api.web.templating import render
from engine import AuthenticationError, RateLimitedError

router = APIRouter()


@router.get("/sign-in")
def sign_in_page(
    request: Request, caller: PublicPage, engine: EngineDep, next: str = "/launches"
) -> Response:
    token = presession_token(request)
    if caller is not None:
        response: Response = see_other(request, safe_next(next))
    else:
        response = _sign_in_form(request, engine, token, next=safe_next(next))
    set_presession_cookie(response, request, token)
    return response


def _sign_in_form(
    request: Request,
    engine: EngineDep,
    token: str,
    *,
    next: str,
    error: str = "",
    username: str = "",
    status_code: int = 200,
) -> Response:
    page = context(request, None, engine, next=next, error=error, username=username, sign_in_token=token)
    return render("sign_in.html", status_code=status_code, **page)


@router.post("/sign-in")
def sign_in_submit(
    request: Request, caller: PublicPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    origin = request.headers.get("Origin")
    if origin is not None and not same_origin(request, origin):
        raise ApiError(403, "csrf", "This form was sent from another site, so it was refused.")
    form = posted_form(request)
    username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:200]
    target = safe_next(str(form.get("next", "")))
    if not presession_matches(request, form):
        # A form from another site, or one older than this browser's token: a fresh form, nothing checked.
        token = presession_token(request)
        text = "This sign-in form has expired or was sent from another site. Please sign in again."
        response = _sign_in_form(request, engine, token, next=target, error=text, status_code=403)
        set_presession_cookie(response, request, token)
        return response
    token = str(request.cookies.get(PRESESSION_COOKIE))
    client = request.client.host if request.client else "unknown"
    try:
        grant = accounts.sign_in(username=username, password=password, client=client)
    except (AuthenticationError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 401
        return _sign_in_form(
            request, engine, token, next=target, error=exc.message, username=username, status_code=status
        )
    response = see_other(request, target)
    set_session_cookie(response, request, grant.session_token)
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request, caller: SignedInPage, accounts: AccountsDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(cookie)
    response = see_other(request, "/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request.scope))
    return response


@router.get("/account/tokens")
def tokens_page(request: Request, caller: SignedInPage, engine: EngineDep, accounts: AccountsDep) -> Response:
    tokens = accounts.list_tokens(actor=caller.actor)
    return render("tokens.html", **context(request, caller, engine, tokens=tokens, new_token=""))


@router.post("/account/tokens")
def tokens_submit(
    request: Request, caller: SignedInPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    form = posted_form(request)
    _, raw = accounts.create_token(actor=caller.actor, name=str(form.get("name", "")))
    tokens = accounts.list_tokens(actor=caller.actor)
    return render(
        "tokens.html", status_code=201, **context(request, caller, engine, tokens=tokens, new_token=raw)
    )


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke_submit(
    request: Request, token_id: RowId, caller: SignedInPage, accounts: AccountsDep
) -> Response:
    accounts.revoke_token(token_id=token_id, actor=caller.actor)
    return see_other_with_notice(request, "/account/tokens", caller, "Token revoked.")
