"""The HTML pages, one module per resource like the JSON routes (api.routes): launches, tasks, audit, admin,
account; `shared` has the page policies and the context every template gets. Plain HTML forms with
POST-redirect-GET; every POST carries the CSRF token (api.web.auth.page)."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.pages import account, admin, audit, launches, tasks

router = APIRouter(include_in_schema=False)
for _module in (account, launches, tasks, audit, admin):
    router.include_router(_module.router)
