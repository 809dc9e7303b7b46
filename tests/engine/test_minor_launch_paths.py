"""Every path through bpmn/minor_launch.bpmn, driven through the engine API the way users drive it.

After EVERY command the engine is replaced by a fresh one (no cached workflows: state comes from the rows
alone), the stored workflow state must round-trip through restore/dump unchanged, the view the command
returned must equal a fresh read, and the launch must show exactly the expected open tasks (ids, roles,
assignees, due dates), gate progress and blockers. Paths: straight through (no new question types, so no
FAQ), the FAQ path (an inclusive split: the notice and the FAQ side by side, the join before the
acknowledgement waiting for both, in either order), request-changes rounds (a revision that starts
expecting new question types takes the FAQ path), the go-live refusal with its exact blockers until the
gate items are done, and a launch started on version 1 (the exclusive FAQ choice) finishing on it after
this version is deployed."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine import (
    DEFAULT_PROCESS_ID,
    Database,
    FixedClock,
    GateBlockedError,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    TaskStatus,
    WorkflowEngine,
)
from engine.clock import add_business_days
from engine.db.models import GateItemRecord
from engine.forms.diagram import read_form_files
from engine.gate import document_hash
from tests.engine.driver import (
    ADMIN,
    AUDITOR,
    PM,
    SUPPORT,
    actor_for,
    assert_state_round_trips,
    open_task,
    restart,
)
from tests.engine.form_examples import MINOR_FORM_DATA, VALID_LAUNCH_START

PROCESS = "minor_launch"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
GATE = ("proposal_signoff", "launch_notice")
HOLDERS = {
    "proposal_signoff": {"write_proposal", "support_review", "revise_proposal"},
    "launch_notice": {"send_launch_notice", "acknowledge_launch_notice"},
}
DECIDES = {"support_review": "proposal_signoff", "acknowledge_launch_notice": "launch_notice"}
ROLE = {
    "write_proposal": "pm",
    "support_review": "support_lead",
    "revise_proposal": "pm",
    "write_faq": "support_lead",
    "send_launch_notice": "pm",
    "acknowledge_launch_notice": "support_lead",
    "go_live": "pm",
}
DUE = {
    "write_proposal": 3,
    "support_review": 2,
    "revise_proposal": 2,
    "write_faq": 3,
    "send_launch_notice": 1,
    "acknowledge_launch_notice": 1,
    "go_live": 1,
}
# The earlier documents each task shows beside its form (showDocuments), once written on the path.
SHOWS = {
    "write_faq": ("write_proposal",),  # the proposal document, as last revised
    "acknowledge_launch_notice": ("send_launch_notice",),
    "go_live": ("acknowledge_launch_notice",),
}
STEP = timedelta(hours=1)
NEW_QUESTIONS = {"new_question_types": True, "new_questions": "Where is the pay now link?"}


def data(task: str, **changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(MINOR_FORM_DATA[task])
    found.update(changes)
    return found


class Journey:
    """One minor launch, step by step, checked after every step against what the path says."""

    def __init__(self, engine: WorkflowEngine, clock: FixedClock) -> None:
        self.engine, self.clock = engine, clock
        self.launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=PROCESS)
        self.created = {"write_proposal": clock.now()}
        self.passed: dict[str, tuple[str, str]] = {}  # item -> (passed_by, content hash)
        self.proposal: dict[str, Any] | None = None
        self.documents: dict[str, dict[str, Any]] = {}  # task id -> what it last submitted
        assert (self.launch.process_id, self.launch.process_name) == (PROCESS, "Minor Launch")
        assert_state_round_trips(engine, self.launch.id)
        self.check(("write_proposal",))

    def step(self, task: str, submitted: dict[str, Any], open_after: tuple[str, ...]) -> LaunchView:
        before = open_task(self.launch, task)
        who = actor_for(before)
        detail = self.engine.get_task(task_id=before.id, actor=who)
        if task == "support_review":
            assert (detail.reviewed_document, detail.reviewed_data) == ("proposal", self.proposal)
        if task == "revise_proposal":
            assert detail.current_data == self.proposal, "the revision is prefilled with the last proposal"
        shown = [(d.task_id, d.data) for d in detail.documents]
        if task == "revise_proposal":
            assert shown == [("support_review", self.documents["support_review"])]
        if task in SHOWS:
            assert [t for t, _ in shown] == [t for t in SHOWS[task] if t in self.documents]
            assert all(data == self.documents[t] for t, data in shown)
        self.clock.advance(STEP)
        returned = self.engine.complete_task(task_id=before.id, data=submitted, actor=who)
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.launch.id)
        fresh = self.engine.get_launch(launch_id=self.launch.id, actor=AUDITOR)
        assert fresh == returned, "the view right after the command differs from the one restored from rows"
        assert fresh.version == self.launch.version + 1
        self._record(task, submitted, who.username, open_after)
        self.launch = fresh
        self.check(open_after)
        return fresh

    def _record(self, task: str, submitted: dict[str, Any], who: str, open_after: tuple[str, ...]) -> None:
        # Writing and revising the proposal write one document: the latest shows as write_proposal's.
        self.documents["write_proposal" if task == "revise_proposal" else task] = submitted
        if task in ("write_proposal", "revise_proposal"):
            self.proposal = submitted
            self.passed.pop("proposal_signoff", None)
        item = DECIDES.get(task)
        if item is not None and submitted.get("decision") != "request_changes":
            reviewed = self.proposal if task == "support_review" else submitted
            self.passed[item] = (who, document_hash(reviewed))
        still_open = {t.bpmn_id for t in self.launch.open_tasks} - {task}
        self.created = {k: v for k, v in self.created.items() if k in still_open}
        for bpmn_id in open_after:
            self.created.setdefault(bpmn_id, self.clock.now())

    def check(self, expected_open: tuple[str, ...]) -> None:
        launch = self.launch
        assert sorted(t.bpmn_id for t in launch.open_tasks) == sorted(expected_open)
        for task in launch.open_tasks:
            assert task.status is TaskStatus.READY
            assert task.role == ROLE[task.bpmn_id]
            assert task.assignee == (PM.username if task.role == "pm" else None)
            assert task.due_at == add_business_days(self.created[task.bpmn_id], DUE[task.bpmn_id])
            assert task.is_go_live == (task.bpmn_id == "go_live")
            assert (task.process_id, task.process_name) == (PROCESS, "Minor Launch")
        assert launch.gate_total == len(GATE)
        assert launch.gate_passed == len(self.passed)
        assert [g.key for g in launch.gate] == list(GATE)
        for item in launch.gate:
            if item.key in self.passed:
                assert item.status is GateItemStatus.PASSED
                assert (item.passed_by, item.content_hash) == self.passed[item.key]
            else:
                assert item.status is GateItemStatus.OPEN
                held = [t for t in launch.open_tasks if t.bpmn_id in HOLDERS[item.key]]
                assert item.holding_task_id == (held[0].id if held else None)
        assert [b.item for b in launch.blockers] == [k for k in GATE if k not in self.passed]
        done = launch.status is LaunchStatus.LIVE
        assert done == (not expected_open)

    def run(self, steps: list[tuple[str, dict[str, Any], tuple[str, ...]]]) -> Journey:
        for task, submitted, open_after in steps:
            self.step(task, submitted, open_after)
        return self


APPROVE = data("support_review")
CHANGES = data("support_review", decision="request_changes", comment="Say which channel the link is in.")
NOTICE_TO_LIVE = [
    ("send_launch_notice", data("send_launch_notice"), ("acknowledge_launch_notice",)),
    ("acknowledge_launch_notice", data("acknowledge_launch_notice"), ("go_live",)),
    ("go_live", data("go_live"), ()),
]


def _finished(journey: Journey, tasks: list[str], version: int = 1) -> None:
    launch = journey.launch
    assert launch.status is LaunchStatus.LIVE and launch.ready_to_go_live is False
    assert launch.gate_passed == len(GATE) and launch.blockers == ()
    history = journey.engine.launch_history(launch_id=launch.id, actor=AUDITOR)
    assert [e.detail["task"] for e in history if e.action == "task.completed"] == tasks
    started = next(e for e in history if e.action == "launch.started")
    assert (started.detail["process_id"], started.detail["process_version"]) == (PROCESS, version)


def test_minor_launch_without_new_question_types_skips_the_faq(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    journey = Journey(engine, clock).run(
        [
            ("write_proposal", data("write_proposal"), ("support_review",)),
            ("support_review", APPROVE, ("send_launch_notice",)),
            *NOTICE_TO_LIVE,
        ]
    )
    _finished(journey, ["write_proposal", "support_review", *[s[0] for s in NOTICE_TO_LIVE]])


BOTH = ("send_launch_notice", "write_faq")  # what the inclusive split opens for new question types
ACK_TO_LIVE = NOTICE_TO_LIVE[1:]


@pytest.mark.parametrize("first", ["write_faq", "send_launch_notice"], ids=["faq_first", "notice_first"])
def test_minor_launch_expecting_new_question_types_writes_the_faq_beside_the_notice(
    engine: WorkflowEngine, clock: FixedClock, first: str
) -> None:
    """The inclusive split opens both; the join waits for the second whichever it is, and only then is
    the acknowledgement open."""
    second = next(t for t in BOTH if t != first)
    journey = Journey(engine, clock).run(
        [
            ("write_proposal", data("write_proposal", **NEW_QUESTIONS), ("support_review",)),
            ("support_review", APPROVE, BOTH),
            (first, data(first), (second,)),
            (second, data(second), ("acknowledge_launch_notice",)),
            *ACK_TO_LIVE,
        ]
    )
    _finished(journey, ["write_proposal", "support_review", first, second, *[s[0] for s in ACK_TO_LIVE]])


@pytest.mark.parametrize("rounds", [1, 2])
def test_minor_launch_goes_round_review_and_revision_and_the_revision_decides_the_faq(
    engine: WorkflowEngine, clock: FixedClock, rounds: int
) -> None:
    steps: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        ("write_proposal", data("write_proposal"), ("support_review",))
    ]
    for n in range(rounds):
        revision = data("revise_proposal", changes_made=f"Round {n + 1}.", **NEW_QUESTIONS)
        steps += [
            ("support_review", CHANGES, ("revise_proposal",)),
            ("revise_proposal", revision, ("support_review",)),
        ]
    steps += [
        ("support_review", APPROVE, BOTH),
        ("write_faq", data("write_faq"), ("send_launch_notice",)),
        ("send_launch_notice", data("send_launch_notice"), ("acknowledge_launch_notice",)),
    ]
    journey = Journey(engine, clock).run([*steps, *ACK_TO_LIVE])
    _finished(journey, [s[0] for s in steps] + [s[0] for s in ACK_TO_LIVE])


def test_minor_launch_go_live_is_refused_with_the_exact_blockers_until_the_gate_items_are_done(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    """The diagram reaches go-live only after both items passed, so re-open them behind its back: the
    engine's own rule refuses go-live naming each open item, then lets it through once they pass again."""
    journey = Journey(engine, clock).run(
        [
            ("write_proposal", data("write_proposal"), ("support_review",)),
            ("support_review", APPROVE, ("send_launch_notice",)),
            *NOTICE_TO_LIVE[:-1],
        ]
    )
    launch_id = journey.launch.id
    started_at = journey.launch.created_at

    def set_items(status: GateItemStatus, *keys: str) -> None:
        passed = status is GateItemStatus.PASSED
        with journey.engine.db.write() as session:
            session.execute(
                update(GateItemRecord)
                .where(GateItemRecord.launch_id == launch_id, GateItemRecord.key.in_(keys))
                .values(status=status.value, passed_by=SUPPORT.username if passed else None)
            )

    def go_live_blockers() -> list[tuple[str, str, str | None]]:
        engine = restart(journey.engine)
        go_live = open_task(engine.get_launch(launch_id=launch_id, actor=AUDITOR), "go_live")
        with pytest.raises(GateBlockedError) as refused:
            engine.complete_task(task_id=go_live.id, data=data("go_live"), actor=PM)
        assert engine.get_launch(launch_id=launch_id, actor=AUDITOR).open_tasks == (go_live,)
        return [(b.item, b.title, b.owner_role) for b in refused.value.blockers]

    set_items(GateItemStatus.OPEN, *GATE)
    assert go_live_blockers() == [
        ("proposal_signoff", "Proposal sign-off", "support_lead"),
        ("launch_notice", "Launch notice", "support_lead"),
    ]
    set_items(GateItemStatus.PASSED, "proposal_signoff")
    assert go_live_blockers() == [("launch_notice", "Launch notice", "support_lead")]
    set_items(GateItemStatus.PASSED, "launch_notice")
    engine = restart(journey.engine)
    go_live = open_task(engine.get_launch(launch_id=launch_id, actor=AUDITOR), "go_live")
    live = engine.complete_task(task_id=go_live.id, data=data("go_live"), actor=PM)
    assert live.status is LaunchStatus.LIVE
    assert started_at <= live.completed_at  # type: ignore[operator]
    refusals = [
        e
        for e in engine.launch_history(launch_id=launch_id, actor=AUDITOR)
        if e.action == "task.complete_blocked"
    ]
    assert [e.detail["blockers"] for e in refusals] == [list(GATE), ["launch_notice"]]


