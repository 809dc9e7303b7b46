"""What every page module shares: the page policies, the context every template gets, redirects (with a
one-time notice: api.web.notices)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from api.authorization import PUBLIC, SIGNED_IN, roles
from api.paths import app_path, root_of, site_url
from api.security import Caller, EngineDep
from api.web.auth import page
from api.web.notices import take_notice
from api.web.templating import DISPLAY_ZONE, ROOT_PATH
from engine import Role

# The roles that work on launches: they may comment, and take, hand back and complete tasks.
WORKER_ROLES = frozenset({Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER})

PublicPage = Annotated[Caller | None, Depends(page(PUBLIC))]
SignedInPage = Annotated[Caller, Depends(page(SIGNED_IN))]
WorkerPage = Annotated[Caller, Depends(page(roles(*WORKER_ROLES)))]
PmPage = Annotated[Caller, Depends(page(roles(Role.PM)))]
AuditorPage = Annotated[Caller, Depends(page(roles(Role.AUDITOR, Role.ADMIN)))]
AdminPage = Annotated[Caller, Depends(page(roles(Role.ADMIN)))]


def see_other(request: Request, path: str) -> RedirectResponse:
    """A 303 to `path` inside the application (the root path in front: api.paths)."""
    return RedirectResponse(site_url(request, path), status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go next: a path on this site, or the launches."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/launches"


def may_comment(caller: Caller) -> bool:
    return bool(caller.actor.roles & WORKER_ROLES)


def context(request: Request, caller: Caller | None, engine: EngineDep, **extra: Any) -> dict[str, Any]:
    """What the base layout needs (the user, the CSRF token, the inbox count, the notice), and `extra`."""
    inbox = engine.list_tasks(actor=caller.actor, inbox=True, limit=1).total if caller else 0
    DISPLAY_ZONE.set(engine.schedule.timezone)
    ROOT_PATH.set(root_of(request.scope))
    return {
        "request_path": app_path(request),
        "user": caller.actor if caller else None,
        "csrf": caller.csrf_token if caller else "",
        "inbox_count": inbox,
        "notice": take_notice(request, caller),
        **extra,
    }
