"""Launches: start, list, read with gate and blockers, history, comments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from api.authorization import in_threadpool
from api.routes.deps import PmDep, SignedInDep, WorkerDep
from api.schemas import (
    AuditEventRead,
    BlockerRead,
    CommentCreate,
    CommentRead,
    LaunchRead,
    LaunchSummaryRead,
    PageRead,
)
from api.security import EngineDep
from engine import LaunchStatus

# The start form is the process's (engine.forms, declared on the diagram's start event); the engine validates
# it and answers 422 with field errors, as for any form.
StartBody = Annotated[
    dict[str, Any],
    Body(
        description="The fields of the process's start form (launch_gate: product_name, summary, "
        "planned_launch_date), and optionally the launch settings support_distribution (e-mail addresses) "
        "and due_overrides (business days by task id).",
        examples=[
            {
                "product_name": "Smart Invoices",
                "summary": "Automatic invoice reminders for small businesses.",
                "planned_launch_date": "2030-06-01",
            }
        ],
    ),
]

router = APIRouter(prefix="/launches", tags=["launches"])


@router.post(
    "",
    response_model=LaunchRead,
    status_code=status.HTTP_201_CREATED,
    summary="Start a launch (product managers)",
)
@in_threadpool
def start_launch(body: StartBody, caller: PmDep, engine: EngineDep) -> LaunchRead:
    view = engine.start_launch(data=body, actor=caller.actor)
    return LaunchRead.model_validate(view)


@router.get("", response_model=PageRead[LaunchSummaryRead], summary="List launches, newest first")
@in_threadpool
def list_launches(
    caller: SignedInDep,
    engine: EngineDep,
    status_: Annotated[LaunchStatus | None, Query(alias="status")] = None,
    pm: Annotated[str | None, Query(max_length=100)] = None,
    blocked: Annotated[
        bool | None, Query(description="true: go-live blocked; false: ready to go live")
    ] = None,
    q: Annotated[str | None, Query(max_length=120, description="Text in the product name")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PageRead[LaunchSummaryRead]:
    page = engine.list_launches(
        actor=caller.actor, status=status_, pm=pm, blocked=blocked, search=q, offset=offset, limit=limit
    )
    return PageRead[LaunchSummaryRead].model_validate(page)


@router.get(
    "/{launch_id}", response_model=LaunchRead, summary="A launch with its gate, blockers and open tasks"
)
@in_threadpool
def get_launch(launch_id: str, caller: SignedInDep, engine: EngineDep) -> LaunchRead:
    return LaunchRead.model_validate(engine.get_launch(launch_id=launch_id, actor=caller.actor))


@router.get("/{launch_id}/blockers", response_model=list[BlockerRead], summary="What still blocks go-live")
@in_threadpool
def get_blockers(launch_id: str, caller: SignedInDep, engine: EngineDep) -> list[BlockerRead]:
    return [
        BlockerRead.model_validate(b) for b in engine.list_blockers(launch_id=launch_id, actor=caller.actor)
    ]


@router.get("/{launch_id}/history", response_model=list[AuditEventRead], summary="The launch's audit trail")
@in_threadpool
def get_history(launch_id: str, caller: SignedInDep, engine: EngineDep) -> list[AuditEventRead]:
    return [
        AuditEventRead.model_validate(e)
        for e in engine.launch_history(launch_id=launch_id, actor=caller.actor)
    ]


@router.get(
    "/{launch_id}/comments", response_model=list[CommentRead], summary="Comments on the launch and its tasks"
)
@in_threadpool
def list_comments(launch_id: str, caller: SignedInDep, engine: EngineDep) -> list[CommentRead]:
    return [
        CommentRead.model_validate(c) for c in engine.list_comments(launch_id=launch_id, actor=caller.actor)
    ]


@router.post(
    "/{launch_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Comment on the launch",
)
@in_threadpool
def add_comment(launch_id: str, body: CommentCreate, caller: WorkerDep, engine: EngineDep) -> CommentRead:
    return CommentRead.model_validate(
        engine.add_comment(launch_id=launch_id, body=body.body, actor=caller.actor)
    )
