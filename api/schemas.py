"""HTTP schemas: `…Create` for request bodies, `…Read` for responses. Built from engine views."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    computed_field,
    field_validator,
)

from engine import (
    Role,
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


class Read(BaseModel):
    """A response schema: built from an engine view with `model_validate(view)` (its attributes, by name)."""

    model_config = ConfigDict(from_attributes=True)


def joined(*views: object) -> object:
    """Several views (or mappings) read as one, the first that has a name giving it: for a response that
    flattens a nested view (a task detail is its task's fields and its own)."""
    return _Joined(views)


class _Joined:
    __slots__ = ("_views",)

    def __init__(self, views: tuple[object, ...]) -> None:
        self._views = views

    def __getattr__(self, name: str) -> Any:
        for view in self._views:
            if isinstance(view, Mapping):
                if name in view:
                    return view[name]
            elif hasattr(view, name):
                return getattr(view, name)
        raise AttributeError(name)


def _sorted(value: Any) -> Any:
    return sorted(value) if isinstance(value, set | frozenset) else value


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


class PageRead(Read, Generic[T]):
    """Every list under /api/v1 answers this envelope (api.pagination): the items of one page in the list's
    stable order, how many match in all, the `offset` and `limit` applied, and the `offset` of the next
    page (null on the last)."""

    items: list[T]
    total: int
    offset: int
    limit: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.items)
        return following if self.items and following < self.total else None


# ------------------------------------------------------------------------------------------- auth


class SignInCreate(Strict):
    username: str = Field(min_length=1, max_length=100, examples=["pat.pm"])
    password: str = Field(min_length=1, max_length=200, examples=["demo-pm-password"])


class UserRead(Read):
    id: int
    username: str
    display_name: str
    email: str
    roles: Annotated[list[Role], BeforeValidator(_sorted)]
    active: bool
    created_at: datetime


class SessionRead(Read):
    user: UserRead
    csrf_token: str | None = Field(
        description="Send as X-CSRF-Token on state-changing requests that use the session cookie."
    )
    expires_at: datetime | None = None


class TokenCreate(Strict):
    name: str = Field(min_length=1, max_length=100, examples=["release bot"])


class TokenRead(Read):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


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


class GateItemRead(Read):
    key: str
    title: str
    status: str
    passed_at: datetime | None
    passed_by: str | None
    content_hash: str | None = Field(description="SHA-256 of what was signed off.")
    holder_role: str | None
    holder: str | None = Field(validation_alias="holder_assignee")
    holding_task_id: str | None
    since: datetime
    due_at: datetime | None
    escalated_at: datetime | None = Field(
        default=None, description="When the reminder ladder escalated the holding task."
    )
    progress_done: int | None = Field(
        default=None, description="A multi-instance gate item: its instances that passed so far."
    )
    progress_total: int | None = Field(default=None, description="A multi-instance gate item: its instances.")
    progress_needed: int | None = Field(
        default=None,
        description="A multi-instance gate item: the passing instances its completion condition needs.",
    )
    progress: str | None = Field(default=None, examples=["2 of 3 (needs 2)"])


class BlockerRead(Read):
    item: str = Field(examples=["beta_faq"])
    title: str = Field(examples=["Beta FAQ"])
    owner_role: str | None = Field(examples=["support_lead"])
    owner: str | None = Field(examples=["sam.support"])
    task_id: str | None
    since: datetime
    due_at: datetime | None


class TaskRead(Read):
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
    process_id: str = Field(default="", examples=["launch_gate"], description="The process the launch runs.")
    process_version: int = 0
    process_name: str = Field(default="", examples=["Launch Gate"])
    instance_label: str | None = Field(
        default=None, examples=["EMEA"], description="An instance of a multi-instance task: which one."
    )
    instance_index: int | None = Field(default=None, description="Its position among the instances, from 1.")
    instance_total: int | None = Field(
        default=None, description="How many instances the multi-instance runs."
    )
    instance_done: int | None = Field(default=None, description="How many of them are done.")
    instance_needed: int | None = Field(
        default=None, description="How many passing instances its completion condition needs."
    )
    instance_summary: str | None = Field(default=None, examples=["EMEA, 1 of 3 done, needs 2"])


class FormRead(Read):
    title: str
    json_schema: dict[str, Any]
    ui_schema: dict[str, Any] = Field(description="Presentation hints (field order, widgets, help texts).")


class DocumentRead(Read):
    name: str = Field(description="The document's name in the workflow data, e.g. `proposal`.")
    task_id: str = Field(description="The BPMN id of the task whose form it was written in.")
    title: str
    author: str | None = Field(description="Who completed it last.")
    form: FormRead
    data: dict[str, Any]


class TaskDetailRead(TaskRead):
    documentation: str
    form_schema: dict[str, Any] = Field(description="JSON Schema of the data `complete` accepts.")
    ui_schema: dict[str, Any] = Field(description="The form's UI schema (presentation hints).")
    current_data: dict[str, Any] = Field(
        description="What the form is prefilled with (or what was submitted); a review starts blank."
    )
    reviewed_document: str | None
    reviewed_data: dict[str, Any] | None
    documents: list[DocumentRead] = Field(
        description="Earlier documents shown beside the form (`reviews`, `showDocuments`); ready tasks."
    )
    refusal: str | None = Field(description="Why the caller may not complete the task now (null: they may).")
    may_claim: bool = Field(description="The caller may claim this ready, unassigned task.")


