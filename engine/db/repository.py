"""Queries over the rows. SQLAlchemy only: no SpiffWorkflow, no rules (those live in engine/*.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased, defer

from engine.clock import format_utc
from engine.db.models import (
    AuditEventRecord,
    CommentRecord,
    GateItemRecord,
    LaunchRecord,
    ProcessVersionRecord,
    TaskDraftRecord,
    TaskRecord,
)
from engine.domain import LaunchStatus, TaskStatus


def latest_process_version(session: Session, process_id: str) -> ProcessVersionRecord | None:
    return session.execute(
        select(ProcessVersionRecord)
        .where(ProcessVersionRecord.process_id == process_id)
        .order_by(ProcessVersionRecord.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def process_version(session: Session, version_id: int) -> ProcessVersionRecord | None:
    return session.get(ProcessVersionRecord, version_id)


def add_process_version(
    session: Session,
    *,
    process_id: str,
    version: int,
    content_hash: str,
    bpmn_xml: str,
    forms: str,
    created_at: datetime,
    created_by: str,
    calls: str | None = None,
) -> ProcessVersionRecord:
    record = ProcessVersionRecord(
        process_id=process_id,
        version=version,
        content_hash=content_hash,
        bpmn_xml=bpmn_xml,
        forms=forms,
        calls=calls,
        created_at=created_at,
        created_by=created_by,
    )
    session.add(record)
    session.flush()
    return record


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


def latest_version_ids(session: Session) -> Sequence[int]:
    """The id of the newest version of every deployed process, by process id."""
    newest = (
        select(ProcessVersionRecord.process_id, func.max(ProcessVersionRecord.version).label("version"))
        .group_by(ProcessVersionRecord.process_id)
        .subquery()
    )
    return (
        session.execute(
            select(ProcessVersionRecord.id)
            .join(
                newest,
                (ProcessVersionRecord.process_id == newest.c.process_id)
                & (ProcessVersionRecord.version == newest.c.version),
            )
            .order_by(ProcessVersionRecord.process_id)
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
    query = select(TaskRecord).where(*_task_filters(role, assignee, launch_id, status))
    if inbox_of is not None:
        username, roles = inbox_of
        query = query.where(
            or_(
                TaskRecord.assignee == username,
                and_(TaskRecord.assignee.is_(None), TaskRecord.role.in_(list(roles))),
            )
        )
    return query


def task_order(task: type[TaskRecord] = TaskRecord) -> tuple[ColumnElement[Any], ...]:
    """How task lists are sorted: soonest due first, tasks without a due date last, then oldest first."""
    return (task.due_at.asc().nulls_last(), task.created_at.asc(), task.id.asc())


def task_page(
    session: Session,
    *,
    role: str | None = None,
    assignee: str | None = None,
    launch_id: str | None = None,
    status: str | None = None,
    inbox_of: tuple[str, Sequence[str]] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, Sequence[TaskRecord]]:
    """The exact total and one page, in task_order, of the tasks that `filter_tasks` with the same
    arguments selects.

    An inbox (`inbox_of` with `status="ready"`: the user's ready tasks plus the unassigned ready tasks of
    their roles) is read as disjoint branches, each an index range already in task order
    (ix_task_inbox_assignee; ix_task_inbox_role once per role). The page merges the first offset+limit rows
    of each branch instead of sorting every matching task, and the exact total adds up two counts that
    read those indexes (or ix_task_assigned) alone."""
    if inbox_of is None:
        query = filter_tasks(role=role, assignee=assignee, launch_id=launch_id, status=status)
        # The total rides along with the page (one statement); only a page past the end needs a count.
        page = query.add_columns(func.count().over()).order_by(*task_order()).offset(offset).limit(limit)
        found = session.execute(page).all()
        if found:
            return int(found[0][1]), [r[0] for r in found]
        return (count(session, query) if offset else 0), []
    username, user_roles = inbox_of
    roles = sorted(set(user_roles))
    total_query, page_query = _inbox_statements(
        len(roles), status, role is not None, assignee is not None, launch_id is not None
    )
    params: dict[str, Any] = {"username": username, "roles": roles, "role": role, "assignee": assignee}
    params |= {"launch_id": launch_id, "branch_limit": offset + limit, "offset": offset, "limit": limit}
    params |= {f"role_{i}": r for i, r in enumerate(roles)}
    total = int(session.execute(total_query, params).scalar_one())
    return total, session.execute(page_query, params).scalars().all()


@lru_cache(maxsize=64)
def _inbox_statements(
    roles: int, status: str | None, by_role: bool, by_assignee: bool, by_launch: bool
) -> tuple[Select[Any], Select[Any]]:
    """The inbox's count and page statements for one shape of filter, built once (building them costs more
    than running them); every value is a bound parameter except the status (see below)."""
    common = _task_filters(
        bindparam("role") if by_role else None,
        bindparam("assignee") if by_assignee else None,
        bindparam("launch_id") if by_launch else None,
        None,
    )
    if status is not None:
        # Written into the SQL, not bound: both databases then match it against the partial indexes'
        # `status = 'ready'` when they plan the statement (a generic plan for a bound value could not).
        common.append(TaskRecord.status == literal(status, literal_execute=True))
    mine = and_(*common, TaskRecord.assignee == bindparam("username"))
    queues = [
        and_(*common, TaskRecord.assignee.is_(None), TaskRecord.role == bindparam(f"role_{i}"))
        for i in range(roles)
    ]
    total: ColumnElement[int] = select(func.count()).select_from(TaskRecord).where(mine).scalar_subquery()
    if roles:
        queued = and_(
            *common, TaskRecord.assignee.is_(None), TaskRecord.role.in_(bindparam("roles", expanding=True))
        )
        total = total + select(func.count()).select_from(TaskRecord).where(queued).scalar_subquery()
    branches = [
        select(TaskRecord).where(w).order_by(*task_order()).limit(bindparam("branch_limit"))
        for w in (mine, *queues)
    ]
    if len(branches) == 1:
        page = branches[0]
    else:
        merged = union_all(*(select(b.subquery()) for b in branches)).subquery("inbox")
        task = aliased(TaskRecord, merged)
        page = select(task).order_by(*task_order(task))
    return select(total), page.offset(bindparam("offset")).limit(bindparam("limit"))


def _task_filters(
    role: str | BindParameter[str] | None,
    assignee: str | BindParameter[str] | None,
    launch_id: str | BindParameter[str] | None,
    status: str | None,
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if role is not None:
        filters.append(TaskRecord.role == role)
    if assignee is not None:
        filters.append(TaskRecord.assignee == assignee)
    if launch_id is not None:
        filters.append(TaskRecord.launch_id == launch_id)
    if status is not None:
        filters.append(TaskRecord.status == status)
    return filters


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


# ---------------------------------------------------------------------------------------- launches, tasks


def launch(session: Session, launch_id: str) -> LaunchRecord | None:
    return session.get(LaunchRecord, launch_id)


def launch_exists(session: Session, launch_id: str) -> bool:
    return session.execute(select(LaunchRecord.id).where(LaunchRecord.id == launch_id)).first() is not None


def launch_page(
    session: Session, query: Select[LaunchRecord], *, offset: int, limit: int
) -> Sequence[LaunchRecord]:
    """One page of `filter_launches`, newest first, without the workflow state."""
    return (
        session.execute(
            query.options(defer(LaunchRecord.state))
            .order_by(LaunchRecord.created_at.desc(), LaunchRecord.id)
            .offset(offset)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def product_names(session: Session, launch_ids: set[str]) -> dict[str, tuple[str, int]]:
    """(product name, process version id) of each launch."""
    if not launch_ids:
        return {}
    rows = session.execute(
        select(LaunchRecord.id, LaunchRecord.product_name, LaunchRecord.process_version_id).where(
            LaunchRecord.id.in_(launch_ids)
        )
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def due_timer_launches(session: Session, *, now: datetime, limit: int) -> Sequence[str]:
    """Active launches whose earliest waiting timer is due, soonest first."""
    return (
        session.execute(
            select(LaunchRecord.id)
            .where(LaunchRecord.status == LaunchStatus.ACTIVE.value, LaunchRecord.next_timer_at <= now)
            .order_by(LaunchRecord.next_timer_at, LaunchRecord.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def active_launches_of(
    session: Session, *, process_version_id: int | None, exclude: str, limit: int
) -> Sequence[str]:
    """Active launches (oldest first) other than `exclude`: all of them, or those of the same process
    (any version) as the given process version. What a thrown message or signal may reach."""
    query = select(LaunchRecord.id).where(
        LaunchRecord.status == LaunchStatus.ACTIVE.value, LaunchRecord.id != exclude
    )
    if process_version_id is not None:
        same = select(ProcessVersionRecord.process_id).where(ProcessVersionRecord.id == process_version_id)
        versions = select(ProcessVersionRecord.id).where(
            ProcessVersionRecord.process_id.in_(same.scalar_subquery())
        )
        query = query.where(LaunchRecord.process_version_id.in_(versions))
    return (
        session.execute(query.order_by(LaunchRecord.created_at, LaunchRecord.id).limit(limit)).scalars().all()
    )


def task(session: Session, task_id: str) -> TaskRecord | None:
    return session.get(TaskRecord, task_id)


def completion_event(session: Session, *, launch_id: str, task_id: str) -> AuditEventRecord | None:
    """The audit row of a task's completion (it carries what was submitted)."""
    return session.execute(
        audit_query(launch_id=launch_id, action="task.completed").where(AuditEventRecord.task_id == task_id)
    ).scalar_one_or_none()


