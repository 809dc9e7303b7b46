"""ORM rows. Tables are singular snake_case; the Alembic migrations in engine/db/migrations create them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, the same on SQLite and PostgreSQL (the migrations repeat it verbatim)."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class ProcessVersionRecord(Base):
    """One deployed diagram, stored once per content hash. Launches point to it."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version", name="uq_process_version_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    bpmn_xml: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    # The version's form files and which element uses which (engine.forms.stored); JSON text.
    forms: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The versions of the deployed processes its call activities call, pinned at deploy: JSON text
    # {process id: process_version id} (None: it calls none from outside its diagram).
    calls: Mapped[str | None] = mapped_column(Text, nullable=True)


class LaunchRecord(Base):
    """One launch: a process instance. `state` is the workflow state without the spec; `version` guards it."""

    __tablename__ = "launch"
    __table_args__ = (
        Index("ix_launch_status_created", "status", "created_at"),
        Index("ix_launch_pm", "pm"),
        Index("ix_launch_next_timer", "next_timer_at"),
        # The "blocked" filter's count reads the index alone (on SQLite blocked_by sits behind the large
        # `state` column in the row, so reading it from the table walks every row's overflow pages).
        Index("ix_launch_status_blocked", "status", "blocked_by"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), nullable=False)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)
    product_name_lower: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    summary: Mapped[str] = mapped_column(String(400), nullable=False)
    planned_launch_date: Mapped[date] = mapped_column(Date, nullable=False)
    pm: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    gate_total: Mapped[int] = mapped_column(Integer, nullable=False)
    gate_passed: Mapped[int] = mapped_column(Integer, nullable=False)
    blocked_by: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Where the launch notice goes (empty: the configured default list) and due days per task id.
    support_distribution: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    due_overrides: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)
    # When the earliest waiting BPMN timer fires: the worker restores only launches whose time has come.
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the workflow waits for (message, signal, timer events), written with each new state: the
    # launch page shows it without restoring the workflow (engine.views).
    waiting: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)


# The launch list's order (newest first, ties by id), so a page reads 50 index entries instead of sorting
# every launch. Declared here because a descending column needs the mapped attribute.
Index("ix_launch_created", LaunchRecord.created_at.desc(), LaunchRecord.id)


