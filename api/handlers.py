"""The app's exception handlers: a page gets an error page (api.web.errors), the JSON API the one problem
shape (api.errors). A request for a path outside the JSON API, the docs, the health checks and the static
files is a page."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.authorization import refusal_before_input
from api.errors import TITLES, ApiError, engine_error_response, problem
from api.paths import path_in_app
from api.schemas import FieldErrorRead
from api.web.auth import SignInRequiredError
from api.web.errors import page_error, sign_in_redirect
from engine import DatabaseUnavailableError, EngineError

logger = logging.getLogger(__name__)
_NOT_PAGES = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/readyz", "/static/")


def is_page(request: Request) -> bool:
    """Whether the request is for a page (errors as HTML), by its path inside the application (after the
    root path a proxy serves it under, `launchgate serve --root-path`)."""
    return not path_in_app(request.scope).startswith(_NOT_PAGES)


async def _engine(request: Request, exc: EngineError) -> Response:
    if isinstance(exc, DatabaseUnavailableError):
        request.scope.setdefault("state", {})[CONNECTION_LOST] = True
    response = engine_error_response(exc)
    return page_error(request, response.status_code, exc) if is_page(request) else response


async def _api(request: Request, exc: ApiError) -> Response:
    if is_page(request):
        return page_error(request, exc.status, exc)
    return problem(exc.status, exc.kind, exc.detail, headers=exc.headers)


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    # The route's policy comes before its input (api.authorization).
    refusal = await refusal_before_input(request)
    if refusal is not None:
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


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    if is_page(request):
        return page_error(request, exc.status_code, detail)
    return problem(exc.status_code, "http", detail, headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    if is_page(request):
        return page_error(request, 500, "Something went wrong on our side; it has been logged.")
    return problem(500, "internal", "the request failed; it has been logged")


CONNECTION_LOST = "launchgate.connection_lost"
_READS = frozenset({"GET", "HEAD"})


class RetryLostReads:
    """Pure ASGI middleware: a GET or HEAD whose database connection was lost (the 503 of
    DatabaseUnavailableError, not yet sent) runs once more; the pool has replaced the connection by then,
    so a terminated backend or a database restart costs a read a retry, not an error. A read changes
    nothing, so running it twice is safe; changes are retried (or not) by the engine's command runner."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _READS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def unless_lost(message: Message) -> None:
            if not state.get(CONNECTION_LOST):
                await send(message)

        await self.app(scope, receive, unless_lost)
        if state.pop(CONNECTION_LOST, False):
            # INFO: the database's failure itself is logged once per outage (engine OutageLog).
            logger.info(
                "%s %s lost its database connection; running it again", scope["method"], scope["path"]
            )
            await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EngineError, _engine)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequiredError, sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def _first_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}"


def _loc_part(part: Any) -> str | int:
    return part if isinstance(part, int) else str(part)
