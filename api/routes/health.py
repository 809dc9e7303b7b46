"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.authorization import in_threadpool
from api.errors import RETRY_AFTER_S
from api.routes.deps import PublicDep
from api.schemas import HealthRead
from api.security import EngineDep
from engine import is_at_head

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthRead, summary="The process is up")
async def healthz(_: PublicDep) -> HealthRead:
    # A coroutine: no I/O, so no trip through the threadpool.
    return HealthRead(status="ok")


@router.get(
    "/readyz",
    response_model=HealthRead,
    summary="The database is reachable and migrated to the newest revision",
    responses={503: {"model": HealthRead}},
)
@in_threadpool
def readyz(_: PublicDep, engine: EngineDep) -> HealthRead | JSONResponse:
    try:
        at_head = is_at_head(engine.db.db_engine)
    except Exception as exc:  # any database failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "detail": f"database unreachable: {type(exc).__name__}"},
            503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    if not at_head:
        return JSONResponse({"status": "unavailable", "detail": "migrations are not at head"}, 503)
    return HealthRead(status="ok")
