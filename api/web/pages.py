"""The pages: launches, launch (gate panel, diagram, tasks, comments, history), inbox, task forms, audit,
admin and account pages. Plain HTML forms with POST-redirect-GET; every POST carries the CSRF token."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from api.authorization import PUBLIC, SIGNED_IN, roles
from api.errors import ApiError
from api.schemas import RowId
from api.security import SESSION_COOKIE, AccountsDep, Caller, EngineDep
from api.web.auth import page, posted_form
from api.web.formdata import errors_by_field, field_specs, parse, with_spare_rows, without_row
from api.web.templating import render, template_exists
from engine import (
    AccountService,
    AuthenticationError,
    LaunchStatus,
    RateLimitedError,
    Role,
    TaskStatus,
    ValidationFailedError,
)
from engine.task_forms import LaunchStartForm
from engine.xml_safety import MAX_DIAGRAM_BYTES

router = APIRouter(include_in_schema=False)

PublicPage = Annotated[Caller | None, Depends(page(PUBLIC))]
SignedInPage = Annotated[Caller, Depends(page(SIGNED_IN))]
WorkerPage = Annotated[Caller, Depends(page(roles(Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER)))]
PmPage = Annotated[Caller, Depends(page(roles(Role.PM)))]
AuditorPage = Annotated[Caller, Depends(page(roles(Role.AUDITOR, Role.ADMIN)))]
AdminPage = Annotated[Caller, Depends(page(roles(Role.ADMIN)))]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/launches"


def _context(request: Request, caller: Caller | None, engine: EngineDep, **extra: Any) -> dict[str, Any]:
    inbox = engine.list_tasks(actor=caller.actor, inbox=True, limit=1).total if caller else 0
    return {
        "request_path": request.url.path,
        "user": caller.actor if caller else None,
        "csrf": caller.csrf_token if caller else "",
        "inbox_count": inbox,
        "notice": request.query_params.get("notice", "")[:300],
        **extra,
    }


# ------------------------------------------------------------------------------------------- sign-in


@router.get("/sign-in")
def sign_in_page(
    request: Request, caller: PublicPage, engine: EngineDep, next: str = "/launches"
) -> Response:
    if caller is not None:
        return _see_other(_safe_next(next))
    return render(
        "sign_in.html", **_context(request, None, engine, next=_safe_next(next), error="", username="")
    )


@router.post("/sign-in")
def sign_in_submit(
    request: Request, caller: PublicPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise ApiError(403, "csrf", "This form was sent from another site, so it was refused.")
    form = posted_form(request)
    username, password = str(form.get("username", ""))[:100], str(form.get("password", ""))[:200]
    target = _safe_next(str(form.get("next", "")))
    client = request.client.host if request.client else "unknown"
    try:
        grant = accounts.sign_in(username=username, password=password, client=client)
    except (AuthenticationError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 401
        context = _context(request, None, engine, next=target, error=exc.message, username=username)
        return render("sign_in.html", status_code=status, **context)
    response = _see_other(target)
    response.set_cookie(
        SESSION_COOKIE,
        grant.session_token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
        path="/",
    )
    return response


@router.post("/sign-out")
def sign_out_submit(request: Request, caller: SignedInPage, accounts: AccountsDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.sign_out(cookie)
    response = _see_other("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(caller: SignedInPage) -> Response:
    return _see_other("/launches")


# ------------------------------------------------------------------------------------------- launches


@router.get("/launches")
def launches_page(
    request: Request,
    caller: SignedInPage,
    engine: EngineDep,
    status: Annotated[LaunchStatus | None, Query()] = None,
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
        **_context(
            request,
            caller,
            engine,
            page=result,
            filters={"status": status.value if status else "", "blocked": blocked, "q": q, "mine": mine},
            statuses=[s.value for s in LaunchStatus],
            can_start=caller.actor.has_role(Role.PM),
        ),
    )


@router.get("/launches/new")
def new_launch_page(request: Request, caller: PmPage, engine: EngineDep) -> Response:
    return render("launch_new.html", **_context(request, caller, engine, values={}, errors={}))


@router.post("/launches/new")
def new_launch_submit(request: Request, caller: PmPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    # Only the fields the form sent: the optional ones it has no inputs for keep their defaults.
    values = {name: str(form.get(name, "")).strip() for name in LaunchStartForm.model_fields if name in form}
    data: dict[str, Any] = dict(values)
    if "support_distribution" in data:  # a textarea: one address per line
        lines = values["support_distribution"].splitlines()
        data["support_distribution"] = [line.strip() for line in lines if line.strip()]
    if "due_overrides" in data:  # a textarea: one "task_id = business days" per line
        data["due_overrides"] = _due_overrides(values["due_overrides"])
    try:
        launch = engine.start_launch(data=data, actor=caller.actor)
    except ValidationFailedError as exc:
        errors = errors_by_field([_launch_field_problem(p.loc, p.message) for p in exc.problems])
        return render(
            "launch_new.html",
            status_code=422,
            **_context(request, caller, engine, values=values, errors=errors),
        )
    return _see_other(f"/launches/{launch.id}?notice=" + quote(f"Launch “{launch.product_name}” started."))


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


@router.get("/launches/{launch_id}")
def launch_page(request: Request, launch_id: str, caller: SignedInPage, engine: EngineDep) -> Response:
    launch = engine.get_launch(launch_id=launch_id, actor=caller.actor)
    history = engine.launch_history(launch_id=launch_id, actor=caller.actor)
    comments = engine.list_comments(launch_id=launch_id, actor=caller.actor)
    incidents = engine.list_incidents(launch_id=launch_id, actor=caller.actor)
    completed = [e.detail.get("task") for e in history if e.action == "task.completed"]
    return render(
        "launch.html",
        **_context(
            request,
            caller,
            engine,
            launch=launch,
            history=list(reversed(history)),
            comments=comments,
            incidents=incidents,
            can_retry=caller.actor.has_role(Role.ADMIN),
            completed_ids=" ".join(sorted({str(t) for t in completed if t})),
            ready_ids=" ".join(sorted({t.bpmn_id for t in launch.open_tasks})),
            can_comment=bool(caller.actor.roles & {Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER}),
        ),
    )


@router.post("/launches/{launch_id}/incidents/{message_id}/retry")
def incident_retry_submit(
    launch_id: str,
    message_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    caller: AdminPage,
    engine: EngineDep,
) -> Response:
    message = engine.retry_message(message_id=message_id, actor=caller.actor)
    text = f"The {message.kind.replace('_', ' ')} will be sent again."
    return _see_other(f"/launches/{launch_id}" + _notice(text) + "#incidents")


@router.get("/launches/{launch_id}/diagram.bpmn")
def launch_diagram(launch_id: str, caller: SignedInPage, engine: EngineDep) -> Response:
    xml = engine.launch_diagram(launch_id=launch_id, actor=caller.actor)
    return Response(xml, media_type="application/xml", headers={"Cache-Control": "private, max-age=300"})


@router.post("/launches/{launch_id}/comments")
def comment_submit(request: Request, launch_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task_id = str(form.get("task_id", "")) or None
    engine.add_comment(
        launch_id=launch_id, task_id=task_id, body=str(form.get("body", "")), actor=caller.actor
    )
    target = f"/tasks/{task_id}" if task_id else f"/launches/{launch_id}"
    return _see_other(f"{target}?notice=" + quote("Comment added.") + "#comments")


# ------------------------------------------------------------------------------------------- inbox and tasks


@router.get("/inbox")
def inbox_page(
    request: Request,
    caller: SignedInPage,
    engine: EngineDep,
    sort: Annotated[str, Query(pattern="^-?(due|created)$")] = "due",
) -> Response:
    tasks = list(engine.list_tasks(actor=caller.actor, inbox=True, limit=500).items)
    key = sort.lstrip("-")
    far = "9999"
    tasks.sort(
        key=lambda t: (
            (t.due_at.isoformat() if t.due_at else far) if key == "due" else t.created_at.isoformat()
        ),
        reverse=sort.startswith("-"),
    )
    return render("inbox.html", **_context(request, caller, engine, tasks=tasks, sort=sort))


@router.post("/tasks/{task_id}/claim")
def claim_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task = engine.claim_task(task_id=task_id, actor=caller.actor)
    return _see_other(_safe_next(str(form.get("next", "/inbox"))) + _notice(f"You took “{task.title}”."))


@router.post("/tasks/{task_id}/release")
def release_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    task = engine.release_task(task_id=task_id, actor=caller.actor)
    return _see_other(
        _safe_next(str(form.get("next", "/inbox"))) + _notice(f"“{task.title}” is back in the queue.")
    )


@router.post("/tasks/{task_id}/assign")
def assign_submit(
    request: Request, task_id: str, caller: WorkerPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    form = posted_form(request)
    assignee = str(form.get("assignee", ""))
    task = engine.get_task(task_id=task_id, actor=caller.actor).task
    user = accounts.find_user(assignee)
    if user is None or not user.active or not user.actor().has_role(task.role):
        raise ApiError(
            422, "validation", f"{assignee or 'Nobody'} cannot take this task: it needs the {task.role} role."
        )
    engine.assign_task(task_id=task_id, assignee=user.username, actor=caller.actor)
    return _see_other(f"/tasks/{task_id}" + _notice(f"Assigned to {user.username}."))


def _assignable(request: Request, caller: Caller, task: Any, launch: Any) -> list[str]:
    """Who the caller may hand this task to (support managers: support tasks; the launch PM: PM tasks)."""
    if task.status is not TaskStatus.READY:
        return []
    manages_support = task.role == Role.SUPPORT_LEAD.value and caller.actor.has_role(Role.SUPPORT_MANAGER)
    manages_pm = task.role == Role.PM.value and caller.actor.username == launch.pm
    if not (manages_support or manages_pm):
        return []
    accounts: AccountService = request.app.state.accounts
    return accounts.usernames_with_role(Role(task.role))


def _notice(text: str) -> str:
    return "?notice=" + quote(text)


def _task_template(bpmn_id: str) -> str:
    name = f"tasks/{bpmn_id}.html"
    return name if template_exists(name) else "tasks/_generic.html"


@router.get("/tasks/{task_id}")
def task_page(request: Request, task_id: str, caller: SignedInPage, engine: EngineDep) -> Response:
    detail = engine.get_task(task_id=task_id, actor=caller.actor)
    draft = (
        engine.get_draft(task_id=task_id, actor=caller.actor)
        if detail.task.status is TaskStatus.READY
        else None
    )
    data = draft if draft is not None else detail.current_data
    return _render_task(request, caller, engine, detail, data, errors={}, draft_loaded=draft is not None)


def _render_task(
    request: Request,
    caller: Caller,
    engine: EngineDep,
    detail: Any,
    data: dict[str, Any],
    *,
    errors: dict[str, list[str]],
    status_code: int = 200,
    add: str | None = None,
    draft_loaded: bool = False,
) -> Response:
    specs = field_specs(detail.form_schema)
    launch = engine.get_launch(launch_id=detail.task.launch_id, actor=caller.actor)
    comments = engine.list_comments(
        launch_id=detail.task.launch_id, task_id=detail.task.id, actor=caller.actor
    )
    blocked = bool(detail.task.is_go_live and launch.blockers)
    return render(
        _task_template(detail.task.bpmn_id),
        status_code=status_code,
        **_context(
            request,
            caller,
            engine,
            detail=detail,
            task=detail.task,
            launch=launch,
            specs={s.name: s for s in specs},
            spec_list=specs,
            values=with_spare_rows(specs, data, add=add),
            errors=errors,
            comments=comments,
            draft_loaded=draft_loaded,
            editable=detail.task.status is TaskStatus.READY,
            go_live_blocked=blocked,
            can_comment=bool(caller.actor.roles & {Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER}),
            assignable=_assignable(request, caller, detail.task, launch),
        ),
    )


@router.post("/tasks/{task_id}")
def task_submit(request: Request, task_id: str, caller: WorkerPage, engine: EngineDep) -> Response:
    form: FormData = posted_form(request)
    detail = engine.get_task(task_id=task_id, actor=caller.actor)
    specs = field_specs(detail.form_schema)
    flat = {k: str(v) for k, v in form.multi_items() if isinstance(v, str)}
    data = parse(specs, flat)
    action = str(form.get("action", "submit"))
    if action.startswith("add:"):
        return _render_task(request, caller, engine, detail, data, errors={}, add=action[4:])
    if action.startswith("remove:"):
        _, name, index = [*action.split(":"), "", ""][:3]
        shown = without_row(data, name, int(index) if index.isdigit() else -1)
        return _render_task(request, caller, engine, detail, shown, errors={})
    if action == "save_draft":
        engine.save_draft(task_id=task_id, data=data, actor=caller.actor)
        return _see_other(f"/tasks/{task_id}" + _notice("Draft saved. You can come back to it at any time."))
    try:
        launch = engine.complete_task(task_id=task_id, data=data, actor=caller.actor)
    except ValidationFailedError as exc:
        errors = errors_by_field([(p.loc, p.message) for p in exc.problems])
        return _render_task(request, caller, engine, detail, data, errors=errors, status_code=422)
    message = f"“{detail.task.title}” completed."
    if launch.status is LaunchStatus.LIVE:
        message = f"{launch.product_name} is live."
    return _see_other(f"/launches/{launch.id}" + _notice(message))


# ------------------------------------------------------------------------------------------- audit


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
    return render(
        "audit.html",
        **_context(
            request, caller, engine, events=events, filters=filters, export_query=query, verification=None
        ),
    )


@router.get("/audit/verify")
def audit_verify_page(request: Request, caller: AuditorPage, engine: EngineDep) -> Response:
    result = engine.verify_audit()
    return render(
        "audit.html",
        **_context(
            request,
            caller,
            engine,
            events=[],
            filters={"launch_id": "", "actor": "", "action": ""},
            export_query="",
            verification=result,
        ),
    )


# ------------------------------------------------------------------------------------ admin and account


@router.get("/admin/users")
def users_page(request: Request, caller: AdminPage, engine: EngineDep, accounts: AccountsDep) -> Response:
    return render(
        "admin_users.html",
        **_context(
            request,
            caller,
            engine,
            users=accounts.list_users(actor=caller.actor),
            roles=[r.value for r in Role],
            errors={},
        ),
    )


@router.post("/admin/users")
def users_submit(request: Request, caller: AdminPage, engine: EngineDep, accounts: AccountsDep) -> Response:
    form = posted_form(request)
    try:
        accounts.create_user(
            username=str(form.get("username", "")),
            password=str(form.get("password", "")),
            roles=[str(r) for r in form.getlist("roles")],
            display_name=str(form.get("display_name", "")),
            email=str(form.get("email", "")),
            actor=caller.actor,
        )
    except ValidationFailedError as exc:
        errors = errors_by_field([(p.loc[:1], p.message) for p in exc.problems])
        users = accounts.list_users(actor=caller.actor)
        context = _context(request, caller, engine, users=users, roles=[r.value for r in Role], errors=errors)
        return render("admin_users.html", status_code=422, **context)
    return _see_other("/admin/users" + _notice("User created."))


@router.post("/admin/users/{user_id}")
def user_update_submit(
    request: Request, user_id: RowId, caller: AdminPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    form = posted_form(request)
    action = str(form.get("action", ""))
    if action == "roles":
        accounts.set_roles(user_id=user_id, roles=[str(r) for r in form.getlist("roles")], actor=caller.actor)
    elif action in {"disable", "enable"}:
        accounts.set_active(user_id=user_id, active=action == "enable", actor=caller.actor)
    elif action == "password":
        accounts.reset_password(user_id=user_id, password=str(form.get("password", "")), actor=caller.actor)
    else:
        raise ApiError(400, "bad-request", f"unknown action {action!r}")
    return _see_other("/admin/users" + _notice("Saved."))


@router.get("/admin/processes")
def processes_page(request: Request, caller: AdminPage, engine: EngineDep) -> Response:
    versions = engine.list_process_versions(actor=caller.actor)
    return render("admin_processes.html", **_context(request, caller, engine, versions=versions, problems=[]))


@router.post("/admin/processes")
def processes_submit(request: Request, caller: AdminPage, engine: EngineDep) -> Response:
    form = posted_form(request)
    upload = form.get("file")
    from engine import DiagramRejectedError

    data = upload.file.read(MAX_DIAGRAM_BYTES + 1) if isinstance(upload, UploadFile) else b""
    problems: list[str] = []
    if not data:
        problems = ["Choose a .bpmn file to upload."]
    elif len(data) > MAX_DIAGRAM_BYTES:
        problems = [f"The file is larger than {MAX_DIAGRAM_BYTES} bytes."]
    else:
        try:
            version = engine.deploy_process(xml=data, actor=caller.actor)
        except DiagramRejectedError as exc:
            problems = [f"{p.element_id or 'document'}: {p.message}" for p in exc.problems]
        else:
            notice = f"Deployed {version.process_id} version {version.version}."
            return _see_other("/admin/processes" + _notice(notice))
    versions = engine.list_process_versions(actor=caller.actor)
    context = _context(request, caller, engine, versions=versions, problems=problems)
    return render("admin_processes.html", status_code=400, **context)


@router.get("/account/tokens")
def tokens_page(request: Request, caller: SignedInPage, engine: EngineDep, accounts: AccountsDep) -> Response:
    tokens = accounts.list_tokens(actor=caller.actor)
    return render("tokens.html", **_context(request, caller, engine, tokens=tokens, new_token=""))


@router.post("/account/tokens")
def tokens_submit(
    request: Request, caller: SignedInPage, engine: EngineDep, accounts: AccountsDep
) -> Response:
    form = posted_form(request)
    _, raw = accounts.create_token(actor=caller.actor, name=str(form.get("name", "")))
    tokens = accounts.list_tokens(actor=caller.actor)
    return render(
        "tokens.html", status_code=201, **_context(request, caller, engine, tokens=tokens, new_token=raw)
    )


@router.post("/account/tokens/{token_id}/revoke")
def token_revoke_submit(token_id: RowId, caller: SignedInPage, accounts: AccountsDep) -> Response:
    accounts.revoke_token(token_id=token_id, actor=caller.actor)
    return _see_other("/account/tokens" + _notice("Token revoked."))
