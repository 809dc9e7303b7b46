"""Embedded sub-processes at run time: their user tasks are tasks of the launch, they see the parent's
data and hand theirs back, the launch finishes only when they did; every step saved and restored."""

from __future__ import annotations

from engine.runtime import SpecBundle
from engine.serialization import restore_state
from tests.engine.structure_support import Run, bundle, fixture


def _run() -> Run:
    return Run(bundle(fixture("embedded_subprocess"), "readiness_sub"), {"product_name": "X"})


def test_the_bundle_holds_the_sub_process_spec() -> None:
    spec = bundle(fixture("embedded_subprocess"), "readiness_sub")
    assert isinstance(spec, SpecBundle)
    assert set(spec.subprocesses) == {"support_readiness"}


def test_tasks_inside_run_in_order_see_the_parent_data_and_hand_theirs_back() -> None:
    run = _run()
    assert run.ready() == ["draft_proposal"]
    run.complete("draft_proposal", "proposal", {"text": "p"})
    assert run.ready() == ["write_faq"]
    [faq] = run.workflow.ready_user_tasks()
    assert run.workflow.data_for(faq.id)["proposal"] == {"text": "p"}  # the parent's documents
    assert not run.workflow.is_finished()
    run.complete("write_faq", "faq", {"q": 1})
    assert run.ready() == ["train_agents"]
    run.complete("train_agents", "training", {"done": True})
    assert run.ready() == ["open_beta"]
    [beta] = run.workflow.ready_user_tasks()
    seen = run.workflow.data_for(beta.id)
    assert (seen["faq"], seen["training"], seen["proposal"]) == ({"q": 1}, {"done": True}, {"text": "p"})
    run.complete("open_beta", "beta", {})
    assert run.workflow.is_finished()
    assert run.workflow.ready_user_tasks() == []


def test_a_state_with_a_sub_process_the_spec_lacks_is_refused() -> None:
    import pytest

    from engine.errors import WorkflowStuckError
    from engine.serialization import dump_state

    run = _run()
    run.complete("draft_proposal", "proposal", {})
    state = dump_state(run.workflow)
    other = bundle(fixture("plain_process"), "plain_process")
    with pytest.raises(WorkflowStuckError):
        restore_state(state, other, launch_id="x")
