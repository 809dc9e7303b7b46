"""Launch Gate's workflow engine. Framework-free; this is its public surface."""

from engine.accounts import AccountService, ApiTokenView, SessionGrant, SessionView, UserView
from engine.audit import HASHED_FIELDS, verify_events
from engine.checking import CheckReport, ProblemGroup
from engine.clock import Clock, FixedClock, SystemClock
from engine.db.migrate import is_at_head, upgrade_to_head
from engine.db.session import Database
from engine.delivery import DeliveryConfig, SmtpSettings, WebhookSettings
from engine.domain import (
    SYSTEM_ACTOR,
    Actor,
    AuditEventView,
    AuditVerification,
    BlockerView,
    CommentView,
    GateItemStatus,
    GateItemView,
    LaunchStatus,
    LaunchView,
    Page,
    ProcessVersionView,
    Role,
    TaskDetailView,
    TaskStatus,
    TaskView,
)
from engine.errors import (
    AssigneeInvalidError,
    AuthenticationError,
    ConflictError,
    DiagramProblem,
    DiagramRejectedError,
    EngineError,
    FieldProblem,
    GateBlockedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TaskNotReadyError,
    ValidationFailedError,
    WorkflowStuckError,
)
from engine.outbox import OutboxMessageView, RetryPolicy
from engine.packages import MAX_PACKAGE_BYTES, PackageFile, ProcessPackage, read_path, read_upload
from engine.scheduling import LadderAction, LadderStep, SchedulePolicy
from engine.service import WorkflowEngine
from engine.task_forms import EmailText, LaunchStartForm
from engine.worker import TickReport, Worker
from engine.xml_safety import MAX_DIAGRAM_BYTES

__all__ = [
    "HASHED_FIELDS",
    "MAX_DIAGRAM_BYTES",
    "MAX_PACKAGE_BYTES",
    "SYSTEM_ACTOR",
    "AccountService",
    "Actor",
    "ApiTokenView",
    "AssigneeInvalidError",
    "AuditEventView",
    "AuditVerification",
    "AuthenticationError",
    "BlockerView",
    "CheckReport",
    "Clock",
    "CommentView",
    "ConflictError",
    "Database",
    "DeliveryConfig",
    "DiagramProblem",
    "DiagramRejectedError",
    "EmailText",
    "EngineError",
    "FieldProblem",
    "FixedClock",
    "GateBlockedError",
    "GateItemStatus",
    "GateItemView",
    "LadderAction",
    "LadderStep",
    "LaunchStartForm",
    "LaunchStatus",
    "LaunchView",
    "NotFoundError",
    "OutboxMessageView",
    "PackageFile",
    "Page",
    "PermissionDeniedError",
    "ProblemGroup",
    "ProcessPackage",
    "ProcessVersionView",
    "RateLimitedError",
    "RetryPolicy",
    "Role",
    "SchedulePolicy",
    "SessionGrant",
    "SessionView",
    "SmtpSettings",
    "SystemClock",
    "TaskDetailView",
    "TaskNotReadyError",
    "TaskStatus",
    "TaskView",
    "TickReport",
    "UserView",
    "ValidationFailedError",
    "WebhookSettings",
    "Worker",
    "WorkflowEngine",
    "WorkflowStuckError",
    "is_at_head",
    "read_path",
    "read_upload",
    "upgrade_to_head",
    "verify_events",
]