def test_the_default_process_is_still_the_launch_gate(engine: WorkflowEngine) -> None:
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM)
    assert (launch.process_id, launch.process_name) == (DEFAULT_PROCESS_ID, "Launch Gate")
    assert [t.bpmn_id for t in launch.open_tasks] == ["draft_proposal"]


def test_a_launch_started_on_version_1_keeps_its_exclusive_faq_choice_after_version_2_is_deployed(
    database: Database, clock: FixedClock
) -> None:
    """Version 1 (tests/fixtures/bpmn/minor_launch_v1.bpmn, what shipped before the inclusive gateway)
    chose the FAQ OR went straight on, and wrote the FAQ before the notice. A launch started on it goes
    on that way after the shipped diagram is deployed as version 2; a new launch runs version 2."""
    engine = WorkflowEngine(database, clock=clock)
    v1 = engine.deploy_process(
        xml=(FIXTURES / "minor_launch_v1.bpmn").read_bytes(),
        actor=ADMIN,
        files=read_form_files(BPMN_DIR.parent / "forms" / PROCESS),
    )
    assert (v1.process_id, v1.version) == (PROCESS, 1)
    old = Journey(engine, clock).run(
        [("write_proposal", data("write_proposal", **NEW_QUESTIONS), ("support_review",))]
    )
    deployed = {(v.process_id, v.version) for v in old.engine.sync_shipped_processes(BPMN_DIR)}
    assert (PROCESS, 2) in deployed
    old.run(
        [
            ("support_review", APPROVE, ("write_faq",)),  # version 1: the FAQ alone, then the notice
            ("write_faq", data("write_faq"), ("send_launch_notice",)),
            *NOTICE_TO_LIVE,
        ]
    )
    _finished(old, ["write_proposal", "support_review", "write_faq", *[s[0] for s in NOTICE_TO_LIVE]])
    new = Journey(old.engine, clock).run(
        [
            ("write_proposal", data("write_proposal", **NEW_QUESTIONS), ("support_review",)),
            ("support_review", APPROVE, BOTH),
        ]
    )
    assert (new.launch.process_id, new.launch.process_version) == (PROCESS, 2)
