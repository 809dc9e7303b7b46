"""What people keep beside the workflow: drafts of unfinished forms, and comments on launches and tasks.
Neither changes the launch's version (they are not part of the rows a completion decides on)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine import audit, permissions
from engine.commands.context import EngineContext, require_ready
from engine.db import repository as repo
from engine.domain import Actor, CommentView, TaskStatus
from engine.errors import FieldProblem, NotFoundError, ValidationFailedError, must_exist
from engine.views import comment_view

MAX_COMMENT = 4000
MAX_DRAFT_BYTES = 200_000


def save_draft(ctx: EngineContext, *, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
    """Drafts are not validated; a draft of a task that is no longer ready is refused."""
    with ctx.db.read() as session:
        task = must_exist(repo.task(session, task_id), f"task {task_id}")
        launch = repo.launch(session, task.launch_id)
        assert launch is not None
        require_ready(task, launch)
    facts = permissions.TaskFacts(
        role=task.role, assignee=task.assignee, status=TaskStatus(task.status), launch_pm=launch.pm
    )
    ctx.require(permissions.may_complete(actor, facts), actor, "task.save_draft")
    payload = json.loads(json.dumps(dict(data), default=str))
    if len(json.dumps(payload)) > MAX_DRAFT_BYTES:
        raise ValidationFailedError("the draft is too large", [FieldProblem((), "the draft is too large")])
    with ctx.db.write() as session:
        repo.save_draft(session, task_id=task_id, author=actor.username, data=payload, at=ctx.clock.now())


def add_comment(
    ctx: EngineContext, *, launch_id: str, body: str, actor: Actor, task_id: str | None
) -> CommentView:
    ctx.require(permissions.may_comment(actor), actor, "comment.add")
    text = body.strip()
    if not 1 <= len(text) <= MAX_COMMENT:
        raise ValidationFailedError(
            "the comment is empty or too long",
            [FieldProblem(("body",), f"write 1 to {MAX_COMMENT} characters", "string_length")],
        )
    now = ctx.clock.now()
    with ctx.db.write() as session:
        if not repo.launch_exists(session, launch_id):
            raise NotFoundError(f"launch {launch_id} does not exist")
        if task_id is not None:
            task = repo.task(session, task_id)
            if task is None or task.launch_id != launch_id:
                raise NotFoundError(f"task {task_id} does not exist in launch {launch_id}")
        record = repo.add_comment(
            session, launch_id=launch_id, task_id=task_id, author=actor.username, body=text, at=now
        )
        audit.append_event(
            session,
            actor=actor,
            action="comment.added",
            at=now,
            launch_id=launch_id,
            task_id=task_id,
            after={"comment_id": record.id, "body": text},
        )
        return comment_view(record)
