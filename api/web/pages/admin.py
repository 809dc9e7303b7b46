"""The admin pages: users (create, roles, enable or disable, reset a password) and process versions
(deploy a process package)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.errors import ApiError
from api.schemas import RowId
from api.security import AccountsDep, EngineDep
from api.web.auth import posted_form
from api.web.formdata import errors_by_field
from api.web.notices import see_other_with_notice
from api.web.pages.shared import AdminPage, context
from api.web.templating import render
from engine import MAX_PACKAGE_BYTES, DiagramRejectedError, Role, ValidationFailedError, read_upload

router = APIRouter()
ROLE_NAMES = [r.value for r in Role]


@router.get("/admin/users")
def users_page(request: Request, caller: AdminPage, engine: EngineDep, accounts: AccountsDep) -> Response:
    users = accounts.list_users(actor=caller.actor)
    return render(
        "admin_users.html", **context(request, caller, engine, users=users, roles=ROLE_NAMES, errors={})
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
        page = context(request, caller, engine, users=users, roles=ROLE_NAMES, errors=errors)
        return render("admin_users.html", status_code=422, **page)
    return see_other_with_notice(request, "/admin/users", caller, "User created.")


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
    return see_other_with_notice(request, "/admin/users", caller, "Saved.")


@router.get("/admin/processes")
def processes_page(request: Request, caller: AdminPage, engine: EngineDep) -> Response:
    versions = engine.list_process_versions(actor=caller.actor)
    return render("admin_processes.html", **context(request, caller, engine, versions=versions, problems=[]))


@router.post("/admin/processes")
def processes_submit(request: Request, caller: AdminPage, engine: EngineDep) -> Response:
    """Deploy a package: one diagram, a .zip, or several files; problems worded as `bpmn check` has them."""
    uploads = [u for u in posted_form(request).getlist("file") if isinstance(u, UploadFile)]
    files = [(u.filename or "diagram.bpmn", u.file.read(MAX_PACKAGE_BYTES + 1)) for u in uploads]
    problems: list[str] = []
    if not any(data for _, data in files):
        problems = ["Choose a .bpmn file, a .zip package or the package's files to upload."]
    elif sum(len(data) for _, data in files) > MAX_PACKAGE_BYTES:
        problems = [f"The upload is larger than {MAX_PACKAGE_BYTES} bytes."]
    else:
        try:
            deployed = engine.deploy_package(package=read_upload(files), actor=caller.actor)
        except DiagramRejectedError as exc:
            problems = list(exc.lines) or [f"{p.element_id or 'document'}: {p.message}" for p in exc.problems]
        else:
            text = " ".join(f"Deployed {v.process_id} version {v.version}." for v in deployed)
            return see_other_with_notice(request, "/admin/processes", caller, text)
    versions = engine.list_process_versions(actor=caller.actor)
    page = context(request, caller, engine, versions=versions, problems=problems)
    return render("admin_processes.html", status_code=400, **page)
