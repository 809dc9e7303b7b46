"""The one error shape of the API, and the one place that maps engine errors to HTTP status codes.

not found 404, permission 403, not signed in 401, not ready / conflict / gate blocked 409 (with the
blockers), invalid data 422 (with field errors), diagram rejected 400 (413 when too large), rate limited 429
(with Retry-After). Anything unexpected is a 500 with no stack trace in the body (it is logged).
The handlers that answer a request with this shape, or with an error page, are in api.handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi.responses import JSONResponse

from api.schemas import BlockerRead, FieldErrorRead, ProblemRead
from engine import (
    AuthenticationError,
    BlockerView,
    ConflictError,
    DatabaseUnavailableError,
    DiagramRejectedError,
    EngineError,
    FieldProblem,
    GateBlockedError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    ValidationFailedError,
    WorkflowStuckError,
)

logger = logging.getLogger(__name__)
PROBLEM_BASE = "https://launchgate.dev/problems/"
TITLES = {
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
    503: "Service unavailable",
}
RETRY_AFTER_S = 2


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
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=list(errors),
        blockers=[BlockerRead.model_validate(b) for b in blockers],
    )
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status,
        headers=headers,
        media_type="application/problem+json",
    )


def unavailable_detail(exc: DatabaseUnavailableError) -> str:
    if not exc.outcome_unknown:
        return f"{exc.message}; nothing was changed"
    return (
        f"{exc.message}. Read the resource before sending the change again, or send it with the same "
        "Idempotency-Key header so that a retry is applied at most once"
    )


def launch_etag(version: int) -> str:
    """A launch's entity tag: its version (every change to a launch's rows moves it)."""
    return f'"{version}"'


def _field_errors(problems: Sequence[FieldProblem], prefix: Sequence[str | int]) -> list[FieldErrorRead]:
    return [FieldErrorRead(loc=[*prefix, *p.loc], message=p.message, type=p.type) for p in problems]


def engine_error_response(exc: EngineError, *, field_prefix: Sequence[str | int] = ("body",)) -> JSONResponse:
    if isinstance(exc, GateBlockedError):
        return problem(409, "gate-blocked", exc.message, blockers=exc.blockers)
    if isinstance(exc, DatabaseUnavailableError):
        return problem(
            503, "unavailable", unavailable_detail(exc), headers={"Retry-After": str(RETRY_AFTER_S)}
        )
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
    if isinstance(exc, PreconditionFailedError):
        return problem(
            412,
            "precondition-failed",
            exc.message,
            headers={"ETag": launch_etag(exc.current_version)},
        )
    if isinstance(exc, ConflictError):
        return problem(409, "conflict", exc.message)
    if isinstance(exc, WorkflowStuckError):
        return problem(409, "workflow-incident", exc.message)
    logger.error("unmapped engine error: %r", exc)
    return problem(500, "internal", "the request failed; it has been logged")