class MessageSend(Strict):
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="The message's content (a JSON object). It lands in the launch's workflow data under the "
        "message name; when the waiting event names a `messageSchema`, the payload must fit it (422 with "
        "field errors under `payload`).",
        examples=[{"ended_at": "2030-05-01", "testers": 140}],
    )


class SignalSentRead(Read):
    signal: str
    reached: list[str] = Field(description="The ids of the launches whose waiting events took the signal")


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


class LaunchSummaryRead(Read):
    id: str
    product_name: str
    summary: str
    planned_launch_date: date
    pm: str
    status: str
    version: int
    process_id: str = Field(examples=["launch_gate"], description="The process the launch runs.")
    process_version: int
    process_name: str = Field(default="", examples=["Launch Gate"], description="The diagram's name.")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    gate_passed: int
    gate_total: int
    blocked_by: list[str]
    ready_to_go_live: bool


class WaitingEventRead(Read):
    kind: str = Field(description="message, signal, timer, error or escalation")
    name: str = Field(description="A message or signal name (POST .../messages/{name}), error code, timer")
    element_id: str = Field(description="The BPMN element that waits")
    due_at: datetime | None = Field(default=None, description="A timer: when it fires next")
    boundary: bool = Field(default=False, description="Attached to a task or sub-process")
    interrupting: bool = Field(default=True, description="Cancels what it is attached to when it fires")


class LaunchRead(LaunchSummaryRead):
    gate: list[GateItemRead]
    blockers: list[BlockerRead]
    open_tasks: list[TaskRead]
    waiting: list[WaitingEventRead] = Field(
        default_factory=list, description="What the launch's workflow waits for (messages, signals, timers)."
    )
    support_distribution: list[str] = Field(
        default_factory=list, description="Where the launch notice goes (empty: the configured default)."
    )
    due_overrides: dict[str, int] = Field(
        default_factory=dict, description="Business days per task id, instead of the diagram's default."
    )


class CommentCreate(Strict):
    body: str = Field(min_length=1, max_length=4000, examples=["Support will staff a launch-day rota."])


class CommentRead(Read):
    id: int
    launch_id: str
    task_id: str | None
    author: str
    body: str
    created_at: datetime


class AuditEventRead(Read):
    sequence: int
    chain_position: int = Field(description="position in its launch's chain (1, 2, …; no gaps)")
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


class AuditVerifyRead(BaseModel):
    ok: bool
    count: int
    head_hash: str | None
    broken_sequence: int | None
    broken_launch: str | None = None
    broken_position: int | None = None
    broken_checkpoint: int | None = None
    checkpoints: int = 0
    message: str


class ProcessVersionRead(Read):
    id: int
    process_id: str
    version: int
    content_hash: str
    created_at: datetime
    created_by: str
    is_latest: bool


class ProcessRead(Read):
    """A deployed process at its newest version: what a new launch of it runs."""

    process_id: str = Field(examples=["minor_launch"], description="What `process` of POST /launches takes.")
    name: str = Field(examples=["Minor Launch"])
    description: str = Field(description="The diagram's process documentation.")
    version: int
    gated: bool = Field(description="Marks a go-live step the gate rules guard (false: a plain process).")
    start_form_schema: dict[str, Any] = Field(description="JSON Schema of the start form's fields.")
    start_form_ui: dict[str, Any] = Field(description="Its UI schema (field order, widgets, help).")


class HealthRead(BaseModel):
    status: str
    detail: str = ""


class OutboxMessageRead(Read):
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
    delivered_channels: Annotated[list[str], BeforeValidator(_sorted)] = Field(
        description="Channels already done (email, webhook)."
    )


# Pages by name, so that /openapi.json (and a client generated from it) says `LaunchPageRead`, not
# `PageRead_LaunchSummaryRead_`.
class LaunchPageRead(PageRead[LaunchSummaryRead]):
    """A page of launches."""


class TaskPageRead(PageRead[TaskRead]):
    """A page of tasks."""


class UserPageRead(PageRead[UserRead]):
    """A page of users."""


class TokenPageRead(PageRead[TokenRead]):
    """A page of API tokens."""


class BlockerPageRead(PageRead[BlockerRead]):
    """A page of what blocks go-live."""


class CommentPageRead(PageRead[CommentRead]):
    """A page of comments."""


class AuditEventPageRead(PageRead[AuditEventRead]):
    """A page of audit events."""


class ProcessVersionPageRead(PageRead[ProcessVersionRead]):
    """A page of deployed process versions."""


class ProcessPageRead(PageRead[ProcessRead]):
    """A page of processes a launch can run."""


class IncidentPageRead(PageRead[OutboxMessageRead]):
    """A page of undeliverable messages (incidents)."""
