"""G4 and G6: stored state from earlier releases still loads and finishes; a workflow that cannot advance
is an error that changes nothing, never a false completion."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import (
    GateBlockedError,
    LaunchStatus,
    PermissionDeniedError,
    TaskStatus,
    WorkflowEngine,
    WorkflowStuckError,
)
from engine.db.models import AuditEventRecord, LaunchRecord
from engine.runtime import RunningWorkflow
from engine.serialization import dump_state, restore_state
from engine.specs import load_process
from tests.engine.driver import ADMIN, OTHER_PM, PM, SUPPORT, complete, form, shipped_form_files, start
from tests.engine.form_examples import VALID_FORM_DATA

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "fixtures" / "state"


def _finish(workflow: RunningWorkflow, xml: bytes) -> list[str]:
    model = load_process(xml).model
    done = []
    while ready := workflow.ready_user_tasks():
        task = ready[0]
        workflow.complete_user_task(
            task.id, document=model.tasks[task.bpmn_id].document, data=VALID_FORM_DATA[task.bpmn_id]
        )
        done.append(task.bpmn_id)
    return done


def test_golden_state_from_release_0_1_0_restores_and_finishes() -> None:
    xml = (GOLDEN / "launch_gate_0.1.0.bpmn").read_bytes()
    state = (GOLDEN / "launch_gate_0.1.0_mid_launch.json").read_text()
    workflow = restore_state(state, load_process(xml).spiff_spec, launch_id="golden")
    assert sorted(t.bpmn_id for t in workflow.ready_user_tasks()) == [
        "complete_beta_faq",
        "draft_report_template",
    ]
    assert workflow.data_for(workflow.ready_user_tasks()[0].id)["proposal"]["changes_made"]
    done = _finish(workflow, xml)
    assert done[-1] == "go_live"
    assert set(done) == {
        "complete_beta_faq",
        "draft_report_template",
        "review_report_template",
        "send_launch_notice",
        "acknowledge_launch_notice",
        "go_live",
    }
    assert workflow.is_finished()


def test_restore_state_ignores_spec_embedded_in_instance_row() -> None:
    xml = (GOLDEN / "launch_gate_0.1.0.bpmn").read_bytes()
    state = (GOLDEN / "launch_gate_0.1.0_mid_launch.json").read_text()
    tampered = json.loads(state)
    tampered["spec"] = {"typename": "BpmnProcessSpec", "name": "evil", "task_specs": {}}
    workflow = restore_state(json.dumps(tampered), load_process(xml).spiff_spec)
    assert dump_state(workflow) == dump_state(restore_state(state, load_process(xml).spiff_spec))


def test_restore_state_raises_clear_error_when_state_is_corrupt() -> None:
    xml = (GOLDEN / "launch_gate_0.1.0.bpmn").read_bytes()
    with pytest.raises(WorkflowStuckError, match="not valid JSON"):
        restore_state("{not json", load_process(xml).spiff_spec, launch_id="x")
    with pytest.raises(WorkflowStuckError, match="not a workflow state"):
        restore_state("[]", load_process(xml).spiff_spec, launch_id="x")


def test_complete_task_fails_loudly_and_changes_nothing_when_condition_cannot_be_evaluated(
    engine: WorkflowEngine,
) -> None:
    broken = (
        (ROOT / "bpmn" / "launch_gate.bpmn")
        .read_text()
        .replace("instances.review_proposal.passed == False", "proposal_review.no_such_field == 'x'")
    )
    version = engine.deploy_process(xml=broken.encode(), actor=ADMIN, files=shipped_form_files())
    assert version.version == 2
    launch = start(engine)
    launch = complete(engine, launch, "draft_proposal")
    review = next(t for t in launch.open_tasks if t.bpmn_id == "review_proposal")
    with engine.db.read() as session:
        before = session.get(LaunchRecord, launch.id)
        assert before is not None
        version_before, state_before = before.version, before.state
    with pytest.raises(WorkflowStuckError, match="no_such_field"):
        engine.complete_task(task_id=review.id, data=form("review_proposal"), actor=SUPPORT)
    after = engine.get_launch(launch_id=launch.id, actor=PM)
    assert after.status is LaunchStatus.ACTIVE
    assert after.version == version_before
    assert [t.bpmn_id for t in after.open_tasks] == ["review_proposal"]
    assert after.open_tasks[0].status is TaskStatus.READY
    with engine.db.read() as session:
        row = session.get(LaunchRecord, launch.id)
        assert row is not None and row.state == state_before
        failed = session.execute(
            select(func.count()).where(AuditEventRecord.action == "task.complete_failed")
        ).scalar_one()
    assert failed == 1


def test_go_live_is_refused_with_blockers_when_diagram_reaches_it_early(engine: WorkflowEngine) -> None:
    """Even if a go-live task became ready with gate items open, the engine refuses it and names them."""
    xml = (ROOT / "bpmn" / "launch_gate.bpmn").read_text()
    # A diagram variant in which report-template approval is no longer demanded by the rule, but the
    # gate item still exists: the review passes only on a decision nobody can give.
    variant = xml.replace(
        "report_template_review.decision == 'approve'", "report_template_review.decision == 'never'"
    )
    engine.deploy_process(xml=variant.encode(), actor=ADMIN, files=shipped_form_files())
    launch = start(engine)
    for step in ("draft_proposal", "review_proposal", "open_beta", "complete_beta_faq"):
        launch = complete(engine, launch, step)
    launch = complete(engine, launch, "draft_report_template")
    launch = complete(engine, launch, "review_report_template")
    for step in ("send_launch_notice", "acknowledge_launch_notice"):
        launch = complete(engine, launch, step)
    go_live = next(t for t in launch.open_tasks if t.is_go_live)
    with pytest.raises(GateBlockedError) as refused:
        engine.complete_task(task_id=go_live.id, data=copy.deepcopy(VALID_FORM_DATA["go_live"]), actor=PM)
    assert [b.item for b in refused.value.blockers] == ["report_template"]
    assert "Report template approved" in refused.value.message
    assert engine.get_launch(launch_id=launch.id, actor=PM).status is LaunchStatus.ACTIVE


def test_restore_state_refuses_clearly_when_serializer_format_is_unknown() -> None:
    xml = (GOLDEN / "launch_gate_0.1.0.bpmn").read_bytes()
    old = json.loads((GOLDEN / "launch_gate_0.1.0_mid_launch.json").read_text())
    old["serializer_version"] = "1.2"
    with pytest.raises(WorkflowStuckError, match=r"serializer format '1\.2'"):
        restore_state(json.dumps(old), load_process(xml).spiff_spec, launch_id="old")


def test_complete_task_fails_loudly_when_gate_rule_cannot_be_evaluated(engine: WorkflowEngine) -> None:
    xml = (ROOT / "bpmn" / "launch_gate.bpmn").read_text()
    variant = xml.replace("proposal_review.decision == 'approve'", "proposal_review.missing == 'approve'")
    engine.deploy_process(xml=variant.encode(), actor=ADMIN, files=shipped_form_files())
    launch = complete(engine, start(engine), "draft_proposal")
    review = next(t for t in launch.open_tasks if t.bpmn_id == "review_proposal")
    with pytest.raises(WorkflowStuckError, match="gate rule of review_proposal"):
        engine.complete_task(task_id=review.id, data=form("review_proposal"), actor=SUPPORT)
    after = engine.get_launch(launch_id=launch.id, actor=PM)
    assert after.version == launch.version
    assert [t.bpmn_id for t in after.open_tasks] == ["review_proposal"]


def test_denied_start_and_deploy_are_audited_and_change_nothing(engine: WorkflowEngine) -> None:
    before = engine.verify_audit().count
    with pytest.raises(PermissionDeniedError):
        start(engine, actor=SUPPORT)
    with pytest.raises(PermissionDeniedError):
        engine.deploy_process(xml=(ROOT / "bpmn" / "launch_gate.bpmn").read_bytes(), actor=PM)
    events = engine.audit_events(actor=ADMIN, after_sequence=before)
    assert [(e.action, e.actor) for e in events] == [
        ("launch.start_denied", SUPPORT.username),
        ("process.deploy_denied", PM.username),
    ]
    assert engine.list_launches(actor=PM).total == 0
    assert engine.verify_audit().ok


def test_other_pm_cannot_claim_released_pm_task(engine: WorkflowEngine) -> None:
    launch = start(engine)
    draft = launch.open_tasks[0]
    engine.release_task(task_id=draft.id, actor=PM)
    with pytest.raises(PermissionDeniedError, match="launch's product manager"):
        engine.claim_task(task_id=draft.id, actor=OTHER_PM)
    assert engine.claim_task(task_id=draft.id, actor=PM).assignee == PM.username
