"""Engine errors. Nothing from SpiffWorkflow or SQLAlchemy leaks out of the engine: every failure a caller
can meet is one of these, and each carries what a user needs to act on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from engine.domain import BlockerView

_T = TypeVar("_T")


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(EngineError):
    """A launch, task, process version or user does not exist (or is not visible)."""


def must_exist(found: _T | None, what: str) -> _T:
    """`found`, or NotFoundError "<what> does not exist" when a look-up found nothing."""
    if found is None:
        raise NotFoundError(f"{what} does not exist")
    return found


class PermissionDeniedError(EngineError):
    """The actor may not do this."""


class ConflictError(EngineError):
    """The command lost a race or no longer applies (task completed, stale version)."""


class PreconditionFailedError(ConflictError):
    """The caller's expected launch version (HTTP If-Match) is not the launch's version: it changed since."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class TaskNotReadyError(ConflictError):
    """The task is not READY (already completed, cancelled, or not reached yet)."""


@dataclass(frozen=True)
class FieldProblem:
    """One problem with submitted data: where (a path of field names and indexes) and what."""

    loc: tuple[str | int, ...]
    message: str
    type: str = "value_error"


class ValidationFailedError(EngineError):
    """Submitted data does not fit the task's form. Carries one problem per field."""

    def __init__(self, message: str, problems: Sequence[FieldProblem]) -> None:
        super().__init__(message)
        self.problems: tuple[FieldProblem, ...] = tuple(problems)


class AssigneeInvalidError(ValidationFailedError):
    """A task can be assigned only to an active user who holds its role: a field error on `assignee`."""

    def __init__(self, message: str) -> None:
        super().__init__(message, [FieldProblem(("assignee",), message, "assignee")])


class GateBlockedError(ConflictError):
    """The go-live task cannot complete while gate items are open."""

    def __init__(self, message: str, blockers: Sequence[BlockerView]) -> None:
        super().__init__(message)
        self.blockers: tuple[BlockerView, ...] = tuple(blockers)


@dataclass(frozen=True)
class DiagramProblem:
    """One problem found in a BPMN diagram or process package, naming the element it is about.

    `severity` is "error" (the package cannot be deployed) or "warning" (it can; something is ignored or
    degraded). `file` names the package member, when the problem was found in one."""

    element_id: str | None
    message: str
    severity: str = "error"
    file: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = self.element_id or "document"
        return f"{where}: {self.message}"


class DiagramRejectedError(EngineError):
    """A diagram failed loading or validation. Lists every problem found."""

    def __init__(
        self,
        problems: Sequence[DiagramProblem],
        *,
        too_large: bool = False,
        message: str | None = None,
        lines: Sequence[str] = (),
    ) -> None:
        self.problems: tuple[DiagramProblem, ...] = tuple(problems)
        self.too_large = too_large
        # The package check's report, grouped, as `launchgate bpmn check` prints it (when there is one).
        self.lines: tuple[str, ...] = tuple(lines)
        super().__init__(message or "; ".join(str(p) for p in self.problems) or "diagram rejected")


class UnsafeExpressionError(EngineError):
    """An expression uses something outside the safe grammar."""


class ExpressionEvaluationError(EngineError):
    """A safe expression could not be evaluated against the data (unknown name, bad types)."""


class WorkflowStuckError(EngineError):
    """The workflow can no longer advance, or its state is inconsistent. Never reported as completed."""


class StepBudgetExceededError(WorkflowStuckError):
    """One command spent its engine-step budget (steps or CPU time) without reaching a wait state."""


class AuditChainBrokenError(EngineError):
    """The audit hash chain does not verify."""

    def __init__(self, message: str, sequence: int) -> None:
        super().__init__(message)
        self.sequence = sequence


class AuthenticationError(EngineError):
    """Sign-in failed, or a session/token is missing, expired or revoked. Deliberately vague."""


class RateLimitedError(EngineError):
    """Too many attempts; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseUnavailableError(EngineError):
    """The database connection was lost (the server restarted, or an administrator ended the backend).
    `outcome_unknown`: it was lost while a change was being committed, so whether the change was applied
    cannot be told (a retry must be safe: see the API's Idempotency-Key); otherwise nothing was written."""

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown
