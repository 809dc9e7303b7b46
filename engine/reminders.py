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

from sqlalchemy import select, update

from engine import audit, outbox
from engine.db.models import LaunchRecord, TaskRecord
from engine.db.session import Database
from engine.domain import LaunchStatus, TaskStatus
from engine.scheduling import WORKER_ACTOR, LadderAction, SchedulePolicy, next_ladder_step

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
        due = (
            session.execute(
                select(TaskRecord.id)
                .where(TaskRecord.status == TaskStatus.READY.value, TaskRecord.remind_at <= now)
                .order_by(TaskRecord.remind_at, TaskRecord.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
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
        query = select(TaskRecord).where(
            TaskRecord.id == task_id,
            TaskRecord.status == TaskStatus.READY.value,
            TaskRecord.remind_at <= now,
        )
        if not database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        task = session.execute(query).scalar_one_or_none()
        if task is None:
            return False
        launch = session.get(LaunchRecord, task.launch_id)
        finished = task.ladder_step >= len(policy.ladder)
        if launch is None or launch.status != LaunchStatus.ACTIVE.value or finished:
            task.remind_at = None
            return False
        index = task.ladder_step
        step = policy.ladder[index]
        # Every change to a launch's task rows moves the launch to a new version (the engine's remembered
        # rows of this launch are then never trusted again, and a command racing this step starts over).
        session.execute(
            update(LaunchRecord)
            .where(LaunchRecord.id == launch.id)
            .values(version=LaunchRecord.version + 1, updated_at=now)
        )
        escalate = step.action is LadderAction.ESCALATE
        if escalate:
            to = {"roles": [policy.escalate_to_role]}
            task.escalated_at = task.escalated_at or now
        else:
            to = {"users": [task.assignee]} if task.assignee else {"roles": [task.role]}
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
        task.ladder_step, task.remind_at = next_ladder_step(
            due_at=task.due_at,
            created_at=task.created_at,
            start=index + 1,
            ladder=policy.ladder,
            holidays=holidays,
        )
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
        logger.info("launch %s task %s: %s", task.launch_id, task.id, step.describe())
        return True
