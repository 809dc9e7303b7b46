"""A long proposal rework loop: 1000 request-changes rounds, then the sign-off, then the rest of the launch.

SpiffWorkflow's task iterators stop at tree depth 1000, so without the engine's compaction a loop stalls at
about 333 rounds and can report a finished workflow while a task is still ready. The engine must carry the
loop to the end, never report a false completion, keep exactly one open review/revise task in the task index
at every step, and keep the stored state small (round 1000 within 2x of round 10). SQLite only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import (
    Database,
    FixedClock,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    TaskStatus,
    WorkflowEngine,
    upgrade_to_head,
)
from engine.db.models import LaunchRecord
from engine.gate import document_hash
from engine.serialization import restore_state
from tests.engine.driver import (
    AUDITOR,
    assert_state_round_trips,
    complete,
    form,
    request_changes,
    restart,
    start,
)

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
ROUNDS = 1000
RESTART_AT = frozenset({10, 332, 333, 334, 500, 999, 1000})
FINISH = (
    "open_beta",
    "complete_beta_faq",
    "draft_report_template",
    "review_report_template",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
)


def _revision(round_: int) -> dict[str, object]:
    return form(
        "revise_proposal",
        summary=f"Send reminders for overdue invoices automatically (revision {round_}).",
        changes_made=f"Revision {round_}: answered the review comments.",
    )


def _assert_still_in_review(engine: WorkflowEngine, launch: LaunchView, expected: str) -> None:
    assert launch.status is LaunchStatus.ACTIVE, "the launch reported a completion in the middle of the loop"
    assert launch.completed_at is None
    assert launch.gate_passed == 0
    assert [t.bpmn_id for t in launch.open_tasks] == [expected]
    assert [b.item for b in launch.blockers] == [
        "proposal_signoff",
        "beta_faq",
        "report_template",
        "launch_notice",
    ]
    assert launch.blockers[0].task_id == launch.open_tasks[0].id


def _stored(engine: WorkflowEngine, launch_id: str) -> tuple[int, int, int]:
    """(state length, task tree depth, task count) of the stored state."""
    state = assert_state_round_trips(engine, launch_id)
    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch_id)
        assert record is not None
        version_id = record.process_version_id
    workflow = restore_state(state, engine._process(version_id).spiff_spec, launch_id=launch_id)
    return len(state), workflow.depth(), workflow.task_count()


@pytest.mark.slow
def test_proposal_rework_loop_of_1000_rounds_goes_live_without_false_completion(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'rework.db'}")
    upgrade_to_head(database.db_engine)
    clock = FixedClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
    engine = WorkflowEngine(database, clock=clock)
    engine.sync_shipped_processes(BPMN_DIR)
    try:
        launch = start(engine)
        launch = complete(engine, launch, "draft_proposal")
        _assert_still_in_review(engine, launch, "review_proposal")
        stored: dict[int, tuple[int, int, int]] = {}
        began = time.perf_counter()
        for round_ in range(1, ROUNDS + 1):
            clock.advance(timedelta(minutes=1))
            launch = complete(engine, launch, "review_proposal", request_changes("review_proposal"))
            _assert_still_in_review(engine, launch, "revise_proposal")
            launch = complete(engine, launch, "revise_proposal", _revision(round_))
            _assert_still_in_review(engine, launch, "review_proposal")
            if round_ in RESTART_AT:
                engine = restart(engine)
                stored[round_] = _stored(engine, launch.id)
                index = engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.READY)
                assert [t.bpmn_id for t in index.items] == ["review_proposal"]
                assert engine.get_launch(launch_id=launch.id, actor=AUDITOR) == launch
        loop_seconds = time.perf_counter() - began

        review = next(t for t in launch.open_tasks if t.bpmn_id == "review_proposal")
        detail = engine.get_task(task_id=review.id, actor=AUDITOR)
        assert detail.reviewed_data == _revision(ROUNDS)
        launch = complete(engine, launch, "review_proposal")
        signoff = launch.gate[0]
        assert (signoff.key, signoff.status) == ("proposal_signoff", GateItemStatus.PASSED)
        assert signoff.content_hash == document_hash(_revision(ROUNDS))
        for bpmn_id in FINISH:
            assert launch.status is LaunchStatus.ACTIVE
            engine = restart(engine)
            launch = engine.get_launch(launch_id=launch.id, actor=AUDITOR)
            launch = complete(engine, launch, bpmn_id)
        total_seconds = time.perf_counter() - began

        assert launch.status is LaunchStatus.LIVE
        assert launch.gate_passed == 4
        assert launch.open_tasks == ()
        assert launch.completed_at == clock.now()
        completed = engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.COMPLETED)
        assert completed.total == 1 + 2 * ROUNDS + 1 + len(FINISH)
        assert engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.READY).total == 0
        assert engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.CANCELLED).total == 0
        history = engine.launch_history(launch_id=launch.id, actor=AUDITOR)
        assert len(history) == 1 + completed.total
        assert engine.verify_audit().ok

        size_10, depth_10, tasks_10 = stored[10]
        size_1000, depth_1000, tasks_1000 = stored[ROUNDS]
        assert size_1000 <= 2 * size_10, f"state grew from {size_10} to {size_1000} characters"
        assert depth_1000 <= 2 * depth_10, f"task tree depth grew from {depth_10} to {depth_1000}"
        assert tasks_1000 <= 2 * tasks_10, f"task count grew from {tasks_10} to {tasks_1000}"
        print(
            f"\nrework loop: {ROUNDS} rounds in {loop_seconds:.2f} s "
            f"({1000 * loop_seconds / ROUNDS:.2f} ms per round, 2 commands each); "
            f"whole launch {total_seconds:.2f} s; stored state {size_10} chars at round 10, "
            f"{size_1000} at round {ROUNDS}; depth {depth_10} -> {depth_1000}; "
            f"tasks {tasks_10} -> {tasks_1000}"
        )
    finally:
        database.dispose()
