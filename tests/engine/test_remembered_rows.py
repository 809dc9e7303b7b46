"""The engine remembers a launch's rows after each command it commits and decides the next command on
them without reading. These tests hold it to three promises, on both databases:

- what a command returns is exactly what a fresh read of the database shows;
- another process's write (or the worker's) is never written over: the command starts again from the rows;
- a refusal is never decided on remembered rows alone: it is decided again on fresh ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import FixedClock, PermissionDeniedError, TaskNotReadyError, WorkflowEngine
from engine.db.models import AuditEventRecord
from engine.reminders import run_ladder
from tests.engine import driver

PATHS = {
    "happy path": driver.HAPPY_PATH,
    "proposal sent back once": (
        "draft_proposal",
        ("review_proposal", "request_changes"),
        "revise_proposal",
        "review_proposal",
        "open_beta",
        "draft_report_template",
        "complete_beta_faq",
        ("review_report_template", "request_changes"),
        "draft_report_template",
        "review_report_template",
        "send_launch_notice",
        "acknowledge_launch_notice",
        "go_live",
    ),
}


def _audit_count(engine: WorkflowEngine, action: str, task_id: str) -> int:
    with engine.db.read() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(AuditEventRecord)
                .where(AuditEventRecord.action == action, AuditEventRecord.task_id == task_id)
            ).scalar_one()
        )


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_every_command_returns_what_a_fresh_read_of_the_rows_shows(
    engine: WorkflowEngine, path: tuple[str | tuple[str, str], ...]
) -> None:
    launch = driver.start(engine)
    assert launch == driver.restart(engine).get_launch(launch_id=launch.id, actor=driver.AUDITOR)
    for step in path:
        bpmn_id, outcome = (step, "approve") if isinstance(step, str) else step
        task = driver.open_task(launch, bpmn_id)
        data = driver.request_changes(bpmn_id) if outcome == "request_changes" else driver.form(bpmn_id)
        if task.role == "support_lead" and task.assignee is None and bpmn_id.startswith("review"):
            claimed = engine.claim_task(task_id=task.id, actor=driver.SUPPORT)
            assert claimed.assignee == driver.SUPPORT.username
            launch = engine.get_launch(launch_id=launch.id, actor=driver.AUDITOR)
        launch = engine.complete_task(task_id=task.id, data=data, actor=driver.actor_for(task))
        fresh = driver.restart(engine).get_launch(launch_id=launch.id, actor=driver.AUDITOR)
        assert launch == fresh, f"after {bpmn_id}"
    assert launch.status.value == "live"


def test_a_write_by_another_process_is_never_written_over(engine: WorkflowEngine) -> None:
    here, there = engine, driver.restart(engine)
    launch = driver.advance(here, driver.start(here), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    there.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.SUPPORT)

    # `here` still remembers the review as ready; its write is refused by the version and it reads again.
    with pytest.raises(TaskNotReadyError, match=r"already completed by sam\.support"):
        here.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.SUPPORT_2)
    assert _audit_count(engine, "task.completed", review.id) == 1
    assert _audit_count(engine, "task.complete_conflict", review.id) == 1
    after = here.get_launch(launch_id=launch.id, actor=driver.AUDITOR)
    assert {t.bpmn_id for t in after.open_tasks} == {"open_beta", "draft_report_template"}


def test_a_refusal_on_remembered_rows_is_decided_again_on_fresh_rows(engine: WorkflowEngine) -> None:
    here, there = engine, driver.restart(engine)
    launch = driver.advance(here, driver.start(here), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    here.claim_task(task_id=review.id, actor=driver.SUPPORT)  # `here` remembers: assigned to sam
    there.release_task(task_id=review.id, actor=driver.SUPPORT)  # ... which another process undid

    done = here.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.SUPPORT_2)

    assert _audit_count(engine, "task.complete_denied", review.id) == 0
    assert _audit_count(engine, "task.completed", review.id) == 1
    assert done == driver.restart(engine).get_launch(launch_id=launch.id, actor=driver.AUDITOR)


def test_a_permission_granted_on_remembered_rows_is_checked_again_when_they_are_stale(
    engine: WorkflowEngine,
) -> None:
    here, there = engine, driver.restart(engine)
    launch = driver.advance(here, driver.start(here), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")  # `here` remembers: nobody holds it
    there.claim_task(task_id=review.id, actor=driver.SUPPORT)

    with pytest.raises(PermissionDeniedError, match=r"assigned to sam\.support"):
        here.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.SUPPORT_2)
    assert _audit_count(engine, "task.completed", review.id) == 0
    assert _audit_count(engine, "task.complete_denied", review.id) == 1


def test_a_ladder_step_by_the_worker_makes_remembered_rows_stale(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    assert review.due_at is not None
    clock.set(review.due_at + timedelta(days=3))
    assert run_ladder(engine.db, now=clock.now(), policy=engine.schedule) >= 1

    escalated = engine.get_launch(launch_id=launch.id, actor=driver.AUDITOR)
    assert escalated.version > launch.version
    assert driver.open_task(escalated, "review_proposal").escalated_at is not None

    after = engine.complete_task(task_id=review.id, data=driver.form("review_proposal"), actor=driver.SUPPORT)
    assert after == driver.restart(engine).get_launch(launch_id=launch.id, actor=driver.AUDITOR)
