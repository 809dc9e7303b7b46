"""Every HTTP request, observed: the request id and the launch and task of the URL named on every log line
logged while it runs, one access log line (logger launchgate.access) in the logging format of api/logs.py,
and the request metrics of api/metrics.py (by route template, never by raw path)."""

from __future__ import annotations

import logging
import time

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import observe_request
from api.paths import path_in_app
from api.security import REQUEST_ID_KEY
from engine import bind_log_id, log_context

access_logger = logging.getLogger("launchgate.access")


class Observe:
    """Pure ASGI middleware inside SecurityHeaders (which sets the request id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with log_context(request_id=scope.get(REQUEST_ID_KEY)):
            try:
                await self.app(scope, receive, send_status)
            finally:
                seconds = time.perf_counter() - started
                route = _route_template(scope)
                observe_request(scope["method"], route, status, seconds)
                params = scope.get("path_params") or {}
                with log_context(launch_id=params.get("launch_id"), task_id=params.get("task_id")):
                    client = scope.get("client")
                    access_logger.info(
                        "%s %s %s %.1f ms %s",
                        scope["method"],
                        scope["path"],
                        status,
                        1000 * seconds,
                        client[0] if client else "-",
                        extra={
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "duration_ms": round(1000 * seconds, 1),
                            "route": route,
                        },
                    )


def _route_template(scope: Scope) -> str:
    """The route's path with its parameters named (`/api/v1/launches/{launch_id}`), so that metrics never
    have a label per launch; `/static` for static files, `(unmatched)` when no route answered."""
    path = path_in_app(scope)
    if path.startswith("/static/"):
        return "/static"
    if scope.get("route") is None:
        return "(unmatched)"
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    return "/".join(f"{{{names[part]}}}" if part in names else part for part in path.split("/"))


async def bind_log_ids(request: Request) -> None:
    """A router dependency: the launch and the task of the URL named on the request's log lines. (Async,
    so it runs in the request's own context and what it sets is seen by the handler.)"""
    for name in ("launch_id", "task_id"):
        value = request.path_params.get(name)
        if isinstance(value, str):
            bind_log_id(name, value)
