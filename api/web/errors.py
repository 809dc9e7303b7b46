"""Error pages: 401 sends you to sign in; 403, 404, 409 and the rest explain what happened in words."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.errors import RETRY_AFTER_S
from api.paths import app_path, root_of, site_url
from api.security import Caller
from api.web.auth import SignInRequiredError, session_caller, sign_in_url
from api.web.templating import ROOT_PATH, render
from engine import (
    Actor,
    DatabaseUnavailableError,
    EngineError,
    GateBlockedError,
    TaskNotReadyError,
    WorkflowEngine,
)

_TITLES = {
    400: "That request was not understood",
    401: "Please sign in",
    403: "You cannot do that",
    404: "Not found",
    409: "That could not be done",
    413: "Too large",
    422: "Please check the form",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Please try again in a moment",
}


def page_error(request: Request, status: int, error: Exception | str) -> Response:
    if status == 401:
        return RedirectResponse(site_url(request, sign_in_url(app_path(request))), status_code=303)
    detail = (
        error
        if isinstance(error, str)
        else getattr(error, "detail", None) or getattr(error, "message", str(error))
    )
    hint = ""
    if isinstance(error, TaskNotReadyError):
        hint = "Nothing you entered was applied."
    blockers = error.blockers if isinstance(error, GateBlockedError) else ()
    # The database is out of reach: do not ask it who is signed in (another wait, another log line).
    caller = None if isinstance(error, DatabaseUnavailableError) else _caller_if_reachable(request)
    ROOT_PATH.set(root_of(request.scope))
    response = render(
        "error.html",
        status_code=status,
        request_path=app_path(request),
        user=caller.actor if caller else None,
        csrf=caller.csrf_token if caller else "",
        inbox_count=_inbox_count(request, caller.actor) if caller else 0,
        notice="",
        status=status,
        title=_TITLES.get(status, "Error"),
        detail=_sentence(str(detail)),
        hint=hint,
        blockers=blockers,
        is_engine_error=isinstance(error, EngineError),
    )
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _caller_if_reachable(request: Request) -> Caller | None:
    """Who is signed in, for the layout; nobody when the database cannot say (the page explains why)."""
    try:
        return session_caller(request)
    except EngineError:
        return None


def _inbox_count(request: Request, actor: Actor) -> int:
    try:
        engine: WorkflowEngine = request.app.state.engine
        return engine.list_tasks(actor=actor, inbox=True, limit=1).total
    except EngineError:
        return 0


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def sign_in_redirect(request: Request, exc: SignInRequiredError) -> Response:
    return RedirectResponse(site_url(request, sign_in_url(exc.next_path)), status_code=303)
