"""Messages and signals reaching a launch: from the messages API (`send_message`) and from the throw events
of other launches (`deliver_thrown`, called by the worker for each `bpmn_event` outbox message).

One delivery is a command like a completion: decided on the launch's rows at one version, the workflow run
in memory, everything written in one transaction guarded by that version (engine.commands.write), audited
`message.received` / `signal.received`. A message lands in the workflow data under its name (validated by
the JSON schema its catching event names with the `messageSchema` property, if any).

Who receives a thrown event (the correlation rule):
- a signal: every other active launch that waits for that signal name (the throwing launch itself catches
  it inside its own workflow, when one of its events waits for it);
- a message: every other active launch *of the same process* (any version) that waits for that message
  name. Its payload is the thrower's data document named like the message (an object), else empty.
Delivery is at least once and idempotent: each receiving launch remembers the outbox key it took
(RunningWorkflow.receive with `key`), so a repeated delivery changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn
from uuid import uuid4

from engine import audit, permissions
from engine.commands.connectors import connector_messages
from engine.commands.context import EngineContext
from engine.commands.outcome import launch_after, settle
from engine.commands.runner import refusal_of, run_command
from engine.commands.write import AuditEntry, LaunchChange, plan_new_tasks, write_change
from engine.db import repository as repo
from engine.db import rows
from engine.db.rows import LaunchRow, TaskRow
from engine.domain import SYSTEM_ACTOR, Actor, GateFact, LaunchStatus, LaunchView
from engine.errors import ConflictError, FieldProblem, NotFoundError, ValidationFailedError, must_exist
from engine.runtime import RunningWorkflow
from engine.runtime.events import MESSAGE, SIGNAL, value_at
from engine.serialization import dump_state
from engine.snapshots import LaunchSnapshot
from engine.specs import LoadedProcess
from engine.views import full_view

logger = logging.getLogger(__name__)

# How many active launches one thrown event is offered to (each is restored to see whether it waits).
MAX_RECEIVERS = 500


@dataclass(frozen=True)
class Delivery:
    kind: str  # message or signal
    name: str
    payload: Mapping[str, Any]
    actor: Actor
    key: str | None = None  # the outbox key of a thrown event (None: from the API)
    from_launch: str | None = None
    correlate: tuple[str, Any] | None = None  # only launches whose data has this value at this path


def send_message(
    ctx: EngineContext, *, launch_id: str, name: str, payload: Mapping[str, Any], actor: Actor
) -> LaunchView:
    """Deliver a message from outside to the launch's events waiting for `name`. NotFoundError: no such
    launch; ConflictError: the launch is not active or nothing in it waits for that message;
    ValidationFailedError: the payload does not fit the waiting event's schema."""
    ctx.require(permissions.may_send_message(actor), actor, "message.send")
    delivery = Delivery(MESSAGE, name, payload, actor)
    view = run_command(
        "message.receive",
        f"launch {launch_id}",
        partial(_attempt, ctx, launch_id, delivery, strict=True),
        refusals=_LaunchRefusals(ctx, launch_id, actor),
    )
    assert view is not None  # strict: nothing waiting is a ConflictError
    return view


