"""Ids, enums and the frozen views the engine returns. No SpiffWorkflow, no SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
V = TypeVar("V", bound="DataclassInstance")


def view_from(view_type: type[V], source: object, **computed: Any) -> V:
    """A frozen view whose fields are copied from the same-named attributes of `source` (a row, a
    record), except those given in `computed`: converted (an enum from its value), derived, or from
    elsewhere. The view's declaration is the list of what is copied; a builder names only what is not.
    A name in `computed` that the view does not declare is refused like a misspelt keyword; a field that
    `source` lacks and `computed` does not give fails with AttributeError (no silent default)."""
    names = _init_fields(view_type)
    unknown = computed.keys() - set(names)
    if unknown:
        raise TypeError(f"{view_type.__name__} has no field {', '.join(sorted(unknown))}")
    values = {name: computed[name] if name in computed else getattr(source, name) for name in names}
    return view_type(**values)


@cache
def _init_fields(view_type: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(view_type) if f.init)


class Role(StrEnum):
    PM = "pm"
    SUPPORT_LEAD = "support_lead"
    SUPPORT_MANAGER = "support_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


# The roles that work tasks and discuss launches (a lane names one of them); auditors and admins read.
WORKING_ROLES = frozenset({Role.PM, Role.SUPPORT_LEAD, Role.SUPPORT_MANAGER})


class LaunchStatus(StrEnum):
    ACTIVE = "active"
    LIVE = "live"
    FAILED = "failed"  # an error nobody caught (an incident names it); never live
    TERMINATED = "terminated"  # a terminate end event ended it; never live


class TaskStatus(StrEnum):
    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class GateItemStatus(StrEnum):
    OPEN = "open"
    PASSED = "passed"


@dataclass(frozen=True)
class Actor:
    """Who asks: a user name and the roles they hold. `request_id` ties audit rows to one request."""

    username: str
    roles: frozenset[Role]
    request_id: str | None = None

    def has_role(self, role: Role | str) -> bool:
        return Role(role) in self.roles

    @property
    def primary_role(self) -> str:
        return ",".join(sorted(r.value for r in self.roles)) or "-"


SYSTEM_ACTOR = Actor(username="system", roles=frozenset({Role.ADMIN}))


@dataclass(frozen=True)
class ProcessVersionView:
    id: int
    process_id: str
    version: int
    content_hash: str
    created_at: datetime
    created_by: str
    is_latest: bool


@dataclass(frozen=True)
class ProcessView:
    """A deployed process as a new launch meets it: its newest version, what it is for, its start form."""

    process_id: str
    name: str
    description: str
    version: int
    gated: bool  # marks a go-live task (the gate rules apply); False: a plain process
    start_form_schema: dict[str, Any] = field(default_factory=dict, hash=False)
    start_form_ui: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class TaskView:
    id: str
    launch_id: str
    bpmn_id: str
    title: str
    role: str
    assignee: str | None
    status: TaskStatus
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    gate_item: str | None
    is_go_live: bool
    product_name: str
    escalated_at: datetime | None = None
    process_id: str = ""
    process_version: int = 0
    process_name: str = ""
    # An instance of a multi-instance task: "Regional review — EMEA, 1 of 3 done, needs 2".
    instance_label: str | None = None
    instance_index: int | None = None
    instance_total: int | None = None
    instance_done: int | None = None
    instance_needed: int | None = None

    @property
    def instance_summary(self) -> str | None:
        """How far its multi-instance is, e.g. "EMEA, 1 of 3 done, needs 2" (None: no instance)."""
        if self.instance_label is None:
            return None
        needs = f", needs {self.instance_needed}" if self.instance_needed is not None else ""
        return f"{self.instance_label}, {self.instance_done or 0} of {self.instance_total} done{needs}"


@dataclass(frozen=True)
class FormView:
    """A form as a renderer needs it: its JSON Schema (as validated) and its UI schema (presentation)."""

    title: str
    json_schema: dict[str, Any]
    ui_schema: dict[str, Any]


@dataclass(frozen=True)
class DocumentView:
    """An earlier document shown beside a task's form, with the form it was written in (for its labels)."""

    name: str  # the document's name in the workflow data (e.g. proposal)
    task_id: str  # the BPMN id of the task whose form shows it
    title: str  # that task's name
    author: str | None  # who completed it last
    form: FormView
    data: dict[str, Any]


