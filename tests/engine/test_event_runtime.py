"""BPMN events in the adapter (engine.runtime): waiting, delivering, throwing, terminating, timer cycles.

Each step is followed by a save and restore (the stored JSON must round-trip unchanged), so every path
below also runs from stored state alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from engine import FixedClock
from engine.runtime import RunningWorkflow, build_spec
from engine.runtime.events import WaitingEvent
from engine.serialization import dump_state, restore_state
from tests.engine.event_diagrams import (
    ERROR,
    ESCALATION,
    HALT,
    MESSAGE,
    SIGNAL,
    TERMINATE,
    boundary,
    catch,
    chain,
    diagram,
    timer,
    user_task,
)

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


class Run:
    """One workflow, saved and restored after every step."""

    def __init__(self, body: str) -> None:
        self.clock = FixedClock(T0)
        self.spec = build_spec(etree.fromstring(diagram(body).encode()), "events")
        self.wf = RunningWorkflow.start(
            self.spec, start_data={"product": "x"}, launch_id="l1", clock=self.clock
        )
        self.log = self.wf.take_events()
        self.reload()

    def reload(self) -> None:
        state = dump_state(self.wf)
        self.wf = restore_state(state, self.spec, launch_id="l1", clock=self.clock)
        assert dump_state(self.wf) == state

    def ready(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.wf.ready_user_tasks())

    def waiting(self) -> list[tuple[str, str, str]]:
        return [(e.kind, e.name, e.bpmn_id) for e in self.wf.waiting_events()]

    def complete(self, bpmn_id: str) -> None:
        task = next(t for t in self.wf.ready_user_tasks() if t.bpmn_id == bpmn_id)
        self.wf.complete_user_task(task.id, document=bpmn_id, data={"done": True})
        self.log = self.wf.take_events()
        self.reload()

    def receive(self, kind: str, name: str, payload: dict[str, Any] | None = None) -> int:
        caught = self.wf.receive(kind, name, payload)
        self.log = self.wf.take_events()
        self.reload()
        return caught

    def tick(self, delta: timedelta) -> list[str]:
        self.clock.advance(delta)
        fired = self.wf.fire_due_timers()
        self.log = self.wf.take_events()
        self.reload()
        return fired


def test_an_intermediate_message_event_waits_and_its_payload_lands_under_the_message_name() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + catch("beta", MESSAGE)
        + user_task("report")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "beta", "report", "end")
    )
    assert run.waiting() == [("message", "beta_ended", "beta")]
    assert run.ready() == []
    assert run.receive("message", "other_name", {}) == 0
    assert run.waiting() == [("message", "beta_ended", "beta")]
    assert run.receive("message", "beta_ended", {"testers": 140}) == 1
    assert run.ready() == ["report"]
    assert run.waiting() == []
    report = run.wf.ready_user_tasks()[0]
    assert run.wf.data_for(report.id)["beta_ended"] == {"testers": 140}
    run.complete("report")
    assert run.wf.is_finished()


def test_a_receive_task_waits_for_its_message() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/><bpmn:receiveTask id="wait_beta" messageRef="m_beta"/>'
        '<bpmn:endEvent id="end"/>' + chain("start", "wait_beta", "end")
    )
    assert run.waiting() == [("message", "beta_ended", "wait_beta")]
    assert run.receive("message", "beta_ended", {"ok": True}) == 1
    assert run.wf.is_finished()


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_message_boundary_on_a_task_interrupts_it_or_not(interrupting: bool) -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_running")
        + boundary("halted", "beta_running", HALT, interrupting=interrupting)
        + user_task("wrap_up")
        + user_task("explain_halt")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_halt"/>'
        + chain("start", "beta_running", "wrap_up", "end")
        + chain("halted", "explain_halt", "end_halt", prefix="h")
    )
    assert run.waiting() == [("message", "halt", "halted")]
    assert run.wf.waiting_events()[0] == WaitingEvent("message", "halt", "halted", None, True, interrupting)
    assert run.receive("message", "halt", {"why": "crash"}) == 1
    assert run.ready() == (["explain_halt"] if interrupting else ["beta_running", "explain_halt"])
    run.complete("explain_halt")
    if interrupting:
        assert run.wf.is_finished()
        return
    assert run.waiting() == []  # a non-interrupting boundary catches once per activation here
    run.complete("beta_running")
    run.complete("wrap_up")
    assert run.wf.is_finished()


def test_a_signal_thrown_is_caught_inside_the_launch_and_recorded_for_the_others() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user_task("announce")
        + '<bpmn:intermediateThrowEvent id="throw_freeze">'
        + SIGNAL
        + "</bpmn:intermediateThrowEvent>"
        + catch("await_freeze", SIGNAL)
        + user_task("frozen")
        + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + chain("start", "split", "announce", "throw_freeze", "end_a")
        + chain("split", "await_freeze", "frozen", "end_b", prefix="b")
    )
    assert run.waiting() == [("signal", "freeze", "await_freeze")]
    run.complete("announce")
    assert run.ready() == ["frozen"]
    assert [(t.kind, t.name, t.bpmn_id) for t in run.log.thrown] == [("signal", "freeze", "throw_freeze")]


def test_a_message_end_event_is_recorded_with_the_data_of_its_task() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_ended")
        + '<bpmn:endEvent id="tell"><bpmn:messageEventDefinition messageRef="m_beta"/></bpmn:endEvent>'
        + chain("start", "beta_ended", "tell")
    )
    run.complete("beta_ended")
    assert run.wf.is_finished()
    [thrown] = run.log.thrown
    assert (thrown.kind, thrown.name, thrown.bpmn_id) == ("message", "beta_ended", "tell")
    assert thrown.data["beta_ended"] == {"done": True}


@pytest.mark.parametrize("first", ["message", "timer"])
def test_an_event_based_gateway_takes_the_first_event_and_cancels_the_others(first: str) -> None:
    run = Run(
        '<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="gw"/>'
        + catch("beta", MESSAGE)
        + catch("too_late", timer("timeDuration", "PT2H"))
        + user_task("report")
        + user_task("chase")
        + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + chain("start", "gw", "beta", "report", "end_a")
        + chain("gw", "too_late", "chase", "end_b", prefix="t")
    )
    assert run.waiting() == [("message", "beta_ended", "beta"), ("timer", "too_late", "too_late")]
    assert run.wf.next_timer_at() == T0 + timedelta(hours=2)
    if first == "message":
        assert run.receive("message", "beta_ended", {}) == 1
        assert run.ready() == ["report"]
    else:
        assert run.tick(timedelta(hours=1)) == []
        assert run.tick(timedelta(hours=1, minutes=1)) == ["too_late"]
        assert run.ready() == ["chase"]
    assert run.waiting() == []
    assert run.wf.next_timer_at() is None


def test_a_terminate_end_event_ends_the_workflow_and_cancels_the_other_paths() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user_task("cancel_launch")
        + user_task("other_work")
        + f'<bpmn:endEvent id="stop">{TERMINATE}</bpmn:endEvent><bpmn:endEvent id="end"/>'
        + chain("start", "split", "cancel_launch", "stop")
        + chain("split", "other_work", "end", prefix="o")
    )
    assert run.ready() == ["cancel_launch", "other_work"]
    run.complete("cancel_launch")
    assert run.log.terminated
    assert run.ready() == []
    assert run.wf.is_finished()


def test_a_timer_cycle_on_a_non_interrupting_boundary_fires_its_count_of_rounds() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + user_task("beta_running")
        + boundary("weekly", "beta_running", timer("timeCycle", "R3/PT1H"), interrupting=False)
        + user_task("weekly_report")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_w"/>'
        + chain("start", "beta_running", "end")
        + chain("weekly", "weekly_report", "end_w", prefix="w")
    )
    assert run.wf.next_timer_at() == T0 + timedelta(hours=1)
    assert run.tick(timedelta(minutes=59)) == []
    for round_ in range(1, 4):
        assert run.tick(timedelta(hours=1)) == ["weekly"]
        assert run.ready().count("weekly_report") == round_
    assert run.wf.next_timer_at() is None
    assert run.tick(timedelta(hours=5)) == []
    for _ in range(3):
        run.complete("weekly_report")
    run.complete("beta_running")
    assert run.wf.is_finished()


def test_bare_and_quoted_timer_values_run_alike() -> None:
    for value in ("PT30M", "'PT30M'"):
        run = Run(
            '<bpmn:startEvent id="start"/>'
            + catch("wait", timer("timeDuration", value))
            + '<bpmn:endEvent id="end"/>'
            + chain("start", "wait", "end")
        )
        assert run.wf.next_timer_at() == T0 + timedelta(minutes=30)
        assert run.tick(timedelta(minutes=30)) == ["wait"]
        assert run.wf.is_finished()


def _sub_process(end: str) -> str:
    return (
        '<bpmn:subProcess id="legal"><bpmn:startEvent id="legal_start"/>'
        + user_task("legal_review")
        + '<bpmn:exclusiveGateway id="legal_ok" default="fine"/>'
        + f'<bpmn:endEvent id="legal_end"/><bpmn:endEvent id="veto">{end}</bpmn:endEvent>'
        + chain("legal_start", "legal_review", "legal_ok")
        + '<bpmn:sequenceFlow id="fine" sourceRef="legal_ok" targetRef="legal_end"/>'
        + '<bpmn:sequenceFlow id="vetoed" sourceRef="legal_ok" targetRef="veto">'
        + "<bpmn:conditionExpression>legal_review.done</bpmn:conditionExpression>"
        + "</bpmn:sequenceFlow></bpmn:subProcess>"
    )


def test_an_error_end_event_in_a_sub_process_is_caught_by_a_boundary_on_it() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + _sub_process(ERROR)
        + boundary("vetoed_boundary", "legal", ERROR)
        + user_task("after_legal")
        + user_task("handle_veto")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_veto"/>'
        + chain("start", "legal", "after_legal", "end")
        + chain("vetoed_boundary", "handle_veto", "end_veto", prefix="v")
    )
    assert run.ready() == ["legal_review"]
    assert ("error", "legal_veto", "vetoed_boundary") in run.waiting()
    run.complete("legal_review")
    assert run.log.uncaught_errors == []
    assert run.ready() == ["handle_veto"]
    run.complete("handle_veto")
    assert run.wf.is_finished()


def test_an_error_nobody_catches_is_reported() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + _sub_process(ERROR)
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "legal", "end")
    )
    run.complete("legal_review")
    assert run.log.uncaught_errors == ["legal_veto"]


def test_an_escalation_boundary_that_does_not_interrupt_opens_a_side_path() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + '<bpmn:subProcess id="legal"><bpmn:startEvent id="legal_start"/><bpmn:parallelGateway id="ls"/>'
        + user_task("legal_review")
        + f'<bpmn:intermediateThrowEvent id="shout">{ESCALATION}</bpmn:intermediateThrowEvent>'
        + '<bpmn:parallelGateway id="lj"/><bpmn:endEvent id="legal_end"/>'
        + chain("legal_start", "ls", "shout", "lj", "legal_end")
        + chain("ls", "legal_review", "lj", prefix="r")
        + "</bpmn:subProcess>"
        + boundary("late", "legal", ESCALATION, interrupting=False)
        + user_task("tell_pm")
        + user_task("after_legal")
        + '<bpmn:endEvent id="end"/><bpmn:endEvent id="end_late"/>'
        + chain("start", "legal", "after_legal", "end")
        + chain("late", "tell_pm", "end_late", prefix="x")
    )
    assert run.ready() == ["legal_review", "tell_pm"]
    run.complete("tell_pm")
    run.complete("legal_review")
    assert run.ready() == ["after_legal"]
    run.complete("after_legal")
    assert run.wf.is_finished()


@pytest.mark.parametrize("interrupting", [True, False])
def test_a_message_start_of_an_event_sub_process_runs_it(interrupting: bool) -> None:
    flag = "true" if interrupting else "false"
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + user_task("work")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "work", "end")
        + '<bpmn:subProcess id="on_halt" triggeredByEvent="true">'
        + f'<bpmn:startEvent id="halt_start" isInterrupting="{flag}">{HALT}</bpmn:startEvent>'
        + user_task("explain_halt")
        + '<bpmn:endEvent id="halt_end"/>'
        + chain("halt_start", "explain_halt", "halt_end", prefix="e")
        + "</bpmn:subProcess>"
    )
    assert ("message", "halt", "halt_start") in run.waiting()
    [start] = [e for e in run.wf.waiting_events() if e.bpmn_id == "halt_start"]
    assert start.interrupting is interrupting
    assert run.receive("message", "halt", {"why": "x"}) == 1
    # once an interrupting one runs, its process starts no more handlers (tests/engine/test_event_scopes.py)
    assert (("message", "halt", "halt_start") in run.waiting()) is not interrupting
    assert run.ready() == (["explain_halt"] if interrupting else ["explain_halt", "work"])
    run.complete("explain_halt")
    if not interrupting:
        assert not run.wf.is_finished()
        run.complete("work")
    assert run.wf.is_finished()


def test_a_timer_start_of_an_event_sub_process_fires_by_the_clock() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/>'
        + user_task("work")
        + '<bpmn:endEvent id="end"/>'
        + chain("start", "work", "end")
        + '<bpmn:subProcess id="reminder" triggeredByEvent="true">'
        + f'<bpmn:startEvent id="remind_start" isInterrupting="false">{timer("timeDuration", "PT1H")}'
        + "</bpmn:startEvent>"
        + user_task("nudge")
        + '<bpmn:endEvent id="nudge_end"/>'
        + chain("remind_start", "nudge", "nudge_end", prefix="e")
        + "</bpmn:subProcess>"
    )
    assert run.wf.next_timer_at() == T0 + timedelta(hours=1)
    assert run.tick(timedelta(hours=1)) == ["remind_start"]
    assert run.ready() == ["nudge", "work"]


def test_a_signal_thrown_inside_the_launch_starts_an_interrupting_event_sub_process() -> None:
    run = Run(
        '<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
        + user_task("announce")
        + f'<bpmn:intermediateThrowEvent id="throw_freeze">{SIGNAL}</bpmn:intermediateThrowEvent>'
        + user_task("work")
        + '<bpmn:endEvent id="end_a"/><bpmn:endEvent id="end_b"/>'
        + chain("start", "split", "announce", "throw_freeze", "end_a")
        + chain("split", "work", "end_b", prefix="b")
        + '<bpmn:subProcess id="on_freeze" triggeredByEvent="true">'
        + f'<bpmn:startEvent id="freeze_start">{SIGNAL}</bpmn:startEvent>'
        + user_task("frozen")
        + '<bpmn:endEvent id="frozen_end"/>'
        + chain("freeze_start", "frozen", "frozen_end", prefix="e")
        + "</bpmn:subProcess>"
    )
    assert run.ready() == ["announce", "work"]
    run.complete("announce")
    assert run.ready() == ["frozen"]  # `work` was interrupted
    run.complete("frozen")
    assert run.wf.is_finished()