def deliver_thrown(ctx: EngineContext, payload: Mapping[str, Any], *, key: str) -> list[str]:
    """Offer a thrown message or signal (a `bpmn_event` outbox payload) to the launches the correlation
    rule picks; the ids of those that took it. A launch that cannot take it (its payload does not fit,
    its workflow fails) is audited and skipped; the others still get it."""
    kind, name = str(payload.get("kind")), str(payload.get("name"))
    sender = str(payload.get("from_launch"))
    rule = payload.get("correlate")
    correlate = (str(rule["path"]), rule.get("value")) if isinstance(rule, dict) and "path" in rule else None
    same_process = payload.get("process_version_id") if kind == MESSAGE and correlate is None else None
    with ctx.db.read() as session:
        targets = repo.active_launches_of(
            session,
            process_version_id=int(same_process) if same_process is not None else None,
            exclude=sender,
            limit=MAX_RECEIVERS,
        )
    body = payload.get("payload")
    delivery = Delivery(
        kind, name, body if isinstance(body, dict) else {}, SYSTEM_ACTOR, key, sender, correlate
    )
    reached = []
    for launch_id in targets:
        try:
            took = run_command(
                f"{kind}.receive",
                f"launch {launch_id}",
                partial(_attempt, ctx, launch_id, delivery, strict=False),
                refusals=_LaunchRefusals(ctx, launch_id, SYSTEM_ACTOR),
            )
        except (ConflictError, ValidationFailedError, NotFoundError) as exc:
            logger.warning("launch %s did not take %s %r: %s", launch_id, kind, name, exc.message)
            continue
        if took is not None:
            reached.append(launch_id)
    return reached


def broadcast_signal(ctx: EngineContext, *, name: str, actor: Actor) -> list[str]:
    """Admins: a signal from outside to every active launch waiting for `name`; the ids of those that
    took it (each in its own transaction, audited `signal.received`), audited `signal.sent` once."""
    ctx.require(permissions.may_broadcast_signal(actor), actor, "signal.send")
    key = f"signal:{uuid4()}"
    with ctx.db.read() as session:
        targets = repo.active_launches_of(session, process_version_id=None, exclude="", limit=MAX_RECEIVERS)
    delivery = Delivery(SIGNAL, name, {}, actor, key)
    reached = []
    for launch_id in targets:
        took = run_command(
            "signal.receive",
            f"launch {launch_id}",
            partial(_attempt, ctx, launch_id, delivery, strict=False),
            refusals=_LaunchRefusals(ctx, launch_id, actor),
        )
        if took is not None:
            reached.append(launch_id)
    ctx.record_event(actor=actor, action="signal.sent", detail={"signal": name, "reached": reached})
    return reached


def _attempt(ctx: EngineContext, launch_id: str, delivery: Delivery, *, strict: bool) -> LaunchView | None:
    """One attempt; None (nothing written) when not strict and the launch does not wait for it."""
    with ctx.db.read() as session:
        launch, state = must_exist(rows.read_launch_with_state(session, launch_id), f"launch {launch_id}")
        process = ctx.process(launch.process_version_id, session)
        facts = rows.read_gate_facts(session, launch.id)
        open_rows = rows.read_ready_tasks(session, launch.id)
    if launch.status != LaunchStatus.ACTIVE.value:
        if not strict:
            return None
        raise ConflictError(f"launch {launch_id} is {launch.status}; it waits for no message")
    workflow, _ = ctx.restore(launch.id, launch.version, state, process)
    waiting = [
        e.bpmn_id for e in workflow.waiting_events() if e.kind == delivery.kind and e.name == delivery.name
    ]
    if (
        not waiting
        or (delivery.key is not None and workflow.has_received(delivery.key))
        or _uncorrelated(workflow, delivery)
    ):
        if not strict:
            return None
        raise ConflictError(f"nothing in launch {launch_id} waits for the {delivery.kind} {delivery.name!r}")
    values = _validated(ctx, process, waiting, delivery)
    workflow.receive(delivery.kind, delivery.name, values, key=delivery.key)
    return _write(ctx, _Received(launch, process, facts, open_rows, waiting, values), workflow, delivery)


@dataclass(frozen=True)
class _Received:
    launch: LaunchRow
    process: LoadedProcess
    facts: tuple[GateFact, ...]
    open_rows: tuple[TaskRow, ...]
    waiting: list[str]  # the BPMN ids of the events that caught it
    values: dict[str, Any] | None


