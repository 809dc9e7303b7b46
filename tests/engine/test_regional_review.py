"""The launch gate's proposal review per region (bpmn/launch_gate.bpmn from version 3 on): the PM lists
the regions that need a support sign-off (`proposal.support_regions`, "Regions needing a support
sign-off" in the proposal form), `review_proposal` runs one instance per region, and its completion
condition comes from the diagram (`approved == total or rejected > 0`: every region approves, or the
first request for changes ends the round). The gate item `proposal_signoff` passes only when the
multi-instance finishes with its condition met by approvals; `instances.review_proposal.passed == False`
sends the proposal back for revision (any request for changes → revise). Every step is followed by a
restart and a state round trip. A launch started on the earlier version
(tests/fixtures/bpmn/launch_gate_v2.bpmn, with forms without the regions) keeps its single review after
this one is deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Database, FixedClock, GateItemStatus, LaunchStatus, LaunchView, TaskView, WorkflowEngine
from tests.conftest import BPMN_DIR
from tests.engine.driver import (
    ADMIN,
    AUDITOR,
    HAPPY_PATH,
    PM,
    SUPPORT,
    advance,
    assert_state_round_trips,
    form,
    restart,
    shipped_form_files,
    start,
)

SHIPPED = BPMN_DIR / "launch_gate.bpmn"
V2 = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "launch_gate_v2.bpmn"
REGIONS = ["EMEA", "APAC", "AMER"]
AFTER_REVIEW = ("draft_report_template", "open_beta")
FIELD = "support_regions"


def v2_files() -> dict[str, bytes]:
    """The forms version 2 shipped with: the proposal without the list of regions."""
    files = shipped_form_files()
    for name in ("draft_proposal", "revise_proposal"):
        schema = json.loads(files[f"{name}-schema.json"])
        del schema["properties"][FIELD]
        schema["x-rules"] = [r for r in schema["x-rules"] if r.get("for_each") != FIELD]
        files[f"{name}-schema.json"] = json.dumps(schema).encode()
        ui = json.loads(files[f"{name}-uischema.json"])
        ui["ui:order"].remove(FIELD)
        del ui[FIELD]
        files[f"{name}-uischema.json"] = json.dumps(ui).encode()
    return files


def deploy_condition(engine: WorkflowEngine, condition: str) -> int:
    """The shipped diagram with another completion condition, as the next version."""
    xml = SHIPPED.read_bytes().replace(b"approved == total or rejected &gt; 0", condition.encode())
    return engine.deploy_process(xml=xml, actor=ADMIN, files=shipped_form_files()).version


def review(decision: str = "approve", **changes: Any) -> dict[str, Any]:
    if decision == "approve":
        return form("review_proposal", **changes)
    return form(
        "review_proposal", decision=decision, comment="Say how EMEA customers turn it off.", **changes
    )


class Regional:
    """One launch on the regional version, restarted and round-tripped after every step."""

    def __init__(self, engine: WorkflowEngine, regions: list[str]) -> None:
        self.engine = engine
        self.launch = start(engine)
        self.step_task("draft_proposal", form("draft_proposal", support_regions=regions))

    def reviews(self) -> dict[str, TaskView]:
        """The open review instances by region (the instance each task is, from the workflow)."""
        found = {}
        for task in self.launch.open_tasks:
            if task.bpmn_id == "review_proposal":
                data = self.engine.get_task(task_id=task.id, actor=SUPPORT)
                found[self._label(data.task.id)] = task
        return found

    def _label(self, task_id: str) -> str:
        from engine.db.models import LaunchRecord
        from engine.serialization import restore_state

        with self.engine.db.read() as session:
            record = session.get(LaunchRecord, self.launch.id)
            assert record is not None
            state, version_id = record.state, record.process_version_id
        spec = self.engine._process(version_id).spiff_spec
        label = restore_state(state, spec).data_for(task_id)["instance"]["label"]
        assert isinstance(label, str)
        return label

    def step_task(self, bpmn_id: str, data: dict[str, Any], task: TaskView | None = None) -> LaunchView:
        if task is None:
            [task] = [t for t in self.launch.open_tasks if t.bpmn_id == bpmn_id]
        actor = PM if task.role == "pm" else SUPPORT
        self.engine.complete_task(task_id=task.id, data=data, actor=actor)
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.launch.id)
        self.launch = self.engine.get_launch(launch_id=self.launch.id, actor=AUDITOR)
        return self.launch

    def decide(self, region: str, decision: str = "approve") -> LaunchView:
        return self.step_task("review_proposal", review(decision), task=self.reviews()[region])

    def open_ids(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.launch.open_tasks)

    def signoff(self) -> GateItemStatus:
        return next(g.status for g in self.launch.gate if g.key == "proposal_signoff")


def test_the_pm_lists_three_regions_and_each_gets_its_own_review(engine: WorkflowEngine) -> None:
    run = Regional(engine, REGIONS)
    assert (run.launch.process_id, run.launch.process_version) == ("launch_gate", 1)
    assert sorted(run.reviews()) == sorted(REGIONS)
    assert all(t.role == "support_lead" for t in run.reviews().values())


def test_every_region_approves_and_only_the_last_approval_passes_the_sign_off(
    engine: WorkflowEngine,
) -> None:
    run = Regional(engine, REGIONS)
    run.decide("EMEA")
    assert sorted(run.reviews()) == ["AMER", "APAC"] and run.signoff() is GateItemStatus.OPEN
    run.decide("AMER")
    assert sorted(run.reviews()) == ["APAC"] and run.signoff() is GateItemStatus.OPEN
    run.decide("APAC")
    assert run.open_ids() == sorted(AFTER_REVIEW)
    assert run.signoff() is GateItemStatus.PASSED


@pytest.mark.parametrize("approved_first", [0, 1, 2])
def test_a_request_for_changes_from_any_region_ends_the_round_and_sends_it_back(
    engine: WorkflowEngine, approved_first: int
) -> None:
    """The first request for changes cancels the reviews still open; the revision lists the regions
    again (here one fewer) and a new round reviews it."""
    run = Regional(engine, REGIONS)
    for region in REGIONS[:approved_first]:
        run.decide(region)
    run.decide(REGIONS[approved_first], "request_changes")
    assert run.open_ids() == ["revise_proposal"]
    assert run.signoff() is GateItemStatus.OPEN
    revision = form("revise_proposal", support_regions=["EMEA", "APAC"])
    run.step_task("revise_proposal", revision)
    assert sorted(run.reviews()) == ["APAC", "EMEA"]
    run.decide("APAC")
    run.decide("EMEA")
    assert run.open_ids() == sorted(AFTER_REVIEW)
    assert run.signoff() is GateItemStatus.PASSED


def test_a_two_of_three_condition_from_the_diagram_cancels_the_third_review(
    engine: WorkflowEngine,
) -> None:
    assert deploy_condition(engine, "approved &gt;= 2 or rejected &gt; 0") == 2
    run = Regional(engine, REGIONS)
    run.decide("APAC")
    assert run.signoff() is GateItemStatus.OPEN
    run.decide("AMER")
    assert run.open_ids() == sorted(AFTER_REVIEW)  # EMEA's review was cancelled
    assert run.signoff() is GateItemStatus.PASSED


def test_a_single_region_is_one_review_like_before(engine: WorkflowEngine) -> None:
    run = Regional(engine, ["LATAM"])
    assert list(run.reviews()) == ["LATAM"]
    run.decide("LATAM", "request_changes")
    assert run.open_ids() == ["revise_proposal"]
    run.step_task("revise_proposal", form("revise_proposal", support_regions=["LATAM"]))
    run.decide("LATAM")
    assert run.signoff() is GateItemStatus.PASSED


def test_a_launch_on_the_earlier_version_keeps_its_single_review_and_goes_live(
    database: Database, clock: FixedClock
) -> None:
    """Started on version 2 (one review, no regions), a launch goes on that way after the shipped
    diagram is deployed as version 3; a new launch gets the regional review."""
    engine = WorkflowEngine(database, clock=clock)
    engine.deploy_process(xml=(V2.parent / "launch_gate_v1.bpmn").read_bytes(), actor=ADMIN, files=v2_files())
    assert engine.deploy_process(xml=V2.read_bytes(), actor=ADMIN, files=v2_files()).version == 2
    without = {k: v for k, v in form("draft_proposal").items() if k != FIELD}
    old = start(engine)
    [draft] = old.open_tasks
    old = engine.complete_task(task_id=draft.id, data=without, actor=PM)
    deployed = [v.version for v in engine.sync_shipped_processes(BPMN_DIR) if v.process_id == "launch_gate"]
    assert deployed == [3]
    engine = restart(engine)
    assert_state_round_trips(engine, old.id)
    old = engine.get_launch(launch_id=old.id, actor=AUDITOR)
    assert [t.bpmn_id for t in old.open_tasks] == ["review_proposal"]
    old = advance(engine, old, *HAPPY_PATH[1:])
    assert (old.status, old.process_version) == (LaunchStatus.LIVE, 2)
    new = Regional(engine, ["EMEA", "AMER"])
    assert (new.launch.process_version, sorted(new.reviews())) == (3, ["AMER", "EMEA"])


def test_the_regional_version_goes_live_after_every_region_approved(engine: WorkflowEngine) -> None:
    run = Regional(engine, ["EMEA", "AMER"])
    run.decide("EMEA")
    run.decide("AMER")
    launch = advance(run.engine, run.launch, *HAPPY_PATH[2:])
    assert launch.status is LaunchStatus.LIVE and launch.blockers == ()


def test_a_proposal_that_lists_no_regions_gets_one_global_review(engine: WorkflowEngine) -> None:
    """The field's default: one review for all regions, as before the regional review."""
    launch = start(engine)
    [draft] = launch.open_tasks
    without = {k: v for k, v in form("draft_proposal").items() if k != FIELD}
    launch = engine.complete_task(task_id=draft.id, data=without, actor=PM)
    detail = engine.get_task(task_id=launch.open_tasks[0].id, actor=SUPPORT)
    assert detail.reviewed_data is not None and detail.reviewed_data[FIELD] == ["Global"]
    assert [t.bpmn_id for t in launch.open_tasks] == ["review_proposal"]
