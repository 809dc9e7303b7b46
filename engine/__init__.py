"""Launch Gate's workflow engine. Framework-free; this is its public surface."""

from engine.accounts import AccountService, ApiTokenView, SessionGrant, SessionView, UserView
from engine.audit import HASHED_FIELDS, verify_events
from engine.audit_bundle import BundleCheck, build_bundle, verify_bundle
from engine.audit_export import EXPORT_COLUMNS, cell, neutralise, read_csv, read_jsonl, restore, write_csv
from engine.audit_signing import (
    AuditKeyError,
    Signer,
    generate_private_key_pem,
    key_id,
    load_public_key,
    public_key_base64,
    public_key_pem,
)
from engine.checking import CheckReport, ProblemGroup
from engine.checkpoints import CheckpointView, write_checkpoint
from engine.clock import Clock, FixedClock, SystemClock, format_utc
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
    FormView,
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
from engine.forms.formats import normalize_email
from engine.forms.submissions import LAUNCH_START_FIELDS
from engine.holiday_calendar import HolidayCalendar
from engine.outbox import OutboxMessageView, RetryPolicy
from engine.packages import MAX_PACKAGE_BYTES, PackageFile, ProcessPackage, read_path, read_upload
from engine.scheduling import LadderAction, LadderStep, SchedulePolicy
from engine.service import WorkflowEngine
from engine.worker import TickReport, Worker
from engine.xml_safety import MAX_DIAGRAM_BYTES

__all__ = [
    "EXPORT_COLUMNS",
    "HASHED_FIELDS",
    "LAUNCH_START_FIELDS",
    "MAX_DIAGRAM_BYTES",
    "MAX_PACKAGE_BYTES",
    "SYSTEM_ACTOR",
    "AccountService",
    "Actor",
    "ApiTokenView",
    "AssigneeInvalidError",
    "AuditEventView",
    "AuditKeyError",
    "AuditVerification",
    "AuthenticationError",
    "BlockerView",
    "BundleCheck",
    "CheckReport",
    "CheckpointView",
    "Clock",
    "CommentView",
    "ConflictError",
    "Database",
    "DeliveryConfig",
    "DiagramProblem",
    "DiagramRejectedError",
    "EngineError",
    "FieldProblem",
    "FixedClock",
    "FormView",
    "GateBlockedError",
    "GateItemStatus",
    "GateItemView",
    "HolidayCalendar",
    "LadderAction",
    "LadderStep",
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
    "Signer",
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
    "build_bundle",
    "cell",
    "format_utc",
    "generate_private_key_pem",
    "is_at_head",
    "key_id",
    "load_public_key",
    "neutralise",
    "normalize_email",
    "public_key_base64",
    "public_key_pem",
    "read_csv",
    "read_jsonl",
    "read_path",
    "read_upload",
    "restore",
    "upgrade_to_head",
    "verify_bundle",
    "verify_events",
    "write_checkpoint",
    "write_csv",
]