def _write(ctx: EngineContext, got: _Received, workflow: RunningWorkflow, delivery: Delivery) -> LaunchView:
    """Write what the delivery did in one transaction guarded by the launch version; the launch view."""
    launch, now = got.launch, ctx.clock.now()
    outcome = settle(workflow, launch, got.facts)
    known = frozenset(t.id for t in got.open_rows)
    ready_ids = {t.id for t in outcome.ready}
    new_tasks = plan_new_tasks(ctx, launch, got.process.model, outcome.ready, known=known, now=now)
    after = launch_after(launch, workflow, outcome, now=now)
    detail = {
        delivery.kind: delivery.name,
        "caught_by": got.waiting,
        "new_tasks": [t.row.bpmn_id for t in new_tasks],
        "cancelled_tasks": sorted(t.bpmn_id for t in got.open_rows if t.id not in ready_ids),
        "launch_status": after.status,
        **({"from_launch": delivery.from_launch, "key": delivery.key} if delivery.key else {}),
        **outcome.detail(),
    }
    entry = AuditEntry(
        actor=delivery.actor,
        action=f"{delivery.kind}.received",
        after={delivery.name: got.values} if delivery.kind == MESSAGE else None,
        detail=detail,
    )
    ctx.hook("receive_message")
    write_change(
        ctx,
        LaunchChange(
            before=launch,
            after=after,
            now=now,
            state=dump_state(workflow),
            new_tasks=new_tasks,
            gone=known - ready_ids,
            messages=[
                *outcome.messages,
                *connector_messages(workflow, launch, got.process.model, new_tasks=new_tasks),
            ],
            audit=entry,
        ),
    )
    ctx.cache.put(launch.id, after.version, workflow)
    ctx.committed("receive_message")
    ready = [*(t for t in got.open_rows if t.id in ready_ids), *(t.row for t in new_tasks)]
    ready.sort(key=lambda t: (t.created_at, t.id))  # the index order, as a fresh read gives it
    snapshot = LaunchSnapshot(launch=after, facts={f.key: f for f in got.facts}, ready=tuple(ready))
    return full_view(snapshot, got.process.model, ctx.label(after.process_version_id))


def _uncorrelated(workflow: RunningWorkflow, delivery: Delivery) -> bool:
    """A correlated message whose value the receiving launch's data does not hold."""
    if delivery.correlate is None:
        return False
    path, value = delivery.correlate
    return value is None or value_at(workflow.latest_data(), path) != value


def _validated(
    ctx: EngineContext, process: LoadedProcess, waiting: list[str], delivery: Delivery
) -> dict[str, Any] | None:
    """The payload as the waiting events' schemas accept it (the first schema found); a signal has none."""
    if delivery.kind == SIGNAL:
        return None
    for bpmn_id in waiting:
        form = process.forms.forms.get(bpmn_id)
        if form is not None:
            subject = f"the message {delivery.name!r}"
            return form.validate(dict(delivery.payload), today=ctx.clock.now().date(), subject=subject)
    if not isinstance(delivery.payload, Mapping):
        problem = FieldProblem((), "the message payload must be a JSON object", "dict_type")
        raise ValidationFailedError(problem.message, [problem])
    return dict(delivery.payload)


class _LaunchRefusals:
    """A delivery refused: one audit row on the launch (`message.receive_conflict`, `_invalid`, ...)."""

    def __init__(self, ctx: EngineContext, launch_id: str, actor: Actor) -> None:
        self.ctx, self.launch_id, self.actor = ctx, launch_id, actor

    def exhausted(self) -> NoReturn:
        raise ConflictError("the launch is changing too fast; please try again")

    def refused(self, exc: Exception) -> NoReturn:
        found = refusal_of(exc)
        if found is not None:
            suffix, extra = found
            with self.ctx.db.write() as session:
                if rows.read_launch(session, self.launch_id) is not None:
                    audit.append_event(
                        session,
                        actor=self.actor,
                        action=f"message.receive_{suffix}",
                        at=self.ctx.clock.now(),
                        launch_id=self.launch_id,
                        detail={"reason": getattr(exc, "message", str(exc)), **extra},
                    )
        raise exc
