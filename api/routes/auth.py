"""Sign-in, sign-out, who am I, personal API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.authorization import in_threadpool
from api.openapi import RATE_LIMITED_RESPONSE
from api.pagination import PagingDep, page_of
from api.paths import cookie_path
from api.routes.deps import PublicDep, SignedInDep
from api.schemas import (
    ProblemRead,
    RowId,
    SessionRead,
    SignInCreate,
    TokenCreate,
    TokenCreatedRead,
    TokenPageRead,
    TokenRead,
    UserRead,
    joined,
)
from api.security import SESSION_COOKIE, AccountsDep, set_session_cookie

router = APIRouter(prefix="/auth", tags=["sign-in"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/sign-in",
    response_model=SessionRead,
    summary="Sign in with a password; sets the session cookie",
    responses={
        401: {"model": ProblemRead, "description": "Unknown user name or wrong password"},
        **RATE_LIMITED_RESPONSE,
    },
)
@in_threadpool
def sign_in(
    body: SignInCreate, request: Request, response: Response, accounts: AccountsDep, _: PublicDep
) -> SessionRead:
    grant = accounts.sign_in(username=body.username, password=body.password, client=client_address(request))
    set_session_cookie(response, request, grant.session_token)
    return SessionRead.model_validate(grant)


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT, summary="Sign out: the session is revoked")
@in_threadpool
def sign_out(request: Request, response: Response, accounts: AccountsDep, _: SignedInDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request.scope))
    return response


@router.get("/me", response_model=SessionRead, summary="The signed-in user (and the CSRF token of a session)")
async def me(caller: SignedInDep) -> SessionRead:
    # The account as read with the credential on this request: no second look-up, no I/O here.
    assert caller.user is not None
    return SessionRead(user=UserRead.model_validate(caller.user), csrf_token=caller.csrf_token)


@router.get("/tokens", response_model=TokenPageRead, summary="My API tokens")
@in_threadpool
def list_tokens(caller: SignedInDep, accounts: AccountsDep, paging: PagingDep) -> TokenPageRead:
    return TokenPageRead.model_validate(page_of(accounts.list_tokens(actor=caller.actor), paging))


@router.post(
    "/tokens",
    response_model=TokenCreatedRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token (shown once)",
)
@in_threadpool
def create_token(body: TokenCreate, caller: SignedInDep, accounts: AccountsDep) -> TokenCreatedRead:
    view, raw = accounts.create_token(actor=caller.actor, name=body.name)
    return TokenCreatedRead.model_validate(joined(view, {"token": raw}))


@router.delete("/tokens/{token_id}", response_model=TokenRead, summary="Revoke one of my API tokens")
@in_threadpool
def revoke_token(token_id: RowId, caller: SignedInDep, accounts: AccountsDep) -> TokenRead:
    return TokenRead.model_validate(accounts.revoke_token(token_id=token_id, actor=caller.actor))
