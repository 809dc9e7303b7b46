"""Property: go-live is possible if and only if every gate item has passed, across random orders, outcomes,
actors and restarts.

A hypothesis state machine drives one launch of bpmn/launch_gate.bpmn. It keeps its own model of the launch
(which tasks are open, which gate items passed, whether it is live) built only from the outcomes it chose,
and after every step checks that the engine agrees with the model: open tasks, gate items, gate progress,
blockers, status, and that the stored state round-trips. Commands by actors who may not do them must be
refused and leave no trace. SQLite only, to keep it fast; the database lives in a temporary directory.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engine import (
    Actor,
    Database,
    FixedClock,
    GateBlockedError,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    PermissionDeniedError,
    TaskView,
    WorkflowEngine,
    upgrade_to_head,
)
from tests.engine.driver import (
    AUDITOR,
    MANAGER,
    OTHER_PM,
    PM,
    SUPPORT,
    SUPPORT_2,
    assert_state_round_trips,
    form,
    request_changes,
    restart,
    start,
    stored_state,
)

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
ACTORS = (PM, OTHER_PM, SUPPORT, SUPPORT_2, MANAGER, AUDITOR)
APPROVE = "approve"
CHANGES = "request_changes"
REVIEWS = frozenset({"review_proposal", "review_report_template"})
GATE_ORDER = ("proposal_signoff", "beta_faq", "report_template", "launch_notice")
# Outcomes are biased towards approval so that a run of ~30 steps reaches go-live now and then.
OUTCOMES = st.sampled_from([APPROVE, APPROVE, APPROVE, CHANGES])


class LaunchGateMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory(prefix="launchgate-gate-property-")
        self.db = Database.from_url(f"sqlite:///{Path(self._tmp.name) / 'launchgate.db'}")
        upgrade_to_head(self.db.db_engine)
        self.clock = FixedClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
        self.engine = WorkflowEngine(self.db, clock=self.clock)
        self.engine.sync_shipped_processes(BPMN_DIR)
        self.launch_id = start(self.engine).id
        # the model
        self.open: list[str] = ["draft_proposal"]
        self.passed: set[str] = set()
        self.branches_done: set[str] = set()
        self.live = False

    def teardown(self) -> None:
        self.db.dispose()
        self._tmp.cleanup()

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: not self.live)
    @rule(pick=st.integers(0, 3), outcome=OUTCOMES, actor=st.sampled_from(ACTORS))
    def complete_open_task_as_anyone(self, pick: int, outcome: str, actor: Actor) -> None:
        self._attempt(self._pick(pick), outcome, actor)

    @precondition(lambda self: not self.live)
    @rule(pick=st.integers(0, 3), outcome=OUTCOMES, support=st.sampled_from((SUPPORT, SUPPORT_2)))
    def complete_open_task_as_its_holder(self, pick: int, outcome: str, support: Actor) -> None:
        task = self._pick(pick)
        self._attempt(task, outcome, PM if task.role == "pm" else support)

    @rule()
    def restart_engine(self) -> None:
        self.engine = restart(self.engine)

    @precondition(lambda self: "go_live" in self.open)
    @rule(actor=st.sampled_from((PM, PM, OTHER_PM, SUPPORT)))
    def try_go_live(self, actor: Actor) -> None:
        go_live = next(t for t in self._launch().open_tasks if t.bpmn_id == "go_live")
        self._attempt(go_live, APPROVE, actor)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def engine_agrees_with_model(self) -> None:
        launch = self._launch()
        assert sorted(t.bpmn_id for t in launch.open_tasks) == sorted(self.open)
        statuses = {g.key: g.status for g in launch.gate}
        assert statuses == {
            k: GateItemStatus.PASSED if k in self.passed else GateItemStatus.OPEN for k in GATE_ORDER
        }
        open_items = tuple(k for k in GATE_ORDER if k not in self.passed)
        assert launch.gate_passed == len(self.passed)
        assert launch.blocked_by == open_items
        assert tuple(b.item for b in launch.blockers) == open_items
        assert ("go_live" in self.open) == (not open_items and not self.live)
        assert launch.ready_to_go_live == ("go_live" in self.open)
        assert (launch.status is LaunchStatus.LIVE) == self.live
        assert launch.status in (LaunchStatus.ACTIVE, LaunchStatus.LIVE)
        assert (launch.completed_at is not None) == self.live

    @invariant()
    def never_live_with_open_gate_items(self) -> None:
        launch = self._launch()
        if launch.status is LaunchStatus.LIVE:
            assert launch.blockers == ()
            assert launch.gate_passed == launch.gate_total
            assert all(g.status is GateItemStatus.PASSED for g in launch.gate)
            assert launch.open_tasks == ()

    @invariant()
    def stored_state_round_trips(self) -> None:
        assert_state_round_trips(self.engine, self.launch_id)

    # ------------------------------------------------------------------ helpers

    def _launch(self) -> LaunchView:
        return self.engine.get_launch(launch_id=self.launch_id, actor=AUDITOR)

    def _pick(self, pick: int) -> TaskView:
        tasks = sorted(self._launch().open_tasks, key=lambda t: t.bpmn_id)
        assert tasks, "an active launch always has an open task"
        return tasks[pick % len(tasks)]

    def _attempt(self, task: TaskView, outcome: str, actor: Actor) -> None:
        allowed = actor.has_role(task.role) and (task.role != "pm" or actor.username == PM.username)
        all_passed = len(self.passed) == len(GATE_ORDER)
        if task.bpmn_id in REVIEWS and outcome == CHANGES:
            data = request_changes(task.bpmn_id)
        else:
            outcome = APPROVE
            data = form(task.bpmn_id)
        before = self._launch()
        state = stored_state(self.engine, self.launch_id)
        self.clock.advance(timedelta(minutes=7))
        try:
            after = self.engine.complete_task(task_id=task.id, data=data, actor=actor)
        except PermissionDeniedError:
            assert not allowed, f"{actor.username} was refused {task.bpmn_id}"
            self._assert_unchanged(before, state)
            return
        except GateBlockedError as refused:
            assert task.bpmn_id == "go_live"
            assert not all_passed, "go-live was refused although every gate item passed"
            assert {b.item for b in refused.blockers} == set(GATE_ORDER) - self.passed
            event("go-live refused by the gate")
            self._assert_unchanged(before, state)
            return
        assert allowed, f"{actor.username} completed {task.bpmn_id} without the right to"
        if task.bpmn_id == "go_live":
            assert all_passed, "go-live completed with gate items open"
            assert after.status is LaunchStatus.LIVE
            event("went live")
        self._apply(task.bpmn_id, outcome)
        assert after.version == before.version + 1

    def _assert_unchanged(self, before: LaunchView, state: str) -> None:
        assert self._launch() == before
        assert stored_state(self.engine, self.launch_id) == state

    def _apply(self, bpmn_id: str, outcome: str) -> None:
        """The model's own reading of the diagram."""
        self.open.remove(bpmn_id)
        follow: list[str] = []
        if bpmn_id in ("draft_proposal", "revise_proposal"):
            follow = ["review_proposal"]
        elif bpmn_id == "review_proposal":
            if outcome == CHANGES:
                follow = ["revise_proposal"]
            else:
                self.passed.add("proposal_signoff")
                follow = ["open_beta", "draft_report_template"]
        elif bpmn_id == "open_beta":
            follow = ["complete_beta_faq"]
        elif bpmn_id == "complete_beta_faq":
            self.passed.add("beta_faq")
            follow = self._branch_done("beta")
        elif bpmn_id == "draft_report_template":
            follow = ["review_report_template"]
        elif bpmn_id == "review_report_template":
            if outcome == CHANGES:
                follow = ["draft_report_template"]
            else:
                self.passed.add("report_template")
                follow = self._branch_done("template")
        elif bpmn_id == "send_launch_notice":
            follow = ["acknowledge_launch_notice"]
        elif bpmn_id == "acknowledge_launch_notice":
            self.passed.add("launch_notice")
            follow = ["go_live"]
        elif bpmn_id == "go_live":
            self.live = True
        self.open.extend(follow)

    def _branch_done(self, branch: str) -> list[str]:
        self.branches_done.add(branch)
        return ["send_launch_notice"] if self.branches_done == {"beta", "template"} else []


@pytest.mark.slow
def test_go_live_succeeds_iff_every_gate_item_passed_across_random_orders_roles_and_restarts() -> None:
    run_state_machine_as_test(
        LaunchGateMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
