"""Typed FastAPI dependencies of the JSON routes: one per policy they use (api.authorization), and the NUL
check of every route's path and query."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from api.authorization import PUBLIC, SIGNED_IN, allow, roles
from api.security import Caller
from engine import Role


async def refuse_nul_characters(request: Request) -> None:
    """Every JSON API route: no NUL in path or query parameters (PostgreSQL cannot store or compare it in
    text, so it would be a 500 there). Request bodies are checked by api.schemas.Strict. A coroutine, so
    FastAPI runs it on the event loop instead of in its threadpool (it does no I/O)."""
    found = [("path", k) for k, v in request.path_params.items() if "\x00" in str(v)]
    found += [("query", k) for k, v in request.query_params.multi_items() if "\x00" in k + v]
    if found:
        raise RequestValidationError(
            [{"loc": loc, "msg": "must not contain NUL (\\x00) characters", "type": "nul"} for loc in found]
        )


PublicDep = Annotated[None, Depends(allow(PUBLIC))]
SignedInDep = Annotated[Caller, Depends(allow(SIGNED_IN))]
PmDep = Annotated[Caller, Depends(allow(roles(Role.PM)))]
WorkerDep = Annotated[Caller, Depends(allow(roles(Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER)))]
AuditorDep = Annotated[Caller, Depends(allow(roles(Role.AUDITOR, Role.ADMIN)))]
MessageSenderDep = Annotated[Caller, Depends(allow(roles(Role.PM, Role.ADMIN)))]
AdminDep = Annotated[Caller, Depends(allow(roles(Role.ADMIN)))]
