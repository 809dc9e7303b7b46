"""BPMN timers with a fake clock (tests/fixtures/bpmn/timed_launch.bpmn): an intermediate timer waits two
hours after the proposal; an interrupting boundary timer on the review sends the launch back to the PM
when support has not answered in two days. The worker fires them; nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import DeliveryConfig, FixedClock, LaunchStatus, LaunchView, Worker, WorkflowEngine
from engine.db.models import LaunchRecord, TaskRecord
from tests.conftest import FIXTURES
from tests.engine import driver
from tests.engine.form_examples import VALID_LAUNCH_START

DIAGRAM = (FIXTURES / "bpmn" / "timed_launch.bpmn").read_bytes()
T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def timed(engine: WorkflowEngine) -> WorkflowEngine:
    assert engine.check_diagram(DIAGRAM) == []
    engine.deploy_process(xml=DIAGRAM, actor=driver.ADMIN, files=driver.shipped_form_files())
    return engine


def _start(engine: WorkflowEngine) -> LaunchView:
    return engine.start_launch(data=dict(VALID_LAUNCH_START), actor=driver.PM, process_id="timed_launch")


def _next_timer_at(engine: WorkflowEngine, launch_id: str) -> datetime | None:
    with engine.db.read() as session:
        return session.execute(
            select(LaunchRecord.next_timer_at).where(LaunchRecord.id == launch_id)
        ).scalar_one()


def _open(engine: WorkflowEngine, launch_id: str) -> list[str]:
    return sorted(t.bpmn_id for t in engine.get_launch(launch_id=launch_id, actor=driver.PM).open_tasks)


def _tick_at(worker: Worker, clock: FixedClock, moment: datetime) -> int:
    clock.set(moment)
    return worker.tick().timers


def test_worker_fires_intermediate_and_boundary_timers_by_the_clock(
    timed: WorkflowEngine, clock: FixedClock
) -> None:
    worker = Worker(timed, DeliveryConfig())
    launch = driver.complete(timed, _start(timed), "draft_proposal")

    assert launch.open_tasks == ()  # waiting for the cooling-off timer
    assert _next_timer_at(timed, launch.id) == T0 + timedelta(hours=2)
    assert _tick_at(worker, clock, T0 + timedelta(hours=1, minutes=59)) == 0
    assert _open(timed, launch.id) == []

    assert _tick_at(worker, clock, T0 + timedelta(hours=2)) == 1
    assert _open(timed, launch.id) == ["review_proposal"]
    review_ready = T0 + timedelta(hours=2)
    assert _next_timer_at(timed, launch.id) == review_ready + timedelta(days=2)  # the boundary timer

    # a restarted engine (no cache) and its worker carry on from the stored state alone
    restarted = driver.restart(timed)
    worker = Worker(restarted, DeliveryConfig())
    assert _tick_at(worker, clock, review_ready + timedelta(days=1)) == 0
    assert _tick_at(worker, clock, review_ready + timedelta(days=2)) == 1
    assert _open(restarted, launch.id) == ["revise_proposal"]  # the review was interrupted
    with restarted.db.read() as session:
        reviews = session.execute(
            select(TaskRecord.status).where(
                TaskRecord.launch_id == launch.id, TaskRecord.bpmn_id == "review_proposal"
            )
        ).scalars()
        assert list(reviews) == ["cancelled"]
    history = restarted.launch_history(launch_id=launch.id, actor=driver.AUDITOR)
    fired = [e.detail for e in history if e.action == "timer.fired"]
    assert [d["timers"] for d in fired] == [["cooling_off"], ["review_timeout"]]
    assert fired[1]["cancelled_tasks"] == ["review_proposal"]
    assert fired[1]["new_tasks"] == ["revise_proposal"]

    # the way on: revise, review again (a new boundary timer), approve, go live
    launch = restarted.get_launch(launch_id=launch.id, actor=driver.PM)
    launch = driver.complete(restarted, launch, "revise_proposal")
    assert _next_timer_at(restarted, launch.id) == clock.now() + timedelta(days=2)
    launch = driver.complete(restarted, launch, "review_proposal")
    assert _next_timer_at(restarted, launch.id) is None  # the review finished before its timer
    launch = driver.complete(restarted, launch, "go_live")
    assert launch.status is LaunchStatus.LIVE
    assert _tick_at(worker, clock, clock.now() + timedelta(days=30)) == 0
    driver.assert_state_round_trips(restarted, launch.id)
    assert restarted.verify_audit().ok


def test_fire_due_timers_restores_only_launches_whose_timer_is_due(
    timed: WorkflowEngine, clock: FixedClock
) -> None:
    waiting = driver.complete(timed, _start(timed), "draft_proposal")
    clock.advance(timedelta(hours=1))
    later = driver.complete(timed, _start(timed), "draft_proposal")
    plain = driver.start(timed)  # the shipped process has no timers
    assert _next_timer_at(timed, plain.id) is None

    clock.set(T0 + timedelta(hours=2, minutes=30))
    assert timed.fire_due_timers() == [waiting.id]
    clock.set(T0 + timedelta(hours=3))
    assert timed.fire_due_timers() == [later.id]
    assert timed.fire_due_timers() == []


def test_timer_values_bare_or_quoted_are_accepted_and_others_refused_naming_the_event(
    timed: WorkflowEngine,
) -> None:
    assert timed.check_diagram(DIAGRAM.replace(b"'PT2H'", b"PT2H")) == []
    problems = timed.check_diagram(DIAGRAM.replace(b"'PT2H'", b"two hours"))

    assert [p.element_id for p in problems] == ["cooling_off"]
    assert "ISO 8601" in problems[0].message


def test_boundary_timer_that_bypasses_a_gate_item_is_refused(timed: WorkflowEngine) -> None:
    bypass = DIAGRAM.replace(
        b'sourceRef="review_timeout" targetRef="revise_proposal"',
        b'sourceRef="review_timeout" targetRef="go_live"',
    )

    problems = timed.check_diagram(bypass)

    assert any(p.element_id == "go_live" and "proposal_signoff" in p.message for p in problems), problems
