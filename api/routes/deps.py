"""Typed FastAPI dependencies: one per policy used by the routes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from api.security import (
    AUTHORIZES_IN_THREADPOOL,
    PUBLIC,
    SIGNED_IN,
    Caller,
    allow,
    call_authorized,
    roles,
)
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


P = ParamSpec("P")
R = TypeVar("R")


def in_threadpool(endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """For a route whose work blocks (the engine, the database): one threadpool trip per request that
    decides the route's policy (api.security.allow), runs the route's code, and hands the result back to
    the event loop, where FastAPI validates and serializes it (for a model instance: a pass-through plus
    pydantic's JSON dump).

    A plain `def` route costs up to three trips instead: one for the policy dependency, one for the route,
    one for the response validation. Put it under the route decorator; FastAPI reads the parameters and
    their annotations from the wrapped function (functools.wraps)."""

    @functools.wraps(endpoint)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_threadpool(call_authorized, endpoint, args, kwargs)

    setattr(run, AUTHORIZES_IN_THREADPOOL, True)
    return run


PublicDep = Annotated[None, Depends(allow(PUBLIC))]
SignedInDep = Annotated[Caller, Depends(allow(SIGNED_IN))]
PmDep = Annotated[Caller, Depends(allow(roles(Role.PM)))]
WorkerDep = Annotated[Caller, Depends(allow(roles(Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER)))]
AuditorDep = Annotated[Caller, Depends(allow(roles(Role.AUDITOR, Role.ADMIN)))]
AdminDep = Annotated[Caller, Depends(allow(roles(Role.ADMIN)))]

# A numeric id in the path: bounded by the INTEGER columns (PostgreSQL int4), so a huge number is a 422, not a
# database overflow (500).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
