"""Start a launch: validated start data, the newest process version, the first tasks in the index."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from engine import permissions
from engine.commands.connectors import connector_messages
from engine.commands.context import EngineContext
from engine.commands.outcome import waiting_rows
from engine.commands.write import AuditEntry, plan_new_tasks, write_new_launch
from engine.db import repository as repo
from engine.db.rows import LaunchRow, NewTask
from engine.domain import Actor, GateFact, GateItemStatus, LaunchStatus, LaunchView
from engine.errors import FieldProblem, ValidationFailedError, WorkflowStuckError
from engine.forms.submissions import validate_start_submission
from engine.model import ProcessModel
from engine.runtime import RunningWorkflow
from engine.serialization import dump_state
from engine.snapshots import LaunchSnapshot
from engine.views import full_view

logger = logging.getLogger(__name__)

# Start fields that configure the launch itself; they are stored on the launch row, not in the workflow data.
_LAUNCH_SETTINGS = ("support_distribution", "due_overrides")


def start_launch(ctx: EngineContext, *, data: Mapping[str, Any], actor: Actor, process_id: str) -> LaunchView:
    ctx.require(permissions.may_start_launch(actor), actor, "launch.start")
    with ctx.db.read() as session:
        version = repo.latest_process_version(session, process_id) if _plausible(process_id) else None
        if version is None:
            message = f"Process: no process {process_id[:100]!r} is deployed"
            raise ValidationFailedError(message, [FieldProblem(("process",), message, "process_unknown")])
        version_id, version_number = version.id, version.version
        process = ctx.process(version_id, session)
    model = process.model
    values = validate_start_submission(
        process.forms,
        data,
        today=ctx.clock.now().date(),
        task_ids=model.tasks.keys(),
    )
    launch_id = str(uuid4())
    try:
        workflow = RunningWorkflow.start(
            process.spiff_spec,
            start_data={k: v for k, v in values.items() if k not in _LAUNCH_SETTINGS},
            launch_id=launch_id,
            clock=ctx.clock,
        )
    except WorkflowStuckError as exc:  # e.g. the step budget: nothing is stored, the refusal audited
        ctx.record_event(
            actor=actor,
            action="launch.start_failed",
            detail={"process_id": model.process_id, "reason": exc.message},
        )
        raise
    now = ctx.clock.now()
    launch = _launch_row(launch_id, version_id, model, values, actor=actor, now=now, workflow=workflow)
    facts = _open_facts(model, now)
    new_tasks = _write(ctx, workflow, launch, model, facts, values=values, actor=actor, number=version_number)
    # Nobody has written any document yet, so every reviewed document's author is known: nobody.
    snapshot = LaunchSnapshot(
        launch=launch,
        facts={f.key: f for f in facts},
        ready=tuple(sorted((t.row for t in new_tasks), key=lambda t: (t.created_at, t.id))),
        authors={t.reviews: None for t in model.tasks.values() if t.reviews},
    )
    ctx.cache.put(launch_id, 1, workflow, snapshot)
    logger.info("launch %s started by %s", launch_id, actor.username)
    ctx.committed("start_launch")
    return full_view(snapshot, model, ctx.label(version_id))


def _write(
    ctx: EngineContext,
    workflow: RunningWorkflow,
    launch: LaunchRow,
    model: ProcessModel,
    facts: tuple[GateFact, ...],
    *,
    values: Mapping[str, Any],
    actor: Actor,
    number: int,
) -> list[NewTask]:
    """Store the new launch with its first tasks and the messages of the steps that ran."""
    ready = workflow.ready_user_tasks()
    new_tasks = plan_new_tasks(ctx, launch, model, ready, known=frozenset(), now=launch.created_at)
    ctx.hook("start_launch")
    entry = AuditEntry(
        actor=actor,
        action="launch.started",
        after=values,
        detail={
            "process_id": model.process_id,
            "process_version": number,
            "new_tasks": [t.row.bpmn_id for t in new_tasks],
        },
    )
    messages = connector_messages(workflow, launch, model, new_tasks=new_tasks)
    state = dump_state(workflow)
    write_new_launch(
        ctx, launch, state=state, facts=facts, new_tasks=new_tasks, entry=entry, messages=messages
    )
    return new_tasks


def _plausible(process_id: object) -> bool:
    """A process id worth looking up: a short text (anything else cannot name a deployed process)."""
    return isinstance(process_id, str) and 0 < len(process_id) <= 200


def _launch_row(
    launch_id: str,
    version_id: int,
    model: ProcessModel,
    values: Mapping[str, Any],
    *,
    actor: Actor,
    now: datetime,
    workflow: RunningWorkflow,
) -> LaunchRow:
    raw_list, raw_days = values.get("support_distribution"), values.get("due_overrides")
    return LaunchRow(
        id=launch_id,
        process_version_id=version_id,
        product_name=str(values["product_name"]),
        summary=str(values["summary"]),
        planned_launch_date=date.fromisoformat(str(values["planned_launch_date"])),
        pm=actor.username,
        status=LaunchStatus.ACTIVE.value,
        version=1,
        gate_total=len(model.gate_items),
        gate_passed=0,
        blocked_by=",".join(g.key for g in model.gate_items),
        created_at=now,
        updated_at=now,
        completed_at=None,
        support_distribution=tuple(str(a) for a in raw_list) if isinstance(raw_list, list) else (),
        due_overrides={str(k): int(v) for k, v in raw_days.items()} if isinstance(raw_days, dict) else {},
        next_timer_at=workflow.next_timer_at(),
        waiting=waiting_rows(workflow),
    )


def _open_facts(model: ProcessModel, now: datetime) -> tuple[GateFact, ...]:
    return tuple(
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
