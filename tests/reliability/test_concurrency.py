"""Concurrency (RELIABILITY G1, G2, G5, G7): a ready task is completed once and only once, a stale write
loses cleanly, an unrelated write on the same launch is retried, and a parallel join fires once.

Every test runs on SQLite and PostgreSQL (the `engine` fixture). "Engine per thread" variants give each
thread its own WorkflowEngine on the same database, as separate server processes would have."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import ColumnElement, event, func, select

from engine import (
    Actor,
    ConflictError,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    TaskNotReadyError,
    TaskStatus,
    WorkflowEngine,
)
from engine.db.models import AuditEventRecord, LaunchRecord, OutboxMessageRecord, TaskRecord
from tests.engine import driver

THREADS = 50
OK = "ok"
ENGINE_MODES = pytest.mark.parametrize(
    "engine_per_thread", [False, True], ids=["shared-engine", "engine-per-thread"]
)


def _count(engine: WorkflowEngine, model: Any, *where: ColumnElement[bool]) -> int:
    with engine.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _task_rows(engine: WorkflowEngine, launch_id: str, bpmn_id: str | None = None) -> int:
    where = [TaskRecord.launch_id == launch_id]
    if bpmn_id is not None:
        where.append(TaskRecord.bpmn_id == bpmn_id)
    return _count(engine, TaskRecord, *where)


def _audit(engine: WorkflowEngine, *where: ColumnElement[bool]) -> list[AuditEventRecord]:
    query = select(AuditEventRecord).where(*where).order_by(AuditEventRecord.sequence)
    with engine.db.read() as session:
        return list(session.execute(query).scalars())


def _launch_version(engine: WorkflowEngine, launch_id: str) -> int:
    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch_id)
        assert record is not None
        return record.version


def _race(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) in `count` threads released together; OK or the exception, per thread."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(index)
            results[index] = OK
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return results


def _outcomes(results: list[object]) -> Counter[str]:
    return Counter(r if isinstance(r, str) else type(r).__name__ for r in results)


def _as(actor: Actor, request_id: str) -> Actor:
    return Actor(actor.username, actor.roles, request_id=request_id)


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("lost a race; retrying" in r.getMessage() for r in caplog.records)


def _before_join(engine: WorkflowEngine) -> LaunchView:
    """A launch whose only open tasks are the last items of the two parallel branches."""
    steps = ("draft_proposal", "review_proposal", "open_beta", "draft_report_template")
    launch = driver.advance(engine, driver.start(engine), *steps)
    assert sorted(t.bpmn_id for t in launch.open_tasks) == ["complete_beta_faq", "review_report_template"]
    assert launch.gate_passed == 1
    return launch


@ENGINE_MODES
def test_complete_task_succeeds_exactly_once_when_50_threads_complete_it_together(
    engine: WorkflowEngine, engine_per_thread: bool, caplog: pytest.LogCaptureFixture
) -> None:
    launch = driver.advance_until(engine, driver.start(engine), "send_launch_notice")
    task = driver.open_task(launch, "send_launch_notice")
    # Engine per thread: 50 cold engines (empty caches) sharing one connection pool.
    engines = [driver.restart(engine) if engine_per_thread else engine for _ in range(THREADS)]
    version_before = _launch_version(engine, launch.id)
    tasks_before = _task_rows(engine, launch.id)
    audit_before = engine.verify_audit().count
    caplog.set_level(logging.INFO, logger="engine.commands")

    results = _race(
        THREADS,
        lambda i: engines[i].complete_task(
            task_id=task.id, data=driver.form("send_launch_notice"), actor=_as(driver.PM, f"req-{i}")
        ),
    )

    outcomes = _outcomes(results)
    dialect = engine.db.db_engine.dialect.name
    print(f"\n[{dialect}] 50-thread race outcomes: {dict(outcomes)}, retries: {_retries(caplog)}")
    assert [r for r in results if r != OK and not isinstance(r, ConflictError)] == []
    assert outcomes[OK] == 1
    assert sum(isinstance(r, ConflictError) for r in results) == THREADS - 1
    winner = f"req-{results.index(OK)}"

    completed = _audit(
        engine, AuditEventRecord.action == "task.completed", AuditEventRecord.task_id == task.id
    )
    assert [e.request_id for e in completed] == [winner]
    conflicts = _audit(engine, AuditEventRecord.action == "task.complete_conflict")
    assert len(conflicts) == THREADS - 1
    assert {e.task_id for e in conflicts} == {task.id}
    assert winner not in {e.request_id for e in conflicts}
    verification = engine.verify_audit()
    assert verification.ok, verification.message
    assert verification.count == audit_before + THREADS  # one row per attempt, nothing else

    assert _task_rows(engine, launch.id) == tasks_before + 1
    assert _task_rows(engine, launch.id, "acknowledge_launch_notice") == 1
    notices = OutboxMessageRecord.kind == "launch_notice_email"  # other kinds notify people of tasks
    assert _count(engine, OutboxMessageRecord, OutboxMessageRecord.launch_id == launch.id, notices) == 1
    assert _launch_version(engine, launch.id) == version_before + 1
    after = engine.get_launch(launch_id=launch.id, actor=driver.PM)
    assert [t.bpmn_id for t in after.open_tasks] == ["acknowledge_launch_notice"]


def test_complete_task_raises_conflict_and_persists_nothing_when_another_engine_completed_it_first(
    engine: WorkflowEngine,
) -> None:
    launch = driver.advance_until(engine, driver.start(engine), "send_launch_notice")
    task = driver.open_task(launch, "send_launch_notice")
    engine_a, engine_b = driver.restart(engine), driver.restart(engine)
    data_a = driver.form("send_launch_notice", rollback_plan="A's plan: never written")
    data_b = driver.form("send_launch_notice", rollback_plan="B's plan")
    version_before = _launch_version(engine, launch.id)
    tasks_before = _task_rows(engine, launch.id)
    audit_before = engine.verify_audit().count
    calls: list[str] = []

    def b_commits_first(command: str) -> None:
        calls.append(command)
        if len(calls) == 1:
            engine_b.complete_task(task_id=task.id, data=data_b, actor=_as(driver.PM, "req-b"))

    engine_a.before_write = b_commits_first
    with pytest.raises(ConflictError) as caught:
        engine_a.complete_task(task_id=task.id, data=data_a, actor=_as(driver.PM, "req-a"))

    assert isinstance(caught.value, TaskNotReadyError)
    assert calls == ["complete_task"]  # the retry found the task completed before doing any work
    new_rows = _audit(engine, AuditEventRecord.sequence > audit_before)
    assert [(e.action, e.request_id) for e in new_rows] == [
        ("task.completed", "req-b"),
        ("task.complete_conflict", "req-a"),
    ]
    assert new_rows[0].after is not None
    assert new_rows[0].after["rollback_plan"] == "B's plan"
    assert new_rows[1].after is None
    assert _launch_version(engine, launch.id) == version_before + 1
    assert _task_rows(engine, launch.id) == tasks_before + 1
    assert _task_rows(engine, launch.id, "acknowledge_launch_notice") == 1
    outbox_query = select(OutboxMessageRecord).where(
        OutboxMessageRecord.launch_id == launch.id, OutboxMessageRecord.kind == "launch_notice_email"
    )
    with engine.db.read() as session:
        record = session.get(TaskRecord, task.id)
        assert record is not None
        assert record.status == TaskStatus.COMPLETED.value
        outbox = list(session.execute(outbox_query).scalars())
    assert len(outbox) == 1
    assert outbox[0].payload["content"]["rollback_plan"] == "B's plan"
    after = engine.get_launch(launch_id=launch.id, actor=driver.PM)
    assert [t.bpmn_id for t in after.open_tasks] == ["acknowledge_launch_notice"]
    assert engine.verify_audit().ok


def test_complete_task_is_retried_and_join_fires_once_when_other_branch_commits_first(
    engine: WorkflowEngine,
) -> None:
    launch = _before_join(engine)
    faq = driver.open_task(launch, "complete_beta_faq")
    review = driver.open_task(launch, "review_report_template")
    engine_a, engine_b = driver.restart(engine), driver.restart(engine)
    version_before = _launch_version(engine, launch.id)
    calls: list[str] = []

    def b_commits_first(command: str) -> None:
        calls.append(command)
        if len(calls) == 1:
            engine_b.complete_task(
                task_id=review.id, data=driver.form("review_report_template"), actor=driver.PM
            )

    engine_a.before_write = b_commits_first
    result = engine_a.complete_task(
        task_id=faq.id, data=driver.form("complete_beta_faq"), actor=driver.SUPPORT
    )

    assert calls == ["complete_task", "complete_task"]  # the first attempt lost, the retry went through
    assert [t.bpmn_id for t in result.open_tasks] == ["send_launch_notice"]
    assert result.gate_passed == 3
    assert {g.key: g.status for g in result.gate} == {
        "proposal_signoff": GateItemStatus.PASSED,
        "beta_faq": GateItemStatus.PASSED,
        "report_template": GateItemStatus.PASSED,
        "launch_notice": GateItemStatus.OPEN,
    }
    assert _launch_version(engine, launch.id) == version_before + 2
    assert _task_rows(engine, launch.id, "send_launch_notice") == 1
    completed = _audit(
        engine, AuditEventRecord.action == "task.completed", AuditEventRecord.launch_id == launch.id
    )
    per_task = Counter(e.task_id for e in completed)
    assert (per_task[faq.id], per_task[review.id]) == (1, 1)
    assert _audit(engine, AuditEventRecord.action.like("%conflict%")) == []
    assert engine.verify_audit().ok
    finished = driver.advance(engine, result, "send_launch_notice", "acknowledge_launch_notice", "go_live")
    assert finished.status is LaunchStatus.LIVE


@ENGINE_MODES
def test_join_fires_once_when_last_two_parallel_gate_items_complete_at_the_same_instant(
    engine: WorkflowEngine, engine_per_thread: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engine.commands")
    for _ in range(3):  # a few rounds: more chances for the two writes to really overlap
        launch = _before_join(engine)
        version_before = _launch_version(engine, launch.id)
        faq = driver.open_task(launch, "complete_beta_faq")
        review = driver.open_task(launch, "review_report_template")
        engines = [driver.restart(engine) if engine_per_thread else engine for _ in range(2)]
        commands = [
            (faq.id, driver.form("complete_beta_faq"), driver.SUPPORT),
            (review.id, driver.form("review_report_template"), driver.PM),
        ]

        def work(i: int, commands: list[Any] = commands, engines: list[WorkflowEngine] = engines) -> None:
            task_id, data, actor = commands[i]
            engines[i].complete_task(task_id=task_id, data=data, actor=actor)

        results = _race(2, work)

        assert results == [OK, OK]
        after = engine.get_launch(launch_id=launch.id, actor=driver.PM)
        assert after.gate_passed == 3
        assert [t.bpmn_id for t in after.open_tasks] == ["send_launch_notice"]
        assert _launch_version(engine, launch.id) == version_before + 2
        assert _task_rows(engine, launch.id, "send_launch_notice") == 1
    print(f"\n[{engine.db.db_engine.dialect.name}] join race: retries over 3 rounds: {_retries(caplog)}")
    assert engine.verify_audit().ok


def test_complete_task_holds_one_connection_at_a_time_when_engine_is_cold(engine: WorkflowEngine) -> None:
    """A command that needs two pooled connections at once lets ~30 concurrent requests on a cold engine
    starve the pool (seen: 30 of 50 racing threads failed with a pool TimeoutError)."""
    launch = driver.advance_until(engine, driver.start(engine), "send_launch_notice")
    task = driver.open_task(launch, "send_launch_notice")
    cold = driver.restart(engine)  # empty process cache, as after a server restart
    held = threading.local()
    peak: list[int] = [0]

    def on_checkout(*_: object) -> None:
        held.count = getattr(held, "count", 0) + 1
        peak[0] = max(peak[0], held.count)

    def on_checkin(*_: object) -> None:
        held.count = getattr(held, "count", 0) - 1

    pool_owner = engine.db.db_engine
    event.listen(pool_owner, "checkout", on_checkout)
    event.listen(pool_owner, "checkin", on_checkin)
    try:
        cold.complete_task(task_id=task.id, data=driver.form("send_launch_notice"), actor=driver.PM)
    finally:
        event.remove(pool_owner, "checkout", on_checkout)
        event.remove(pool_owner, "checkin", on_checkin)
    assert peak[0] == 1, f"one command held {peak[0]} connections at once"


def test_complete_task_raises_conflict_when_another_engine_commits_between_its_reads(
    engine: WorkflowEngine,
) -> None:
    """B commits right after A has read the task row and before A reads the launch row. A must see one
    consistent picture (a conflict), never a half-old, half-new one."""
    launch = driver.advance_until(engine, driver.start(engine), "send_launch_notice")
    task = driver.open_task(launch, "send_launch_notice")
    engine_a, engine_b = driver.restart(engine), driver.restart(engine)
    engine_a.get_launch(launch_id=launch.id, actor=driver.PM)  # warm: no process loading between the reads
    audit_before = engine.verify_audit().count
    armed = {"on": False}

    def after_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if armed["on"] and statement.lstrip().upper().startswith("SELECT") and "FROM task" in statement:
            armed["on"] = False
            engine_b.complete_task(
                task_id=task.id, data=driver.form("send_launch_notice"), actor=_as(driver.PM, "req-b")
            )

    event.listen(engine.db.db_engine, "after_cursor_execute", after_execute)
    try:
        armed["on"] = True
        with pytest.raises(ConflictError):
            engine_a.complete_task(
                task_id=task.id, data=driver.form("send_launch_notice"), actor=_as(driver.PM, "req-a")
            )
    finally:
        event.remove(engine.db.db_engine, "after_cursor_execute", after_execute)

    assert not armed["on"]  # B did commit in between
    new_rows = _audit(engine, AuditEventRecord.sequence > audit_before)
    assert [(e.action, e.request_id) for e in new_rows] == [
        ("task.completed", "req-b"),
        ("task.complete_conflict", "req-a"),
    ]
    assert engine.verify_audit().ok
