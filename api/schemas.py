"""HTTP schemas: `…Create` for request bodies, `…Read` for responses. Built from engine views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from engine import (
    ApiTokenView,
    AuditEventView,
    BlockerView,
    CommentView,
    GateItemView,
    LaunchView,
    OutboxMessageView,
    ProcessVersionView,
    Role,
    TaskDetailView,
    TaskView,
    UserView,
)

T = TypeVar("T")
# A numeric id in the path: bounded by the INTEGER columns (PostgreSQL int4), so a huge number is a 422, not a
# database overflow (500).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL cannot store NUL in text: refuse it here (422) instead of failing there (500)."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("must not contain NUL (\\x00) characters")
        return value


class FieldErrorRead(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path, then field names and list indexes.")
    message: str
    type: str


class ProblemRead(BaseModel):
    """The one error shape of the whole API (RFC 9457 problem details, plus field errors and blockers)."""

    type: str = Field(examples=["https://launchgate.dev/problems/validation"])
    title: str = Field(examples=["Invalid data"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["the submitted data does not fit the form of review_proposal"])
    errors: list[FieldErrorRead] = Field(default_factory=list)
    blockers: list[BlockerRead] = Field(default_factory=list)


class PageRead(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


# ------------------------------------------------------------------------------------------- auth


class SignInCreate(Strict):
    username: str = Field(min_length=1, max_length=100, examples=["pat.pm"])
    password: str = Field(min_length=1, max_length=200, examples=["demo-pm-password"])


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    roles: list[Role]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, view: UserView) -> UserRead:
        return cls(
            id=view.id,
            username=view.username,
            display_name=view.display_name,
            email=view.email,
            roles=sorted(view.roles),
            active=view.active,
            created_at=view.created_at,
        )


class SessionRead(BaseModel):
    user: UserRead
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on state-changing requests that use the session cookie."
    )
    expires_at: datetime | None = None


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["release bot"])


class TokenRead(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def of(cls, view: ApiTokenView) -> TokenRead:
        return cls(
            id=view.id,
            name=view.name,
            prefix=view.prefix,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            revoked=view.revoked,
        )


class TokenCreatedRead(TokenRead):
    token: str = Field(description="Shown once. Send as `Authorization: Bearer <token>`.")


class UserCreate(Strict):
    username: str = Field(min_length=3, max_length=64, examples=["lee.support"])
    password: str = Field(min_length=10, max_length=200, examples=["a-long-passphrase"])
    roles: list[Role] = Field(min_length=1, examples=[["support_lead"]])
    display_name: str = Field(default="", max_length=200, examples=["Lee Support"])
    email: str = Field(default="", max_length=254, examples=["lee@example.com"])


class UserUpdate(Strict):
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: StrictBool | None = None  # not 0/1 or "yes": the schema says boolean


class PasswordReset(Strict):
    password: str = Field(min_length=10, max_length=200)


# ------------------------------------------------------------------------------------------- launches


class GateItemRead(BaseModel):
    key: str
    title: str
    status: str
    passed_at: datetime | None
    passed_by: str | None
    content_hash: str | None = Field(description="SHA-256 of what was signed off.")
    holder_role: str | None
    holder: str | None
    holding_task_id: str | None
    since: datetime
    due_at: datetime | None
    escalated_at: datetime | None = Field(
        default=None, description="When the reminder ladder escalated the holding task."
    )

    @classmethod
    def of(cls, view: GateItemView) -> GateItemRead:
        return cls(
            key=view.key,
            title=view.title,
            status=view.status.value,
            passed_at=view.passed_at,
            passed_by=view.passed_by,
            content_hash=view.content_hash,
            holder_role=view.holder_role,
            holder=view.holder_assignee,
            holding_task_id=view.holding_task_id,
            since=view.since,
            due_at=view.due_at,
            escalated_at=view.escalated_at,
        )


class BlockerRead(BaseModel):
    item: str = Field(examples=["beta_faq"])
    title: str = Field(examples=["Beta FAQ"])
    owner_role: str | None = Field(examples=["support_lead"])
    owner: str | None = Field(examples=["sam.support"])
    task_id: str | None
    since: datetime
    due_at: datetime | None

    @classmethod
    def of(cls, view: BlockerView) -> BlockerRead:
        return cls(
            item=view.item,
            title=view.title,
            owner_role=view.owner_role,
            owner=view.owner,
            task_id=view.task_id,
            since=view.since,
            due_at=view.due_at,
        )


class TaskRead(BaseModel):
    id: str
    launch_id: str
    product_name: str
    bpmn_id: str = Field(examples=["review_proposal"])
    title: str
    role: str
    assignee: str | None
    status: str
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    gate_item: str | None
    is_go_live: bool
    escalated_at: datetime | None = None

    @classmethod
    def of(cls, view: TaskView) -> TaskRead:
        return cls(
            id=view.id,
            launch_id=view.launch_id,
            product_name=view.product_name,
            bpmn_id=view.bpmn_id,
            title=view.title,
            role=view.role,
            assignee=view.assignee,
            status=view.status.value,
            created_at=view.created_at,
            due_at=view.due_at,
            completed_at=view.completed_at,
            completed_by=view.completed_by,
            gate_item=view.gate_item,
            is_go_live=view.is_go_live,
            escalated_at=view.escalated_at,
        )


class TaskDetailRead(TaskRead):
    documentation: str
    form_schema: dict[str, Any] = Field(description="JSON Schema of the data `complete` accepts.")
    current_data: dict[str, Any] = Field(
        description="What the form is prefilled with (or what was submitted)."
    )
    reviewed_document: str | None
    reviewed_data: dict[str, Any] | None

    @classmethod
    def of_detail(cls, view: TaskDetailView) -> TaskDetailRead:
        return cls(
            **TaskRead.of(view.task).model_dump(),
            documentation=view.documentation,
            form_schema=view.form_schema,
            current_data=view.current_data,
            reviewed_document=view.reviewed_document,
            reviewed_data=view.reviewed_data,
        )


class TaskComplete(Strict):
    data: dict[str, Any] = Field(
        description="The task's form data; its JSON Schema is `form_schema` of GET /tasks/{id}.",
        examples=[
            {
                "decision": "request_changes",
                "comment": "Please add the opt-out path.",
                "anticipated_questions": [],
            }
        ],
    )


class TaskAssign(Strict):
    assignee: str = Field(min_length=1, max_length=100, examples=["sue.support"])


class LaunchSummaryRead(BaseModel):
    id: str
    product_name: str
    summary: str
    planned_launch_date: date
    pm: str
    status: str
    version: int
    process_id: str
    process_version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    gate_passed: int
    gate_total: int
    blocked_by: list[str]
    ready_to_go_live: bool

    @classmethod
    def of(cls, view: LaunchView) -> LaunchSummaryRead:
        return cls(
            id=view.id,
            product_name=view.product_name,
            summary=view.summary,
            planned_launch_date=view.planned_launch_date,
            pm=view.pm,
            status=view.status.value,
            version=view.version,
            process_id=view.process_id,
            process_version=view.process_version,
            created_at=view.created_at,
            updated_at=view.updated_at,
            completed_at=view.completed_at,
            gate_passed=view.gate_passed,
            gate_total=view.gate_total,
            blocked_by=list(view.blocked_by),
            ready_to_go_live=view.ready_to_go_live,
        )


class LaunchRead(LaunchSummaryRead):
    gate: list[GateItemRead]
    blockers: list[BlockerRead]
    open_tasks: list[TaskRead]
    support_distribution: list[str] = Field(
        default_factory=list, description="Where the launch notice goes (empty: the configured default)."
    )
    due_overrides: dict[str, int] = Field(
        default_factory=dict, description="Business days per task id, instead of the diagram's default."
    )

    @classmethod
    def of_full(cls, view: LaunchView) -> LaunchRead:
        return cls(
            **LaunchSummaryRead.of(view).model_dump(),
            gate=[GateItemRead.of(g) for g in view.gate],
            blockers=[BlockerRead.of(b) for b in view.blockers],
            open_tasks=[TaskRead.of(t) for t in view.open_tasks],
            support_distribution=list(view.support_distribution),
            due_overrides=dict(view.due_overrides),
        )


class CommentCreate(Strict):
    body: str = Field(min_length=1, max_length=4000, examples=["Support will staff a launch-day rota."])


class CommentRead(BaseModel):
    id: int
    launch_id: str
    task_id: str | None
    author: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, view: CommentView) -> CommentRead:
        return cls(
            id=view.id,
            launch_id=view.launch_id,
            task_id=view.task_id,
            author=view.author,
            body=view.body,
            created_at=view.created_at,
        )


class AuditEventRead(BaseModel):
    sequence: int
    occurred_at: str
    actor: str
    role: str
    action: str
    launch_id: str | None
    task_id: str | None
    request_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, view: AuditEventView) -> AuditEventRead:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class AuditVerifyRead(BaseModel):
    ok: bool
    count: int
    head_hash: str | None
    broken_sequence: int | None
    message: str


class ProcessVersionRead(BaseModel):
    id: int
    process_id: str
    version: int
    content_hash: str
    created_at: datetime
    created_by: str
    is_latest: bool

    @classmethod
    def of(cls, view: ProcessVersionView) -> ProcessVersionRead:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


class HealthRead(BaseModel):
    status: str
    detail: str = ""


class OutboxMessageRead(BaseModel):
    """A message to deliver; with status `failed` it is an incident."""

    id: int
    kind: str = Field(examples=["launch_notice_email"])
    idempotency_key: str = Field(description="Sent with every attempt (Idempotency-Key, Message-ID).")
    launch_id: str | None
    task_id: str | None
    status: str = Field(examples=["failed"], description="pending, delivered or failed (an incident)")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    delivered_channels: list[str] = Field(description="Channels already done (email, webhook).")

    @classmethod
    def of(cls, view: OutboxMessageView) -> OutboxMessageRead:
        return cls(
            id=view.id,
            kind=view.kind,
            idempotency_key=view.idempotency_key,
            launch_id=view.launch_id,
            task_id=view.task_id,
            status=view.status,
            attempts=view.attempts,
            created_at=view.created_at,
            next_attempt_at=view.next_attempt_at,
            delivered_at=view.delivered_at,
            failed_at=view.failed_at,
            last_error=view.last_error,
            delivered_channels=sorted(view.delivered_channels),
        )
