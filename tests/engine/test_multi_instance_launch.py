"""A multi-instance regional review through the engine API: deployed, started, each instance its own task
in the index (label, position, progress), "2 of 3" on the gate item, the open instance cancelled when
the condition holds; after every command the engine is replaced by a fresh one (state from the rows)."""

from __future__ import annotations

from typing import Any

from engine import GateItemStatus, LaunchStatus, LaunchView, TaskStatus, WorkflowEngine
from tests.engine.driver import ADMIN, AUDITOR, PM, SUPPORT, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START
from tests.engine.mi_forms import form_files
from tests.engine.structure_support import fixture

REGIONS = ["EMEA", "APAC", "AMER"]


class Review:
    def __init__(self, engine: WorkflowEngine, name: str = "regional_review") -> None:
        engine.deploy_process(xml=fixture(name), actor=ADMIN, files=form_files())
        self.engine = engine
        self.launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=name)
        self.check()

    def check(self) -> None:
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.launch.id)
        fresh = self.engine.get_launch(launch_id=self.launch.id, actor=AUDITOR)
        assert fresh == self.launch, "the view after the command differs from the one read from rows"

    def complete(self, bpmn_id: str, data: dict[str, Any], label: str | None = None) -> LaunchView:
        task = next(
            t
            for t in self.launch.open_tasks
            if t.bpmn_id == bpmn_id and (label is None or t.instance_label == label)
        )
        who = PM if task.role == "pm" else SUPPORT
        self.launch = self.engine.complete_task(task_id=task.id, data=data, actor=who)
        self.check()
        return self.launch

    def instances(self) -> list[tuple[str | None, int | None, int | None, int | None, int | None]]:
        found = [
            (t.instance_label, t.instance_index, t.instance_total, t.instance_done, t.instance_needed)
            for t in self.launch.open_tasks
            if t.bpmn_id == "regional_review"
        ]
        return sorted(found, key=lambda i: i[1] or 0)


def test_two_of_three_regional_sign_offs_pass_the_item_and_cancel_the_third(engine: WorkflowEngine) -> None:
    run = Review(engine)
    run.complete("draft_proposal", {"summary": "s", "regions": REGIONS})
    assert run.instances() == [("EMEA", 1, 3, 0, 2), ("APAC", 2, 3, 0, 2), ("AMER", 3, 3, 0, 2)]
    [item] = run.launch.gate
    assert (item.status, item.progress_total) == (GateItemStatus.OPEN, None)
    inbox = run.engine.list_tasks(actor=SUPPORT, inbox=True).items
    assert sorted(t.instance_summary or "" for t in inbox) == [
        "AMER, 0 of 3 done, needs 2",
        "APAC, 0 of 3 done, needs 2",
        "EMEA, 0 of 3 done, needs 2",
    ]
    run.complete("regional_review", {"decision": "approve"}, label="EMEA")
    assert run.instances() == [("APAC", 2, 3, 1, 2), ("AMER", 3, 3, 1, 2)]
    [item] = run.launch.gate
    assert (item.status, item.progress) == (GateItemStatus.OPEN, "1 of 3 (needs 2)")
    run.complete("regional_review", {"decision": "reject"}, label="APAC")
    [item] = run.launch.gate
    assert (item.status, item.progress) == (GateItemStatus.OPEN, "1 of 3 (needs 2)")
    run.complete("regional_review", {"decision": "approve"}, label="AMER")
    [item] = run.launch.gate
    assert (item.status, item.progress) == (GateItemStatus.PASSED, "2 of 3 (needs 2)")
    assert [t.bpmn_id for t in run.launch.open_tasks] == ["go_live"]
    run.complete("go_live", {})
    assert run.launch.status is LaunchStatus.LIVE


def test_when_two_approve_first_the_third_instance_leaves_the_inbox(engine: WorkflowEngine) -> None:
    run = Review(engine)
    run.complete("draft_proposal", {"summary": "s", "regions": REGIONS})
    amer = next(t for t in run.launch.open_tasks if t.instance_label == "AMER")
    run.complete("regional_review", {"decision": "approve"}, label="EMEA")
    run.complete("regional_review", {"decision": "approve"}, label="APAC")
    assert [t.bpmn_id for t in run.launch.open_tasks] == ["go_live"]
    assert run.launch.gate[0].status is GateItemStatus.PASSED
    cancelled = run.engine.list_tasks(actor=AUDITOR, launch_id=run.launch.id, status=TaskStatus.CANCELLED)
    assert [t.id for t in cancelled.items] == [amer.id]
    assert all(t.bpmn_id != "regional_review" for t in run.engine.list_tasks(actor=SUPPORT, inbox=True).items)


def test_sequential_instances_come_one_at_a_time_in_order(engine: WorkflowEngine) -> None:
    run = Review(engine, "sequential_review")
    run.complete("draft_proposal", {"summary": "s", "regions": []})
    for index in (1, 2, 3):
        assert run.instances() == [(str(index), index, 3, index - 1, 3)]
        run.complete("regional_review", {"decision": "approve"})
    assert [t.bpmn_id for t in run.launch.open_tasks] == ["go_live"]
    assert run.launch.gate[0].status is GateItemStatus.PASSED


def test_a_cardinality_over_the_bound_is_refused_at_deploy_naming_the_element(engine: WorkflowEngine) -> None:
    import pytest

    from engine import DiagramRejectedError

    xml = fixture("sequential_review").replace(
        b"<bpmn:loopCardinality>3</bpmn:loopCardinality>", b"<bpmn:loopCardinality>101</bpmn:loopCardinality>"
    )
    before = engine.list_process_versions(actor=ADMIN)
    with pytest.raises(DiagramRejectedError) as caught:
        engine.deploy_process(xml=xml, actor=ADMIN, files=form_files())
    assert [(p.element_id, "from 1 to 100" in p.message) for p in caught.value.problems] == [
        ("regional_review", True)
    ]
    assert engine.list_process_versions(actor=ADMIN) == before
