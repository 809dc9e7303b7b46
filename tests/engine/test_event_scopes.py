"""Event sub-processes inside sub-processes (engine/runtime/event_scopes.py, engine/runtime/events.py),
where a run keeps its workflow in memory between steps (the engine's cache) as well as where it is
restored after each: a sub-process entered again after its handler ran starts as drawn, and an error its
handler throws goes past the sub-process it handles. The straight runs are corpus diagrams
(`event_subprocess_nested_*`, tests/engine/test_corpus.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.runtime import RunningWorkflow
from engine.serialization import dump_state, restore_state
from engine.specs import load_process
from tests.engine.bpmn_builder import Diagram

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
Step = Callable[[RunningWorkflow], RunningWorkflow]


def _kept(workflow: RunningWorkflow, spec: Any) -> RunningWorkflow:
    return workflow


def _restored(workflow: RunningWorkflow, spec: Any) -> RunningWorkflow:
    return restore_state(dump_state(workflow), spec, launch_id="scopes")


AFTER_STEP = pytest.mark.parametrize("after_step", [_kept, _restored], ids=["in_memory", "restored"])


class _Run:
    def __init__(self, xml: bytes, after_step: Callable[[RunningWorkflow, Any], RunningWorkflow]) -> None:
        self.spec = load_process(xml).spiff_spec
        self.after = after_step
        self.workflow = RunningWorkflow.start(self.spec, start_data={}, launch_id="scopes")

    def ready(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.workflow.ready_user_tasks())

    def complete(self, bpmn_id: str, data: dict[str, Any] | None = None, document: str = "") -> list[str]:
        task = next(t for t in self.workflow.ready_user_tasks() if t.bpmn_id == bpmn_id)
        self.workflow.complete_user_task(task.id, document=document or bpmn_id, data=data or {})
        self.workflow = self.after(self.workflow, self.spec)
        return self.ready()

    def send(self, name: str) -> list[str]:
        assert self.workflow.receive("message", name, {}) >= 1
        self.workflow = self.after(self.workflow, self.spec)
        return self.ready()


def _sequential_phases() -> bytes:
    """A sequential multi-instance sub-process (two rounds) whose interrupting message handler cuts a
    round short."""
    d = Diagram("rounds")
    d.sub("round", multi={"cardinality": "2", "sequential": "true"})
    d.task("work", inside="round")
    d.flow("round_start", "work")
    d.flow("work", "round_end")
    d.sub("on_stop", inside="round", event=True)
    d.event("stop_start", "startEvent", "message", code="stop", inside="on_stop")
    d.task("wrap_up", inside="on_stop")
    d.flow("stop_start", "wrap_up")
    d.flow("wrap_up", "on_stop_end")
    d.chain("start", "round", d.task("after"), "end")
    return d.xml()


@AFTER_STEP
def test_a_round_after_one_its_handler_cut_short_starts_as_drawn(after_step: Any) -> None:
    run = _Run(_sequential_phases(), after_step)
    assert run.ready() == ["work"]
    assert run.send("stop") == ["wrap_up"]
    assert run.complete("wrap_up") == ["work"]  # the second round, not cancelled by the first's handler
    assert run.send("stop") == ["wrap_up"]  # and its handler takes the message again
    assert run.complete("wrap_up") == ["after"]
    assert run.complete("after") == []
    assert run.workflow.is_finished()
    assert [e.name for e in run.workflow.waiting_events()] == []


def _rethrowing(*, boundary: bool) -> bytes:
    """event_subprocess_nested_error, whose handler ends with the error it handles again: the error goes
    to a boundary event on the review phase (or, with none, out of the launch)."""
    xml = (CORPUS / "event_subprocess_nested_error.bpmn").read_bytes()
    handled = b'<bpmn:endEvent id="reworked" name="Reworked">'
    assert handled in xml
    start = xml.index(handled)
    end = xml.index(b"</bpmn:endEvent>", start)
    xml = xml[:end] + b'<bpmn:errorEventDefinition errorRef="error_compliance_failed" />' + xml[end:]
    if boundary:
        extra = (
            b'<bpmn:boundaryEvent id="review_failed" attachedToRef="review_phase">'
            b'<bpmn:errorEventDefinition errorRef="error_compliance_failed" /></bpmn:boundaryEvent>'
            b'<bpmn:userTask id="fall_back" name="Fall Back" />'
            b'<bpmn:endEvent id="fell_back" />'
            b'<bpmn:sequenceFlow id="flow_fail" sourceRef="review_failed" targetRef="fall_back" />'
            b'<bpmn:sequenceFlow id="flow_fell" sourceRef="fall_back" targetRef="fell_back" />'
        )
        close = xml.index(b"</bpmn:process>")
        xml = xml[:close] + extra + xml[close:]
    return xml


@AFTER_STEP
def test_an_error_the_handler_throws_goes_to_the_boundary_of_the_phase_it_handles(after_step: Any) -> None:
    run = _Run(_rethrowing(boundary=True), after_step)
    assert run.complete(
        "check_compliance", {"decision": "request_changes", "comment": "No."}, "compliance"
    ) == ["rework_plan"]
    assert run.complete("rework_plan") == ["fall_back"]  # not the same handler once more
    assert run.complete("fall_back") == []
    assert run.workflow.is_finished()


def test_an_error_the_handler_throws_with_no_catcher_further_out_is_uncaught() -> None:
    run = _Run(_rethrowing(boundary=False), _kept)
    run.complete("check_compliance", {"decision": "request_changes", "comment": "No."}, "compliance")
    run.complete("rework_plan")
    assert run.workflow.take_events().uncaught_errors == ["compliance_failed"]


@AFTER_STEP
@pytest.mark.parametrize("diagram", ["event_subprocess_message", "event_subprocess_nested_message"])
def test_once_an_interrupting_handler_runs_its_message_starts_nothing_more(
    after_step: Any, diagram: str
) -> None:
    name = {
        "event_subprocess_message": "launch_called_off",
        "event_subprocess_nested_message": "beta_aborted",
    }
    run = _Run((CORPUS / f"{diagram}.bpmn").read_bytes(), after_step)
    assert run.workflow.waits_for("message", name[diagram])
    handler = run.send(name[diagram])
    assert not run.workflow.waits_for("message", name[diagram])
    assert run.workflow.receive("message", name[diagram], {}) == 0  # the running handler is left be
    assert run.ready() == handler