class TaskRecord(Base):
    """The task index: what inboxes and lists query. Listing tasks never restores a workflow."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_status_role", "status", "role", "due_at"),
        # Assigned tasks only: an index that also held the (many) unassigned rows would look, to SQLite's
        # planner (which knows average rows per key, not how many are NULL), like the cheapest way to find
        # the unassigned tasks of a role, and it is not.
        Index("ix_task_assigned", "assignee", "status", **_where("assignee IS NOT NULL")),
        Index("ix_task_launch", "launch_id", "status"),
        Index("ix_task_launch_completion", "launch_id", "bpmn_id", "completed_version"),
        Index("ix_task_remind", "status", "remind_at"),
        # The inbox, in its order (`due_at` NULLS LAST, `created_at`, `id`), one branch at a time
        # (engine.db.repository.task_page): my ready tasks, and the unassigned ready tasks of each of my
        # roles. ix_task_inbox_role's trailing `status, assignee` repeat its WHERE so that SQLite's planner
        # sees the index alone answers the count of a role's queue (it does not credit the WHERE for that).
        Index(
            "ix_task_inbox_assignee",
            "assignee",
            "due_at",
            "created_at",
            "id",
            **_where("status = 'ready' AND assignee IS NOT NULL"),
        ),
        Index(
            "ix_task_inbox_role",
            "role",
            "due_at",
            "created_at",
            "id",
            "status",
            "assignee",
            **_where("status = 'ready' AND assignee IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    launch_id: Mapped[str] = mapped_column(ForeignKey("launch.id"), nullable=False)
    bpmn_id: Mapped[str] = mapped_column(String(100), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(50), nullable=False)
    assignee: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    gate_item: Mapped[str | None] = mapped_column(String(100), nullable=True)
    is_go_live: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The launch version the completion wrote: orders a launch's completions without trusting clocks.
    completed_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The reminder ladder: the next step's index and when it is due (None: nothing left to do).
    ladder_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # An instance of a multi-instance task: its label (the region), position (from 1), the number of
    # instances, how many are done (kept current while it runs) and how many passing ones it needs.
    instance_label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    instance_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    instance_needed: Mapped[int | None] = mapped_column(Integer, nullable=True)


class GateItemRecord(Base):
    """Gate facts, kept apart from task data so no form submission can write them."""

    __tablename__ = "gate_item"

    launch_id: Mapped[str] = mapped_column(ForeignKey("launch.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    bpmn_task_id: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    passed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    passed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # A multi-instance gate item: passing instances so far, instances, and passing ones it needs.
    progress_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_needed: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AuditEventRecord(Base):
    """Append-only, hash-chained history. Triggers refuse UPDATE and DELETE.

    Each event belongs to one chain: its launch's, or the chain of events with no launch (`chain_id` "").
    `chain_position` counts 1, 2, 3 … without gaps inside a chain and `prev_hash` is the hash of the event
    before it in that chain. `sequence` is the global order, taken from a database sequence (PostgreSQL)
    or the next number (SQLite), see docs/audit.md."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_launch", "launch_id", "sequence"),
        Index("ix_audit_actor", "actor", "sequence"),
        Index("ix_audit_action", "action", "sequence"),
        Index("uq_audit_chain_position", "chain_id", "chain_position", unique=True),
    )

    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    chain_id: Mapped[str] = mapped_column(String(36), nullable=False)
    chain_position: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=False)
    occurred_at: Mapped[str] = mapped_column(String(40), nullable=False)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    launch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditChainRecord(Base):
    """The head of one audit chain (a launch's, or "" for events with no launch). Appending to a chain
    locks its row (per launch: commands on different launches never wait on each other). The checkpoint
    step copies `length`/`head_hash` into `checkpointed_*` when it signs them."""

    __tablename__ = "audit_chain"

    chain_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=False)
    head_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    checkpointed_length: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False
    )
    checkpointed_hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditCheckpointRecord(Base):
    """A signed statement of every chain head (a Merkle root) and the number of events they cover.

    `payload` is the exact canonical JSON that was signed; `changes` maps each chain whose length changed
    since the checkpoint before to its new length (so any checkpoint's tree can be rebuilt from the
    events). Checkpoint 0 is written by the migration that introduced the chains: unsigned, it records the
    head of the single chain that came before (`legacy_head`), which the first signed checkpoint repeats."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    global_position: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=False)
    chain_count: Mapped[int] = mapped_column(Integer, nullable=False)
    root: Mapped[str] = mapped_column(String(64), nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    legacy_head: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    signature: Mapped[str | None] = mapped_column(String(200), nullable=True)


class OutboxMessageRecord(Base):
    """A side effect to deliver, written in the same transaction as the command that caused it.

    status: pending → delivered, or failed (an incident) after the last attempt. A worker holds a claimed
    row until `locked_until` (its lease); `delivered_channels` lists the channels already done, so a retry
    never sends one twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_launch_status", "launch_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    launch_id: Mapped[str | None] = mapped_column(ForeignKey("launch.id"), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    delivered_channels: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserRecord(Base):
    """A person who signs in. Roles are a sorted comma-separated list of Role values."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    roles: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AuthSessionRecord(Base):
    """A browser session, server side. The id is the SHA-256 of the cookie value, never the value."""

    __tablename__ = "auth_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    client: Mapped[str] = mapped_column(String(100), nullable=False)


class ApiTokenRecord(Base):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInFailureRecord(Base):
    """One failed sign-in, by account key and by client-address key, for rate limiting across processes."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CommentRecord(Base):
    """A comment on a launch or on one of its tasks; kept after the task completes."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_launch", "launch_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    launch_id: Mapped[str] = mapped_column(ForeignKey("launch.id"), nullable=False)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("task.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(100), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class TaskDraftRecord(Base):
    """A saved, unsubmitted form for a ready task (one per task and author). Not validated, not audited."""

    __tablename__ = "task_draft"

    task_id: Mapped[str] = mapped_column(ForeignKey("task.id"), primary_key=True)
    author: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class IdempotencyKeyRecord(Base):
    """A client's Idempotency-Key on a command route: the first request's fingerprint and, once answered,
    its status and body (a retry gets them back). `committed`/`launch_id` are set inside the command's own
    transaction, so a retry after an unknown commit outcome knows the command happened."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("username", "route", "key", name="uq_idempotency_key"),
        Index("ix_idempotency_key_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    route: Mapped[str] = mapped_column(String(200), nullable=False)
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    committed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    launch_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
