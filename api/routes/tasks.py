"""Tasks: inbox, list, read with form schema, complete, claim, release, assign, comments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.authorization import in_threadpool
from api.conditional import IfMatchHeader, expected_version
from api.filters import Filter, IdText, UserName
from api.idempotency import IdempotencyKeyHeader, run_idempotent
from api.openapi import CONFLICT_RESPONSE, ETAG_HEADER, PRECONDITION_FAILED_RESPONSE
from api.pagination import PagingDep, page_of
from api.routes.deps import SignedInDep, WorkerDep
from api.schemas import (
    CommentCreate,
    CommentPageRead,
    CommentRead,
    LaunchRead,
    TaskAssign,
    TaskComplete,
    TaskDetailRead,
    TaskPageRead,
    TaskRead,
    joined,
)
from api.security import EngineDep
from engine import EngineError, Role, TaskStatus, ValidationFailedError

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("/inbox", response_model=TaskPageRead, summary="My tasks and my roles' unassigned tasks")
@in_threadpool
def inbox(caller: SignedInDep, engine: EngineDep, paging: PagingDep) -> TaskPageRead:
    page = engine.list_tasks(actor=caller.actor, inbox=True, offset=paging.offset, limit=paging.limit)
    return TaskPageRead.model_validate(page)


@router.get("", response_model=TaskPageRead, summary="Tasks by launch, status, role or assignee")
@in_threadpool
def list_tasks(
    caller: SignedInDep,
    engine: EngineDep,
    paging: PagingDep,
    launch_id: Annotated[Filter[IdText], Query()] = None,
    status_: Annotated[Filter[TaskStatus], Query(alias="status")] = None,
    role: Annotated[Filter[Role], Query()] = None,
    assignee: Annotated[Filter[UserName], Query()] = None,
) -> TaskPageRead:
    page = engine.list_tasks(
        actor=caller.actor,
        launch_id=launch_id,
        status=status_,
        role=role.value if role else None,
        assignee=assignee,
        offset=paging.offset,
        limit=paging.limit,
    )
    return TaskPageRead.model_validate(page)


@router.get(
    "/{task_id}", response_model=TaskDetailRead, summary="A task with its form schema and current data"
)
@in_threadpool
def get_task(task_id: str, caller: SignedInDep, engine: EngineDep) -> TaskDetailRead:
    view = engine.get_task(task_id=task_id, actor=caller.actor)
    return TaskDetailRead.model_validate(joined(view.task, view))


@router.post(
    "/{task_id}/complete",
    response_model=LaunchRead,
    summary="Complete a task with its form data",
    responses={
        200: {"description": "The launch after the completion", "headers": ETAG_HEADER},
        409: {"description": "Not ready, lost a race, or go-live blocked (with the blockers)"},
        **PRECONDITION_FAILED_RESPONSE,
    },
)
@in_threadpool
def complete_task(
    task_id: str,
    body: TaskComplete,
    caller: WorkerDep,
    engine: EngineDep,
    request: Request,
    if_match: IfMatchHeader = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    def complete() -> LaunchRead:
        try:
            view = engine.complete_task(
                task_id=task_id,
                data=body.data,
                actor=caller.actor,
                expected_version=expected_version(if_match),
            )
        except ValidationFailedError as exc:
            raise _with_prefix(exc) from exc
        return LaunchRead.model_validate(view)

    def launch(launch_id: str) -> LaunchRead:
        return LaunchRead.model_validate(engine.get_launch(launch_id=launch_id, actor=caller.actor))

    return run_idempotent(
        request,
        engine,
        caller.actor,
        idempotency_key,
        body={"body": body.model_dump(mode="json"), "if_match": if_match},
        status_code=status.HTTP_200_OK,
        command=complete,
        current=launch,
    )


def _with_prefix(exc: ValidationFailedError) -> EngineError:
    prefixed = [type(p)(("data", *p.loc), p.message, p.type) for p in exc.problems]
    return ValidationFailedError(exc.message, prefixed)


@router.post(
    "/{task_id}/claim",
    response_model=TaskRead,
    summary="Take a task from my role's queue",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def claim_task(task_id: str, caller: WorkerDep, engine: EngineDep) -> TaskRead:
    return TaskRead.model_validate(engine.claim_task(task_id=task_id, actor=caller.actor))


@router.post(
    "/{task_id}/release",
    response_model=TaskRead,
    summary="Give a task back to its role's queue",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def release_task(task_id: str, caller: WorkerDep, engine: EngineDep) -> TaskRead:
    return TaskRead.model_validate(engine.release_task(task_id=task_id, actor=caller.actor))


@router.post(
    "/{task_id}/assign",
    response_model=TaskRead,
    summary="Assign a task to a user who holds its role",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def assign_task(task_id: str, body: TaskAssign, caller: WorkerDep, engine: EngineDep) -> TaskRead:
    # The engine checks the assignee (an active user holding the task's role): a 422 on body.assignee.
    view = engine.assign_task(task_id=task_id, assignee=body.assignee, actor=caller.actor)
    return TaskRead.model_validate(view)


@router.get("/{task_id}/comments", response_model=CommentPageRead, summary="Comments on a task")
@in_threadpool
def list_task_comments(
    task_id: str, caller: SignedInDep, engine: EngineDep, paging: PagingDep
) -> CommentPageRead:
    task = engine.get_task(task_id=task_id, actor=caller.actor).task
    comments = engine.list_comments(launch_id=task.launch_id, task_id=task_id, actor=caller.actor)
    return CommentPageRead.model_validate(page_of(comments, paging))


@router.post(
    "/{task_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a task (kept after it completes)",
)
@in_threadpool
def add_task_comment(task_id: str, body: CommentCreate, caller: WorkerDep, engine: EngineDep) -> CommentRead:
    task = engine.get_task(task_id=task_id, actor=caller.actor).task
    return CommentRead.model_validate(
        engine.add_comment(launch_id=task.launch_id, task_id=task_id, body=body.body, actor=caller.actor)
    )
