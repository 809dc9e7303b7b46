"""The launch pages: the list, starting a launch, one launch (gate panel, diagram, tasks, comments, history,
incidents), and what is posted on it (comments, retrying an incident)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.filters import Filter
from api.schemas import RowId
from api.security import Caller, EngineDep
from api.web.auth import posted_form
from api.web.formdata import errors_by_field, parse, posted
from api.web.formtree import FormField, anchor, build_form
from api.web.notices import see_other_with_notice
from api.web.pages.shared import (
    AdminPage,
    PmPage,
    SignedInPage,
    WorkerPage,
    context,
    may_comment,
    see_other,
)
from api.web.templating import render
from engine import DEFAULT_PROCESS_ID, LaunchStatus, Role, ValidationFailedError

router = APIRouter()


@router.get("/")
def home(request: Request, caller: SignedInPage) -> Response:
    return see_other(request, "/launches")


@router.get("/launches")
def launches_page(
    request: Request,
    caller: SignedInPage,
    engine: EngineDep,
    status: Annotated[Filter[LaunchStatus], Query()] = None,
    blocked: Annotated[str, Query(max_length=5)] = "",
    q: Annotated[str, Query(max_length=120)] = "",
    mine: Annotated[str, Query(max_length=5)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    blocked_filter = {"yes": True, "no": False}.get(blocked)
    result = engine.list_launches(
        actor=caller.actor,
        status=status,
        blocked=blocked_filter,
        search=q or None,
        pm=caller.actor.username if mine == "yes" else None,
        offset=offset,
        limit=50,
    )
    return render(
        "launches.html",
        **context(
            request,
            caller,
            engine,
            page=result,
            filters={"status": status.value if status else "", "blocked": blocked, "q": q, "mine": mine},
            statuses=[s.value for s in LaunchStatus],
            can_start=caller.actor.has_role(Role.PM),
        ),
    )


_SETTINGS = ("support_distribution", "due_overrides")  # the launch settings: two textareas of their own


def _start_page(
    request: Request,
    caller: Caller,
    engine: EngineDep,
    process: str,
    *,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    status_code: int = 200,
) -> Response:
    """The New launch page: the deployed processes to choose from (each with its description), and the
    chosen one's start form (`chosen`: a ProcessView, None when `process` is not deployed)."""
    processes = engine.list_processes(actor=caller.actor)
    chosen = next((p for p in processes if p.process_id == process), None)
    fields = _start_fields(engine, caller, chosen.process_id) if chosen else ()
    return render(
        "launch_new.html",
        status_code=status_code,
        **context(
            request,
            caller,
            engine,
            processes=processes,
            chosen=chosen,
            fields=fields,
            values=values,
            errors=errors,
            anchor=lambda key: key if key in (*_SETTINGS, "process") else anchor(fields, key),
        ),
    )


def _start_fields(engine: EngineDep, caller: Caller, process: str) -> tuple[FormField, ...]:
    form = engine.start_form(actor=caller.actor, process_id=process)
    return build_form(form.json_schema, form.ui_schema)


@router.get("/launches/new")
def new_launch_page(
    request: Request,
    caller: PmPage,
    engine: EngineDep,
    process: Annotated[str, Query(max_length=200)] = DEFAULT_PROCESS_ID,
) -> Response:
    errors = {}
    if process not in {p.process_id for p in engine.list_processes(actor=caller.actor)}:
        errors = {"process": [f"Process: no process {process[:100]!r} is deployed; choose one of the list"]}
    code = 404 if errors else 200
    return _start_page(request, caller, engine, process, values={}, errors=errors, status_code=code)


