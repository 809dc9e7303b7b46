"""The FastAPI application: JSON API under /api/v1, health checks, one error shape, security headers."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.handlers import RetryLostReads, install_error_handlers
from api.metrics import install_metrics
from api.observe import Observe, bind_log_ids
from api.openapi import install_problem_openapi, operation_id
from api.routes import audit, auth, health, launches, messages, outbox, processes, tasks, users
from api.routes.deps import refuse_nul_characters
from api.security import REQUEST_ID_KEY
from api.settings import Settings, get_settings
from api.web import pages
from api.web.docs import install_static_and_docs
from api.web.notices import NoticeCookie
from engine import AccountService, Database, WorkflowEngine

logger = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
DESCRIPTION = """
Launch Gate runs product launches as BPMN workflows that cannot go live until support is ready.

**Sign in** with `POST /api/v1/auth/sign-in` (sets an HttpOnly session cookie; send the returned
`csrf_token` as `X-CSRF-Token` on changes), or create a personal API token (`POST /api/v1/auth/tokens`)
and send `Authorization: Bearer <token>`.

**Errors** always have one shape (`application/problem+json`): `type`, `title`, `status`, `detail`,
`errors` (field errors with their location) and, when go-live is blocked, `blockers`.
"""
_DOC_PATHS = ("/docs", "/redoc", "/openapi.json")


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database.from_url(
        settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    engine = WorkflowEngine(
        database, holidays=settings.holiday_calendar(), schedule=settings.schedule_policy()
    )
    accounts = AccountService(database, clock=engine.clock)
    _install_fault_injection(engine, settings)

    app = LaunchGateApp(
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        title="Launch Gate",
        version="0.2.0",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "launches", "description": "Start and follow launches; the gate and its blockers."},
            {"name": "tasks", "description": "Inboxes and the work itself."},
            {"name": "audit", "description": "The hash-chained history (auditors)."},
            {
                "name": "incidents",
                "description": "Messages that could not be delivered, and retrying them (admins).",
            },
            {"name": "process versions", "description": "Deployed diagrams (admins deploy)."},
            {"name": "users", "description": "Accounts and roles (admins)."},
            {"name": "sign-in", "description": "Sessions and API tokens."},
            {"name": "health", "description": "Liveness and readiness."},
        ],
    )
    app.state.engine = engine
    app.state.accounts = accounts
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(NoticeCookie)
    app.add_middleware(RetryLostReads)
    # A request is matched against the routes in this order, one pattern after another: the busiest come
    # first (health probes; tasks, launches and the credential check of clients). No two routers share a
    # path, so the order changes nothing else.
    app.include_router(health.router)
    for router in (
        tasks.router,
        launches.router,
        messages.router,
        auth.router,
        outbox.router,
        audit.router,
        processes.router,
        users.router,
    ):
        app.include_router(
            router,
            prefix=API_PREFIX,
            dependencies=[Depends(refuse_nul_characters), Depends(bind_log_ids)],
        )
    app.include_router(pages.router, dependencies=[Depends(bind_log_ids)])
    install_metrics(app, database)
    install_static_and_docs(app)
    install_problem_openapi(app)
    return app


class SecurityHeaders:
    """Pure ASGI middleware: the security headers and the request id on every HTTP response.

    It wraps the whole application, outside Starlette's ServerErrorMiddleware, so the headers are also on
    unexpected 500s, on every other error and on static files. The request id (the client's X-Request-ID,
    cut to 100 characters, or a new one) is kept in the scope under REQUEST_ID_KEY, so the audit rows of
    the request carry the id the response echoes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                rid = value.decode("latin-1")[:100]
                break
        rid = rid or uuid.uuid4().hex
        scope[REQUEST_ID_KEY] = rid
        added = [(b"x-request-id", rid.encode("latin-1")), *_ALWAYS]
        if not scope["path"].startswith(_DOC_PATHS):
            added.append(_CSP)
        if scope["path"].startswith(_API_PATH):
            added.append(_NO_STORE)  # answers for one signed-in user: never kept by a browser or a proxy
        if scope.get("scheme") == "https":
            added.append(_HSTS)
        names = {name for name, _ in added}
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *(h for h in message.get("headers", ()) if h[0].lower() not in names),
                    *added,
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s %s %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    1000 * (time.perf_counter() - started),
                )


_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_CSP = (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'")
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_NO_STORE = (b"cache-control", b"no-store")
_API_PATH = "/api/"


class LaunchGateApp(FastAPI):
    """FastAPI with SecurityHeaders outside everything else (see SecurityHeaders)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(Observe(super().build_middleware_stack()))


def _install_fault_injection(engine: WorkflowEngine, settings: Settings) -> None:
    """TESTS ONLY: stop the server at a chosen point so a test can kill -9 it there."""
    if not settings.fault_injection:
        return
    point, _, command = settings.fault_injection.partition(":")
    marker_dir = settings.fault_marker_dir or Path(".")
    logger.warning("FAULT INJECTION ACTIVE: %s", settings.fault_injection)

    def hang(name: str) -> None:
        if name == command:
            (marker_dir / f"{point}-{command}").write_text("reached\n")
            time.sleep(3600)

    if point == "before_write":
        engine.before_write = hang
    elif point == "after_commit":
        engine.after_commit = hang
    else:
        raise ValueError(f"unknown fault injection point {point!r}")


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app_from_environment` (several workers)."""
    return create_app()
