"""Who works a ready task: claim (take it), release (back to the role's queue), assign (hand it to someone),
and the question to ask before assigning: who may this task be assigned to.

A command that would leave the task as it is (claiming a task you hold, releasing one nobody holds,
assigning it to its assignee) is allowed or refused like any other, and when allowed writes nothing."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from engine import permissions
from engine.commands.context import EngineContext, require_ready
from engine.commands.runner import TaskRefusals, run_command
from engine.commands.write import AuditEntry, LaunchChange, Message, write_change
from engine.db import accounts as accounts_rows
from engine.db import rows
from engine.db.rows import LaunchRow, TaskRow
from engine.domain import Actor, LaunchStatus, TaskStatus, TaskView
from engine.errors import AssigneeInvalidError, ConflictError, must_exist
from engine.views import task_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_DONE = {"claim": "task.claimed", "release": "task.released", "assign": "task.assigned"}


def claim_task(ctx: EngineContext, *, task_id: str, actor: Actor) -> TaskView:
    return _reassign(ctx, "claim", task_id, actor, actor.username)


def release_task(ctx: EngineContext, *, task_id: str, actor: Actor) -> TaskView:
    return _reassign(ctx, "release", task_id, actor, None)


def assign_task(ctx: EngineContext, *, task_id: str, assignee: str, actor: Actor) -> TaskView:
    return _reassign(ctx, "assign", task_id, actor, assignee.strip().lower())


def assignable_users(ctx: EngineContext, *, task_id: str, actor: Actor) -> tuple[str, ...]:
    """The active users `actor` may assign this task to: empty unless the task is ready and the actor
    may assign it (support managers: support tasks; the launch PM: PM tasks)."""
    ctx.require(permissions.may_read(actor), actor, "task.assignable")
    with ctx.db.read() as session:
        task, launch = _read(session, task_id)
        if task.status != TaskStatus.READY.value or launch.status != LaunchStatus.ACTIVE.value:
            return ()
        if permissions.may_assign(actor, _facts(task, launch)) is not None:
            return ()
        users = sorted(
            u.username for u in accounts_rows.active_users(session) if task.role in _roles(u.roles)
        )
        return tuple(users)


def _reassign(ctx: EngineContext, how: str, task_id: str, actor: Actor, assignee: str | None) -> TaskView:
    name = f"task.{how}"
    return run_command(
        name,
        task_id,
        lambda: _attempt(ctx, how, task_id, actor, assignee),
        refusals=TaskRefusals(ctx, name, task_id, actor),
    )


def _attempt(ctx: EngineContext, how: str, task_id: str, actor: Actor, assignee: str | None) -> TaskView:
    with ctx.db.read() as session:
        task, launch = _read(session, task_id)
        roles = _active_roles(session, assignee) if how == "assign" and assignee else None
    require_ready(task, launch)
    facts = _facts(task, launch)
    if how == "claim":
        if task.assignee is not None and task.assignee != actor.username:
            raise ConflictError(f"this task is already assigned to {task.assignee}")
        reason = permissions.may_claim(actor, facts)
    elif how == "release":
        reason = permissions.may_release(actor, facts)
    else:
        reason = permissions.may_assign(actor, facts)
    ctx.require(reason, actor, f"task.{how}")
    if how == "assign":
        _check_assignee(assignee, roles, task)
    if task.assignee == assignee:
        # Already so (a second claim, a release of a task nobody holds, an assignment to its holder):
        # nothing is written, no event, no version bump; the answer is the task as it is.
        return task_view(task, launch.product_name)
    now = ctx.clock.now()
    after = replace(launch, version=launch.version + 1, updated_at=now)
    ctx.hook(f"{how}_task")
    write_change(
        ctx,
        LaunchChange(
            before=launch,
            after=after,
            now=now,
            assignment=(task_id, assignee),
            messages=_assigned_message(task, assignee, actor, version=after.version)
            if how == "assign"
            else (),
            audit=AuditEntry(
                actor=actor,
                action=_DONE[how],
                task_id=task_id,
                before={"assignee": task.assignee},
                after={"assignee": assignee},
                detail={"task": task.bpmn_id, "title": task.title},
            ),
        ),
    )
    _remember(ctx, launch, after, task_id, assignee)
    label = ctx.label(launch.process_version_id)
    return task_view(replace(task, assignee=assignee), launch.product_name, label)


def _read(session: Session, task_id: str) -> tuple[TaskRow, LaunchRow]:
    task = must_exist(rows.read_task(session, task_id), f"task {task_id}")
    launch = rows.read_launch(session, task.launch_id)
    assert launch is not None
    return task, launch


def _active_roles(session: Session, username: str) -> list[str] | None:
    """The roles of the active user of that name (None: no such active user)."""
    user = accounts_rows.user_by_name(session, username)
    return _roles(user.roles) if user is not None and user.active else None


def _roles(stored: str) -> list[str]:
    return stored.split(",")


def _facts(task: TaskRow, launch: LaunchRow) -> permissions.TaskFacts:
    return permissions.TaskFacts(
        role=task.role, assignee=task.assignee, status=TaskStatus(task.status), launch_pm=launch.pm
    )


def _check_assignee(assignee: str | None, roles: list[str] | None, task: TaskRow) -> None:
    if not assignee or roles is None:
        raise AssigneeInvalidError(f"there is no active user named {assignee or ''!r}")
    if task.role not in roles:
        raise AssigneeInvalidError(f"{assignee} does not hold the {task.role} role this task needs")


def _assigned_message(
    task: TaskRow, assignee: str | None, actor: Actor, *, version: int
) -> tuple[Message, ...]:
    """Someone else assigned you a task: you hear about it (nobody is told of their own assignment)."""
    if assignee is None or assignee == actor.username:
        return ()
    payload = {
        "task_id": task.id,
        "title": task.title,
        "by": actor.username,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "to": {"users": [assignee]},
    }
    return (Message("task_assigned", f"task_assigned:{task.id}:{version}", task.id, payload),)


def _remember(
    ctx: EngineContext, launch: LaunchRow, after: LaunchRow, task_id: str, assignee: str | None
) -> None:
    """Move this process's cached workflow and rows of the launch to the new version."""
    cached = ctx.cache.take(launch.id, launch.version)
    if cached is None:
        return
    snapshot = cached.snapshot
    if snapshot is not None:
        snapshot = replace(
            snapshot,
            launch=after,
            ready=tuple(replace(t, assignee=assignee) if t.id == task_id else t for t in snapshot.ready),
        )
    ctx.cache.put(launch.id, after.version, cached.workflow, snapshot)
