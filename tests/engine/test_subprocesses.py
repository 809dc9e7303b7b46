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


# ---------------------------------------------------------------------------------------- through deploy

from engine import LaunchStatus, WorkflowEngine  # noqa: E402
from tests.engine.driver import ADMIN  # noqa: E402
from tests.engine.test_call_activity import Launch  # noqa: E402


def test_a_sub_process_through_the_engine_api_with_a_fresh_engine_after_every_step(
    engine: WorkflowEngine,
) -> None:
    engine.deploy_process(xml=fixture("embedded_subprocess"), actor=ADMIN)
    launch = Launch(engine, "readiness_sub")
    launch.complete("draft_proposal", {"comment": "p"})
    [faq] = launch.view.open_tasks
    assert (faq.bpmn_id, faq.role, faq.title) == (
        "write_faq",
        "support_lead",
        "Write FAQ",
    )  # the sub-process's lane
    assert launch.data_of("write_faq") == {}  # its own document: none yet
    launch.complete("write_faq", {"comment": "faq"})
    launch.complete("train_agents", {"comment": "trained"})
    assert launch.open() == ["open_beta"]
    launch.complete("open_beta", {})
    assert launch.view.status is LaunchStatus.LIVE


def _multi_sub() -> bytes:
    """The embedded sub-process run once per region of the proposal (in parallel)."""
    xml = fixture("embedded_subprocess")
    loop = (
        b"<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>proposal.regions</bpmn:loopDataInputRef>"
        b"</bpmn:multiInstanceLoopCharacteristics>"
    )
    return xml.replace(
        b'<bpmn:startEvent id="readiness_start" />', loop + b'<bpmn:startEvent id="readiness_start" />'
    )


def test_a_multi_instance_sub_process_runs_one_sub_process_per_region() -> None:
    run = Run(bundle(_multi_sub(), "readiness_sub"), {})
    run.complete("draft_proposal", "proposal", {"regions": ["EMEA", "APAC"]})
    ready = run.workflow.ready_user_tasks()
    assert sorted((t.bpmn_id, t.instance.label if t.instance else None) for t in ready) == [
        ("write_faq", "APAC"),
        ("write_faq", "EMEA"),
    ]
    assert run.workflow.data_for(ready[0].id)["instance"]["total"] == 2  # each sub-process sees its element
    for label in ("EMEA", "APAC"):
        run.complete("write_faq", "faq", {"q": label}, label=label)
        run.complete("train_agents", "training", {"t": label}, label=label)
    assert run.ready() == ["open_beta"]
    run.complete("open_beta", "beta", {})
    assert run.workflow.is_finished()


def test_a_multi_instance_over_a_missing_list_refuses_the_command_and_stores_nothing(
    engine: WorkflowEngine,
) -> None:
    import pytest

    from engine.errors import WorkflowStuckError

    engine.deploy_process(xml=_multi_sub(), actor=ADMIN)
    launch = Launch(engine, "readiness_sub")
    with pytest.raises(WorkflowStuckError) as caught:
        launch.complete("draft_proposal", {"comment": "p"})  # the plain form: no regions list
    assert "multi-instance support_readiness: 'proposal' has no key 'regions'" in caught.value.message
    launch.check()  # the launch is as it was: the draft is still open, the state unchanged
    assert launch.open() == ["draft_proposal"]
