"""The one error shape of the API, and the one place that maps engine errors to HTTP.

not found 404, permission 403, not signed in 401, not ready / conflict / gate blocked 409 (with the
blockers), invalid data 422 (with field errors), diagram rejected 400 (413 when too large), rate limited 429
(with Retry-After). Anything unexpected is a 500 with no stack trace in the body (it is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import BlockerRead, FieldErrorRead, ProblemRead
from engine import (
    AuthenticationError,
    BlockerView,
    ConflictError,
    DiagramRejectedError,
    EngineError,
    FieldProblem,
    GateBlockedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationFailedError,
    WorkflowStuckError,
)

logger = logging.getLogger(__name__)
# ASGI scope key: the route's authorization when it was deferred to the route's own threadpool trip (a
# zero-argument callable that raises ApiError on refusal; see api.security.allow).
PENDING_AUTHORIZATION_KEY = "launchgate.pending_authorization"
PROBLEM_BASE = "https://launchgate.dev/problems/"
_NOT_PAGES = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/readyz", "/static/")
_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid data",
    429: "Too many requests",
    500: "Internal error",
}


class ApiError(Exception):
    """Raised by the API layer itself (CSRF, missing credentials, bad upload)."""

    def __init__(self, status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    errors: Sequence[FieldErrorRead] = (),
    blockers: Sequence[BlockerView] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemRead(
        type=PROBLEM_BASE + kind,
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=list(errors),
        blockers=[BlockerRead.of(b) for b in blockers],
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        headers=headers,
        media_type="application/problem+json",
    )


def _field_errors(problems: Sequence[FieldProblem], prefix: Sequence[str | int]) -> list[FieldErrorRead]:
    return [FieldErrorRead(loc=[*prefix, *p.loc], message=p.message, type=p.type) for p in problems]


def engine_error_response(exc: EngineError, *, field_prefix: Sequence[str | int] = ("body",)) -> JSONResponse:
    if isinstance(exc, GateBlockedError):
        return problem(409, "gate-blocked", exc.message, blockers=exc.blockers)
    if isinstance(exc, ValidationFailedError):
        return problem(422, "validation", exc.message, errors=_field_errors(exc.problems, field_prefix))
    if isinstance(exc, DiagramRejectedError):
        errors = [
            FieldErrorRead(
                loc=["body", "file", p.element_id or "document"], message=p.message, type="diagram"
            )
            for p in exc.problems
        ]
        status = 413 if exc.too_large else 400
        return problem(status, "diagram-rejected", f"the diagram was rejected: {exc.message}", errors=errors)
    if isinstance(exc, NotFoundError):
        return problem(404, "not-found", exc.message)
    if isinstance(exc, PermissionDeniedError):
        return problem(403, "forbidden", exc.message)
    if isinstance(exc, AuthenticationError):
        return problem(401, "unauthenticated", exc.message)
    if isinstance(exc, RateLimitedError):
        return problem(429, "rate-limited", exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ConflictError):
        return problem(409, "conflict", exc.message)
    if isinstance(exc, WorkflowStuckError):
        return problem(409, "workflow-incident", exc.message)
    logger.error("unmapped engine error: %r", exc)
    return problem(500, "internal", "the request failed; it has been logged")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def install_error_handlers(app: FastAPI) -> None:
    from api.web.errors import page_error

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> Response:
        response = engine_error_response(exc)
        return page_error(request, response.status_code, exc) if is_page(request) else response

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        if is_page(request):
            return page_error(request, exc.status, exc)
        return problem(exc.status, exc.kind, exc.detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        authorize = request.scope.get(PENDING_AUTHORIZATION_KEY)
        if authorize is not None:
            # The route's policy comes before its input: who may not call it gets the 401/403 (and the
            # refusal is audited), as when the policy is checked before the parameters are read.
            try:
                await run_in_threadpool(authorize)
            except ApiError as refusal:
                return await _api(request, refusal)
        if is_page(request):
            return page_error(request, 400, "The address or form was not understood: " + _first_message(exc))
        errors = [
            FieldErrorRead(
                loc=[_loc_part(p) for p in e.get("loc", ())],
                message=str(e.get("msg")),
                type=str(e.get("type")),
            )
            for e in exc.errors()
        ]
        return problem(422, "validation", "the request does not fit the schema", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        if is_page(request):
            return page_error(request, exc.status_code, detail)
        return problem(exc.status_code, "http", detail, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        if is_page(request):
            return page_error(request, 500, "Something went wrong on our side; it has been logged.")
        return problem(500, "internal", "the request failed; it has been logged")


def _first_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"


def _loc_part(part: Any) -> str | int:
    return part if isinstance(part, int) else str(part)