def audit_events(session: Session, query: Select[AuditEventRecord]) -> Sequence[AuditEventRecord]:
    return session.execute(query).scalars().all()


def audit_page(
    session: Session, query: Select[AuditEventRecord], *, offset: int, limit: int
) -> tuple[int, Sequence[AuditEventRecord]]:
    """The number of events `audit_query` matches and one page of them (LIMIT/OFFSET in SQL, by sequence)."""
    total = int(
        session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    )
    return total, session.execute(query.offset(offset).limit(limit)).scalars().all()


# ---------------------------------------------------------------------------------------- drafts, comments


def draft(session: Session, *, task_id: str, author: str) -> TaskDraftRecord | None:
    return session.get(TaskDraftRecord, (task_id, author))


def save_draft(session: Session, *, task_id: str, author: str, data: dict[str, Any], at: datetime) -> None:
    found = draft(session, task_id=task_id, author=author)
    if found is None:
        session.add(TaskDraftRecord(task_id=task_id, author=author, data=data, saved_at=at))
    else:
        found.data = data
        found.saved_at = at


def add_comment(
    session: Session, *, launch_id: str, task_id: str | None, author: str, body: str, at: datetime
) -> CommentRecord:
    record = CommentRecord(launch_id=launch_id, task_id=task_id, author=author, body=body, created_at=at)
    session.add(record)
    session.flush()
    return record


def comments(session: Session, *, launch_id: str, task_id: str | None) -> Sequence[CommentRecord]:
    query = select(CommentRecord).where(CommentRecord.launch_id == launch_id)
    if task_id is not None:
        query = query.where(CommentRecord.task_id == task_id)
    return session.execute(query.order_by(CommentRecord.id)).scalars().all()
