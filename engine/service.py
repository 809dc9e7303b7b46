"""WorkflowEngine: the facade. One method per command or query, keyword-only options, frozen views out.

A command reads what it needs (optimistically, outside the write lock), does the workflow work in memory,
then writes everything in ONE transaction: the launch state (a conditional UPDATE on its version, so a
concurrent writer loses), the task index rows, the gate facts, the outbox rows and the audit event. A lost
race is retried from the start, and a retry re-checks everything, so the second completion of a task finds
it no longer ready and gets a conflict, while an unrelated command on the same launch simply goes through.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from engine import audit, gate, outbox, permissions, scheduling
from engine.checking import CheckReport, check_package
from engine.clock import Clock, SystemClock
from engine.db import repository as repo
from engine.db import rows
from engine.db.models import (
    AuditEventRecord,
    CommentRecord,
    LaunchRecord,
    ProcessVersionRecord,
    TaskDraftRecord,
    TaskRecord,
)
from engine.db.rows import LaunchRow, NewTask, TaskRow
from engine.db.session import Database
from engine.domain import (
    SYSTEM_ACTOR,
    Actor,
    AuditEventView,
    AuditVerification,
    BlockerView,
    CommentView,
    GateFact,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    Page,
    ProcessVersionView,
    TaskDetailView,
    TaskStatus,
    TaskView,
)
from engine.errors import (
    ConflictError,
    DiagramProblem,
    DiagramRejectedError,
    EngineError,
    ExpressionEvaluationError,
    FieldProblem,
    GateBlockedError,
    NotFoundError,
    PermissionDeniedError,
    TaskNotReadyError,
    ValidationFailedError,
    WorkflowStuckError,
)
from engine.model import ProcessModel, UserTaskModel
from engine.outbox import OutboxMessageView
from engine.packages import ProcessPackage
from engine.runtime import ReadyTask, RunningWorkflow
from engine.scheduling import WORKER_ACTOR, SchedulePolicy
from engine.serialization import dump_state, restore_state
from engine.snapshots import LaunchSnapshot, WorkflowCache
from engine.specs import LoadedProcess, check_diagram, content_hash, load_process
from engine.task_forms import TASK_FORMS, form_json_schema, validate_launch_start, validate_task_data

logger = logging.getLogger(__name__)

DEFAULT_PROCESS_ID = "launch_gate"
MAX_ATTEMPTS = 8
MAX_PAGE = 500
MAX_COMMENT = 4000
MAX_DRAFT_BYTES = 200_000
_TASK_COMMANDS = frozenset({"task.complete", "task.claim", "task.release", "task.assign"})
# Start fields that configure the launch itself; they are stored on the launch row, not in the workflow data.
_LAUNCH_SETTINGS = ("support_distribution", "due_overrides")
T = TypeVar("T")


class _StaleVersionError(Exception):
    """The launch changed between our read and our write: start the command again."""


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
        self.db = database
        self.clock: Clock = clock or SystemClock()
        self.holidays = frozenset(holidays)
        self.schedule = schedule or SchedulePolicy()
        self._cache = WorkflowCache(cache_size)
        self._processes: dict[int, LoadedProcess] = {}
        self._labels: dict[int, tuple[str, int]] = {}
        self._processes_lock = threading.Lock()
        # Test hooks, called with the command name: after the in-memory work and before the write
        # transaction; and right after the commit (before the caller hears about it).
        self.before_write: Callable[[str], None] | None = None
        self.after_commit: Callable[[str], None] | None = None
        self._on_commit = on_commit

    # ------------------------------------------------------------------ process versions

    @staticmethod
    def check_diagram(xml: bytes) -> list[DiagramProblem]:
        """Every problem in a diagram, as `launchgate bpmn check` and deploy see them."""
        return check_diagram(xml, known_forms=TASK_FORMS.keys())

    @staticmethod
    def check_package(package: ProcessPackage) -> CheckReport:
        """Every problem of a process package (errors and warnings), as `bpmn check` and deploy see them."""
        return check_package(package, known_forms=TASK_FORMS.keys())

    def deploy_package(self, *, package: ProcessPackage, actor: Actor) -> list[ProcessVersionView]:
        """Check a package whole and deploy each of its diagrams; nothing is stored when it has an error."""
        self._require(permissions.may_deploy_process(actor), actor, "process.deploy")
        report = self.check_package(package)
        if not report.deployable:
            errors = report.errors or [DiagramProblem(None, "the package holds no diagram")]
            first = next((p for p in errors if p.element_id), errors[0])
            message = str(first) + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
            raise DiagramRejectedError(errors, message=message, lines=report.lines())
        return [self.deploy_process(xml=diagram.data, actor=actor) for diagram in package.diagrams]

    def deploy_process(self, *, xml: bytes, actor: Actor) -> ProcessVersionView:
        """Validate and store a new process version (or return the existing one with the same content)."""
        self._require(permissions.may_deploy_process(actor), actor, "process.deploy")
        loaded = load_process(xml, known_forms=TASK_FORMS.keys())
        now = self.clock.now()
        with self.db.write() as session:
            audit.lock_chain(session)  # serialises deploys across processes: version numbers never collide
            existing = repo.process_version_by_hash(session, loaded.model.content_hash)
            if existing is not None:
                return self._process_version_view(session, existing)
            latest = repo.latest_process_version(session, loaded.model.process_id)
            record = ProcessVersionRecord(
                process_id=loaded.model.process_id,
                version=(latest.version + 1) if latest else 1,
                content_hash=loaded.model.content_hash,
                bpmn_xml=loaded.xml,
                created_at=now,
                created_by=actor.username,
            )
            session.add(record)
            session.flush()
            audit.append_event(
                session,
                actor=actor,
                action="process.deployed",
                at=now,
                detail={
                    "process_id": record.process_id,
                    "version": record.version,
                    "hash": record.content_hash,
                },
            )
            return self._process_version_view(session, record)

    def sync_shipped_processes(self, bpmn_dir: Path) -> list[ProcessVersionView]:
        """Deploy every diagram in bpmn/ whose content is not stored yet (run at migrate time)."""
        return [
            self.deploy_process(xml=path.read_bytes(), actor=SYSTEM_ACTOR)
            for path in sorted(bpmn_dir.glob("*.bpmn"))
        ]

    def list_process_versions(self, *, actor: Actor) -> list[ProcessVersionView]:
        self._require(permissions.may_read(actor), actor, "process.list")
        with self.db.read() as session:
            return [self._process_version_view(session, r) for r in repo.process_versions(session)]

    # ------------------------------------------------------------------ launches

    def start_launch(
        self, *, data: Mapping[str, Any], actor: Actor, process_id: str = DEFAULT_PROCESS_ID
    ) -> LaunchView:
        """Start a launch: validated start data, the newest process version, first tasks in the index."""
        self._require(permissions.may_start_launch(actor), actor, "launch.start")
        values = validate_launch_start(data)
        with self.db.read() as session:
            version = repo.latest_process_version(session, process_id)
            if version is None:
                raise NotFoundError(f"process {process_id!r} is not deployed")
            version_id = version.id
        process = self._process(version_id)
        launch_id = str(uuid4())
        start_data = {k: v for k, v in values.items() if k not in _LAUNCH_SETTINGS}
        raw_list, raw_days = values.get("support_distribution"), values.get("due_overrides")
        distribution = [str(a) for a in raw_list] if isinstance(raw_list, list) else []
        overrides = {str(k): int(v) for k, v in raw_days.items()} if isinstance(raw_days, dict) else {}
        planned = date.fromisoformat(str(values["planned_launch_date"]))
        try:
            workflow = RunningWorkflow.start(
                process.spiff_spec, start_data=start_data, launch_id=launch_id, clock=self.clock
            )
        except WorkflowStuckError as exc:  # e.g. the step budget: nothing is stored, the refusal audited
            with self.db.write() as session:
                audit.append_event(
                    session,
                    actor=actor,
                    action="launch.start_failed",
                    at=self.clock.now(),
                    detail={"process_id": process.model.process_id, "reason": exc.message},
                )
            raise
        ready = workflow.ready_user_tasks()
        state = dump_state(workflow)
        now = self.clock.now()
        model = process.model
        launch = LaunchRow(
            id=launch_id,
            process_version_id=version_id,
            product_name=str(values["product_name"]),
            summary=str(values["summary"]),
            planned_launch_date=planned,
            pm=actor.username,
            status=LaunchStatus.ACTIVE.value,
            version=1,
            gate_total=len(model.gate_items),
            gate_passed=0,
            blocked_by=",".join(g.key for g in model.gate_items),
            created_at=now,
            updated_at=now,
            completed_at=None,
            support_distribution=tuple(distribution),
            due_overrides=overrides,
            next_timer_at=workflow.next_timer_at(),
        )
        facts = tuple(
            GateFact(
                key=item.key,
                title=item.title,
                bpmn_task_id=item.task_id,
                position=item.position,
                status=GateItemStatus.OPEN,
                passed_at=None,
                passed_by=None,
                content_hash=None,
                opened_at=now,
            )
            for item in model.gate_items
        )
        new_tasks = self._plan_new_tasks(launch, model, ready, known=frozenset(), now=now)
        self._hook("start_launch")
        with self.db.write() as session:
            conn = session.connection()
            rows.insert_launch(conn, launch, state=state)
            rows.insert_gate_facts(conn, launch_id, facts)
            self._write_task_index(session, launch, new_tasks, gone=(), now=now)
            audit.append_event(
                session,
                actor=actor,
                action="launch.started",
                at=now,
                launch_id=launch_id,
                after=values,
                detail={
                    "process_id": model.process_id,
                    "process_version": version.version,
                    "new_tasks": [t.row.bpmn_id for t in new_tasks],
                },
            )
        # Nobody has written any document yet, so every reviewed document's author is known: nobody.
        snapshot = LaunchSnapshot(
            launch=launch,
            facts={f.key: f for f in facts},
            ready=tuple(t.row for t in new_tasks),
            authors={t.reviews: None for t in model.tasks.values() if t.reviews},
        )
        self._cache.put(launch_id, 1, workflow, snapshot)
        logger.info("launch %s started by %s", launch_id, actor.username)
        if self.after_commit is not None:
            self.after_commit("start_launch")
        return self._full_view(snapshot, process)

    def get_launch(self, *, launch_id: str, actor: Actor) -> LaunchView:
        """A launch with its gate (each item passed/open, holder, since, due), blockers and open tasks."""
        self._require(permissions.may_read(actor), actor, "launch.read")
        with self.db.read() as session:
            conn = session.connection()
            launch = rows.read_launch(conn, launch_id)
            if launch is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            snapshot = LaunchSnapshot(
                launch=launch,
                facts={f.key: f for f in rows.read_gate_facts(conn, launch_id)},
                ready=rows.read_ready_tasks(conn, launch_id),
            )
            process = self._process(launch.process_version_id, session)
        return self._full_view(snapshot, process)

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
        self._require(permissions.may_read(actor), actor, "launch.list")
        offset, limit = _page_bounds(offset, limit)
        query = repo.filter_launches(
            status=status.value if status else None, pm=pm, blocked=blocked, search=search
        )
        with self.db.read() as session:
            total = repo.count(session, query)
            found = (
                session.execute(
                    query.options(defer(LaunchRecord.state))
                    .order_by(LaunchRecord.created_at.desc(), LaunchRecord.id)
                    .offset(offset)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            items = tuple(
                self._summary_view(r, self._process_label(session, r.process_version_id)) for r in found
            )
        return Page(items=items, total=total, offset=offset, limit=limit)

    def launch_diagram(self, *, launch_id: str, actor: Actor) -> str:
        """The BPMN XML of the process version this launch runs (for rendering the diagram)."""
        self._require(permissions.may_read(actor), actor, "launch.diagram")
        with self.db.read() as session:
            record = session.get(LaunchRecord, launch_id)
            if record is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            return self._process(record.process_version_id, session).xml

    def list_blockers(self, *, launch_id: str, actor: Actor) -> tuple[BlockerView, ...]:
        """What still blocks go-live: each open gate item, who holds it, since when, due when."""
        return self.get_launch(launch_id=launch_id, actor=actor).blockers

    def launch_history(self, *, launch_id: str, actor: Actor) -> list[AuditEventView]:
        self._require(permissions.may_read(actor), actor, "launch.history")
        with self.db.read() as session:
            if session.get(LaunchRecord, launch_id) is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            rows = session.execute(repo.audit_query(launch_id=launch_id)).scalars().all()
            return [audit.to_view(r) for r in rows]

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
        self._require(permissions.may_read(actor), actor, "task.list")
        offset, limit = _page_bounds(offset, limit)
        with self.db.read() as session:
            total, records = repo.task_page(
                session,
                role=role,
                assignee=assignee,
                launch_id=launch_id,
                status=TaskStatus.READY.value if inbox else (status.value if status else None),
                inbox_of=(actor.username, [r.value for r in actor.roles]) if inbox else None,
                offset=offset,
                limit=limit,
            )
            names = _product_names(session, {r.launch_id for r in records})
            items = tuple(_task_view(r, names.get(r.launch_id, "")) for r in records)
        return Page(items=items, total=total, offset=offset, limit=limit)

    def get_task(self, *, task_id: str, actor: Actor) -> TaskDetailView:
        """One task with its form schema, the data it would be prefilled with, and the material it reviews."""
        self._require(permissions.may_read(actor), actor, "task.read")
        with self.db.read() as session:
            task = session.get(TaskRecord, task_id)
            if task is None:
                raise NotFoundError(f"task {task_id} does not exist")
            launch = session.get(LaunchRecord, task.launch_id)
            assert launch is not None
            completion = None
            if task.status == TaskStatus.COMPLETED.value:
                completion = session.execute(
                    repo.audit_query(launch_id=launch.id, action="task.completed").where(
                        AuditEventRecord.task_id == task_id
                    )
                ).scalar_one_or_none()
            view = _task_view(task, launch.product_name)
            launch_version, launch_state = launch.version, launch.state
            process = self._process(launch.process_version_id, session)
        spec = process.model.tasks[task.bpmn_id]
        if task.status == TaskStatus.READY.value:
            workflow, snapshot = self._restore(launch.id, launch_version, launch_state, process)
            data = workflow.data_for(task_id)
            self._cache.put(launch.id, launch_version, workflow, snapshot)
        else:
            data = {spec.document: (completion.after if completion is not None else None) or {}}
        return TaskDetailView(
            task=view,
            documentation=spec.documentation,
            form_schema=form_json_schema(task.bpmn_id),
            current_data=dict(data.get(spec.document) or {}),
            reviewed_document=spec.reviews,
            reviewed_data=dict(data.get(spec.reviews) or {}) if spec.reviews else None,
        )

    def complete_task(self, *, task_id: str, data: Mapping[str, Any], actor: Actor) -> LaunchView:
        """Complete a ready task with form data. Validation, permission, the gate and the race are all
        checked; on any refusal nothing of this attempt is written except its audit row."""
        return self._command(
            "task.complete",
            task_id,
            actor,
            lambda: self._complete_once(task_id=task_id, data=data, actor=actor),
        )

    def claim_task(self, *, task_id: str, actor: Actor) -> TaskView:
        """Take a ready task: it becomes the actor's and leaves the role's shared queue."""
        return self._command(
            "task.claim", task_id, actor, lambda: self._reassign_once(task_id, actor, "claim", actor.username)
        )

    def release_task(self, *, task_id: str, actor: Actor) -> TaskView:
        """Give a claimed task back to its role's queue."""
        return self._command(
            "task.release", task_id, actor, lambda: self._reassign_once(task_id, actor, "release", None)
        )

    def assign_task(self, *, task_id: str, assignee: str, actor: Actor) -> TaskView:
        """Assign a ready task to a user (support managers for support tasks, the launch PM for PM tasks)."""
        return self._command(
            "task.assign", task_id, actor, lambda: self._reassign_once(task_id, actor, "assign", assignee)
        )

    # ------------------------------------------------------------------ drafts

    def save_draft(self, *, task_id: str, data: Mapping[str, Any], actor: Actor) -> None:
        """Keep an unfinished form for later (per task and person). Drafts are not validated; a draft of a
        task that is no longer ready is refused."""
        with self.db.read() as session:
            task = session.get(TaskRecord, task_id)
            if task is None:
                raise NotFoundError(f"task {task_id} does not exist")
            launch = session.get(LaunchRecord, task.launch_id)
            assert launch is not None
            _require_ready(task, launch)
        facts = permissions.TaskFacts(
            role=task.role, assignee=task.assignee, status=TaskStatus(task.status), launch_pm=launch.pm
        )
        self._require(permissions.may_complete(actor, facts), actor, "task.save_draft")
        payload = json.loads(json.dumps(dict(data), default=str))
        if len(json.dumps(payload)) > MAX_DRAFT_BYTES:
            raise ValidationFailedError(
                "the draft is too large", [FieldProblem((), "the draft is too large")]
            )
        with self.db.write() as session:
            draft = session.get(TaskDraftRecord, (task_id, actor.username))
            if draft is None:
                session.add(
                    TaskDraftRecord(
                        task_id=task_id, author=actor.username, data=payload, saved_at=self.clock.now()
                    )
                )
            else:
                draft.data = payload
                draft.saved_at = self.clock.now()

    def get_draft(self, *, task_id: str, actor: Actor) -> dict[str, Any] | None:
        with self.db.read() as session:
            draft = session.get(TaskDraftRecord, (task_id, actor.username))
            return dict(draft.data) if draft is not None else None

    # ------------------------------------------------------------------ comments

    def add_comment(
        self, *, launch_id: str, body: str, actor: Actor, task_id: str | None = None
    ) -> CommentView:
        """A comment on a launch, or on one of its tasks. Kept after the task completes; in the history."""
        self._require(permissions.may_comment(actor), actor, "comment.add")
        text = body.strip()
        if not 1 <= len(text) <= MAX_COMMENT:
            raise ValidationFailedError(
                "the comment is empty or too long",
                [FieldProblem(("body",), f"write 1 to {MAX_COMMENT} characters", "string_length")],
            )
        now = self.clock.now()
        with self.db.write() as session:
            if session.get(LaunchRecord, launch_id) is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            if task_id is not None:
                task = session.get(TaskRecord, task_id)
                if task is None or task.launch_id != launch_id:
                    raise NotFoundError(f"task {task_id} does not exist in launch {launch_id}")
            record = CommentRecord(
                launch_id=launch_id, task_id=task_id, author=actor.username, body=text, created_at=now
            )
            session.add(record)
            session.flush()
            audit.append_event(
                session,
                actor=actor,
                action="comment.added",
                at=now,
                launch_id=launch_id,
                task_id=task_id,
                after={"comment_id": record.id, "body": text},
            )
            return _comment_view(record)

    def list_comments(self, *, launch_id: str, actor: Actor, task_id: str | None = None) -> list[CommentView]:
        self._require(permissions.may_read(actor), actor, "comment.list")
        with self.db.read() as session:
            if session.get(LaunchRecord, launch_id) is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            query = select(CommentRecord).where(CommentRecord.launch_id == launch_id)
            if task_id is not None:
                query = query.where(CommentRecord.task_id == task_id)
            return [_comment_view(r) for r in session.execute(query.order_by(CommentRecord.id)).scalars()]

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
        self._require(permissions.may_verify_audit(actor), actor, "audit.read")
        query = repo.audit_query(
            launch_id=launch_id,
            actor=actor_name,
            action=action,
            since=since,
            until=until,
            after_sequence=after_sequence,
        ).limit(max(1, min(limit, 10_000)))
        with self.db.read() as session:
            return [audit.to_view(r) for r in session.execute(query).scalars().all()]

    def verify_audit(self) -> AuditVerification:
        """Recompute the whole hash chain. OK with the head hash, or the first broken sequence number."""
        with self.db.read() as session:
            return audit.verify_chain(session)

    def record_event(
        self, *, actor: Actor, action: str, detail: Mapping[str, Any], launch_id: str | None = None
    ) -> None:
        """Audit something that happened outside a command (sign-in, exports, refusals)."""
        with self.db.write() as session:
            audit.append_event(
                session, actor=actor, action=action, at=self.clock.now(), launch_id=launch_id, detail=detail
            )

    # ------------------------------------------------------------------ timers and notifications

    def fire_due_timers(self, *, limit: int = 50) -> list[str]:
        """Fire the BPMN timers that are due by the clock (the worker calls this every tick).

        Only launches whose `next_timer_at` has come are restored. Each one is a command like a
        completion: new state, task index, audit row `timer.fired`, all in one transaction guarded by
        the launch version (two workers racing for one launch: one wins, the other finds nothing due).
        A timer that cannot fire is audited as `timer.failed` and taken off the schedule, so it is
        visible and never retried in a loop. Returns the ids of the launches that advanced."""
        now = self.clock.now()
        with self.db.read() as session:
            due = (
                session.execute(
                    select(LaunchRecord.id)
                    .where(
                        LaunchRecord.status == LaunchStatus.ACTIVE.value,
                        LaunchRecord.next_timer_at <= now,
                    )
                    .order_by(LaunchRecord.next_timer_at, LaunchRecord.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        advanced = []
        for launch_id in due:
            try:
                for _ in range(MAX_ATTEMPTS):
                    try:
                        if self._fire_timers_once(launch_id):
                            advanced.append(launch_id)
                        break
                    except _StaleVersionError:
                        logger.info("launch %s: timers lost a race; retrying", launch_id)
            except Exception as exc:  # one broken launch must not stop the others' timers
                reason = exc.message if isinstance(exc, WorkflowStuckError) else f"unexpected: {exc!r}"
                logger.exception("launch %s: a timer could not fire: %s", launch_id, reason)
                with self.db.write() as session:
                    # Only the schedule that failed is cleared: a command that has since stored a new
                    # state (and a later timer) keeps it.
                    session.execute(
                        update(LaunchRecord)
                        .where(LaunchRecord.id == launch_id, LaunchRecord.next_timer_at <= now)
                        .values(next_timer_at=None)
                    )
                    audit.append_event(
                        session,
                        actor=WORKER_ACTOR,
                        action="timer.failed",
                        at=self.clock.now(),
                        launch_id=launch_id,
                        detail={"reason": reason},
                    )
        return advanced

    def _fire_timers_once(self, launch_id: str) -> bool:
        now = self.clock.now()
        with self.db.read() as session:
            conn = session.connection()
            found = rows.read_launch_with_state(conn, launch_id)
            if found is None:
                return False
            launch, stored_state = found
            if (
                launch.status != LaunchStatus.ACTIVE.value
                or launch.next_timer_at is None
                or launch.next_timer_at > now
            ):
                return False
            process = self._process(launch.process_version_id, session)
            facts = rows.read_gate_facts(conn, launch.id)
            open_rows = rows.read_ready_tasks(conn, launch.id)
        workflow, _ = self._restore(launch.id, launch.version, stored_state, process)
        fired = workflow.fire_due_timers()
        finished = workflow.is_finished()
        ready = workflow.ready_user_tasks()
        passed = sum(1 for f in facts if f.status is GateItemStatus.PASSED)
        if finished and passed != len(facts):
            raise WorkflowStuckError("the workflow finished with gate items open; refusing to record it")
        state = dump_state(workflow)
        known = frozenset(t.id for t in open_rows)
        gone = known - {t.id for t in ready}
        new_tasks = self._plan_new_tasks(launch, process.model, ready, known=known, now=now)
        after = replace(
            launch,
            version=launch.version + 1,
            updated_at=now,
            status=(LaunchStatus.LIVE if finished else LaunchStatus.ACTIVE).value,
            completed_at=now if finished else None,
            next_timer_at=workflow.next_timer_at(),
        )
        self._hook("fire_timers")
        with self.db.write() as session:
            self._write_launch(session, launch, after, state=state)
            self._write_task_index(session, after, new_tasks, gone=gone, now=now)
            if fired:
                audit.append_event(
                    session,
                    actor=WORKER_ACTOR,
                    action="timer.fired",
                    at=now,
                    launch_id=launch.id,
                    detail={
                        "timers": fired,
                        "new_tasks": [t.row.bpmn_id for t in new_tasks],
                        "cancelled_tasks": sorted(t.bpmn_id for t in open_rows if t.id in gone),
                    },
                )
        self._cache.put(launch.id, after.version, workflow)
        logger.info(
            "launch %s: timers %s fired, new tasks %s", launch.id, fired, [t.row.bpmn_id for t in new_tasks]
        )
        return bool(fired)

    def list_incidents(self, *, launch_id: str, actor: Actor) -> list[OutboxMessageView]:
        """Messages of a launch that could not be delivered after every attempt (G6: visible, retryable)."""
        self._require(permissions.may_read(actor), actor, "launch.incidents")
        with self.db.read() as session:
            if session.get(LaunchRecord, launch_id) is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            return outbox.incidents(session, launch_id=launch_id)

    def retry_message(self, *, message_id: int, actor: Actor) -> OutboxMessageView:
        """Admins: deliver a message again from its first attempt (an incident, or a pending message
        now). A delivered message is not sent again (409)."""
        self._require(permissions.may_retry_delivery(actor), actor, "outbox.retry")
        try:
            return outbox.retry(self.db, message_id=message_id, actor=actor, now=self.clock.now())
        except ConflictError as exc:
            self.record_event(
                actor=actor,
                action="outbox.retry_conflict",
                detail={"message": message_id, "reason": exc.message},
            )
            raise

    # ------------------------------------------------------------------ command machinery

    def _command(self, name: str, task_id: str, actor: Actor, attempt: Callable[[], T]) -> T:
        """Run one attempt after another until one commits or is refused. Refusals are audited."""
        try:
            for _ in range(MAX_ATTEMPTS):
                try:
                    return attempt()
                except _StaleVersionError:
                    logger.info("%s on task %s lost a race; retrying", name, task_id)
            raise ConflictError("the launch is changing too fast; please try again")
        except PermissionDeniedError as exc:
            self._audit_refusal(actor, f"{name}_denied", task_id, exc.message)
            raise
        except GateBlockedError as exc:
            self._audit_refusal(
                actor, f"{name}_blocked", task_id, exc.message, blockers=[b.item for b in exc.blockers]
            )
            raise
        except ConflictError as exc:
            self._audit_refusal(actor, f"{name}_conflict", task_id, exc.message)
            raise
        except ValidationFailedError as exc:
            self._audit_refusal(
                actor,
                f"{name}_invalid",
                task_id,
                exc.message,
                fields=[".".join(map(str, p.loc)) for p in exc.problems],
            )
            raise
        except WorkflowStuckError as exc:
            self._audit_refusal(actor, f"{name}_failed", task_id, exc.message)
            raise

    def _audit_refusal(self, actor: Actor, action: str, task_id: str, reason: str, **extra: Any) -> None:
        with self.db.read() as session:
            task = session.get(TaskRecord, task_id)
            launch_id = task.launch_id if task is not None else None
        if launch_id is None:
            return  # unknown task: nothing to attach the row to (the API logs the 404)
        with self.db.write() as session:
            audit.append_event(
                session,
                actor=actor,
                action=action,
                at=self.clock.now(),
                launch_id=launch_id,
                task_id=task_id,
                detail={"reason": reason, **extra},
            )

    def _read_for_task(self, task_id: str) -> tuple[TaskRow, LaunchSnapshot, str, LoadedProcess]:
        """A task, its launch's rows and stored state, from one read transaction (one snapshot)."""
        with self.db.read() as session:
            conn = session.connection()
            task = rows.read_task(conn, task_id)
            if task is None:
                raise NotFoundError(f"task {task_id} does not exist")
            found = rows.read_launch_with_state(conn, task.launch_id)
            assert found is not None
            launch, state = found
            process = self._process(launch.process_version_id, session)
            spec = process.model.tasks[task.bpmn_id]
            authors: dict[str, str | None] = {}
            if spec.reviews:
                writers = [t.id for t in process.model.tasks.values() if t.document == spec.reviews]
                authors[spec.reviews] = repo.last_author(session, launch.id, writers)
            snapshot = LaunchSnapshot(
                launch=launch,
                facts={f.key: f for f in rows.read_gate_facts(conn, launch.id)},
                ready=rows.read_ready_tasks(conn, launch.id),
                authors=authors,
            )
        return task, snapshot, state, process

    def _complete_once(self, *, task_id: str, data: Mapping[str, Any], actor: Actor) -> LaunchView:
        remembered = self._cache.take_for_task(task_id)
        if remembered is not None:
            workflow, snapshot = remembered
            process = self._process(snapshot.launch.process_version_id)
            task = snapshot.ready_task(task_id)
            reviews = process.model.tasks[task.bpmn_id].reviews if task is not None else None
            if task is not None and (reviews is None or reviews in snapshot.authors):
                try:
                    return self._complete(
                        task,
                        snapshot=snapshot,
                        restore=lambda: workflow,
                        process=process,
                        data=data,
                        actor=actor,
                    )
                except EngineError as exc:
                    # Decided on remembered rows: every refusal is decided again on fresh ones.
                    logger.info("task %s: %s (remembered rows); reading them again", task_id, exc.message)
        task, snapshot, state, process = self._read_for_task(task_id)
        launch = snapshot.launch

        def restore() -> RunningWorkflow:
            return self._restore(launch.id, launch.version, state, process)[0]

        return self._complete(
            task, snapshot=snapshot, restore=restore, process=process, data=data, actor=actor
        )

    def _complete(
        self,
        task: TaskRow,
        *,
        snapshot: LaunchSnapshot,
        restore: Callable[[], RunningWorkflow],
        process: LoadedProcess,
        data: Mapping[str, Any],
        actor: Actor,
    ) -> LaunchView:
        """One attempt at completing `task`, decided on `snapshot` (the launch's rows at one version) and
        written in one transaction guarded by that version."""
        launch, model = snapshot.launch, process.model
        spec = model.tasks[task.bpmn_id]
        reviews_by = snapshot.authors.get(spec.reviews) if spec.reviews else None
        values = self._check_completion(
            task, snapshot=snapshot, process=process, data=data, actor=actor, reviews_by=reviews_by
        )
        workflow = restore()
        before_doc = workflow.data_for(task.id).get(spec.document)
        data_after = workflow.complete_user_task(task.id, document=spec.document, data=values)
        now = self.clock.now()
        try:
            changes = gate.changes_after_completion(
                model, spec, data_after=data_after, actor=actor.username, at=now, facts=snapshot.facts
            )
        except ExpressionEvaluationError as exc:
            raise WorkflowStuckError(
                f"the gate rule of {spec.id} could not be evaluated: {exc.message}"
            ) from exc
        finished = workflow.is_finished()
        ready = workflow.ready_user_tasks()
        state = dump_state(workflow)
        merged = dict(snapshot.facts)
        for change in changes:
            merged[change.key] = _apply(merged[change.key], change)
        passed = sum(1 for f in merged.values() if f.status is GateItemStatus.PASSED)
        if finished and passed != len(merged):
            raise WorkflowStuckError("the workflow finished with gate items open; refusing to record it")
        status = LaunchStatus.LIVE if finished else LaunchStatus.ACTIVE
        known = frozenset(t.id for t in snapshot.ready) - {task.id}
        ready_ids = {t.id for t in ready}
        new_tasks = self._plan_new_tasks(launch, model, ready, known=known, now=now)
        after = replace(
            launch,
            version=launch.version + 1,
            updated_at=now,
            status=status.value,
            completed_at=now if finished else None,
            gate_passed=passed,
            blocked_by=gate.blocked_by_summary(sorted(merged.values(), key=lambda f: f.position)),
            next_timer_at=workflow.next_timer_at(),
        )
        self._hook("complete_task")
        with self.db.write() as session:
            self._write_launch(session, launch, after, state=state)
            conn = session.connection()
            if not rows.complete_task(
                conn,
                task_id=task.id,
                at=now,
                by=actor.username,
                sequence=after.version,
                assignee=task.assignee or actor.username,
            ):
                raise _StaleVersionError()
            self._write_task_index(session, after, new_tasks, gone=known - ready_ids, now=now)
            rows.update_gate_items(conn, launch.id, [merged[key] for key in {c.key for c in changes}])
            rows.delete_drafts(conn, task.id)
            self._enqueue_completion_messages(
                session,
                launch=launch,
                task=task,
                spec=spec,
                values=values,
                new_ready=[
                    {"id": t.row.id, "bpmn_id": t.row.bpmn_id, "title": t.row.title} for t in new_tasks
                ],
                reviewer=actor.username,
                author=reviews_by,
                now=now,
            )
            audit.append_event(
                session,
                actor=actor,
                action="task.completed",
                at=now,
                launch_id=launch.id,
                task_id=task.id,
                before={spec.document: before_doc} if before_doc is not None else None,
                after=values,
                detail={
                    "task": task.bpmn_id,
                    "title": task.title,
                    "decision": values.get("decision"),
                    "comment": values.get("comment"),
                    "gate": [
                        {"item": c.key, "status": c.status.value, "content_hash": c.content_hash}
                        for c in changes
                    ],
                    "new_tasks": [t.row.bpmn_id for t in new_tasks],
                    "launch_status": status.value,
                },
            )
        still_ready = [t for t in snapshot.ready if t.id in ready_ids and t.id != task.id]
        result = LaunchSnapshot(
            launch=after,
            facts=merged,
            ready=tuple(
                sorted([*still_ready, *(t.row for t in new_tasks)], key=lambda t: (t.created_at, t.id))
            ),
            authors={**snapshot.authors, spec.document: actor.username},
        )
        self._cache.put(launch.id, after.version, workflow, result)
        logger.info(
            "launch %s task %s (%s) completed by %s", launch.id, task.id, task.bpmn_id, actor.username
        )
        if self.after_commit is not None:
            self.after_commit("complete_task")
        return self._full_view(result, process)

    def _check_completion(
        self,
        task: TaskRow,
        *,
        snapshot: LaunchSnapshot,
        process: LoadedProcess,
        data: Mapping[str, Any],
        actor: Actor,
        reviews_by: str | None,
    ) -> dict[str, Any]:
        """Everything that may refuse a completion before the workflow runs; the validated form values."""
        launch, model = snapshot.launch, process.model
        _require_ready(task, launch)
        spec = model.tasks[task.bpmn_id]
        facts = permissions.TaskFacts(
            role=task.role,
            assignee=task.assignee,
            status=TaskStatus(task.status),
            launch_pm=launch.pm,
            reviews_author=reviews_by,
        )
        self._require(permissions.may_complete(actor, facts), actor, "task.complete")
        values = validate_task_data(task.bpmn_id, data)
        if spec.go_live:
            views = gate.gate_views(
                model, list(snapshot.facts.values()), [_open_task(t) for t in snapshot.ready]
            )
            blockers = gate.blockers(views)
            if blockers:
                names = ", ".join(b.describe() for b in blockers)
                raise GateBlockedError(
                    f"go-live is blocked by {len(blockers)} gate item(s): {names}", blockers
                )
        return values

    def _reassign_once(self, task_id: str, actor: Actor, how: str, assignee: str | None) -> TaskView:
        with self.db.read() as session:
            conn = session.connection()
            task = rows.read_task(conn, task_id)
            if task is None:
                raise NotFoundError(f"task {task_id} does not exist")
            launch = rows.read_launch(conn, task.launch_id)
            assert launch is not None
        _require_ready(task, launch)
        facts = permissions.TaskFacts(
            role=task.role, assignee=task.assignee, status=TaskStatus(task.status), launch_pm=launch.pm
        )
        if how == "claim":
            if task.assignee is not None and task.assignee != actor.username:
                raise ConflictError(f"this task is already assigned to {task.assignee}")
            reason = permissions.may_claim(actor, facts)
        elif how == "release":
            reason = permissions.may_release(actor, facts)
        else:
            reason = permissions.may_assign(actor, facts)
        self._require(reason, actor, f"task.{how}")
        now = self.clock.now()
        after = replace(launch, version=launch.version + 1, updated_at=now)
        self._hook(f"{how}_task")
        with self.db.write() as session:
            self._write_launch(session, launch, after, state=None)
            rows.set_assignee(session.connection(), task_id=task_id, assignee=assignee)
            audit.append_event(
                session,
                actor=actor,
                action={"claim": "task.claimed", "release": "task.released", "assign": "task.assigned"}[how],
                at=now,
                launch_id=launch.id,
                task_id=task_id,
                before={"assignee": task.assignee},
                after={"assignee": assignee},
                detail={"task": task.bpmn_id, "title": task.title},
            )
            if how == "assign" and assignee is not None and assignee != actor.username:
                outbox.add_message(
                    session,
                    kind="task_assigned",
                    key=f"task_assigned:{task_id}:{after.version}",
                    launch_id=launch.id,
                    task_id=task_id,
                    payload={
                        "task_id": task_id,
                        "title": task.title,
                        "by": actor.username,
                        "due_at": task.due_at.isoformat() if task.due_at else None,
                        "to": {"users": [assignee]},
                    },
                    now=now,
                )
        cached = self._cache.take(launch.id, launch.version)
        if cached is not None:
            snapshot = cached.snapshot
            if snapshot is not None:
                snapshot = replace(
                    snapshot,
                    launch=after,
                    ready=tuple(
                        replace(t, assignee=assignee) if t.id == task_id else t for t in snapshot.ready
                    ),
                )
            self._cache.put(launch.id, after.version, cached.workflow, snapshot)
        return _task_view(replace(task, assignee=assignee), launch.product_name)

    def _write_launch(
        self, session: Session, before: LaunchRow, after: LaunchRow, *, state: str | None
    ) -> None:
        """Store `after` (and a new workflow state) only if the launch is still at `before.version`;
        otherwise another writer won and the command starts again."""
        values: dict[str, Any] = {
            name: getattr(after, name)
            for name in ("version", "updated_at", "status", "completed_at", "gate_passed", "blocked_by")
        }
        if state is not None:
            values["state"] = state
            values["next_timer_at"] = after.next_timer_at  # a new state has its own waiting timers
        if not rows.update_launch(
            session.connection(), launch_id=before.id, expected_version=before.version, values=values
        ):
            raise _StaleVersionError()

    def _plan_new_tasks(
        self,
        launch: LaunchRow,
        model: ProcessModel,
        ready: Sequence[ReadyTask],
        *,
        known: frozenset[str],
        now: datetime,
    ) -> list[NewTask]:
        """Index rows for the tasks that became ready (not in `known`): due date, first ladder step, and
        the launch PM as assignee of PM tasks."""
        planned = []
        for item in ready:
            if item.id in known:
                continue
            spec = model.tasks[item.bpmn_id]
            due = scheduling.task_due_at(
                now=now,
                task_id=item.bpmn_id,
                default_days=spec.due_in_business_days,
                overrides=launch.due_overrides,
                holds_gate_item=bool(spec.gate_item or spec.gate_part_of),
                planned_launch_date=launch.planned_launch_date,
                policy=self.schedule,
                holidays=self.holidays,
            )
            step, remind_at = scheduling.next_ladder_step(
                due_at=due, created_at=now, start=0, ladder=self.schedule.ladder, holidays=self.holidays
            )
            row = TaskRow(
                id=item.id,
                launch_id=launch.id,
                bpmn_id=item.bpmn_id,
                title=spec.title,
                role=spec.role,
                assignee=launch.pm if spec.role == "pm" else None,
                status=TaskStatus.READY.value,
                gate_item=spec.gate_item,
                is_go_live=spec.go_live,
                created_at=now,
                due_at=due,
                completed_at=None,
                completed_by=None,
                escalated_at=None,
            )
            planned.append(NewTask(row=row, ladder_step=step, remind_at=remind_at))
        return planned

    def _write_task_index(
        self,
        session: Session,
        launch: LaunchRow,
        new_tasks: Sequence[NewTask],
        *,
        gone: Collection[str],
        now: datetime,
    ) -> None:
        """Cancel the rows of tasks no longer ready, insert the new ones; a task that waits in a role's
        queue is announced to that role."""
        conn = session.connection()
        rows.cancel_tasks(conn, gone, at=now)
        rows.insert_tasks(conn, new_tasks)
        for new in new_tasks:
            task = new.row
            if task.assignee is None:
                outbox.add_message(
                    session,
                    kind="task_available",
                    key=f"task_available:{task.id}",
                    launch_id=launch.id,
                    task_id=task.id,
                    payload={
                        "task_id": task.id,
                        "title": task.title,
                        "role": task.role,
                        "due_at": task.due_at.isoformat() if task.due_at else None,
                        "to": {"roles": [task.role]},
                    },
                    now=now,
                )

    def _enqueue_completion_messages(
        self,
        session: Session,
        *,
        launch: LaunchRow,
        task: TaskRow,
        spec: UserTaskModel,
        values: Mapping[str, Any],
        new_ready: Sequence[Mapping[str, str]],
        reviewer: str,
        author: str | None,
        now: datetime,
    ) -> None:
        """What completing a task sends: the diagram's `sends` message (the launch notice), and a review
        outcome to the author of the reviewed document."""
        if spec.sends:
            self._enqueue(
                session,
                kind=spec.sends,
                launch=launch,
                task_id=task.id,
                payload=values,
                now=now,
                next_tasks=new_ready,
            )
        if spec.reviews and author is not None:
            outbox.add_message(
                session,
                kind="review_outcome",
                key=f"review_outcome:{task.id}",
                launch_id=launch.id,
                task_id=task.id,
                payload={
                    "task_id": task.id,
                    "title": task.title,
                    "reviewer": reviewer,
                    "decision": values.get("decision"),
                    "comment": values.get("comment"),
                    "to": {"users": [author]},
                },
                now=now,
            )

    def _enqueue(
        self,
        session: Session,
        *,
        kind: str,
        launch: LaunchRow,
        task_id: str,
        payload: Mapping[str, Any],
        now: datetime,
        next_tasks: Sequence[Mapping[str, str]] = (),
    ) -> None:
        outbox.add_message(
            session,
            kind=kind,
            key=f"{kind}:{launch.id}:{task_id}",
            launch_id=launch.id,
            task_id=task_id,
            payload={
                "launch_id": launch.id,
                "product_name": launch.product_name,
                "content": dict(payload),
                "next_tasks": [dict(t) for t in next_tasks],
            },
            now=now,
        )

    def _restore(
        self, launch_id: str, version: int, state: str, process: LoadedProcess
    ) -> tuple[RunningWorkflow, LaunchSnapshot | None]:
        """The launch's workflow at `version` (from the cache when it holds exactly that version, with the
        rows it remembers) or restored from the stored state."""
        cached = self._cache.take(launch_id, version)
        if cached is not None:
            return cached.workflow, cached.snapshot
        return restore_state(state, process.spiff_spec, launch_id=launch_id, clock=self.clock), None

    def _process(self, version_id: int, session: Session | None = None) -> LoadedProcess:
        """The loaded process of a stored version (cached: versions never change). Pass the caller's session
        when inside one, so a command never holds two pool connections at once."""
        with self._processes_lock:
            found = self._processes.get(version_id)
        if found is not None:
            return found
        if session is None:
            with self.db.read() as own:
                return self._process(version_id, own)
        record = session.get(ProcessVersionRecord, version_id)
        if record is None:
            raise NotFoundError(f"process version {version_id} does not exist")
        xml = record.bpmn_xml.encode("utf-8")
        # Stored versions were validated at deploy; loading validates again, so a running launch never
        # meets a task it cannot validate.
        loaded = load_process(xml, known_forms=TASK_FORMS.keys())
        if content_hash(xml) != record.content_hash:
            raise WorkflowStuckError(f"process version {version_id} does not match its content hash")
        with self._processes_lock:
            self._processes[version_id] = loaded
            self._labels[version_id] = (record.process_id, record.version)
        return loaded

    def _hook(self, name: str) -> None:
        if self.before_write is not None:
            self.before_write(name)

    def _require(self, reason: str | None, actor: Actor, action: str) -> None:
        """Refuse with `reason`. Commands on tasks audit refusals in `_command`; every other refused action
        is audited here, so each denied attempt is one audit row."""
        if reason is None:
            return
        if action not in _TASK_COMMANDS:
            self.record_event(actor=actor, action=f"{action}_denied", detail={"reason": reason})
        raise PermissionDeniedError(reason)

    def _process_version_view(self, session: Session, record: ProcessVersionRecord) -> ProcessVersionView:
        latest = repo.latest_process_version(session, record.process_id)
        return ProcessVersionView(
            id=record.id,
            process_id=record.process_id,
            version=record.version,
            content_hash=record.content_hash,
            created_at=record.created_at,
            created_by=record.created_by,
            is_latest=latest is not None and latest.id == record.id,
        )

    def _process_label(self, session: Session, version_id: int) -> tuple[str, int]:
        """(process id, version number) of a stored version; versions never change, so cached."""
        label = self._labels.get(version_id)
        if label is None:
            row = session.execute(
                select(ProcessVersionRecord.process_id, ProcessVersionRecord.version).where(
                    ProcessVersionRecord.id == version_id
                )
            ).one()
            label = self._labels[version_id] = (row[0], row[1])
        return label

    def _summary_view(self, launch: LaunchRecord | LaunchRow, label: tuple[str, int]) -> LaunchView:
        """A launch as lists show it: from its row alone."""
        return LaunchView(
            id=launch.id,
            product_name=launch.product_name,
            summary=launch.summary,
            planned_launch_date=launch.planned_launch_date,
            pm=launch.pm,
            status=LaunchStatus(launch.status),
            version=launch.version,
            process_id=label[0],
            process_version=label[1],
            created_at=launch.created_at,
            updated_at=launch.updated_at,
            completed_at=launch.completed_at,
            gate_passed=launch.gate_passed,
            gate_total=launch.gate_total,
            blocked_by=tuple(k for k in launch.blocked_by.split(",") if k),
            support_distribution=tuple(launch.support_distribution or ()),
            due_overrides=dict(launch.due_overrides or {}),
        )

    def _full_view(self, snapshot: LaunchSnapshot, process: LoadedProcess) -> LaunchView:
        """A launch with its gate, blockers and open tasks, from its rows at one version."""
        launch = snapshot.launch
        views = gate.gate_views(
            process.model, list(snapshot.facts.values()), [_open_task(t) for t in snapshot.ready]
        )
        return replace(
            self._summary_view(launch, self._labels[launch.process_version_id]),
            gate=views,
            blockers=gate.blockers(views),
            open_tasks=tuple(_task_view(t, launch.product_name) for t in snapshot.ready),
        )


def _require_ready(task: TaskRecord | TaskRow, launch: LaunchRecord | LaunchRow) -> None:
    if task.status == TaskStatus.COMPLETED.value:
        when = f" at {task.completed_at:%Y-%m-%d %H:%M} UTC" if task.completed_at else ""
        raise TaskNotReadyError(f"this task was already completed by {task.completed_by}{when}")
    if task.status != TaskStatus.READY.value:
        raise TaskNotReadyError(f"this task is {task.status}, not ready")
    if launch.status != LaunchStatus.ACTIVE.value:
        raise TaskNotReadyError(f"the launch is {launch.status}")


def _page_bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, offset), max(1, min(limit, MAX_PAGE))


def _apply(fact: GateFact, change: gate.GateChange) -> GateFact:
    return replace(
        fact,
        status=change.status,
        passed_at=change.passed_at,
        passed_by=change.passed_by,
        content_hash=change.content_hash,
    )


def _open_task(record: TaskRow) -> gate.OpenTask:
    return gate.OpenTask(
        id=record.id,
        bpmn_id=record.bpmn_id,
        role=record.role,
        assignee=record.assignee,
        created_at=record.created_at,
        due_at=record.due_at,
        status=TaskStatus(record.status),
        escalated_at=record.escalated_at,
    )


def _task_view(record: TaskRecord | TaskRow, product_name: str) -> TaskView:
    return TaskView(
        id=record.id,
        launch_id=record.launch_id,
        bpmn_id=record.bpmn_id,
        title=record.title,
        role=record.role,
        assignee=record.assignee,
        status=TaskStatus(record.status),
        created_at=record.created_at,
        due_at=record.due_at,
        completed_at=record.completed_at,
        completed_by=record.completed_by,
        gate_item=record.gate_item,
        is_go_live=record.is_go_live,
        product_name=product_name,
        escalated_at=record.escalated_at,
    )


def _comment_view(record: CommentRecord) -> CommentView:
    return CommentView(
        id=record.id,
        launch_id=record.launch_id,
        task_id=record.task_id,
        author=record.author,
        body=record.body,
        created_at=record.created_at,
    )


def _product_names(session: Session, launch_ids: set[str]) -> dict[str, str]:
    if not launch_ids:
        return {}
    rows = session.execute(
        select(LaunchRecord.id, LaunchRecord.product_name).where(LaunchRecord.id.in_(launch_ids))
    ).all()
    return {r[0]: r[1] for r in rows}
