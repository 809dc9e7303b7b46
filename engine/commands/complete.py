"""Complete a ready task with form data: the product's hot path.

One attempt: decide on the launch's rows at one version — the remembered snapshot when this process wrote
the launch last, else one short read — then check (ready, permission, form data, the go-live rule), run
the workflow in memory, and write the change in one transaction guarded by that version. Any refusal
reached on remembered rows is decided again on fresh rows before the caller hears it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine import gate, permissions
from engine.commands.connectors import connector_messages
from engine.commands.context import EngineContext, require_ready
from engine.commands.outcome import Outcome, settle, waiting_rows
from engine.commands.runner import TaskRefusals, run_command
from engine.commands.write import AuditEntry, Completion, LaunchChange, Message, plan_new_tasks, write_change
from engine.db import repository as repo
from engine.db import rows
from engine.db.rows import LaunchRow, NewTask, TaskRow
from engine.domain import Actor, GateFact, LaunchView, TaskStatus
from engine.errors import EngineError, PreconditionFailedError, must_exist
from engine.forms.submissions import validate_task_submission
from engine.model import ProcessModel, UserTaskModel
from engine.runtime import InstanceProgress, ReadyTask, RunningWorkflow
from engine.serialization import dump_state
from engine.snapshots import LaunchSnapshot
from engine.specs import LoadedProcess
from engine.views import full_view

logger = logging.getLogger(__name__)


def complete_task(
    ctx: EngineContext,
    *,
    task_id: str,
    data: Mapping[str, Any],
    actor: Actor,
    expected_version: int | None = None,
) -> LaunchView:
    """`expected_version`: refuse (PreconditionFailedError) unless the launch is at that version when the
    completion is decided; the write is guarded by the same version, so it holds at commit too."""
    return run_command(
        "task.complete",
        task_id,
        lambda: _attempt(ctx, task_id=task_id, data=data, actor=actor, expected=expected_version),
        refusals=TaskRefusals(ctx, "task.complete", task_id, actor),
    )


def _attempt(
    ctx: EngineContext, *, task_id: str, data: Mapping[str, Any], actor: Actor, expected: int | None
) -> LaunchView:
    remembered = ctx.cache.take_for_task(task_id)
    if remembered is not None:
        workflow, snapshot = remembered
        process = ctx.process(snapshot.launch.process_version_id)
        task = snapshot.ready_task(task_id)
        reviews = process.model.tasks[task.bpmn_id].reviews if task is not None else None
        if task is not None and (reviews is None or reviews in snapshot.authors):
            try:
                return _complete(
                    ctx, task, snapshot, lambda: workflow, process, data=data, actor=actor, expected=expected
                )
            except EngineError as exc:
                # Decided on remembered rows: every refusal is decided again on fresh ones.
                logger.info("task %s: %s (remembered rows); reading them again", task_id, exc.message)
    task, snapshot, state, process = _read_for_task(ctx, task_id)
    launch = snapshot.launch

    def restore() -> RunningWorkflow:
        return ctx.restore(launch.id, launch.version, state, process)[0]

    return _complete(ctx, task, snapshot, restore, process, data=data, actor=actor, expected=expected)


def _read_for_task(ctx: EngineContext, task_id: str) -> tuple[TaskRow, LaunchSnapshot, str, LoadedProcess]:
    """A task, its launch's rows and stored state, from one read transaction (one snapshot)."""
    with ctx.db.read() as session:
        task = must_exist(rows.read_task(session, task_id), f"task {task_id}")
        found = rows.read_launch_with_state(session, task.launch_id)
        assert found is not None
        launch, state = found
        process = ctx.process(launch.process_version_id, session)
        spec = process.model.tasks[task.bpmn_id]
        authors: dict[str, str | None] = {}
        if spec.reviews:
            writers = [t.id for t in process.model.tasks.values() if t.document == spec.reviews]
            authors[spec.reviews] = repo.last_author(session, launch.id, writers)
        snapshot = LaunchSnapshot(
            launch=launch,
            facts={f.key: f for f in rows.read_gate_facts(session, launch.id)},
            ready=rows.read_ready_tasks(session, launch.id),
            authors=authors,
        )
    return task, snapshot, state, process


@dataclass(frozen=True)
class _Ran:
    """The workflow's answer to one completion, before anything is written."""

    values: dict[str, Any]  # the validated form values
    before_doc: Any
    changes: list[gate.GateChange]
    facts: dict[str, GateFact]  # the gate facts after the completion
    outcome: Outcome
    ready: list[ReadyTask]
    instance: InstanceProgress | None  # the completed task's multi-instance, after it
    state: str
    next_timer_at: datetime | None
    waiting: tuple[dict[str, Any], ...]
    workflow: RunningWorkflow

    def sent(self, launch: LaunchRow, model: ProcessModel, new_tasks: Sequence[NewTask]) -> list[Message]:
        """The messages of the send and service tasks this completion ran."""
        return connector_messages(self.workflow, launch, model, new_tasks=new_tasks)


