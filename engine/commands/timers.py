"""Fire the BPMN timers that are due by the clock (the worker calls this every tick).

Only launches whose `next_timer_at` has come are restored. Each one is a command like a completion: new
state, task index, audit row `timer.fired`, all in one transaction guarded by the launch version (two
workers racing for one launch: one wins, the other finds nothing due). A timer that cannot fire is
audited `timer.failed` and taken off the schedule (engine.commands.runner.TimerRefusals).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from engine.commands.connectors import connector_messages
from engine.commands.context import EngineContext
from engine.commands.outcome import launch_after, settle
from engine.commands.runner import TimerRefusals, run_command
from engine.commands.write import AuditEntry, LaunchChange, plan_new_tasks, write_change
from engine.db import repository as repo
from engine.db import rows
from engine.db.rows import LaunchRow, TaskRow
from engine.domain import GateFact, LaunchStatus
from engine.scheduling import WORKER_ACTOR
from engine.serialization import dump_state
from engine.specs import LoadedProcess

logger = logging.getLogger(__name__)


def fire_due_timers(ctx: EngineContext, *, limit: int) -> list[str]:
    """Returns the ids of the launches that advanced."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        due = repo.due_timer_launches(session, now=now, limit=limit)
    return [
        launch_id
        for launch_id in due
        if run_command(
            "timer.fire",
            f"launch {launch_id}",
            partial(_fire_once, ctx, launch_id),
            refusals=TimerRefusals(ctx, launch_id, due_by=now),
        )
    ]


def _read_due(
    ctx: EngineContext, launch_id: str, *, now: datetime
) -> tuple[LaunchRow, str, LoadedProcess, tuple[GateFact, ...], tuple[TaskRow, ...]] | None:
    """The launch's rows and stored state when its timers are due (None: nothing to do)."""
    with ctx.db.read() as session:
        found = rows.read_launch_with_state(session, launch_id)
        if found is None:
            return None
        launch, stored_state = found
        if (
            launch.status != LaunchStatus.ACTIVE.value
            or launch.next_timer_at is None
            or launch.next_timer_at > now
        ):
            return None
        process = ctx.process(launch.process_version_id, session)
        return (
            launch,
            stored_state,
            process,
            rows.read_gate_facts(session, launch.id),
            rows.read_ready_tasks(session, launch.id),
        )


def _fire_once(ctx: EngineContext, launch_id: str) -> bool:
    now = ctx.clock.now()
    due = _read_due(ctx, launch_id, now=now)
    if due is None:
        return False
    launch, stored_state, process, facts, open_rows = due
    workflow, _ = ctx.restore(launch.id, launch.version, stored_state, process)
    fired = workflow.fire_due_timers()
    outcome = settle(workflow, launch, facts)
    ready = outcome.ready
    known = frozenset(t.id for t in open_rows)
    gone = known - {t.id for t in ready}
    new_tasks = plan_new_tasks(ctx, launch, process.model, ready, known=known, now=now)
    after = launch_after(launch, workflow, outcome, now=now)
    entry = AuditEntry(
        actor=WORKER_ACTOR,
        action="timer.fired",
        detail={
            "timers": fired,
            "new_tasks": [t.row.bpmn_id for t in new_tasks],
            "cancelled_tasks": sorted(t.bpmn_id for t in open_rows if t.id in gone),
            **outcome.detail(),
        },
    )
    state = dump_state(workflow)
    ctx.hook("fire_timers")
    write_change(
        ctx,
        LaunchChange(
            before=launch,
            after=after,
            now=now,
            state=state,
            new_tasks=new_tasks,
            gone=gone,
            messages=[
                *outcome.messages,
                *connector_messages(workflow, launch, process.model, new_tasks=new_tasks),
            ],
            audit=entry if fired else None,
        ),
    )
    ctx.cache.put(launch.id, after.version, workflow)
    logger.info(
        "launch %s: timers %s fired, new tasks %s", launch.id, fired, [t.row.bpmn_id for t in new_tasks]
    )
    return bool(fired)
