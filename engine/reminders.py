"""The reminder and escalation ladder, run by the worker over the task index (no workflow is restored).

Each open task carries the index of its next ladder step and when that step is due (`remind_at`, set
when the task is created). A step that is due is done in ONE transaction: the notification goes into the
outbox, an escalation marks the task (`escalated_at`, shown on the gate panel), the step is audited
(`task.reminded` / `task.escalated`), the task moves on to its next step and the launch to a new
version. Several workers never do a step twice: the task row is locked (PostgreSQL `FOR UPDATE SKIP
LOCKED`; SQLite's write transaction) and the message's idempotency key names the task and the step.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy.orm import Session

from engine import audit, outbox
from engine.db import ladder, launches
from engine.db.models import TaskRecord
from engine.db.session import Database
from engine.domain import LaunchStatus
from engine.scheduling import WORKER_ACTOR, LadderAction, LadderStep, SchedulePolicy, next_ladder_step

logger = logging.getLogger(__name__)


def run_ladder(
    database: Database,
    *,
    now: datetime,
    policy: SchedulePolicy,
    holidays: Collection[date] = (),
    limit: int = 200,
) -> int:
    """Do every ladder step that is due by `now`. Returns how many steps were done."""
    with database.read() as session:
        due = ladder.due_task_ids(session, now=now, limit=limit)
    done = 0
    for task_id in due:
        # A task whose several steps are overdue (the worker was down) gets them one after another.
        while _step(database, task_id, now=now, policy=policy, holidays=holidays):
            done += 1
    return done


def _step(
    database: Database, task_id: str, *, now: datetime, policy: SchedulePolicy, holidays: Collection[date]
) -> bool:
    with database.write() as session:
        task = ladder.task_due_for_step(session, task_id, now=now, lock=not database.is_sqlite)
        if task is None:
            return False
        launch = launches.launch_by_id(session, task.launch_id)
        finished = task.ladder_step >= len(policy.ladder)
        if launch is None or launch.status != LaunchStatus.ACTIVE.value or finished:
            task.remind_at = None
            return False
        index = task.ladder_step
        step = policy.ladder[index]
        # Every change to a launch's task rows moves the launch to a new version (the engine's remembered
        # rows of this launch are then never trusted again, and a command racing this step starts over).
        launches.bump_version(session, launch.id, now=now)
        if step.action is LadderAction.ESCALATE:
            task.escalated_at = task.escalated_at or now
        to = _recipients(task, step, policy)
        _queue_message(session, task, step, index, to, now=now)
        task.ladder_step, task.remind_at = next_ladder_step(
            due_at=task.due_at,
            created_at=task.created_at,
            start=index + 1,
            ladder=policy.ladder,
            holidays=holidays,
            tz=policy.timezone,
        )
        _audit_step(session, task, step, to, now=now)
        logger.info("launch %s task %s: %s", task.launch_id, task.id, step.describe())
        return True


def _recipients(task: TaskRecord, step: LadderStep, policy: SchedulePolicy) -> dict[str, list[str]]:
    """An escalation goes to the escalation role; a reminder to the assignee, or the role's queue."""
    if step.action is LadderAction.ESCALATE:
        return {"roles": [policy.escalate_to_role]}
    return {"users": [task.assignee]} if task.assignee else {"roles": [task.role]}


def _queue_message(
    session: Session,
    task: TaskRecord,
    step: LadderStep,
    index: int,
    to: dict[str, list[str]],
    *,
    now: datetime,
) -> None:
    outbox.add_message(
        session,
        kind=step.message_kind,
        key=f"{step.message_kind}:{task.id}:{index}",
        launch_id=task.launch_id,
        task_id=task.id,
        payload={
            "task_id": task.id,
            "title": task.title,
            "role": task.role,
            "assignee": task.assignee,
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "offset_business_days": step.offset_business_days,
            "to": to,
        },
        now=now,
    )


def _audit_step(
    session: Session, task: TaskRecord, step: LadderStep, to: dict[str, list[str]], *, now: datetime
) -> None:
    audit.append_event(
        session,
        actor=WORKER_ACTOR,
        action=step.audit_action,
        at=now,
        launch_id=task.launch_id,
        task_id=task.id,
        detail={
            "task": task.bpmn_id,
            "title": task.title,
            "step": step.describe(),
            "due_at": task.due_at.isoformat() if task.due_at else None,
            "assignee": task.assignee,
            "to": to,
        },
    )