def _complete(
    ctx: EngineContext,
    task: TaskRow,
    snapshot: LaunchSnapshot,
    restore: Callable[[], RunningWorkflow],
    process: LoadedProcess,
    *,
    data: Mapping[str, Any],
    actor: Actor,
    expected: int | None = None,
) -> LaunchView:
    """One attempt at completing `task`, decided on `snapshot` (the launch's rows at one version) and
    written in one transaction guarded by that version."""
    _refuse_unexpected_version(snapshot.launch, expected)
    spec = process.model.tasks[task.bpmn_id]
    reviews_by = snapshot.authors.get(spec.reviews) if spec.reviews else None
    values = _check(ctx, task, snapshot, process, data=data, actor=actor, reviews_by=reviews_by)
    workflow = restore()
    now = ctx.clock.now()
    ran = _run(workflow, task, spec, snapshot, process, values=values, actor=actor, now=now)
    known = frozenset(t.id for t in snapshot.ready) - {task.id}
    ready_ids = {t.id for t in ran.ready}
    new_tasks = plan_new_tasks(ctx, snapshot.launch, process.model, ran.ready, known=known, now=now)
    after = _after(snapshot.launch, ran, now=now)
    ctx.hook("complete_task")
    write_change(
        ctx,
        LaunchChange(
            before=snapshot.launch,
            after=after,
            now=now,
            state=ran.state,
            completion=Completion(task.id, by=actor.username, assignee=task.assignee or actor.username),
            new_tasks=new_tasks,
            gone=known - ready_ids,
            gate=[ran.facts[key] for key in {c.key for c in ran.changes}],
            instances_done=_done_counts(task, ran.instance),
            messages=_messages(
                snapshot.launch,
                task,
                spec,
                ran=ran,
                new_tasks=new_tasks,
                actor=actor,
                author=reviews_by,
                model=process.model,
            ),
            audit=_audit_entry(task, spec, ran, new_tasks, actor, status=after.status),
        ),
    )
    result = LaunchSnapshot(
        launch=after,
        facts=ran.facts,
        ready=_still_ready(snapshot, task, ran, ready_ids, new_tasks),
        authors={**snapshot.authors, spec.document: actor.username},
    )
    ctx.cache.put(after.id, after.version, workflow, result)
    logger.info("launch %s task %s (%s) completed by %s", after.id, task.id, task.bpmn_id, actor.username)
    ctx.committed("complete_task")
    return full_view(result, process.model, ctx.label(after.process_version_id))


def _still_ready(
    snapshot: LaunchSnapshot, task: TaskRow, ran: _Ran, ready_ids: set[str], new_tasks: Sequence[NewTask]
) -> tuple[TaskRow, ...]:
    """The ready rows after the completion: those still ready (their instance counts as written), then
    the new ones, in index order."""
    still = _instances_done(
        [t for t in snapshot.ready if t.id in ready_ids and t.id != task.id], task, ran.instance
    )
    return tuple(sorted([*still, *(t.row for t in new_tasks)], key=lambda t: (t.created_at, t.id)))


def _done_counts(task: TaskRow, instance: InstanceProgress | None) -> tuple[tuple[str, int], ...]:
    """The ready sibling instances of a completed instance learn how many are done now."""
    if instance is None or task.instance_total is None:
        return ()
    return ((task.bpmn_id, instance.done),)


def _instances_done(ready: list[TaskRow], task: TaskRow, instance: InstanceProgress | None) -> list[TaskRow]:
    """The remembered ready rows as `_done_counts` leaves them."""
    counts = dict(_done_counts(task, instance))
    return [
        replace(t, instance_done=counts[t.bpmn_id])
        if t.bpmn_id in counts and t.instance_total is not None
        else t
        for t in ready
    ]


def _refuse_unexpected_version(launch: LaunchRow, expected: int | None) -> None:
    if expected is not None and launch.version != expected:
        raise PreconditionFailedError(
            f"launch {launch.id} is at version {launch.version}, not {expected}",
            current_version=launch.version,
        )


def _check(
    ctx: EngineContext,
    task: TaskRow,
    snapshot: LaunchSnapshot,
    process: LoadedProcess,
    *,
    data: Mapping[str, Any],
    actor: Actor,
    reviews_by: str | None,
) -> dict[str, Any]:
    """Everything that may refuse a completion before the workflow runs; the validated form values."""
    launch = snapshot.launch
    require_ready(task, launch)
    facts = permissions.TaskFacts(
        role=task.role,
        assignee=task.assignee,
        status=TaskStatus(task.status),
        launch_pm=launch.pm,
        reviews_author=reviews_by,
    )
    ctx.require(permissions.may_complete(actor, facts), actor, "task.complete")
    values = validate_task_submission(process.forms, task.bpmn_id, data, today=ctx.clock.now().date())
    spec = process.model.tasks[task.bpmn_id]
    gate.refuse_go_live_while_blocked(process.model, spec, snapshot.facts.values(), snapshot.ready)
    return values


