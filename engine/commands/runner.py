"""`run_command`: the one loop that runs a command's attempts, and the one place refusals are audited.

An attempt decides on the launch's rows at one version and writes in one transaction guarded by that
version (engine.commands.write). If another writer got in between, the attempt raises StaleVersionError
having written nothing, and the next attempt starts again from the rows as they are now — so a second
completion of a task finds it no longer ready, while an unrelated command on the same launch goes through.

A refused attempt changes no state, task, gate or outbox row; it writes exactly one audit row under its
own action, in a transaction of its own: `<command>_denied`, `_blocked`, `_conflict`, `_invalid`, `_failed`
for a command on a task (TaskRefusals), `timer.failed` for a timer that cannot fire (TimerRefusals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, Protocol, TypeVar

from engine import audit
from engine.commands.context import EngineContext
from engine.commands.write import StaleVersionError
from engine.db import repository as repo
from engine.db import rows
from engine.domain import Actor
from engine.errors import (
    ConflictError,
    DatabaseUnavailableError,
    GateBlockedError,
    PermissionDeniedError,
    ValidationFailedError,
    WorkflowStuckError,
)
from engine.scheduling import WORKER_ACTOR

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Refusals(Protocol[T_co]):
    """What a command does when it cannot go through: audit and raise, or audit and give a result."""

    def exhausted(self) -> T_co:
        """Every attempt lost a race."""

    def refused(self, exc: Exception) -> T_co:
        """An attempt raised `exc` (re-raise it, or return what the caller gets instead)."""


def run_command(name: str, subject: str, attempt: Callable[[], T], *, refusals: Refusals[T]) -> T:
    """Run `attempt` until one commits or is refused (at most MAX_ATTEMPTS lost races). An attempt whose
    database connection was lost before its commit wrote nothing, so it runs once more (on a fresh
    connection); one lost during its commit may have been applied, so it is never run again here: the
    caller hears DatabaseUnavailableError(outcome_unknown=True)."""
    reconnected = False
    try:
        for _ in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except StaleVersionError:
                logger.info("%s on %s lost a race; retrying", name, subject)
            except DatabaseUnavailableError as exc:
                if exc.outcome_unknown or reconnected:
                    raise
                reconnected = True
                logger.warning("%s on %s lost its database connection; retrying once", name, subject)
        return refusals.exhausted()
    except Exception as exc:
        return refusals.refused(exc)


class TaskRefusals:
    """A command on a task: every refusal is one audit row attached to the task's launch, then raised."""

    def __init__(self, ctx: EngineContext, name: str, task_id: str, actor: Actor) -> None:
        self.ctx, self.name, self.task_id, self.actor = ctx, name, task_id, actor

    def exhausted(self) -> NoReturn:
        raise ConflictError("the launch is changing too fast; please try again")

    def refused(self, exc: Exception) -> NoReturn:
        found = refusal_of(exc)
        if found is not None:
            suffix, extra = found
            self._audit(f"{self.name}_{suffix}", getattr(exc, "message", str(exc)), extra)
        raise exc

    def _audit(self, action: str, reason: str, extra: dict[str, Any]) -> None:
        with self.ctx.db.read() as session:
            task = repo.task(session, self.task_id)
            launch_id = task.launch_id if task is not None else None
        if launch_id is None:
            return  # unknown task: nothing to attach the row to (the API logs the 404)
        with self.ctx.db.write() as session:
            audit.append_event(
                session,
                actor=self.actor,
                action=action,
                at=self.ctx.clock.now(),
                launch_id=launch_id,
                task_id=self.task_id,
                detail={"reason": reason, **extra},
            )


def refusal_of(exc: Exception) -> tuple[str, dict[str, Any]] | None:
    """The audit suffix and detail of a refusal (None: not a refusal, e.g. not found)."""
    if isinstance(exc, PermissionDeniedError):
        return "denied", {}
    if isinstance(exc, GateBlockedError):
        return "blocked", {"blockers": [b.item for b in exc.blockers]}
    if isinstance(exc, ConflictError):
        return "conflict", {}
    if isinstance(exc, ValidationFailedError):
        return "invalid", {"fields": [".".join(map(str, p.loc)) for p in exc.problems]}
    if isinstance(exc, WorkflowStuckError):
        return "failed", {}
    return None


class TimerRefusals:
    """Firing a launch's timers: losing every race leaves it for the next tick; any failure is audited
    `timer.failed` and takes the failed timers off the schedule, so one broken launch is visible, never
    retried in a loop, and never stops the other launches' timers."""

    def __init__(self, ctx: EngineContext, launch_id: str, *, due_by: datetime) -> None:
        self.ctx, self.launch_id, self.due_by = ctx, launch_id, due_by

    def exhausted(self) -> bool:
        return False

    def refused(self, exc: Exception) -> bool:
        if isinstance(exc, DatabaseUnavailableError):
            logger.warning("launch %s: timers left for the next tick: %s", self.launch_id, exc.message)
            return False
        reason = exc.message if isinstance(exc, WorkflowStuckError) else f"unexpected: {exc!r}"
        logger.error("launch %s: a timer could not fire: %s", self.launch_id, reason, exc_info=exc)
        with self.ctx.db.write() as session:
            rows.clear_timer_schedule(session, launch_id=self.launch_id, due_by=self.due_by)
            audit.append_event(
                session,
                actor=WORKER_ACTOR,
                action="timer.failed",
                at=self.ctx.clock.now(),
                launch_id=self.launch_id,
                detail={"reason": reason},
            )
        return False