@router.post("/launches/new")
def new_launch_submit(request: Request, caller: PmPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    process = str(form.get("process", "")) or DEFAULT_PROCESS_ID
    deployed = {p.process_id for p in engine.list_processes(actor=caller.actor)}
    fields = _start_fields(engine, caller, process) if process in deployed else ()
    data = parse(fields, posted(form.multi_items()))
    # Only the settings the form sent: those it has no inputs for keep their defaults.
    settings = {name: str(form.get(name, "")).strip() for name in _SETTINGS if name in form}
    values: dict[str, Any] = {**data, **settings}
    if "support_distribution" in settings:  # a textarea: one address per line
        lines = settings["support_distribution"].splitlines()
        data["support_distribution"] = [line.strip() for line in lines if line.strip()]
    if "due_overrides" in settings:  # a textarea: one "task_id = business days" per line
        data["due_overrides"] = _due_overrides(settings["due_overrides"])
    try:
        launch = engine.start_launch(data=data, actor=caller.actor, process_id=process)
    except ValidationFailedError as exc:
        errors = errors_by_field([_launch_field_problem(p.loc, p.message) for p in exc.problems])
        return _start_page(request, caller, engine, process, values=values, errors=errors, status_code=422)
    text = f"Launch “{launch.product_name}” started."
    return see_other_with_notice(request, f"/launches/{launch.id}", caller, text)


def _due_overrides(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            task_id, _, days = line.replace(":", "=").partition("=")
            found[task_id.strip()] = days.strip()
    return found


def _launch_field_problem(loc: tuple[str | int, ...], message: str) -> tuple[tuple[str | int, ...], str]:
    """Errors inside the two textareas are shown at the textarea, naming the line's address or task."""
    if len(loc) > 1 and loc[0] == "support_distribution" and isinstance(loc[1], int):
        return (loc[0],), f"address {loc[1] + 1}: {message}"
    if len(loc) > 1 and loc[0] == "due_overrides":
        return (loc[0],), f"{loc[1]}: {message}"
    return loc, message


# A process of another diagram that a launch's call activity calls: the launch page shows its diagram instead.
Part = Annotated[str, Query(max_length=200, description="a called process of another diagram (its id)")]


@router.get("/launches/{launch_id}")
def launch_page(
    request: Request, launch_id: str, caller: SignedInPage, engine: EngineDep, part: Part = ""
) -> Response:
    launch = engine.get_launch(launch_id=launch_id, actor=caller.actor)
    if part:
        engine.launch_diagram(launch_id=launch_id, actor=caller.actor, part=part)  # 404 when not called
    history = engine.launch_history(launch_id=launch_id, actor=caller.actor)
    comments = engine.list_comments(launch_id=launch_id, actor=caller.actor)
    incidents = engine.list_incidents(launch_id=launch_id, actor=caller.actor)
    completed = [e.detail.get("task") for e in history if e.action == "task.completed"]
    return render(
        "launch.html",
        **context(
            request,
            caller,
            engine,
            launch=launch,
            history=list(reversed(history)),
            comments=comments,
            incidents=incidents,
            can_retry=caller.actor.has_role(Role.ADMIN),
            can_audit=caller.actor.has_role(Role.AUDITOR) or caller.actor.has_role(Role.ADMIN),
            completed_ids=" ".join(sorted({str(t) for t in completed if t})),
            ready_ids=" ".join(sorted({t.bpmn_id for t in launch.open_tasks})),
            waiting_texts={w.element_id: _waits_for(w.kind, w.name, w.due_at) for w in launch.waiting},
            can_comment=may_comment(caller),
            diagram_part=part,
        ),
    )


@router.post("/launches/{launch_id}/incidents/{message_id}/retry")
def incident_retry_submit(
    request: Request, launch_id: str, message_id: RowId, caller: AdminPage, engine: EngineDep
) -> Response:
    message = engine.retry_message(message_id=message_id, actor=caller.actor)
    text = f"The {message.kind.replace('_', ' ')} will be sent again."
    return see_other_with_notice(request, f"/launches/{launch_id}#incidents", caller, text)


def _waits_for(kind: str, name: str, due_at: datetime | None) -> str:
    """What a waiting event waits for, as the diagram's overlay says it ("waits for message beta_done")."""
    what = f"waits for {kind} {name}".strip()
    if due_at is not None:
        what += f" (due {due_at:%Y-%m-%d %H:%M} UTC)"
    return what


@router.get("/launches/{launch_id}/diagram.bpmn")
def launch_diagram(launch_id: str, caller: SignedInPage, engine: EngineDep, part: Part = "") -> Response:
    xml = engine.launch_diagram(launch_id=launch_id, actor=caller.actor, part=part or None)
    # A download, never a page of our origin: whatever a diagram holds is not rendered by the browser.
    name = f"launch-{launch_id}" + (f"-{_file_safe(part)}" if part else "")
    headers = {
        "Cache-Control": "private, max-age=300",
        "Content-Disposition": f'attachment; filename="{name}.bpmn"',
    }
    return Response(xml, media_type="application/xml", headers=headers)


def _file_safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


@router.post("/launches/{launch_id}/comments")
def comment_submit(request: Request, launch_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task_id = str(form.get("task_id", "")) or None
    engine.add_comment(
        launch_id=launch_id, task_id=task_id, body=str(form.get("body", "")), actor=caller.actor
    )
    target = f"/tasks/{task_id}" if task_id else f"/launches/{launch_id}"
    return see_other_with_notice(request, f"{target}#comments", caller, "Comment added.")