def _run(
    workflow: RunningWorkflow,
    task: TaskRow,
    spec: UserTaskModel,
    snapshot: LaunchSnapshot,
    process: LoadedProcess,
    *,
    values: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> _Ran:
    """Complete the task in the workflow (in memory) and work out what that does to the gate."""
    before_doc = workflow.data_for(task.id).get(spec.document)
    data_after = workflow.complete_user_task(task.id, document=spec.document, data=values)
    instance = workflow.completed_instance
    changes = gate.changes_after_completion(
        process.model,
        spec,
        data_after=data_after,
        actor=actor.username,
        at=now,
        facts=snapshot.facts,
        # A task that is an instance decides with its multi-instance; one inside an instance of a
        # multi-instance sub-process decides like any task (the sub-process ends in the steps after it).
        instance=instance if instance is not None and instance.bpmn_id == task.bpmn_id else None,
    )
    facts = gate.apply_changes(snapshot.facts, changes)
    outcome = settle(workflow, snapshot.launch, facts.values())
    return _Ran(
        values=values,
        before_doc=before_doc,
        changes=changes,
        facts=facts,
        outcome=outcome,
        ready=outcome.ready,
        instance=instance,
        state=dump_state(workflow),
        next_timer_at=workflow.next_timer_at(),
        waiting=waiting_rows(workflow),
        workflow=workflow,
    )


def _after(launch: LaunchRow, ran: _Ran, *, now: datetime) -> LaunchRow:
    return replace(
        launch,
        version=launch.version + 1,
        updated_at=now,
        status=ran.outcome.status.value,
        completed_at=now if ran.outcome.ended else None,
        gate_passed=gate.passed_count(ran.facts.values()),
        blocked_by=gate.blocked_by_summary(sorted(ran.facts.values(), key=lambda f: f.position)),
        next_timer_at=ran.next_timer_at,
        waiting=ran.waiting,
    )


def _messages(
    launch: LaunchRow,
    task: TaskRow,
    spec: UserTaskModel,
    *,
    ran: _Ran,
    new_tasks: Sequence[NewTask],
    actor: Actor,
    author: str | None,
    model: ProcessModel,
) -> list[Message]:
    """What completing a task sends: the diagram's `sends` message (the launch notice, with the tasks it
    opened), a review outcome to the author of the reviewed document, the messages of the send and
    service tasks the completion ran, and what its events threw."""
    values, tasks = ran.values, model.tasks
    messages = ran.sent(launch, model, new_tasks)
    if spec.sends:
        next_tasks = [{"id": t.row.id, "bpmn_id": t.row.bpmn_id, "title": t.row.title} for t in new_tasks]
        payload = {
            "launch_id": launch.id,
            "product_name": launch.product_name,
            "content": dict(values),
            "next_tasks": next_tasks,
        }
        messages.append(Message(spec.sends, f"{spec.sends}:{launch.id}:{task.id}", task.id, payload))
    if spec.reviews and author is not None:
        # The author's next step, when the review opened one (the revision): the mail links there.
        writers = {t.id for t in tasks.values() if t.document == spec.reviews}
        answer = next((t.row.id for t in new_tasks if t.row.bpmn_id in writers), task.id)
        outcome = {
            "task_id": answer,
            "review_task_id": task.id,
            "title": task.title,
            "reviewer": actor.username,
            "decision": values.get("decision"),
            "comment": values.get("comment"),
            "to": {"users": [author]},
        }
        messages.append(Message("review_outcome", f"review_outcome:{task.id}", task.id, outcome))
    return [*messages, *ran.outcome.messages]


def _audit_entry(
    task: TaskRow, spec: UserTaskModel, ran: _Ran, new_tasks: Sequence[NewTask], actor: Actor, *, status: str
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action="task.completed",
        task_id=task.id,
        before={spec.document: ran.before_doc} if ran.before_doc is not None else None,
        after=ran.values,
        detail={
            "task": task.bpmn_id,
            "title": task.title,
            "decision": ran.values.get("decision"),
            "comment": ran.values.get("comment"),
            "gate": [
                {"item": c.key, "status": c.status.value, "content_hash": c.content_hash} for c in ran.changes
            ],
            "new_tasks": [t.row.bpmn_id for t in new_tasks],
            "launch_status": status,
            **ran.outcome.detail(),
        },
    )
