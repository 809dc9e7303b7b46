"""The engine's reads: launches, tasks, drafts, comments, history, process versions, incidents.

Lists come from the launch table and the task index alone (never a workflow restore); a launch on its own
is built from its rows at one version. Each query checks the reader first (engine.permissions).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine import audit, outbox, permissions, task_documents
from engine.commands.calls import called_part
from engine.commands.context import EngineContext
from engine.db import repository as repo
from engine.db import rows
from engine.domain import (
    Actor,
    AuditEventView,
    CommentView,
    DocumentView,
    FormView,
    LaunchStatus,
    LaunchView,
    Page,
    ProcessVersionView,
    ProcessView,
    TaskDetailView,
    TaskStatus,
    TaskView,
)
from engine.errors import NotFoundError, must_exist
from engine.outbox import OutboxMessageView
from engine.snapshots import LaunchSnapshot
from engine.views import comment_view, full_view, process_version_view, process_view, summary_view, task_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_PAGE = 500


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, offset), max(1, min(limit, MAX_PAGE))


def _launch_must_exist(session: Session, launch_id: str) -> None:
    if not repo.launch_exists(session, launch_id):
        raise NotFoundError(f"launch {launch_id} does not exist")


def get_launch(ctx: EngineContext, *, launch_id: str, actor: Actor) -> LaunchView:
    ctx.require(permissions.may_read(actor), actor, "launch.read")
    with ctx.db.read() as session:
        launch = must_exist(rows.read_launch(session, launch_id), f"launch {launch_id}")
        snapshot = LaunchSnapshot(
            launch=launch,
            facts={f.key: f for f in rows.read_gate_facts(session, launch_id)},
            ready=rows.read_ready_tasks(session, launch_id),
        )
        process = ctx.process(launch.process_version_id, session)
    return full_view(snapshot, process.model, ctx.label(launch.process_version_id))


def list_launches(
    ctx: EngineContext,
    *,
    actor: Actor,
    status: LaunchStatus | None,
    pm: str | None,
    blocked: bool | None,
    search: str | None,
    offset: int,
    limit: int,
) -> Page[LaunchView]:
    ctx.require(permissions.may_read(actor), actor, "launch.list")
    offset, limit = page_bounds(offset, limit)
    query = repo.filter_launches(
        status=status.value if status else None, pm=pm, blocked=blocked, search=search
    )
    with ctx.db.read() as session:
        total = repo.count(session, query)
        found = repo.launch_page(session, query, offset=offset, limit=limit)
        items = tuple(summary_view(r, ctx.label(r.process_version_id, session)) for r in found)
    return Page(items=items, total=total, offset=offset, limit=limit)


def launch_diagram(ctx: EngineContext, *, launch_id: str, actor: Actor, part: str | None = None) -> str:
    ctx.require(permissions.may_read(actor), actor, "launch.diagram")
    with ctx.db.read() as session:
        record = must_exist(repo.launch(session, launch_id), f"launch {launch_id}")
        if part is None:
            return ctx.process(record.process_version_id, session).xml
        version = must_exist(
            repo.process_version(session, record.process_version_id),
            f"process version {record.process_version_id}",
        )
        xml = called_part(session, version.calls, part)
        if xml is None:
            raise NotFoundError(f"launch {launch_id} calls no process {part!r} of another diagram")
        return xml


def launch_history(ctx: EngineContext, *, launch_id: str, actor: Actor) -> list[AuditEventView]:
    ctx.require(permissions.may_read(actor), actor, "launch.history")
    with ctx.db.read() as session:
        _launch_must_exist(session, launch_id)
        return [audit.to_view(r) for r in repo.audit_events(session, repo.audit_query(launch_id=launch_id))]


def list_tasks(
    ctx: EngineContext,
    *,
    actor: Actor,
    role: str | None,
    assignee: str | None,
    launch_id: str | None,
    status: TaskStatus | None,
    inbox: bool,
    offset: int,
    limit: int,
) -> Page[TaskView]:
    ctx.require(permissions.may_read(actor), actor, "task.list")
    offset, limit = page_bounds(offset, limit)
    with ctx.db.read() as session:
        total, records = repo.task_page(
            session,
            role=role,
            assignee=assignee,
            launch_id=launch_id,
            status=TaskStatus.READY.value if inbox else (status.value if status else None),
            inbox_of=(actor.username, [r.value for r in actor.roles]) if inbox else None,
            offset=offset,
            limit=limit,
        )
        names = repo.product_names(session, {r.launch_id for r in records})
        items = tuple(
            task_view(r, names[r.launch_id][0], ctx.label(names[r.launch_id][1], session)) for r in records
        )
    return Page(items=items, total=total, offset=offset, limit=limit)


def get_task(ctx: EngineContext, *, task_id: str, actor: Actor) -> TaskDetailView:
    ctx.require(permissions.may_read(actor), actor, "task.read")
    with ctx.db.read() as session:
        task = must_exist(repo.task(session, task_id), f"task {task_id}")
        launch = repo.launch(session, task.launch_id)
        assert launch is not None
        completion = None
        if task.status == TaskStatus.COMPLETED.value:
            completion = repo.completion_event(session, launch_id=launch.id, task_id=task_id)
        view = task_view(task, launch.product_name, ctx.label(launch.process_version_id, session))
        launch_version, launch_state = launch.version, launch.state
        process = ctx.process(launch.process_version_id, session)
        spec = process.model.tasks[task.bpmn_id]
        writers = [t.id for t in process.model.tasks.values() if t.document == spec.reviews]
        facts = permissions.TaskFacts(
            role=task.role,
            assignee=task.assignee,
            status=TaskStatus(task.status),
            launch_pm=launch.pm,
            reviews_author=repo.last_author(session, launch.id, writers) if spec.reviews else None,
        )
        active = launch.status == LaunchStatus.ACTIVE.value
        shown = task_documents.sources(session, launch.id, process.model, spec)
        not_ready = f"this task is {task.status}" if active else f"the launch is {launch.status}"
    data: dict[str, Any]
    documents: tuple[DocumentView, ...] = ()
    ready = task.status == TaskStatus.READY.value and active
    if task.status == TaskStatus.READY.value:
        workflow, snapshot = ctx.restore(launch.id, launch_version, launch_state, process)
        data = workflow.data_for(task_id)
        ctx.cache.put(launch.id, launch_version, workflow, snapshot)
        documents = task_documents.document_views(shown, process.forms, data)
        if spec.reviews:  # a review starts blank: never the previous round's decision and comment
            data = {**data, spec.document: {}}
    else:
        data = {spec.document: (completion.after if completion is not None else None) or {}}
    form = process.forms.form_for(task.bpmn_id)
    return TaskDetailView(
        task=view,
        documentation=spec.documentation,
        form_schema=form.json_schema(),
        current_data=dict(data.get(spec.document) or {}),
        reviewed_document=spec.reviews,
        reviewed_data=dict(data.get(spec.reviews) or {}) if spec.reviews else None,
        ui_schema=dict(form.ui_schema),
        refusal=permissions.may_complete(actor, facts) if ready else not_ready,
        may_claim=ready and task.assignee is None and permissions.may_claim(actor, facts) is None,
        documents=documents,
    )


def start_form(ctx: EngineContext, *, actor: Actor, process_id: str) -> FormView:
    """The launch start form of the process's newest version."""
    ctx.require(permissions.may_read(actor), actor, "process.start_form")
    with ctx.db.read() as session:
        version = repo.latest_process_version(session, process_id)
        if version is None:
            raise NotFoundError(f"process {process_id!r} is not deployed")
        process = ctx.process(version.id, session)
    form = process.forms.start_form()
    return FormView(title=form.title, json_schema=form.json_schema(), ui_schema=dict(form.ui_schema))


