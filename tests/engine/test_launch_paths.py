"""Every path through bpmn/launch_gate.bpmn, driven through the engine API the way users drive it.

After EVERY command the engine is replaced by a fresh one (no cached workflows: state comes from the rows
alone), the stored workflow state must round-trip through restore/dump unchanged, and the whole launch view
is checked against what the path says: the open tasks (exact BPMN ids), who holds each, since when, due
when, the gate progress and the blockers. The end state, the history and the sign-off hashes are checked
once the launch is live. Then the rules around the path: four eyes, roles, claim/release/assign, invalid
data, and the go-live refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from engine import (
    Actor,
    ConflictError,
    FixedClock,
    GateBlockedError,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    PermissionDeniedError,
    Role,
    TaskStatus,
    TaskView,
    ValidationFailedError,
    WorkflowEngine,
)
from engine.clock import add_business_days
from engine.db.models import GateItemRecord
from engine.gate import document_hash
from tests.engine.driver import (
    AUDITOR,
    MANAGER,
    OTHER_PM,
    PM,
    SUPPORT,
    SUPPORT_2,
    actor_for,
    add_people,
    assert_state_round_trips,
    form,
    open_task,
    request_changes,
    restart,
    start,
    stored_state,
)

APPROVE = "approve"
CHANGES = "request_changes"

# Gate items in gate (position) order, the tasks that hold each while it is open, and the role shown for
# an open item that no task holds yet (the role of the task that decides it).
GATE_ORDER = ("proposal_signoff", "beta_faq", "report_template", "launch_notice")
HOLDERS = {
    "proposal_signoff": ("draft_proposal", "review_proposal", "revise_proposal"),
    "beta_faq": ("open_beta", "complete_beta_faq"),
    "report_template": ("draft_report_template", "review_report_template"),
    "launch_notice": ("send_launch_notice", "acknowledge_launch_notice"),
}
UNHELD_ROLE = {
    "proposal_signoff": "support_lead",
    "beta_faq": "support_lead",
    "report_template": "pm",
    "launch_notice": "support_lead",
}
DECIDES = {
    "review_proposal": "proposal_signoff",
    "complete_beta_faq": "beta_faq",
    "review_report_template": "report_template",
    "acknowledge_launch_notice": "launch_notice",
}
ROLE = {
    "draft_proposal": "pm",
    "review_proposal": "support_lead",
    "revise_proposal": "pm",
    "open_beta": "pm",
    "complete_beta_faq": "support_lead",
    "draft_report_template": "support_lead",
    "review_report_template": "pm",
    "send_launch_notice": "pm",
    "acknowledge_launch_notice": "support_lead",
    "go_live": "pm",
}
DUE_IN_BUSINESS_DAYS = {
    "draft_proposal": 5,
    "review_proposal": 3,
    "revise_proposal": 3,
    "open_beta": 5,
    "complete_beta_faq": 5,
    "draft_report_template": 5,
    "review_report_template": 3,
    "send_launch_notice": 2,
    "acknowledge_launch_notice": 1,
    "go_live": 1,
}
STEP = timedelta(hours=1)
DUAL = Actor("dana.dual", frozenset({Role.PM, Role.SUPPORT_LEAD}))


@dataclass(frozen=True)
class Step:
    """Complete `task` (with `decision` for a review); afterwards exactly `open_after` is open."""

    task: str
    open_after: tuple[str, ...]
    decision: str | None = None


# ---------------------------------------------------------------------------------------------- the paths


def _proposal(rounds: int) -> list[Step]:
    """Draft, then `rounds` request-changes rounds (review -> revise -> review), then the sign-off."""
    steps = [Step("draft_proposal", ("review_proposal",))]
    for _ in range(rounds):
        steps.append(Step("review_proposal", ("revise_proposal",), CHANGES))
        steps.append(Step("revise_proposal", ("review_proposal",)))
    steps.append(Step("review_proposal", ("draft_report_template", "open_beta"), APPROVE))
    return steps


BETA_FIRST = [
    Step("open_beta", ("complete_beta_faq", "draft_report_template")),
    Step("complete_beta_faq", ("draft_report_template",)),
    Step("draft_report_template", ("review_report_template",)),
    Step("review_report_template", ("send_launch_notice",), APPROVE),
]
TEMPLATE_FIRST = [
    Step("draft_report_template", ("open_beta", "review_report_template")),
    Step("review_report_template", ("open_beta",), APPROVE),
    Step("open_beta", ("complete_beta_faq",)),
    Step("complete_beta_faq", ("send_launch_notice",)),
]
INTERLEAVED = [
    Step("open_beta", ("complete_beta_faq", "draft_report_template")),
    Step("draft_report_template", ("complete_beta_faq", "review_report_template")),
    Step("complete_beta_faq", ("review_report_template",)),
    Step("review_report_template", ("send_launch_notice",), APPROVE),
]
INTERLEAVED_OTHER_WAY = [
    Step("draft_report_template", ("open_beta", "review_report_template")),
    Step("open_beta", ("complete_beta_faq", "review_report_template")),
    Step("review_report_template", ("complete_beta_faq",), APPROVE),
    Step("complete_beta_faq", ("send_launch_notice",)),
]
# Two request-changes rounds on the report template; the beta branch reaches the join mid-loop.
TEMPLATE_TWO_ROUNDS_BETA_MIDWAY = [
    Step("open_beta", ("complete_beta_faq", "draft_report_template")),
    Step("draft_report_template", ("complete_beta_faq", "review_report_template")),
    Step("review_report_template", ("complete_beta_faq", "draft_report_template"), CHANGES),
    Step("complete_beta_faq", ("draft_report_template",)),
    Step("draft_report_template", ("review_report_template",)),
    Step("review_report_template", ("draft_report_template",), CHANGES),
    Step("draft_report_template", ("review_report_template",)),
    Step("review_report_template", ("send_launch_notice",), APPROVE),
]
# Two request-changes rounds on the report template while the beta branch has not even started.
TEMPLATE_TWO_ROUNDS_BETA_LAST = [
    Step("draft_report_template", ("open_beta", "review_report_template")),
    Step("review_report_template", ("draft_report_template", "open_beta"), CHANGES),
    Step("draft_report_template", ("open_beta", "review_report_template")),
    Step("review_report_template", ("draft_report_template", "open_beta"), CHANGES),
    Step("draft_report_template", ("open_beta", "review_report_template")),
    Step("review_report_template", ("open_beta",), APPROVE),
    Step("open_beta", ("complete_beta_faq",)),
    Step("complete_beta_faq", ("send_launch_notice",)),
]
FINISH = [
    Step("send_launch_notice", ("acknowledge_launch_notice",)),
    Step("acknowledge_launch_notice", ("go_live",)),
    Step("go_live", ()),
]


# ---------------------------------------------------------------------------------------------- the driver


class Journey:
    """Drives one launch step by step and checks everything after each step against its own model."""

    def __init__(self, engine: WorkflowEngine, clock: FixedClock, *, starter: Actor = PM) -> None:
        self.engine = engine
        self.clock = clock
        self.starter = starter
        self.started_at = clock.now()
        self.launch = start(engine, actor=starter)
        self.created: dict[str, datetime] = {"draft_proposal": self.started_at}
        self.passed: dict[str, tuple[datetime, str, str]] = {}  # item -> (passed_at, passed_by, hash)
        self.proposal: dict[str, Any] | None = None
        self.template: dict[str, Any] | None = None
        self.first_proposal: dict[str, Any] | None = None
        self.first_template: dict[str, Any] | None = None
        self.revisions = 0
        self.template_drafts = 0
        self.review_rounds = 0
        self.done: list[tuple[str, str, str | None]] = []  # (bpmn id, who, decision)
        self.last_at = self.started_at
        assert_state_round_trips(engine, self.launch.id)
        self.check(("draft_proposal",))

    # -- commands

    def run(self, steps: list[Step]) -> Journey:
        for step in steps:
            self.step(step)
        return self

    def step(self, step: Step, actor: Actor | None = None) -> LaunchView:
        task = open_task(self.launch, step.task)
        who = actor or self.actor_for(task)
        self.check_detail(task, who)
        data = self.data_for(step)
        version = self.launch.version
        self.clock.advance(STEP)
        now = self.clock.now()
        returned = self.engine.complete_task(task_id=task.id, data=data, actor=who)
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.launch.id)
        fresh = self.engine.get_launch(launch_id=self.launch.id, actor=AUDITOR)
        assert fresh == returned, "the view right after the command differs from the one restored from rows"
        assert fresh.version == version + 1
        self.record(step, data, who.username, now)
        self.launch = fresh
        self.check(step.open_after)
        return fresh

    def actor_for(self, task: TaskView) -> Actor:
        if task.role == "pm":
            return self.starter if task.assignee in (None, self.starter.username) else OTHER_PM
        return actor_for(task)

    def data_for(self, step: Step) -> dict[str, Any]:
        if step.task == "revise_proposal":
            n = self.revisions + 1
            return form(
                "revise_proposal",
                summary=f"Send reminders for overdue invoices automatically (revision {n}).",
                changes_made=f"Revision {n}: added the support impact per channel.",
            )
        if step.task == "draft_report_template" and self.template_drafts:
            n = self.template_drafts + 1
            return form(
                "draft_report_template",
                metrics=[
                    {"name": "Contacts", "definition": f"Contacts about reminders per week (draft {n})."}
                ],
            )
        if step.decision == CHANGES:
            data = request_changes(step.task)
            data["comment"] = f"Round {self.review_rounds + 1}: please add the support impact per channel."
            return data
        return form(step.task)

    def record(self, step: Step, data: dict[str, Any], who: str, now: datetime) -> None:
        """Update the model: documents, passed items, created times of the newly open tasks."""
        self.done.append((step.task, who, step.decision))
        self.last_at = now
        if step.task in ("draft_proposal", "revise_proposal"):
            self.proposal = data
            self.first_proposal = self.first_proposal or data
            self.revisions += step.task == "revise_proposal"
        if step.task == "draft_report_template":
            self.template = data
            self.first_template = self.first_template or data
            self.template_drafts += 1
        if step.decision == CHANGES:
            self.review_rounds += 1
        item = DECIDES.get(step.task)
        if item is not None and step.decision != CHANGES:
            reviewed = {"review_proposal": self.proposal, "review_report_template": self.template}.get(
                step.task, data
            )
            self.passed[item] = (now, who, document_hash(reviewed))
        previously_open = {t.bpmn_id for t in self.launch.open_tasks} - {step.task}
        self.created = {k: v for k, v in self.created.items() if k in previously_open}
        for bpmn_id in step.open_after:
            self.created.setdefault(bpmn_id, now)

    # -- checks

    def check_detail(self, task: TaskView, who: Actor) -> None:
        """What the task shows before it is worked: prefilled document, reviewed material."""
        detail = self.engine.get_task(task_id=task.id, actor=who)
        assert detail.task == task
        if task.bpmn_id == "revise_proposal":
            assert detail.current_data == self.proposal, (
                "revise_proposal is not prefilled with the last proposal"
            )
        if task.bpmn_id == "draft_report_template" and self.template is not None:
            assert detail.current_data == self.template, "the redraft is not prefilled with the last template"
        if task.bpmn_id in {"review_proposal", "review_report_template"}:
            assert detail.current_data == {}, "a review starts blank, never with the last round's decision"
        assert detail.refusal is None, f"{who.username} may not complete {task.bpmn_id}: {detail.refusal}"
        if task.bpmn_id == "review_proposal":
            assert detail.reviewed_document == "proposal"
            assert detail.reviewed_data == self.proposal
        elif task.bpmn_id == "review_report_template":
            assert detail.reviewed_document == "report_template"
            assert detail.reviewed_data == self.template
        else:
            assert detail.reviewed_document is None
            assert detail.reviewed_data is None

    def check(self, expected_open: tuple[str, ...]) -> None:
        launch = self.launch
        opened = {t.bpmn_id: t for t in launch.open_tasks}
        assert sorted(t.bpmn_id for t in launch.open_tasks) == sorted(expected_open)
        for bpmn_id, task in opened.items():
            created = self.created[bpmn_id]
            assert task.status is TaskStatus.READY
            assert task.role == ROLE[bpmn_id]
            assert task.created_at == created
            assert task.due_at == add_business_days(created, DUE_IN_BUSINESS_DAYS[bpmn_id])
            assert task.is_go_live == (bpmn_id == "go_live")
            if task.role == "pm":
                assert task.assignee == self.starter.username, "pm tasks are assigned to the launch's PM"
            else:
                assert task.assignee is None, "support tasks wait in the role's queue"
        index = self.engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.READY)
        assert sorted(t.id for t in index.items) == sorted(t.id for t in launch.open_tasks)

        # gate progress
        open_items = [k for k in GATE_ORDER if k not in self.passed]
        assert launch.gate_total == 4
        assert launch.gate_passed == len(self.passed)
        assert launch.blocked_by == tuple(open_items)
        assert [g.key for g in launch.gate] == list(GATE_ORDER)
        for g in launch.gate:
            if g.key in self.passed:
                at, by, content_hash = self.passed[g.key]
                assert (g.status, g.passed_at, g.passed_by, g.content_hash) == (
                    GateItemStatus.PASSED,
                    at,
                    by,
                    content_hash,
                ), g.key
            else:
                assert (g.status, g.passed_at, g.passed_by, g.content_hash) == (
                    GateItemStatus.OPEN,
                    None,
                    None,
                    None,
                )

        # blockers: what, who, since, due
        assert [b.item for b in launch.blockers] == open_items
        for blocker in launch.blockers:
            holders = [opened[b] for b in HOLDERS[blocker.item] if b in opened]
            assert len(holders) <= 1
            if holders:
                holder = holders[0]
                assert blocker.task_id == holder.id
                assert blocker.owner_role == holder.role
                assert blocker.owner == holder.assignee
                assert blocker.since == holder.created_at == self.created[holder.bpmn_id]
                assert blocker.due_at == holder.due_at
                assert blocker.due_at is not None
            else:
                assert blocker.task_id is None
                assert blocker.owner_role == UNHELD_ROLE[blocker.item]
                assert blocker.owner is None
                assert blocker.since == self.started_at
                assert blocker.due_at is None
        assert self.engine.list_blockers(launch_id=launch.id, actor=AUDITOR) == launch.blockers

        # go-live only at the very end, never live with an open item
        assert ("go_live" in opened) == (not open_items and launch.status is LaunchStatus.ACTIVE)
        assert launch.ready_to_go_live == ("go_live" in opened)
        if launch.status is LaunchStatus.LIVE:
            assert not open_items
            assert launch.completed_at == self.last_at
        else:
            assert launch.status is LaunchStatus.ACTIVE
            assert launch.completed_at is None

    def assert_went_live(self) -> None:
        engine, launch = self.engine, self.launch
        assert launch.status is LaunchStatus.LIVE
        assert launch.gate_passed == launch.gate_total == 4
        assert launch.open_tasks == ()
        assert launch.blockers == ()
        assert launch.blocked_by == ()
        assert launch.completed_at == self.last_at
        assert engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.READY).total == 0
        assert engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.CANCELLED).total == 0
        completed = engine.list_tasks(actor=AUDITOR, launch_id=launch.id, status=TaskStatus.COMPLETED)
        assert completed.total == len(self.done)
        history = engine.launch_history(launch_id=launch.id, actor=AUDITOR)
        assert [e.action for e in history] == ["launch.started"] + ["task.completed"] * len(self.done)
        assert [e.actor for e in history] == [self.starter.username] + [who for _, who, _ in self.done]
        assert [e.detail["task"] for e in history[1:]] == [task for task, _, _ in self.done]
        for event, (_, _, decision) in zip(history[1:], self.done, strict=True):
            assert event.detail["decision"] == decision
        assert history[-1].detail["launch_status"] == LaunchStatus.LIVE.value
        assert all(e.launch_id == launch.id for e in history)
        verification = engine.verify_audit()
        assert verification.ok, verification.message
        everything = engine.audit_events(actor=AUDITOR, limit=10_000)
        assert verification.count == len(everything)
        deployed = [(e.action, e.detail.get("process_id")) for e in everything if e.launch_id is None]
        assert deployed == [("process.deployed", "launch_gate"), ("process.deployed", "minor_launch")]
        live = engine.list_launches(actor=AUDITOR, status=LaunchStatus.LIVE)
        assert [v.id for v in live.items] == [launch.id]
        hashes = {g.key: g.content_hash for g in launch.gate}
        assert hashes["proposal_signoff"] == document_hash(self.proposal)
        assert hashes["report_template"] == document_hash(self.template)
        assert hashes["beta_faq"] == document_hash(form("complete_beta_faq"))
        assert hashes["launch_notice"] == document_hash(form("acknowledge_launch_notice"))


def _unchanged(engine: WorkflowEngine, before: LaunchView, state: str, task: TaskView) -> None:
    """A refused command left no trace on the launch (its refusal is audited separately)."""
    fresh = restart(engine)
    after = fresh.get_launch(launch_id=before.id, actor=AUDITOR)
    assert after == before
    assert stored_state(fresh, before.id) == state
    assert open_task(after, task.bpmn_id) == task


def _last_event(engine: WorkflowEngine, launch_id: str) -> Any:
    return engine.launch_history(launch_id=launch_id, actor=AUDITOR)[-1]


# ---------------------------------------------------------------------------------------------- path tests


def test_launch_goes_live_when_approved_first_time_and_beta_branch_finishes_first(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock).run(_proposal(0) + BETA_FIRST + FINISH)
    journey.assert_went_live()


def test_launch_goes_live_when_approved_first_time_and_report_template_branch_finishes_first(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock).run(_proposal(0) + TEMPLATE_FIRST + FINISH)
    journey.assert_went_live()


@pytest.mark.parametrize(
    "branches", [INTERLEAVED, INTERLEAVED_OTHER_WAY], ids=["beta_starts", "template_starts"]
)
def test_launch_goes_live_when_branches_interleave(
    engine: WorkflowEngine, clock: FixedClock, branches: list[Step]
) -> None:
    journey = Journey(engine, clock).run(_proposal(0) + branches + FINISH)
    journey.assert_went_live()


def test_launch_goes_live_when_proposal_needs_three_change_rounds(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock)
    journey.run(_proposal(3))
    assert journey.revisions == 3
    signoff = next(g for g in journey.launch.gate if g.key == "proposal_signoff")
    assert journey.proposal is not None and journey.first_proposal is not None
    assert journey.proposal["changes_made"].startswith("Revision 3:")
    assert signoff.content_hash == document_hash(journey.proposal), "sign-off must hash the REVISED proposal"
    assert signoff.content_hash != document_hash(journey.first_proposal)
    journey.run(BETA_FIRST + FINISH)
    journey.assert_went_live()
    history = journey.engine.launch_history(launch_id=journey.launch.id, actor=AUDITOR)
    reviews = [e for e in history if e.detail.get("task") == "review_proposal"]
    assert [e.detail["decision"] for e in reviews] == [CHANGES, CHANGES, CHANGES, APPROVE]
    assert [e.detail["comment"][:8] for e in reviews[:3]] == ["Round 1:", "Round 2:", "Round 3:"]
    assert [e.detail["gate"][0]["status"] for e in reviews] == ["open", "open", "open", "passed"]
    assert reviews[-1].detail["gate"][0]["content_hash"] == document_hash(journey.proposal)


@pytest.mark.parametrize(
    "branches",
    [TEMPLATE_TWO_ROUNDS_BETA_MIDWAY, TEMPLATE_TWO_ROUNDS_BETA_LAST],
    ids=["beta_joins_midway", "beta_joins_last"],
)
def test_launch_goes_live_when_report_template_needs_two_change_rounds(
    engine: WorkflowEngine, clock: FixedClock, branches: list[Step]
) -> None:
    journey = Journey(engine, clock).run(_proposal(0) + branches + FINISH)
    assert journey.template_drafts == 3
    journey.assert_went_live()
    assert journey.template is not None and journey.first_template is not None
    template = next(g for g in journey.launch.gate if g.key == "report_template")
    assert template.content_hash == document_hash(journey.template)
    assert template.content_hash != document_hash(journey.first_template)


def test_launch_goes_live_when_both_loops_run_in_one_launch(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock).run(_proposal(2) + TEMPLATE_TWO_ROUNDS_BETA_LAST + FINISH)
    assert (journey.revisions, journey.template_drafts) == (2, 3)
    journey.assert_went_live()


def test_completed_go_live_cannot_be_completed_again(engine: WorkflowEngine, clock: FixedClock) -> None:
    journey = Journey(engine, clock).run(_proposal(0) + BETA_FIRST + FINISH)
    engine = journey.engine
    go_live = engine.list_tasks(actor=AUDITOR, launch_id=journey.launch.id, status=TaskStatus.COMPLETED).items
    task = next(t for t in go_live if t.bpmn_id == "go_live")
    with pytest.raises(ConflictError, match="already completed"):
        engine.complete_task(task_id=task.id, data=form("go_live"), actor=PM)
    assert restart(engine).get_launch(launch_id=journey.launch.id, actor=AUDITOR) == journey.launch


def test_go_live_refused_with_blockers_when_gate_items_are_open_whatever_the_flow(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    """The diagram only reaches go-live after every item passed, so re-open two items behind its back: the
    engine's own check must still refuse, naming each item, its owner role, since when and due when."""
    journey = Journey(engine, clock).run(_proposal(0) + BETA_FIRST + FINISH[:-1])
    launch_id = journey.launch.id
    with journey.engine.db.write() as session:
        session.execute(
            update(GateItemRecord)
            .where(
                GateItemRecord.launch_id == launch_id, GateItemRecord.key.in_(["beta_faq", "report_template"])
            )
            .values(status=GateItemStatus.OPEN.value, passed_at=None, passed_by=None, content_hash=None)
        )
    engine = restart(journey.engine)
    before = engine.get_launch(launch_id=launch_id, actor=AUDITOR)
    assert before.gate_passed == 4, "the denormalised counter was not touched"
    assert [b.item for b in before.blockers] == ["beta_faq", "report_template"]
    state = stored_state(engine, launch_id)
    go_live = open_task(before, "go_live")

    clock.advance(STEP)
    with pytest.raises(GateBlockedError) as refused:
        engine.complete_task(task_id=go_live.id, data=form("go_live"), actor=PM)

    blockers = refused.value.blockers
    assert [(b.item, b.title, b.owner_role, b.owner, b.task_id, b.since, b.due_at) for b in blockers] == [
        ("beta_faq", "Beta FAQ", "support_lead", None, None, journey.started_at, None),
        ("report_template", "Report template approved", "pm", None, None, journey.started_at, None),
    ]
    assert "Beta FAQ" in refused.value.message
    assert "Report template approved" in refused.value.message
    _unchanged(engine, before, state, go_live)
    event = _last_event(engine, launch_id)
    assert (event.action, event.actor, event.task_id) == ("task.complete_blocked", PM.username, go_live.id)
    assert event.detail["blockers"] == ["beta_faq", "report_template"]


