"""Starting an event sub-process on a message changes nothing for the other launches of the version.

SpiffWorkflow wires a started event sub-process into its process spec, and specs are shared by every
launch of a version (engine.runtime.triggers). Found by the corpus: after one launch caught the message,
the next launch of the same version started with nothing open and waited for the event sub-process."""

from __future__ import annotations

from engine import Database, FixedClock, WorkflowEngine
from tests.engine.driver import AUDITOR, PM, actor_for, add_people, assert_state_round_trips
from tests.engine.form_examples import VALID_LAUNCH_START
from tests.engine.test_corpus import deploy

PROCESS = "event_subprocess_message"


def _start(engine: WorkflowEngine) -> str:
    return engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=PROCESS).id


def _fresh(engine: WorkflowEngine, launch_id: str) -> WorkflowEngine:
    """A new engine on the same rows: the launch restored from its stored state."""
    assert_state_round_trips(engine, launch_id)
    return WorkflowEngine(engine.db, clock=engine.clock, holidays=engine.holidays)


def _open(engine: WorkflowEngine, launch_id: str) -> list[str]:
    return [t.bpmn_id for t in engine.get_launch(launch_id=launch_id, actor=AUDITOR).open_tasks]


def test_a_launch_after_one_that_caught_the_message_starts_as_the_diagram_says(
    database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)
    add_people(engine)
    deploy(engine, PROCESS)
    called_off = _start(engine)
    engine.send_message(launch_id=called_off, name="launch_called_off", payload={}, actor=PM)
    assert _open(engine, called_off) == ["tell_the_team"]

    later = _start(engine)
    assert _open(engine, later) == ["run_beta"]
    engine = _fresh(engine, later)
    task = engine.get_launch(launch_id=later, actor=AUDITOR).open_tasks[0]
    assert engine.complete_task(task_id=task.id, data={}, actor=actor_for(task)).status.value == "live"


def test_a_restored_launch_finishes_the_event_sub_process_it_had_started(
    database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)
    add_people(engine)
    deploy(engine, PROCESS)
    launch_id = _start(engine)
    engine.send_message(launch_id=launch_id, name="launch_called_off", payload={}, actor=PM)
    engine = _fresh(engine, launch_id)
    task = engine.get_launch(launch_id=launch_id, actor=AUDITOR).open_tasks[0]
    assert task.bpmn_id == "tell_the_team"
    assert engine.complete_task(task_id=task.id, data={}, actor=actor_for(task)).status.value == "live"
    assert _open(_fresh(engine, launch_id), launch_id) == []
