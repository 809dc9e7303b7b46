"""Call activities at run time: the called process's user tasks are tasks of the launch, and only the
documents the call names pass in (`in`) and come back (`out`); every step saved and restored."""

from __future__ import annotations

from tests.engine.structure_support import Run, bundle, fixture


def test_the_called_process_runs_with_only_the_mapped_documents() -> None:
    spec = bundle(fixture("call_activity"), "calls_readiness")
    assert set(spec.subprocesses) == {"support_readiness_process"}
    run = Run(spec, {"product_name": "X"})
    run.complete("draft_proposal", "proposal", {"text": "p"})
    run.workflow.data_for(run.workflow.ready_user_tasks()[0].id)
    assert run.ready() == ["write_faq"]
    [faq] = run.workflow.ready_user_tasks()
    assert run.workflow.data_for(faq.id) == {"launch": {"product_name": "X"}, "proposal": {"text": "p"}}
    run.complete("write_faq", "faq", {"q": 1})
    run.complete("train_agents", "training", {"t": 1})
    [beta] = run.workflow.ready_user_tasks()
    seen = run.workflow.data_for(beta.id)
    assert seen["faq"] == {"q": 1}  # out: faq
    assert "training" not in seen  # not mapped out: stays in the called process
    run.complete("open_beta", "beta", {})
    assert run.workflow.is_finished()
