"""Queries over the rows. SQLAlchemy only: no SpiffWorkflow, no rules (those live in engine/*.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.clock import format_utc
from engine.db.models import (
    AuditEventRecord,
    GateItemRecord,
    LaunchRecord,
    ProcessVersionRecord,
    TaskRecord,
)
from engine.domain import TaskStatus


def latest_process_version(session: Session, process_id: str) -> ProcessVersionRecord | None:
    return session.execute(
        select(ProcessVersionRecord)
        .where(ProcessVersionRecord.process_id == process_id)
        .order_by(ProcessVersionRecord.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def process_version_by_hash(session: Session, content_hash: str) -> ProcessVersionRecord | None:
    return session.execute(
        select(ProcessVersionRecord).where(ProcessVersionRecord.content_hash == content_hash)
    ).scalar_one_or_none()


def process_versions(session: Session) -> Sequence[ProcessVersionRecord]:
    return (
        session.execute(
            select(ProcessVersionRecord).order_by(
                ProcessVersionRecord.process_id, ProcessVersionRecord.version
            )
        )
        .scalars()
        .all()
    )


def gate_items(session: Session, launch_id: str) -> Sequence[GateItemRecord]:
    return (
        session.execute(
            select(GateItemRecord)
            .where(GateItemRecord.launch_id == launch_id)
            .order_by(GateItemRecord.position)
        )
        .scalars()
        .all()
    )


def launch_tasks(
    session: Session, launch_id: str, *, status: TaskStatus | None = None
) -> Sequence[TaskRecord]:
    query = select(TaskRecord).where(TaskRecord.launch_id == launch_id)
    if status is not None:
        query = query.where(TaskRecord.status == status.value)
    return session.execute(query.order_by(TaskRecord.created_at, TaskRecord.id)).scalars().all()


def last_author(session: Session, launch_id: str, bpmn_ids: Sequence[str]) -> str | None:
    """Who completed the most recent of these tasks (the author of a document under review).

    "Most recent" is by the launch version each completion wrote, which never goes backwards, not by a
    wall-clock timestamp; one indexed look-up, whatever the audit trail's size."""
    if not bpmn_ids:
        return None
    return session.execute(
        select(TaskRecord.completed_by)
        .where(
            TaskRecord.launch_id == launch_id,
            TaskRecord.bpmn_id.in_(bpmn_ids),
            TaskRecord.status == TaskStatus.COMPLETED.value,
        )
        .order_by(TaskRecord.completed_version.desc())
        .limit(1)
    ).scalar_one_or_none()


def filter_launches(
    *,
    status: str | None = None,
    pm: str | None = None,
    blocked: bool | None = None,
    search: str | None = None,
) -> Select[LaunchRecord]:
    query = select(LaunchRecord)
    if status is not None:
        query = query.where(LaunchRecord.status == status)
    if pm is not None:
        query = query.where(LaunchRecord.pm == pm)
    if blocked is True:
        query = query.where(LaunchRecord.status == "active", LaunchRecord.blocked_by != "")
    elif blocked is False:
        query = query.where(LaunchRecord.status == "active", LaunchRecord.blocked_by == "")
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(LaunchRecord.product_name_lower.like(f"%{escaped}%", escape="\\"))
    return query


def count(session: Session, query: Select[LaunchRecord] | Select[TaskRecord]) -> int:
    return int(session.execute(select(func.count()).select_from(query.subquery())).scalar_one())


def filter_tasks(
    *,
    role: str | None = None,
    assignee: str | None = None,
    launch_id: str | None = None,
    status: str | None = None,
    inbox_of: tuple[str, Sequence[str]] | None = None,
) -> Select[TaskRecord]:
    query = select(TaskRecord)
    if role is not None:
        query = query.where(TaskRecord.role == role)
    if assignee is not None:
        query = query.where(TaskRecord.assignee == assignee)
    if launch_id is not None:
        query = query.where(TaskRecord.launch_id == launch_id)
    if status is not None:
        query = query.where(TaskRecord.status == status)
    if inbox_of is not None:
        username, roles = inbox_of
        query = query.where(
            or_(
                TaskRecord.assignee == username,
                and_(TaskRecord.assignee.is_(None), TaskRecord.role.in_(list(roles))),
            )
        )
    return query


def audit_query(
    *,
    launch_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_sequence: int = 0,
) -> Select[AuditEventRecord]:
    query = select(AuditEventRecord).where(AuditEventRecord.sequence > after_sequence)
    if launch_id is not None:
        query = query.where(AuditEventRecord.launch_id == launch_id)
    if actor is not None:
        query = query.where(AuditEventRecord.actor == actor)
    if action is not None:
        query = query.where(AuditEventRecord.action == action)
    if since is not None:
        query = query.where(AuditEventRecord.occurred_at >= format_utc(since))
    if until is not None:
        query = query.where(AuditEventRecord.occurred_at < format_utc(until))
    return query.order_by(AuditEventRecord.sequence)
