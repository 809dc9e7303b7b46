"""WorkflowEngine: the facade. One method per command or query, keyword-only options, frozen views out.

Each method delegates. Where things live:
- commands (writes): engine/commands/ — one module per family (start, complete, assignment, timers,
  notes, processes); engine/commands/runner.py retries a command that lost a race and audits its
  refusals; engine/commands/write.py writes a launch change in ONE transaction.
- queries (reads): engine/queries.py; the views they return: engine/views.py.
- the gate rule (blockers, the go-live refusal, the bypass check of diagrams): engine/gate.py.
- SQL: engine/db/ only (rows.py for the hot path, repository.py for the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine import checkpoints, idempotency, outbox, permissions, queries
from engine.checking import CheckReport, check_package
from engine.clock import Clock
from engine.commands import assignment, complete, messages, notes, processes, start, timers
from engine.commands.context import EngineContext
from engine.db.session import Database
from engine.domain import (
    SYSTEM_ACTOR,
    Actor,
    AuditEventView,
    AuditVerification,
    BlockerView,
    CommentView,
    FormView,
    LaunchStatus,
    LaunchView,
    Page,
    ProcessVersionView,
    ProcessView,
    TaskDetailView,
    TaskStatus,
    TaskView,
)
from engine.errors import ConflictError, DiagramProblem
from engine.idempotency import IdempotentReplay
from engine.outbox import OutboxMessageView
from engine.packages import ProcessPackage, shipped_packages
from engine.scheduling import SchedulePolicy
from engine.specs import LoadedProcess, check_diagram

DEFAULT_PROCESS_ID = "launch_gate"


class WorkflowEngine:
    """Runs launches. Thread-safe; share one per process."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Clock | None = None,
        holidays: Collection[date] = (),
        cache_size: int = 256,
        on_commit: Callable[[str], None] | None = None,
        schedule: SchedulePolicy | None = None,
    ) -> None:
        self._ctx = EngineContext(
            database, clock=clock, holidays=holidays, cache_size=cache_size, schedule=schedule
        )
        self._on_commit = on_commit

    @property
    def db(self) -> Database:
        return self._ctx.db

    @property
    def clock(self) -> Clock:
        return self._ctx.clock

    @property
    def holidays(self) -> Collection[date]:
        return self._ctx.holidays

    @property
    def schedule(self) -> SchedulePolicy:
        return self._ctx.schedule

    @property
    def before_write(self) -> Callable[[str], None] | None:
        """Test hook, called with the command name after the in-memory work, before the write."""
        return self._ctx.before_write

    @before_write.setter
    def before_write(self, hook: Callable[[str], None] | None) -> None:
        self._ctx.before_write = hook

    @property
    def after_commit(self) -> Callable[[str], None] | None:
        """Test hook, called with the command name right after the commit (before the caller hears)."""
        return self._ctx.after_commit

    @after_commit.setter
    def after_commit(self, hook: Callable[[str], None] | None) -> None:
        self._ctx.after_commit = hook

    # ------------------------------------------------------------------ process versions

    @staticmethod
    def check_diagram(xml: bytes) -> list[DiagramProblem]:
        """Every problem in a diagram, as `launchgate bpmn check` and deploy see them."""
        return check_diagram(xml)

    @staticmethod
    def check_package(package: ProcessPackage) -> CheckReport:
        """Every problem of a process package (errors and warnings), as `bpmn check` and deploy see them."""
        return check_package(package)

    def check_package_against_deployed(self, package: ProcessPackage) -> CheckReport:
        """`check_package`, with calls to processes outside the package resolved against this database's
        deployed versions, as deploy resolves them (nothing is stored)."""
        return processes.check_against_deployed(self._ctx, package)

    def deploy_package(self, *, package: ProcessPackage, actor: Actor) -> list[ProcessVersionView]:
        """Check a package whole and deploy each of its diagrams; nothing is stored when it has an error."""
        return processes.deploy_package(self._ctx, package=package, actor=actor)

    def deploy_process(
        self, *, xml: bytes, actor: Actor, files: Mapping[str, bytes] | None = None
    ) -> ProcessVersionView:
        """Validate and store a new process version with the form files its diagram names (``files`` by
        those names), or return the existing one with the same content."""
        return processes.deploy_process(self._ctx, xml=xml, actor=actor, files=files)

    def sync_shipped_processes(self, bpmn_dir: Path) -> list[ProcessVersionView]:
        """Deploy every package under bpmn/ whose content is not stored yet (run at migrate time): each
        diagram with the forms it names (forms/<name>/), and each folder of bpmn/ as one package."""
        return [
            version
            for package in shipped_packages(bpmn_dir)
            for version in self.deploy_package(package=package, actor=SYSTEM_ACTOR)
        ]

    def list_process_versions(self, *, actor: Actor) -> list[ProcessVersionView]:
        return queries.list_process_versions(self._ctx, actor=actor)

    def list_processes(self, *, actor: Actor) -> list[ProcessView]:
        """The deployed processes at their newest version (what a new launch runs): name, description
        (the diagram's process documentation), start form."""
        return queries.list_processes(self._ctx, actor=actor)

    # ------------------------------------------------------------------ launches

    def start_launch(
        self, *, data: Mapping[str, Any], actor: Actor, process_id: str = DEFAULT_PROCESS_ID
    ) -> LaunchView:
        """Start a launch of `process_id` (default: the shipped launch gate): validated start data, the
        newest version of that process, first tasks in the index. A process that is not deployed is a
        field error on `process`."""
        return start.start_launch(self._ctx, data=data, actor=actor, process_id=process_id)

    def start_form(self, *, actor: Actor, process_id: str = DEFAULT_PROCESS_ID) -> FormView:
        """The launch start form (schema and UI schema) of the process's newest version."""
        return queries.start_form(self._ctx, actor=actor, process_id=process_id)

    def get_launch(self, *, launch_id: str, actor: Actor) -> LaunchView:
        """A launch with its gate (each item passed/open, holder, since, due), blockers and open tasks."""
        return queries.get_launch(self._ctx, launch_id=launch_id, actor=actor)

    def list_launches(
        self,
        *,
        actor: Actor,
        status: LaunchStatus | None = None,
        pm: str | None = None,
        blocked: bool | None = None,
        search: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[LaunchView]:
        """Launches from the launch table alone (gate progress is denormalised): no workflow is restored."""
        return queries.list_launches(
            self._ctx,
            actor=actor,
            status=status,
            pm=pm,
            blocked=blocked,
            search=search,
            offset=offset,
            limit=limit,
        )

    def launch_processes(
        self, *, launch_ids: Collection[str], actor: Actor
    ) -> dict[str, tuple[str, int, str]]:
        """Which process each launch runs: (process id, version number, process name), by launch id."""
        return queries.launch_processes(self._ctx, launch_ids=set(launch_ids), actor=actor)

    def launch_diagram(self, *, launch_id: str, actor: Actor, part: str | None = None) -> str:
        """The BPMN XML of the process version this launch runs (for rendering the diagram), or with
        `part` that of the process of another diagram it calls (the version pinned at deploy)."""
        return queries.launch_diagram(self._ctx, launch_id=launch_id, actor=actor, part=part)

    def list_blockers(self, *, launch_id: str, actor: Actor) -> tuple[BlockerView, ...]:
        """What still blocks go-live: each open gate item, who holds it, since when, due when."""
        return self.get_launch(launch_id=launch_id, actor=actor).blockers

    def launch_history(self, *, launch_id: str, actor: Actor) -> list[AuditEventView]:
        return queries.launch_history(self._ctx, launch_id=launch_id, actor=actor)

    # ------------------------------------------------------------------ tasks

    def list_tasks(
        self,
        *,
        actor: Actor,
        role: str | None = None,
        assignee: str | None = None,
        launch_id: str | None = None,
        status: TaskStatus | None = None,
        inbox: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskView]:
        """Tasks from the task index (never restores a workflow). `inbox=True`: the actor's ready tasks plus
        the unassigned ready tasks of their roles, soonest due first."""
        return queries.list_tasks(
            self._ctx,
            actor=actor,
            role=role,
            assignee=assignee,
            launch_id=launch_id,
            status=status,
            inbox=inbox,
            offset=offset,
            limit=limit,
        )

    def get_task(self, *, task_id: str, actor: Actor) -> TaskDetailView:
        """One task with its form schema, the data it would be prefilled with, and the material it reviews."""
        return queries.get_task(self._ctx, task_id=task_id, actor=actor)

    def complete_task(
        self,
        *,
        task_id: str,
        data: Mapping[str, Any],
        actor: Actor,
        expected_version: int | None = None,
    ) -> LaunchView:
        """Complete a ready task with form data. Validation, permission, the gate and the race are all
        checked; on any refusal nothing of this attempt is written except its audit row.
        `expected_version`: only if the launch is still at that version (else PreconditionFailedError)."""
        return complete.complete_task(
            self._ctx, task_id=task_id, data=data, actor=actor, expected_version=expected_version
        )

    def send_message(
        self, *, launch_id: str, name: str, payload: Mapping[str, Any], actor: Actor
    ) -> LaunchView:
        """Deliver a message to the launch's events waiting for `name` (its payload lands in the workflow
        data under `name`, validated by the waiting event's `messageSchema`). NotFoundError: no such
        launch; ConflictError: nothing waits for it; ValidationFailedError: the payload does not fit."""
        return messages.send_message(self._ctx, launch_id=launch_id, name=name, payload=payload, actor=actor)

    def broadcast_signal(self, *, name: str, actor: Actor) -> list[str]:
        """Admins: a signal to every active launch waiting for `name`; the ids of those that took it."""
        return messages.broadcast_signal(self._ctx, name=name, actor=actor)

    def deliver_thrown_event(self, message: OutboxMessageView) -> list[str]:
        """The worker: hand a thrown message or signal (a `bpmn_event` outbox message) to the launches
        that wait for it, each in its own transaction; the ids of those that took it."""
        return messages.deliver_thrown(self._ctx, message.payload, key=message.idempotency_key)

    def claim_task(self, *, task_id: str, actor: Actor) -> TaskView:
        """Take a ready task: it becomes the actor's and leaves the role's shared queue."""
        return assignment.claim_task(self._ctx, task_id=task_id, actor=actor)

    def release_task(self, *, task_id: str, actor: Actor) -> TaskView:
        """Give a claimed task back to its role's queue."""
        return assignment.release_task(self._ctx, task_id=task_id, actor=actor)

    def assign_task(self, *, task_id: str, assignee: str, actor: Actor) -> TaskView:
        """Assign a ready task to an active user who holds its role (support managers for support tasks,
        the launch PM for PM tasks). Any other assignee: AssigneeInvalidError (a field error)."""
        return assignment.assign_task(self._ctx, task_id=task_id, assignee=assignee, actor=actor)

    def assignable_users(self, *, task_id: str, actor: Actor) -> tuple[str, ...]:
        """Ask before assigning: the usernames `actor` may assign this task to (empty when none)."""
        return assignment.assignable_users(self._ctx, task_id=task_id, actor=actor)

    # ------------------------------------------------------------------ drafts and comments

    def save_draft(self, *, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
        """Keep an unfinished form for later (per task and person). Drafts are not validated; a draft of a
        task that is no longer ready is refused."""
        notes.save_draft(self._ctx, task_id=task_id, data=data, actor=actor)

    def get_draft(self, *, task_id: str, actor: Actor) -> dict[str, Any] | None:
        return queries.get_draft(self._ctx, task_id=task_id, actor=actor)

    def add_comment(
        self, *, launch_id: str, body: str, actor: Actor, task_id: str | None = None
    ) -> CommentView:
        """A comment on a launch, or on one of its tasks. Kept after the task completes; in the history."""
        return notes.add_comment(self._ctx, launch_id=launch_id, body=body, actor=actor, task_id=task_id)

    def list_comments(self, *, launch_id: str, actor: Actor, task_id: str | None = None) -> list[CommentView]:
        return queries.list_comments(self._ctx, launch_id=launch_id, actor=actor, task_id=task_id)

    # ------------------------------------------------------------------ audit

    def audit_events(
        self,
        *,
        actor: Actor,
        launch_id: str | None = None,
        actor_name: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_sequence: int = 0,
        limit: int = 100,
    ) -> list[AuditEventView]:
        return queries.audit_events(
            self._ctx,
            actor=actor,
            launch_id=launch_id,
            actor_name=actor_name,
            action=action,
            since=since,
            until=until,
            after_sequence=after_sequence,
            limit=limit,
        )

    def audit_page(
        self,
        *,
        actor: Actor,
        launch_id: str | None = None,
        actor_name: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[AuditEventView]:
        """One page of audit events, oldest first, with the number matching (the API's list)."""
        return queries.audit_page(
            self._ctx,
            actor=actor,
            launch_id=launch_id,
            actor_name=actor_name,
            action=action,
            since=since,
            until=until,
            offset=offset,
            limit=limit,
        )

    def verify_audit(self, *, public_key: Ed25519PublicKey | None = None) -> AuditVerification:
        """Recompute every audit chain and check every checkpoint (links, roots and, given the public key,
        signatures). OK with the root of the chain heads, or the first broken event or checkpoint."""
        return checkpoints.verify_all(self.db, public_key)

    def record_event(
        self, *, actor: Actor, action: str, detail: Mapping[str, Any], launch_id: str | None = None
    ) -> int:
        """Audit something that happened outside a command (sign-in, exports, refusals); returns the
        event's sequence number."""
        return self._ctx.record_event(actor=actor, action=action, detail=detail, launch_id=launch_id)

    # ------------------------------------------------------------------ idempotency keys

    def idempotency_begin(
        self, *, actor: Actor, route: str, key: str, fingerprint: str, ttl: timedelta
    ) -> int | IdempotentReplay:
        """Reserve a client's Idempotency-Key for a command (the reservation's id), or the first answer
        to it. A key reused for another request, or still running: IdempotencyKeyReusedError (409)."""
        return idempotency.begin(
            self.db,
            username=actor.username,
            route=route,
            key=key,
            fingerprint=fingerprint,
            now=self.clock.now(),
            ttl=ttl,
        )

    def idempotency_pending(self, record_id: int) -> AbstractContextManager[None]:
        """Run one command under the reservation: its transaction marks the reservation committed."""
        return idempotency.pending(record_id)

    def idempotency_finish(self, record_id: int, *, status_code: int, body: str) -> None:
        idempotency.finish(self.db, record_id, status_code=status_code, body=body)

    def idempotency_abandon(self, record_id: int) -> None:
        idempotency.abandon(self.db, record_id)

    # ------------------------------------------------------------------ timers and notifications

    def fire_due_timers(self, *, limit: int = 50) -> list[str]:
        """Fire the BPMN timers that are due by the clock (the worker calls this every tick); the ids of
        the launches that advanced. A timer that cannot fire is audited `timer.failed`, never retried."""
        return timers.fire_due_timers(self._ctx, limit=limit)

    def list_incidents(self, *, launch_id: str, actor: Actor) -> list[OutboxMessageView]:
        """Messages of a launch that could not be delivered after every attempt (G6: visible, retryable)."""
        return queries.list_incidents(self._ctx, launch_id=launch_id, actor=actor)

    def retry_message(self, *, message_id: int, actor: Actor) -> OutboxMessageView:
        """Admins: deliver a message again from its first attempt (an incident, or a pending message
        now). A delivered message is not sent again (409)."""
        self._ctx.require(permissions.may_retry_delivery(actor), actor, "outbox.retry")
        try:
            return outbox.retry(self.db, message_id=message_id, actor=actor, now=self.clock.now())
        except ConflictError as exc:
            self.record_event(
                actor=actor,
                action="outbox.retry_conflict",
                detail={"message": message_id, "reason": exc.message},
            )
            raise

    # ------------------------------------------------------------------ for tests and benchmarks

    def _process(self, version_id: int) -> LoadedProcess:
        """The loaded process of a stored version (tests restore stored states with its spec)."""
        return self._ctx.process(version_id)
