"""Typed FastAPI dependencies: one per policy used by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError

from api.security import PUBLIC, SIGNED_IN, Caller, allow, roles
from engine import Role


def refuse_nul_characters(request: Request) -> None:
    """Every JSON API route: no NUL in path or query parameters (PostgreSQL cannot store or compare it in
    text, so it would be a 500 there). Request bodies are checked by api.schemas.Strict."""
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
AdminDep = Annotated[Caller, Depends(allow(roles(Role.ADMIN)))]

# A numeric id in the path: bounded by the INTEGER columns (PostgreSQL int4), so a huge number is a 422, not a
# database overflow (500).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