@dataclass(frozen=True)
class TaskDetailView:
    task: TaskView
    documentation: str
    form_schema: dict[str, Any]
    current_data: dict[str, Any]
    reviewed_document: str | None
    reviewed_data: dict[str, Any] | None
    ui_schema: dict[str, Any] = field(default_factory=dict)
    refusal: str | None = None  # why the reader may not complete this task now (None: they may)
    may_claim: bool = False  # the reader may take this ready, unassigned task
    documents: tuple[DocumentView, ...] = ()  # earlier documents shown beside the form (ready tasks)


@dataclass(frozen=True)
class GateFact:
    """A gate item's stored state (a `gate_item` row)."""

    key: str
    title: str
    bpmn_task_id: str
    position: int
    status: GateItemStatus
    passed_at: datetime | None
    passed_by: str | None
    content_hash: str | None
    opened_at: datetime
    progress_done: int | None = None  # a multi-instance gate item: passing instances so far,
    progress_total: int | None = None  # its instances,
    progress_needed: int | None = None  # and the passing ones it needs


@dataclass(frozen=True)
class GateItemView:
    key: str
    title: str
    bpmn_task_id: str
    status: GateItemStatus
    passed_at: datetime | None
    passed_by: str | None
    content_hash: str | None
    holder_role: str | None
    holder_assignee: str | None
    holding_task_id: str | None
    since: datetime
    due_at: datetime | None
    escalated_at: datetime | None = None  # the holding task was escalated (the reminder ladder)
    progress_done: int | None = None  # a multi-instance gate item: "2 of 3 regional sign-offs"
    progress_total: int | None = None
    progress_needed: int | None = None

    @property
    def progress(self) -> str | None:
        """E.g. "2 of 3 (needs 2)" for a multi-instance gate item (None: not one, or not started)."""
        if self.progress_total is None:
            return None
        needs = f" (needs {self.progress_needed})" if self.progress_needed is not None else ""
        return f"{self.progress_done or 0} of {self.progress_total}{needs}"


@dataclass(frozen=True)
class BlockerView:
    """A gate item not yet passed: what, who holds it, since when, due when."""

    item: str
    title: str
    owner_role: str | None
    owner: str | None
    task_id: str | None
    since: datetime
    due_at: datetime | None

    def describe(self) -> str:
        who = self.owner or (f"any {self.owner_role}" if self.owner_role else "nobody yet")
        due = f", due {self.due_at:%Y-%m-%d}" if self.due_at else ""
        return f"{self.title} (held by {who} since {self.since:%Y-%m-%d %H:%M} UTC{due})"


@dataclass(frozen=True)
class LaunchView:
    id: str
    product_name: str
    summary: str
    planned_launch_date: date
    pm: str
    status: LaunchStatus
    version: int
    process_id: str
    process_version: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    gate_passed: int
    gate_total: int
    blocked_by: tuple[str, ...]
    gate: tuple[GateItemView, ...] = ()
    blockers: tuple[BlockerView, ...] = ()
    open_tasks: tuple[TaskView, ...] = ()
    support_distribution: tuple[str, ...] = ()
    due_overrides: dict[str, int] = field(default_factory=dict, hash=False)
    process_name: str = ""
    waiting: tuple[WaitingEventView, ...] = ()  # what the workflow waits for (engine.runtime.events)

    @property
    def ready_to_go_live(self) -> bool:
        return self.status is LaunchStatus.ACTIVE and self.gate_passed == self.gate_total


@dataclass(frozen=True)
class WaitingEventView:
    """An event the launch's workflow waits for: a message or signal (by name), a timer (when it fires
    next), an error or escalation a boundary would catch (by code). `element_id`: the BPMN element."""

    kind: str  # message | signal | timer | error | escalation
    name: str
    element_id: str
    due_at: datetime | None = None
    boundary: bool = False
    interrupting: bool = True


@dataclass(frozen=True)
class AuditEventView:
    sequence: int
    chain_position: int
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


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    count: int
    head_hash: str | None
    broken_sequence: int | None = None
    message: str = ""
    broken_launch: str | None = None  # the chain of the first problem (None: the chain with no launch)
    broken_position: int | None = None  # its position in that chain
    broken_checkpoint: int | None = None  # or the first checkpoint that does not hold
    checkpoints: int = 0  # signed checkpoints verified


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommentView:
    id: int
    launch_id: str
    task_id: str | None
    author: str
    body: str
    created_at: datetime