def get_draft(ctx: EngineContext, *, task_id: str, actor: Actor) -> dict[str, Any] | None:
    with ctx.db.read() as session:
        draft = repo.draft(session, task_id=task_id, author=actor.username)
        return dict(draft.data) if draft is not None else None


def list_comments(
    ctx: EngineContext, *, launch_id: str, actor: Actor, task_id: str | None
) -> list[CommentView]:
    ctx.require(permissions.may_read(actor), actor, "comment.list")
    with ctx.db.read() as session:
        _launch_must_exist(session, launch_id)
        return [comment_view(r) for r in repo.comments(session, launch_id=launch_id, task_id=task_id)]


def audit_events(
    ctx: EngineContext,
    *,
    actor: Actor,
    launch_id: str | None,
    actor_name: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    after_sequence: int,
    limit: int,
) -> list[AuditEventView]:
    ctx.require(permissions.may_verify_audit(actor), actor, "audit.read")
    query = repo.audit_query(
        launch_id=launch_id,
        actor=actor_name,
        action=action,
        since=since,
        until=until,
        after_sequence=after_sequence,
    ).limit(max(1, min(limit, 10_000)))
    with ctx.db.read() as session:
        return [audit.to_view(r) for r in repo.audit_events(session, query)]


def audit_page(
    ctx: EngineContext,
    *,
    actor: Actor,
    launch_id: str | None,
    actor_name: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> Page[AuditEventView]:
    """One page of the filtered audit trail, oldest first (by sequence: paging never skips or repeats)."""
    ctx.require(permissions.may_verify_audit(actor), actor, "audit.read")
    offset, limit = page_bounds(offset, limit)
    query = repo.audit_query(launch_id=launch_id, actor=actor_name, action=action, since=since, until=until)
    with ctx.db.read() as session:
        total, records = repo.audit_page(session, query, offset=offset, limit=limit)
        items = tuple(audit.to_view(r) for r in records)
    return Page(items=items, total=total, offset=offset, limit=limit)


def list_incidents(ctx: EngineContext, *, launch_id: str, actor: Actor) -> list[OutboxMessageView]:
    ctx.require(permissions.may_read(actor), actor, "launch.incidents")
    with ctx.db.read() as session:
        _launch_must_exist(session, launch_id)
        return outbox.incidents(session, launch_id=launch_id)


def list_process_versions(ctx: EngineContext, *, actor: Actor) -> list[ProcessVersionView]:
    ctx.require(permissions.may_read(actor), actor, "process.list")
    with ctx.db.read() as session:
        versions = repo.process_versions(session)
        latest = {v.process_id: v.id for v in versions}  # ordered by (process id, version): last wins
        return [process_version_view(v, latest_id=latest[v.process_id]) for v in versions]


def list_processes(ctx: EngineContext, *, actor: Actor) -> list[ProcessView]:
    """Every deployed process at its newest version (what a new launch runs), by process id."""
    ctx.require(permissions.may_read(actor), actor, "process.list")
    with ctx.db.read() as session:
        found = [(ctx.process(i, session), ctx.label(i, session)) for i in repo.latest_version_ids(session)]
    return [process_view(process, label) for process, label in found]


def launch_processes(
    ctx: EngineContext, *, launch_ids: set[str], actor: Actor
) -> dict[str, tuple[str, int, str]]:
    """(process id, version, name) of each of these launches (for pages that list events of launches)."""
    ctx.require(permissions.may_read(actor), actor, "launch.list")
    with ctx.db.read() as session:
        found = repo.product_names(session, launch_ids)
        return {launch_id: ctx.label(version_id, session) for launch_id, (_, version_id) in found.items()}
