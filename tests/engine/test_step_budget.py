"""The step budget (RELIABILITY G9): one command that spins in engine steps is stopped with a clear error,
writes nothing and audits the refusal. Deploy refuses the diagrams that would spin (test_bounds.py), so
these tests build such a spec directly, or shrink the budget for the shipped process."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import WorkflowEngine, runtime
from engine.db.models import AuditEventRecord, LaunchRecord
from engine.errors import StepBudgetExceededError, WorkflowStuckError
from engine.runtime import RunningWorkflow, build_spec
from engine.xml_safety import parse_xml_document
from tests.engine import driver

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "bpmn"


def test_a_gateway_loop_stops_at_the_step_budget_with_a_clear_error() -> None:
    # The hostile loop never passes deploy; built directly, it shows what the budget does at run time.
    spec = build_spec(parse_xml_document((FIXTURES / "gateway_loop.bpmn").read_bytes()), "minimal_gate")
    workflow = RunningWorkflow.start(spec, start_data={}, launch_id="l1")
    [prepare] = workflow.ready_user_tasks()
    with pytest.raises(StepBudgetExceededError) as caught:
        workflow.complete_user_task(prepare.id, document="prepare", data={})
    assert isinstance(caught.value, WorkflowStuckError)
    spent = (
        f"{runtime.MAX_ENGINE_STEPS} engine steps",
        f"{runtime.MAX_TREE_DEPTH} engine steps in a row",
        f"{runtime.MAX_COMMAND_CPU_SECONDS} s of CPU",
    )
    assert any(
        caught.value.message.startswith(f"the workflow used more than {what} in one command")
        for what in spent
    ), caught.value.message
    assert "nothing was stored" in caught.value.message


def _count(engine: WorkflowEngine, model: type, **where: str) -> int:
    with engine.db.read() as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(session.scalar(query) or 0)


def test_a_start_past_the_budget_writes_nothing_and_is_audited(
    engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.budget, "MAX_ENGINE_STEPS", 0)  # the start event itself is over budget
    with pytest.raises(StepBudgetExceededError):
        driver.start(engine)
    assert _count(engine, LaunchRecord) == 0
    assert _count(engine, AuditEventRecord, action="launch.start_failed") == 1


def test_a_completion_past_the_budget_writes_nothing_and_is_audited(
    engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = driver.advance_until(engine, driver.start(engine), "review_proposal")
    task = driver.open_task(launch, "review_proposal")  # its gateway and fork are engine steps
    before = driver.stored_state(engine, launch.id)
    monkeypatch.setattr(runtime.budget, "MAX_ENGINE_STEPS", 1)
    with pytest.raises(StepBudgetExceededError):
        engine.complete_task(task_id=task.id, data=driver.form("review_proposal"), actor=driver.SUPPORT)
    assert driver.stored_state(engine, launch.id) == before
    assert _count(engine, AuditEventRecord, action="task.complete_failed") == 1
    monkeypatch.setattr(runtime.budget, "MAX_ENGINE_STEPS", 10_000)
    after = engine.complete_task(task_id=task.id, data=driver.form("review_proposal"), actor=driver.SUPPORT)
    assert {t.bpmn_id for t in after.open_tasks} == {"open_beta", "draft_report_template"}
