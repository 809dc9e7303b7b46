"""Launches: start, list, read with gate and blockers, history, comments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status

from api.authorization import in_threadpool
from api.conditional import (
    IfMatchHeader,
    IfNoneMatchHeader,
    expected_version,
    launch_etag,
    matches,
    tag,
)
from api.filters import Filter, SearchText, UserName
from api.idempotency import IdempotencyKeyHeader, run_idempotent
from api.openapi import ETAG_HEADER, PRECONDITION_FAILED_RESPONSE
from api.pagination import PagingDep, page_of
from api.routes.deps import PmDep, SignedInDep, WorkerDep
from api.schemas import (
    AuditEventPageRead,
    BlockerPageRead,
    CommentCreate,
    CommentPageRead,
    CommentRead,
    LaunchPageRead,
    LaunchRead,
    ProblemRead,
)
from api.security import EngineDep
from engine import (
    DEFAULT_PROCESS_ID,
    FieldProblem,
    LaunchStatus,
    PreconditionFailedError,
    ValidationFailedError,
)

# The start form is the process's (engine.forms, declared on the diagram's start event); the engine validates
# it and answers 422 with field errors, as for any form.
StartBody = Annotated[
    dict[str, Any],
    Body(
        description="`process`: the id of the deployed process the launch runs (default `launch_gate`; "
        "GET /processes/latest lists them); the fields of that process's start form (launch_gate and "
        "minor_launch: product_name, summary, planned_launch_date); optionally the launch settings "
        "support_distribution (e-mail addresses) and due_overrides (business days by task id).",
        examples=[
            {
                "process": "launch_gate",
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
    responses={
        201: {"description": "The launch, started", "headers": ETAG_HEADER},
        409: {"model": ProblemRead, "description": "The process cannot run (a workflow incident)"},
    },
)
@in_threadpool
def start_launch(
    body: StartBody,
    caller: PmDep,
    engine: EngineDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    data = dict(body)
    process = data.pop("process", DEFAULT_PROCESS_ID)
    if not isinstance(process, str):
        message = "Process: must be the id of a deployed process (a text)"
        raise ValidationFailedError(message, [FieldProblem(("process",), message, "process_unknown")])

    def start() -> LaunchRead:
        return LaunchRead.model_validate(
            engine.start_launch(data=data, actor=caller.actor, process_id=process)
        )

    def launch(launch_id: str) -> LaunchRead:
        return LaunchRead.model_validate(engine.get_launch(launch_id=launch_id, actor=caller.actor))

    return run_idempotent(
        request,
        engine,
        caller.actor,
        idempotency_key,
        body=body,
        status_code=status.HTTP_201_CREATED,
        command=start,
        current=launch,
    )


@router.get("", response_model=LaunchPageRead, summary="List launches, newest first")
@in_threadpool
def list_launches(
    caller: SignedInDep,
    engine: EngineDep,
    paging: PagingDep,
    status_: Annotated[Filter[LaunchStatus], Query(alias="status")] = None,
    pm: Annotated[Filter[UserName], Query()] = None,
    blocked: Annotated[
        Filter[bool], Query(description="true: go-live blocked; false: ready to go live")
    ] = None,
    q: Annotated[Filter[SearchText], Query(description="Text in the product name")] = None,
) -> LaunchPageRead:
    page = engine.list_launches(
        actor=caller.actor,
        status=status_,
        pm=pm,
        blocked=blocked,
        search=q,
        offset=paging.offset,
        limit=paging.limit,
    )
    return LaunchPageRead.model_validate(page)


@router.get(
    "/{launch_id}",
    response_model=LaunchRead,
    summary="A launch with its gate, blockers and open tasks",
    description="The `ETag` header is the launch's version: send it back as `If-Match` on a change "
    "(task completion, comments) to make it only if nobody changed the launch since.",
    responses={
        200: {"description": "The launch", "headers": ETAG_HEADER},
        304: {"description": "Not modified (If-None-Match matched the launch's version)"},
    },
)
@in_threadpool
def get_launch(
    launch_id: str,
    caller: SignedInDep,
    engine: EngineDep,
    response: Response,
    if_none_match: IfNoneMatchHeader = None,
) -> LaunchRead | Response:
    view = engine.get_launch(launch_id=launch_id, actor=caller.actor)
    if matches(if_none_match, view.version):
        return Response(status_code=304, headers={"ETag": launch_etag(view.version)})
    tag(response, view.version)
    return LaunchRead.model_validate(view)


@router.get("/{launch_id}/blockers", response_model=BlockerPageRead, summary="What still blocks go-live")
@in_threadpool
def get_blockers(
    launch_id: str, caller: SignedInDep, engine: EngineDep, paging: PagingDep
) -> BlockerPageRead:
    blockers = engine.list_blockers(launch_id=launch_id, actor=caller.actor)
    return BlockerPageRead.model_validate(page_of(blockers, paging))


@router.get(
    "/{launch_id}/history",
    response_model=AuditEventPageRead,
    summary="The launch's audit trail, oldest first",
)
@in_threadpool
def get_history(
    launch_id: str, caller: SignedInDep, engine: EngineDep, paging: PagingDep
) -> AuditEventPageRead:
    events = engine.launch_history(launch_id=launch_id, actor=caller.actor)
    return AuditEventPageRead.model_validate(page_of(events, paging))


@router.get(
    "/{launch_id}/comments", response_model=CommentPageRead, summary="Comments on the launch and its tasks"
)
@in_threadpool
def list_comments(
    launch_id: str, caller: SignedInDep, engine: EngineDep, paging: PagingDep
) -> CommentPageRead:
    comments = engine.list_comments(launch_id=launch_id, actor=caller.actor)
    return CommentPageRead.model_validate(page_of(comments, paging))


@router.post(
    "/{launch_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Comment on the launch",
    responses=PRECONDITION_FAILED_RESPONSE,
)
@in_threadpool
def add_comment(
    launch_id: str,
    body: CommentCreate,
    caller: WorkerDep,
    engine: EngineDep,
    if_match: IfMatchHeader = None,
) -> CommentRead:
    expected = expected_version(if_match)
    if expected is not None:
        # A comment does not change the launch's version; If-Match here only says "as I last saw it".
        current = engine.get_launch(launch_id=launch_id, actor=caller.actor).version
        if current != expected:
            raise PreconditionFailedError(
                f"launch {launch_id} is at version {current}, not {expected}", current_version=current
            )
    return CommentRead.model_validate(
        engine.add_comment(launch_id=launch_id, body=body.body, actor=caller.actor)
    )
