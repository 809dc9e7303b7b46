"""Sign-in and sign-out pages, and one's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.errors import ApiError
from api.schemas import RowId
from api.security import SESSION_COOKIE, AccountsDep, EngineDep, set_session_cookie
from api.web.auth import posted_form
from api.web.notices import see_other_with_notice
from api.web.pages.shared import PublicPage, SignedInPage, context, safe_next, see_other
from api.web.templating import render
from engine import AuthenticationError, RateLimitedError

router = APIRouter()


@router.get("/sign-in")
def sign_in_page(
    request: Request, caller: PublicPage, engine: EngineDep, next: str = "/launches"
) -> Response:
    if caller is not None:
        return see_other(safe_next(next))
    return render(
        "sign_in.html", **context(request, None, engine, next=safe_next(next), error="", username="")
    )


@router.post("/sign-in")
def sign_in_submit(
    request: Request, caller: PublicPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(403, "csrf", "This form was sent from another site, so it was refused.")
    form = posted_form(request)
    username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:200]
    target = safe_next(str(form.get("next", "")))
    client = request.client.host if request.client else "unknown"
    try:
        grant = accounts.sign_in(username=username, password=password, client=client)
    except (AuthenticationError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 401
        page = context(request, None, engine, next=target, error=exc.message, username=username)
        return render("sign_in.html", status_code=status, **page)
    response = see_other(target)
    set_session_cookie(response, request, grant.session_token)
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request, caller: SignedInPage, accounts: AccountsDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(cookie)
    response = see_other("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
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
def token_revoke_submit(token_id: RowId, caller: SignedInPage, accounts: AccountsDep) -> Response:
    accounts.revoke_token(token_id=token_id, actor=caller.actor)
    return see_other_with_notice("/account/tokens", caller, "Token revoked.")
