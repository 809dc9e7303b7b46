"""The task pages: the inbox, one task's form (drafts, repeated rows, completing it), and taking, handing
back and assigning a task."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.errors import ApiError
from api.security import Caller, EngineDep
from api.web.auth import posted_form
from api.web.formdata import (
    FormActionError,
    decode_action,
    errors_by_field,
    parse,
    posted,
    with_spare_rows,
    without_row,
)
from api.web.formtree import FormField, anchor, build_form
from api.web.notices import see_other_with_notice
from api.web.pages.shared import (
    SignedInPage,
    WorkerPage,
    context,
    may_comment,
    safe_next,
)
from api.web.templating import render, template_exists, ui_text
from engine import (
    LaunchStatus,
    TaskDetailView,
    TaskStatus,
    ValidationFailedError,
)

router = APIRouter()


@router.get("/inbox")
def inbox_page(
    request: Request,
    caller: SignedInPage,
    engine: EngineDep,
    sort: Annotated[str, Query(pattern="^(-?(due|created))?$")] = "due",
) -> Response:
    sort = sort or "due"  # an empty parameter means the default, as on every list
    tasks = list(engine.list_tasks(actor=caller.actor, inbox=True, limit=500).items)
    key = sort.lstrip("-")
    far = "9999"
    tasks.sort(
        key=lambda t: (
            (t.due_at.isoformat() if t.due_at else far) if key == "due" else t.created_at.isoformat()
        ),
        reverse=sort.startswith("-"),
    )
    return render("inbox.html", **context(request, caller, engine, tasks=tasks, sort=sort))


@router.post("/tasks/{task_id}/claim")
def claim_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task = engine.claim_task(task_id=task_id, actor=caller.actor)
    next_page = safe_next(str(form.get("next", "/inbox")))
    return see_other_with_notice(request, next_page, caller, f"You took “{task.title}”.")


@router.post("/tasks/{task_id}/release")
def release_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task = engine.release_task(task_id=task_id, actor=caller.actor)
    next_page = safe_next(str(form.get("next", "/inbox")))
    return see_other_with_notice(request, next_page, caller, f"“{task.title}” is back in the queue.")


@router.post("/tasks/{task_id}/assign")
def assign_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    assignee = str(posted_form(request).get("assignee", ""))
    task = engine.assign_task(task_id=task_id, assignee=assignee, actor=caller.actor)
    return see_other_with_notice(request, f"/tasks/{task_id}", caller, f"Assigned to {task.assignee}.")


def _task_template(process_id: str, bpmn_id: str) -> str:
    """A process's own template for the task (forms/tasks/<process>/<task>.html), else the generic one."""
    name = f"tasks/{process_id}/{bpmn_id}.html"
    return name if template_exists(name) else "tasks/_base.html"


def _fields(detail: TaskDetailView) -> tuple[FormField, ...]:
    return build_form(detail.form_schema, detail.ui_schema)


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, caller: SignedInPage, engine: EngineDep) -> Response:
    detail = engine.get_task(task_id=task_id, actor=caller.actor)
    draft = (
        engine.get_draft(task_id=task_id, actor=caller.actor)
        if detail.task.status is TaskStatus.READY and detail.refusal is None
        else None
    )
    data = draft if draft is not None else detail.current_data
    return _render_task(request, caller, engine, detail, data, errors={}, draft_loaded=draft is not None)


def _documents(detail: TaskDetailView) -> list[dict[str, Any]]:
    """The earlier documents beside the form, each labelled by the form it was written in."""
    return [
        {
            "name": doc.name,
            "title": doc.title,
            "by": f"Completed by {doc.author}" if doc.author else "",
            "fields": build_form(doc.form.json_schema, doc.form.ui_schema),
            "data": doc.data,
        }
        for doc in detail.documents
    ]


def _render_task(
    request: Request,
    caller: Caller,
    engine: EngineDep,
    detail: TaskDetailView,
    data: dict[str, Any],
    *,
    errors: dict[str, list[str]],
    status_code: int = 200,
    add: str | None = None,
    draft_loaded: bool = False,
) -> Response:
    fields = _fields(detail)
    launch = engine.get_launch(launch_id=detail.task.launch_id, actor=caller.actor)
    comments = engine.list_comments(
        launch_id=detail.task.launch_id, task_id=detail.task.id, actor=caller.actor
    )
    editable = detail.refusal is None
    return render(
        _task_template(launch.process_id, detail.task.bpmn_id),
        status_code=status_code,
        **context(
            request,
            caller,
            engine,
            detail=detail,
            task=detail.task,
            launch=launch,
            fields=fields,
            values=with_spare_rows(fields, data, add=add) if editable else data,
            errors=errors,
            anchor=lambda key: anchor(fields, key),
            submit_text=ui_text(detail.ui_schema, "Submit"),
            form_title=str(detail.form_schema.get("title") or detail.task.title),
            documents=_documents(detail),
            comments=comments,
            draft_loaded=draft_loaded,
            editable=editable,
            refusal=detail.refusal or "",
            may_claim=detail.may_claim,
            go_live_blocked=bool(detail.task.is_go_live and launch.blockers),
            can_comment=may_comment(caller),
            assignable=engine.assignable_users(task_id=detail.task.id, actor=caller.actor),
        ),
    )


@router.post("/tasks/{task_id}")
def task_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    detail = engine.get_task(task_id=task_id, actor=caller.actor)
    fields = _fields(detail)
    data = parse(fields, posted(form.multi_items()))
    raw_action = form.get("action")
    try:
        action = decode_action(raw_action if isinstance(raw_action, str) else None)
    except FormActionError as exc:
        raise ApiError(400, "bad-request", str(exc)) from exc
    if action.kind == "add":
        return _render_task(request, caller, engine, detail, data, errors={}, add=action.name)
    if action.kind == "remove":
        shown = without_row(fields, data, action.name, action.index)
        return _render_task(request, caller, engine, detail, shown, errors={})
    if action.kind == "save_draft":
        engine.save_draft(task_id=task_id, data=data, actor=caller.actor)
        text = "Draft saved. You can come back to it at any time."
        return see_other_with_notice(request, f"/tasks/{task_id}", caller, text)
    try:
        launch = engine.complete_task(task_id=task_id, data=data, actor=caller.actor)
    except ValidationFailedError as exc:
        errors = errors_by_field([(p.loc, p.message) for p in exc.problems])
        return _render_task(request, caller, engine, detail, data, errors=errors, status_code=422)
    message = f"“{detail.task.title}” completed."
    if launch.status is LaunchStatus.LIVE:
        message = f"{launch.product_name} is live."
    return see_other_with_notice(request, f"/launches/{launch.id}", caller, message)
