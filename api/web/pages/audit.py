"""The audit pages (auditors and admins): the filtered trail, and the verification of its hash chain."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.security import EngineDep
from api.web.pages.shared import AuditorPage, context
from api.web.templating import render

router = APIRouter()


@router.get("/audit")
def audit_page(
    request: Request,
    caller: AuditorPage,
    engine: EngineDep,
    launch_id: Annotated[str, Query(max_length=36)] = "",
    actor: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=60)] = "",
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Response:
    events = engine.audit_events(
        actor=caller.actor,
        launch_id=launch_id or None,
        actor_name=actor or None,
        action=action or None,
        after_sequence=after,
        limit=200,
    )
    filters = {"launch_id": launch_id, "actor": actor, "action": action}
    query = "&".join(f"{k}={quote(v)}" for k, v in filters.items() if v)
    launches = {e.launch_id for e in events if e.launch_id}
    processes = engine.launch_processes(launch_ids=launches, actor=caller.actor) if launches else {}
    return render(
        "audit.html",
        **context(
            request,
            caller,
            engine,
            events=events,
            processes=processes,
            filters=filters,
            export_query=query,
            verification=None,
        ),
    )


@router.get("/audit/verify")
def audit_verify_page(request: Request, caller: AuditorPage, engine: EngineDep) -> Response:
    result = engine.verify_audit()
    return render(
        "audit.html",
        **context(
            request,
            caller,
            engine,
            events=[],
            processes={},
            filters={"launch_id": "", "actor": "", "action": ""},
            export_query="",
            verification=result,
        ),
    )
