"""Drive launches through the engine API the way users do, for tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from engine import Actor, LaunchView, Role, TaskView, WorkflowEngine
from engine.forms.diagram import read_form_files
from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START

_FORMS_DIR = Path(__file__).resolve().parents[2] / "forms" / "launch_gate"


def shipped_form_files() -> dict[str, bytes]:
    """The shipped launch gate's form files by name: what a variant of the shipped diagram deploys with."""
    return read_form_files(_FORMS_DIR)


PM = Actor("pat.pm", frozenset({Role.PM}))
OTHER_PM = Actor("olga.pm", frozenset({Role.PM}))
SUPPORT = Actor("sam.support", frozenset({Role.SUPPORT_LEAD}))
SUPPORT_2 = Actor("sue.support", frozenset({Role.SUPPORT_LEAD}))
MANAGER = Actor("max.manager", frozenset({Role.SUPPORT_MANAGER}))
AUDITOR = Actor("ann.auditor", frozenset({Role.AUDITOR}))
ADMIN = Actor("ada.admin", frozenset({Role.ADMIN}))


def form(task_id: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID_FORM_DATA[task_id])
    data.update(changes)
    return data


def request_changes(task_id: str) -> dict[str, Any]:
    return form(task_id, decision="request_changes", comment="Please add the support impact per channel.")


def start(engine: WorkflowEngine, actor: Actor = PM, **changes: Any) -> LaunchView:
    data = dict(VALID_LAUNCH_START)
    data.update(changes)
    return engine.start_launch(data=data, actor=actor)


def actor_for(task: TaskView) -> Actor:
    return PM if task.role == "pm" else SUPPORT


def open_task(launch: LaunchView, bpmn_id: str) -> TaskView:
    for task in launch.open_tasks:
        if task.bpmn_id == bpmn_id:
            return task
    raise AssertionError(f"{bpmn_id} is not open; open: {[t.bpmn_id for t in launch.open_tasks]}")


def complete(
    engine: WorkflowEngine, launch: LaunchView, bpmn_id: str, data: dict[str, Any] | None = None
) -> LaunchView:
    task = open_task(launch, bpmn_id)
    return engine.complete_task(
        task_id=task.id, data=data if data is not None else form(bpmn_id), actor=actor_for(task)
    )


def add_people(engine: WorkflowEngine, *actors: Actor, active: bool = True) -> None:
    """Actors as user accounts (tasks are assigned only to active users holding the task's role); without
    actors, every actor of this module. Nobody can sign in with them (no password hash)."""
    from engine.db.models import UserRecord

    now = engine.clock.now()
    with engine.db.write() as session:
        for actor in actors or (PM, OTHER_PM, SUPPORT, SUPPORT_2, MANAGER, AUDITOR, ADMIN):
            session.add(
                UserRecord(
                    username=actor.username,
                    display_name=actor.username,
                    email=f"{actor.username}@example.com",
                    password_hash="-",
                    roles=",".join(sorted(r.value for r in actor.roles)),
                    active=active,
                    created_at=now,
                    updated_at=now,
                )
            )


def restart(engine: WorkflowEngine) -> WorkflowEngine:
    """A new engine on the same database and clock: no cached workflows, state comes from the rows alone."""
    return WorkflowEngine(engine.db, clock=engine.clock, holidays=engine.holidays)


HAPPY_PATH: tuple[str, ...] = (
    "draft_proposal",
    "review_proposal",
    "open_beta",
    "complete_beta_faq",
    "draft_report_template",
    "review_report_template",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
)


def advance(engine: WorkflowEngine, launch: LaunchView, *bpmn_ids: str) -> LaunchView:
    """Complete the named open tasks in order, each with valid data by the role's usual actor."""
    for bpmn_id in bpmn_ids:
        launch = complete(engine, launch, bpmn_id)
    return launch


def advance_until(engine: WorkflowEngine, launch: LaunchView, bpmn_id: str) -> LaunchView:
    """Follow the happy path until `bpmn_id` is open (every step before it in HAPPY_PATH completed)."""
    return advance(engine, launch, *HAPPY_PATH[: HAPPY_PATH.index(bpmn_id)])


def stored_state(engine: WorkflowEngine, launch_id: str) -> str:
    """The workflow state exactly as the `launch` row holds it."""
    from engine.db.models import LaunchRecord

    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch_id)
        assert record is not None, f"launch {launch_id} is not stored"
        return record.state


def assert_state_round_trips(engine: WorkflowEngine, launch_id: str) -> str:
    """Restore the stored state with its process version's spec and dump it again: the JSON must not change.
    Returns the stored state."""
    from engine.db.models import LaunchRecord
    from engine.serialization import dump_state, restore_state

    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch_id)
        assert record is not None, f"launch {launch_id} is not stored"
        state, version_id = record.state, record.process_version_id
    spec = engine._process(version_id).spiff_spec
    again = dump_state(restore_state(state, spec, launch_id=launch_id))
    assert again == state, "stored workflow state does not round-trip through restore_state/dump_state"
    return state
