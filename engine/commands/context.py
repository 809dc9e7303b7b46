"""What every command and query shares: the database, the clock, the schedule, the workflow cache, the
loaded process versions, the test hooks, and the two rules every command checks first."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from engine import audit
from engine.clock import Clock, SystemClock
from engine.commands.calls import called_diagrams, pinned_identity
from engine.db import repository as repo
from engine.db.models import LaunchRecord, TaskRecord
from engine.db.rows import LaunchRow, TaskRow
from engine.db.session import Database
from engine.domain import Actor, LaunchStatus, TaskStatus
from engine.errors import PermissionDeniedError, TaskNotReadyError, WorkflowStuckError, must_exist
from engine.forms.stored import load_stored_forms, stored_form_files, version_hash
from engine.holiday_calendar import HolidayCalendar
from engine.runtime import RunningWorkflow
from engine.scheduling import SchedulePolicy
from engine.serialization import restore_state
from engine.snapshots import LaunchSnapshot, WorkflowCache
from engine.specs import LoadedProcess, load_process

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Commands on tasks audit their refusals in the runner (engine.commands.runner); `require` audits the rest.
TASK_COMMANDS = frozenset({"task.complete", "task.claim", "task.release", "task.assign"})


class EngineContext:
    """Shared by one WorkflowEngine's commands and queries. Thread-safe."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock | None = None,
        holidays: Collection[date] = (),
        cache_size: int = 256,
        schedule: SchedulePolicy | None = None,
    ) -> None:
        self.db = database
        self.clock: Clock = clock or SystemClock()
        # A lazy calendar (public holidays of any year) is kept as it is; a plain list becomes a set.
        self.holidays: Collection[date] = (
            holidays if isinstance(holidays, HolidayCalendar) else frozenset(holidays)
        )
        self.schedule = schedule or SchedulePolicy()
        self.cache = WorkflowCache(cache_size)
        self._processes: dict[int, LoadedProcess] = {}
        self._labels: dict[int, tuple[str, int, str]] = {}
        self._processes_lock = threading.Lock()
        # Test hooks, called with the command name: after the in-memory work and before the write
        # transaction; and right after the commit (before the caller hears about it).
        self.before_write: Callable[[str], None] | None = None
        self.after_commit: Callable[[str], None] | None = None

    def hook(self, name: str) -> None:
        if self.before_write is not None:
            self.before_write(name)

    def committed(self, name: str) -> None:
        if self.after_commit is not None:
            self.after_commit(name)

    # ------------------------------------------------------------------ process versions

    def process(self, version_id: int, session: Session | None = None) -> LoadedProcess:
        """The loaded process of a stored version (cached: versions never change). Pass the caller's session
        when inside one, so a command never holds two pool connections at once."""
        with self._processes_lock:
            found = self._processes.get(version_id)
        if found is not None:
            return found
        if session is None:
            with self.db.read() as own:
                return self.process(version_id, own)
        record = must_exist(repo.process_version(session, version_id), f"process version {version_id}")
        xml = record.bpmn_xml.encode("utf-8")
        # Stored versions were validated at deploy; loading validates again (the diagram and its stored
        # forms), so a running launch never meets a task it cannot validate.
        forms = load_stored_forms(record.forms, version_id=version_id)
        called = called_diagrams(session, record.calls)  # its pinned called versions
        loaded = replace(load_process(xml, called=called), forms=forms)
        stored_files = {f.name: f.body for f in stored_form_files(record.forms)}
        if pinned_identity(version_hash(xml, stored_files), record.calls) != record.content_hash:
            raise WorkflowStuckError(f"process version {version_id} does not match its content hash")
        with self._processes_lock:
            self._processes[version_id] = loaded
            self._labels[version_id] = (record.process_id, record.version, loaded.model.name)
        return loaded

    def label(self, version_id: int, session: Session | None = None) -> tuple[str, int, str]:
        """(process id, version number, process name) of a stored version; versions never change, so
        cached (the name is the diagram's, so the version is loaded once)."""
        found = self._labels.get(version_id)
        if found is None:
            self.process(version_id, session)
            found = self._labels[version_id]
        return found

    # ------------------------------------------------------------------ workflows

    def restore(
        self, launch_id: str, version: int, state: str, process: LoadedProcess
    ) -> tuple[RunningWorkflow, LaunchSnapshot | None]:
        """The launch's workflow at `version` (from the cache when it holds exactly that version, with the
        rows it remembers) or restored from the stored state."""
        cached = self.cache.take(launch_id, version)
        if cached is not None:
            return cached.workflow, cached.snapshot
        return restore_state(state, process.spiff_spec, launch_id=launch_id, clock=self.clock), None

    # ------------------------------------------------------------------ the rules every command checks

    def require(self, reason: str | None, actor: Actor, action: str) -> None:
        """Refuse with `reason`. Commands on tasks audit refusals in the runner; every other refused action
        is audited here, so each denied attempt is one audit row."""
        if reason is None:
            return
        if action not in TASK_COMMANDS:
            self.record_event(actor=actor, action=f"{action}_denied", detail={"reason": reason})
        raise PermissionDeniedError(reason)

    def record_event(
        self, *, actor: Actor, action: str, detail: Mapping[str, Any], launch_id: str | None = None
    ) -> int:
        """One audit row in a transaction of its own; its sequence number."""
        with self.db.write() as session:
            return audit.append_event(
                session, actor=actor, action=action, at=self.clock.now(), launch_id=launch_id, detail=detail
            )


def require_ready(task: TaskRecord | TaskRow, launch: LaunchRecord | LaunchRow) -> None:
    """A task can be worked on only while it is READY in an ACTIVE launch."""
    if task.status == TaskStatus.COMPLETED.value:
        when = f" at {task.completed_at:%Y-%m-%d %H:%M} UTC" if task.completed_at else ""
        raise TaskNotReadyError(f"this task was already completed by {task.completed_by}{when}")
    if task.status != TaskStatus.READY.value:
        raise TaskNotReadyError(f"this task is {task.status}, not ready")
    if launch.status != LaunchStatus.ACTIVE.value:
        raise TaskNotReadyError(f"the launch is {launch.status}")