# ---------------------------------------------------------------------------------------------- four eyes


def test_review_proposal_denied_when_reviewer_drafted_the_proposal(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock, starter=DUAL)
    journey.step(Step("draft_proposal", ("review_proposal",)))
    for round_ in (1, 2):
        review = open_task(journey.launch, "review_proposal")
        state = stored_state(journey.engine, journey.launch.id)
        with pytest.raises(PermissionDeniedError, match="own submission"):
            journey.engine.complete_task(task_id=review.id, data=form("review_proposal"), actor=DUAL)
        _unchanged(journey.engine, journey.launch, state, review)
        event = _last_event(journey.engine, journey.launch.id)
        assert (event.action, event.actor, event.task_id) == (
            "task.complete_denied",
            DUAL.username,
            review.id,
        )
        if round_ == 1:
            journey.step(Step("review_proposal", ("revise_proposal",), CHANGES), actor=SUPPORT)
            journey.step(Step("revise_proposal", ("review_proposal",)), actor=DUAL)
    journey.step(Step("review_proposal", ("draft_report_template", "open_beta"), APPROVE), actor=SUPPORT_2)
    signoff = journey.launch.gate[0]
    assert (signoff.key, signoff.passed_by) == ("proposal_signoff", SUPPORT_2.username)


def test_review_report_template_denied_when_reviewer_drafted_the_latest_template(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    add_people(engine)
    journey = Journey(engine, clock, starter=DUAL)
    journey.step(Step("draft_proposal", ("review_proposal",)))
    journey.step(Step("review_proposal", ("draft_report_template", "open_beta"), APPROVE), actor=SUPPORT)
    # Round 1: SUPPORT drafts, the launch PM (who also holds support_lead) may review it.
    journey.step(Step("draft_report_template", ("open_beta", "review_report_template")), actor=SUPPORT)
    journey.step(Step("review_report_template", ("draft_report_template", "open_beta"), CHANGES), actor=DUAL)
    # Round 2: the launch PM drafts it themself, so they may not approve it ...
    journey.step(Step("draft_report_template", ("open_beta", "review_report_template")), actor=DUAL)
    review = open_task(journey.launch, "review_report_template")
    assert review.assignee == DUAL.username
    state = stored_state(journey.engine, journey.launch.id)
    with pytest.raises(PermissionDeniedError, match="own submission"):
        journey.engine.complete_task(task_id=review.id, data=form("review_report_template"), actor=DUAL)
    _unchanged(journey.engine, journey.launch, state, review)
    # ... so they hand the review to another PM, who approves.
    assigned = journey.engine.assign_task(task_id=review.id, assignee=OTHER_PM.username, actor=DUAL)
    assert assigned.assignee == OTHER_PM.username
    journey.launch = journey.engine.get_launch(launch_id=journey.launch.id, actor=AUDITOR)
    clock.advance(STEP)
    launch = journey.engine.complete_task(
        task_id=review.id, data=form("review_report_template"), actor=OTHER_PM
    )
    item = next(g for g in launch.gate if g.key == "report_template")
    assert (item.status, item.passed_by) == (GateItemStatus.PASSED, OTHER_PM.username)
    assert item.content_hash == document_hash(journey.template)


def test_review_report_template_allowed_when_someone_else_drafted_the_latest_round(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    add_people(engine)
    journey = Journey(engine, clock, starter=DUAL)
    journey.step(Step("draft_proposal", ("review_proposal",)))
    journey.step(Step("review_proposal", ("draft_report_template", "open_beta"), APPROVE), actor=SUPPORT)
    journey.step(Step("draft_report_template", ("open_beta", "review_report_template")), actor=DUAL)
    review = open_task(journey.launch, "review_report_template")
    journey.engine.assign_task(task_id=review.id, assignee=OTHER_PM.username, actor=DUAL)
    journey.launch = journey.engine.get_launch(launch_id=journey.launch.id, actor=AUDITOR)
    journey.step(
        Step("review_report_template", ("draft_report_template", "open_beta"), CHANGES), actor=OTHER_PM
    )
    journey.step(Step("draft_report_template", ("open_beta", "review_report_template")), actor=SUPPORT)
    journey.step(Step("review_report_template", ("open_beta",), APPROVE), actor=DUAL)
    assert journey.launch.gate[2].passed_by == DUAL.username


def test_review_report_template_denied_when_reviewer_drafted_latest_round_on_a_lagging_clock(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    add_people(engine)
    journey = Journey(engine, clock, starter=DUAL)
    journey.step(Step("draft_proposal", ("review_proposal",)))
    journey.step(Step("review_proposal", ("draft_report_template", "open_beta"), APPROVE), actor=SUPPORT)
    eng = journey.engine
    # 12:00:00 SUPPORT drafts round 1; 12:00:01 another PM asks for changes.
    draft = open_task(journey.launch, "draft_report_template")
    launch = eng.complete_task(task_id=draft.id, data=form("draft_report_template"), actor=SUPPORT)
    review = open_task(launch, "review_report_template")
    eng.assign_task(task_id=review.id, assignee=OTHER_PM.username, actor=DUAL)
    clock.advance(timedelta(seconds=1))
    launch = eng.complete_task(
        task_id=review.id, data=request_changes("review_report_template"), actor=OTHER_PM
    )
    # 12:00:02 DUAL redrafts it, served by a node whose clock lags three seconds (stamped 11:59:59).
    clock.advance(timedelta(seconds=-2))
    redraft = open_task(launch, "draft_report_template")
    launch = eng.complete_task(task_id=redraft.id, data=form("draft_report_template"), actor=DUAL)
    review = open_task(launch, "review_report_template")
    assert review.assignee == DUAL.username
    clock.advance(timedelta(seconds=10))
    # DUAL wrote the template under review: four eyes must refuse them.
    with pytest.raises(PermissionDeniedError, match="own submission"):
        eng.complete_task(task_id=review.id, data=form("review_report_template"), actor=DUAL)


# ---------------------------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("bpmn_id", "actor", "reason"),
    [
        ("draft_proposal", SUPPORT, "pm role"),
        ("draft_proposal", OTHER_PM, f"assigned to {PM.username}"),
        ("draft_proposal", MANAGER, "pm role"),
        ("draft_proposal", AUDITOR, "pm role"),
        ("review_proposal", PM, "support_lead role"),
        ("review_proposal", MANAGER, "support_lead role"),
        ("review_proposal", AUDITOR, "support_lead role"),
    ],
)
def test_task_completion_denied_when_actor_lacks_role_or_assignment(
    engine: WorkflowEngine, clock: FixedClock, bpmn_id: str, actor: Actor, reason: str
) -> None:
    journey = Journey(engine, clock)
    if bpmn_id == "review_proposal":
        journey.step(Step("draft_proposal", ("review_proposal",)))
    task = open_task(journey.launch, bpmn_id)
    state = stored_state(journey.engine, journey.launch.id)
    with pytest.raises(PermissionDeniedError, match=reason):
        journey.engine.complete_task(task_id=task.id, data=form(bpmn_id), actor=actor)
    _unchanged(journey.engine, journey.launch, state, task)
    event = _last_event(journey.engine, journey.launch.id)
    assert (event.action, event.actor, event.task_id) == ("task.complete_denied", actor.username, task.id)
    assert reason in event.detail["reason"]


def test_support_task_claim_release_assign_follow_roles_and_are_audited(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    add_people(engine)
    journey = Journey(engine, clock)
    journey.step(Step("draft_proposal", ("review_proposal",)))
    launch_id = journey.launch.id
    review = open_task(journey.launch, "review_proposal")
    eng = journey.engine
    start_version = journey.launch.version

    def assignee() -> str | None:
        return open_task(eng.get_launch(launch_id=launch_id, actor=AUDITOR), "review_proposal").assignee

    with pytest.raises(PermissionDeniedError, match="support_lead role"):
        eng.claim_task(task_id=review.id, actor=PM)
    assert eng.claim_task(task_id=review.id, actor=SUPPORT).assignee == SUPPORT.username
    eng = restart(eng)
    with pytest.raises(ConflictError, match=f"already assigned to {SUPPORT.username}"):
        eng.claim_task(task_id=review.id, actor=SUPPORT_2)
    with pytest.raises(PermissionDeniedError, match=f"assigned to {SUPPORT.username}"):
        eng.complete_task(task_id=review.id, data=form("review_proposal"), actor=SUPPORT_2)
    with pytest.raises(PermissionDeniedError, match="only the assignee"):
        eng.release_task(task_id=review.id, actor=SUPPORT_2)
    assert eng.release_task(task_id=review.id, actor=SUPPORT).assignee is None
    eng = restart(eng)
    with pytest.raises(PermissionDeniedError, match="only a support manager"):
        eng.assign_task(task_id=review.id, assignee=SUPPORT_2.username, actor=PM)
    assert (
        eng.assign_task(task_id=review.id, assignee=SUPPORT_2.username, actor=MANAGER).assignee
        == "sue.support"
    )
    assert assignee() == SUPPORT_2.username
    eng = restart(eng)
    with pytest.raises(PermissionDeniedError, match=f"assigned to {SUPPORT_2.username}"):
        eng.complete_task(task_id=review.id, data=form("review_proposal"), actor=SUPPORT)
    # the support manager may take a task back from its assignee
    assert eng.release_task(task_id=review.id, actor=MANAGER).assignee is None
    assert (
        eng.assign_task(task_id=review.id, assignee=SUPPORT_2.username, actor=MANAGER).assignee
        == "sue.support"
    )
    # five successful reassignments, each one version; the refusals changed nothing
    assert eng.get_launch(launch_id=launch_id, actor=AUDITOR).version == start_version + 5
    clock.advance(STEP)
    launch = eng.complete_task(task_id=review.id, data=form("review_proposal"), actor=SUPPORT_2)
    assert launch.gate[0].passed_by == SUPPORT_2.username

    history = eng.launch_history(launch_id=launch_id, actor=AUDITOR)[2:]
    assert [(e.action, e.actor) for e in history] == [
        ("task.claim_denied", PM.username),
        ("task.claimed", SUPPORT.username),
        ("task.claim_conflict", SUPPORT_2.username),
        ("task.complete_denied", SUPPORT_2.username),
        ("task.release_denied", SUPPORT_2.username),
        ("task.released", SUPPORT.username),
        ("task.assign_denied", PM.username),
        ("task.assigned", MANAGER.username),
        ("task.complete_denied", SUPPORT.username),
        ("task.released", MANAGER.username),
        ("task.assigned", MANAGER.username),
        ("task.completed", SUPPORT_2.username),
    ]
    changes = [
        (e.before, e.after) for e in history if e.action in ("task.claimed", "task.released", "task.assigned")
    ]
    assert changes == [
        ({"assignee": None}, {"assignee": SUPPORT.username}),
        ({"assignee": SUPPORT.username}, {"assignee": None}),
        ({"assignee": None}, {"assignee": SUPPORT_2.username}),
        ({"assignee": SUPPORT_2.username}, {"assignee": None}),
        ({"assignee": None}, {"assignee": SUPPORT_2.username}),
    ]
    assert all(e.task_id == review.id for e in history)
    assert eng.verify_audit().ok


def test_pm_task_assign_only_by_launch_pm_and_assignee_completes(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    add_people(engine)
    journey = Journey(engine, clock)
    launch_id = journey.launch.id
    draft = open_task(journey.launch, "draft_proposal")
    eng = journey.engine
    assert draft.assignee == PM.username

    with pytest.raises(PermissionDeniedError, match="only the launch's product manager"):
        eng.assign_task(task_id=draft.id, assignee=OTHER_PM.username, actor=OTHER_PM)
    with pytest.raises(PermissionDeniedError, match="only the launch's product manager"):
        eng.assign_task(task_id=draft.id, assignee=OTHER_PM.username, actor=MANAGER)
    with pytest.raises(ConflictError, match=f"already assigned to {PM.username}"):
        eng.claim_task(task_id=draft.id, actor=OTHER_PM)
    with pytest.raises(PermissionDeniedError, match="only the assignee"):
        eng.release_task(task_id=draft.id, actor=OTHER_PM)
    assert (
        eng.assign_task(task_id=draft.id, assignee=OTHER_PM.username, actor=PM).assignee == OTHER_PM.username
    )
    eng = restart(eng)
    with pytest.raises(PermissionDeniedError, match=f"assigned to {OTHER_PM.username}"):
        eng.complete_task(task_id=draft.id, data=form("draft_proposal"), actor=PM)
    clock.advance(STEP)
    launch = eng.complete_task(task_id=draft.id, data=form("draft_proposal"), actor=OTHER_PM)
    assert [t.bpmn_id for t in launch.open_tasks] == ["review_proposal"]
    done = eng.list_tasks(actor=AUDITOR, launch_id=launch_id, status=TaskStatus.COMPLETED).items
    assert [(t.bpmn_id, t.completed_by, t.assignee) for t in done] == [
        ("draft_proposal", OTHER_PM.username, OTHER_PM.username)
    ]
    history = eng.launch_history(launch_id=launch_id, actor=AUDITOR)[1:]
    assert [(e.action, e.actor) for e in history] == [
        ("task.assign_denied", OTHER_PM.username),
        ("task.assign_denied", MANAGER.username),
        ("task.claim_conflict", OTHER_PM.username),
        ("task.release_denied", OTHER_PM.username),
        ("task.assigned", PM.username),
        ("task.complete_denied", PM.username),
        ("task.completed", OTHER_PM.username),
    ]
    assigned = history[4]
    assert (assigned.before, assigned.after) == ({"assignee": PM.username}, {"assignee": OTHER_PM.username})


# ---------------------------------------------------------------------------------------------- invalid data


def _to_beta_faq(journey: Journey) -> None:
    journey.run(_proposal(0))
    journey.step(Step("open_beta", ("complete_beta_faq", "draft_report_template")))


@pytest.mark.parametrize(
    ("bpmn_id", "change", "loc", "kind"),
    [
        ("complete_beta_faq", "two_faq_entries", ("faq_entries",), "too_short"),
        ("review_proposal", "changes_without_comment", ("comment",), "comment_required"),
        ("review_report_template", "changes_without_comment", ("comment",), "comment_required"),
        ("draft_proposal", "extra_field", ("gate_passed",), "extra_forbidden"),
        ("review_proposal", "extra_field", ("gate_passed",), "extra_forbidden"),
    ],
)
def test_invalid_task_data_rejected_with_problems_and_nothing_changes(
    engine: WorkflowEngine, clock: FixedClock, bpmn_id: str, change: str, loc: tuple[str, ...], kind: str
) -> None:
    journey = Journey(engine, clock)
    if bpmn_id == "complete_beta_faq":
        _to_beta_faq(journey)
    elif bpmn_id == "review_proposal":
        journey.step(Step("draft_proposal", ("review_proposal",)))
    elif bpmn_id == "review_report_template":
        journey.run(_proposal(0))
        journey.step(Step("draft_report_template", ("open_beta", "review_report_template")))
    data = form(bpmn_id)
    if change == "two_faq_entries":
        data["faq_entries"] = data["faq_entries"][:2]
    elif change == "changes_without_comment":
        data.update(decision=CHANGES, comment="")
    else:
        data["gate_passed"] = True
    task = open_task(journey.launch, bpmn_id)
    eng = journey.engine
    state = stored_state(eng, journey.launch.id)

    clock.advance(STEP)
    with pytest.raises(ValidationFailedError) as refused:
        eng.complete_task(task_id=task.id, data=data, actor=journey.actor_for(task))

    assert [(p.loc, p.type) for p in refused.value.problems] == [(loc, kind)]
    assert ".".join(loc) in refused.value.message
    _unchanged(eng, journey.launch, state, task)
    history = eng.launch_history(launch_id=journey.launch.id, actor=AUDITOR)
    assert history[-1].action == "task.complete_invalid"
    assert history[-1].detail["fields"] == [".".join(loc)]
    assert [e.action for e in history[:-1]] == ["launch.started"] + ["task.completed"] * len(journey.done)
    # the same task then completes normally with valid data
    journey.step(Step(bpmn_id, tuple(_after_valid(bpmn_id)), APPROVE if "review" in bpmn_id else None))


def _after_valid(bpmn_id: str) -> list[str]:
    return {
        "complete_beta_faq": ["draft_report_template"],
        "review_proposal": ["draft_report_template", "open_beta"],
        "review_report_template": ["open_beta"],
        "draft_proposal": ["review_proposal"],
    }[bpmn_id]
