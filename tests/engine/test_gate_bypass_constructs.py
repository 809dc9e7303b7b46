"""The gate's bypass check through every construct (issue 12): each diagram tries to reach go-live around a
gate item through one construct and is refused, naming the go-live task and the item (or, for a
multi-instance item, the item's task); its twin respects the gate and is accepted.

The check is read at the level of engine.gate.check_gate_graph over engine.specs.graph.flow_graph, with the
gate markings of every task of the document (nested and called ones too), so that it does not depend on
which constructs the allow-list opens; `test_deploy_refuses_*` go through check_diagram as deploy does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from engine.errors import DiagramProblem
from engine.gate import check_gate_graph
from engine.model import UserTaskModel
from engine.specs import NS, check_diagram, load_process
from engine.specs.bpmn_xml import local_name, properties
from engine.specs.graph import flow_graph
from tests.engine.bpmn_builder import Diagram

HUMAN = ("userTask", "manualTask", "task")


def gate_check(d: Diagram) -> list[DiagramProblem]:
    root = etree.fromstring(d.xml())
    process = next(p for p in root.iterfind("bpmn:process", NS) if p.get("id") == d.process_id)
    tasks = {el.get("id") or "": _task(el) for el in root.iter() if local_name(el.tag) in HUMAN}
    return check_gate_graph(flow_graph(process), tasks, process_id=d.process_id)


def _task(el: etree._Element) -> UserTaskModel:
    props = properties(el)
    return UserTaskModel(
        id=el.get("id") or "",
        title=el.get("id") or "",
        role="pm",
        documentation="",
        document=el.get("id") or "",
        reviews=None,
        gate_item=props.get("gate_item"),
        gate_item_title=None,
        gate_pass_when=None,
        gate_part_of=None,
        go_live=props.get("go_live") == "true",
        due_in_business_days=None,
        sends=None,
    )


def bypasses(problems: list[DiagramProblem], item: str = "signoff") -> bool:
    return any(p.element_id == "go_live" and f"gate item {item!r}" in p.message for p in problems)


def _gated(d: Diagram) -> tuple[str, str]:
    """The usual pair: a sign-off (the gate item) and the go-live task."""
    return d.task("signoff", role="support_lead", gate="signoff"), d.task("go_live", go_live=True)


# ---------------------------------------------------------------------------------------- the constructs


def boundary(bypass: bool) -> Diagram:
    """An interrupting timer on the sign-off leaves it without completing it."""
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", signoff, go_live, "end")
    d.boundary("overdue", signoff, "timer")
    d.chain("overdue", go_live if bypass else d.task("chase"))
    if not bypass:
        d.flow("chase", signoff)
    return d


def message_boundary(bypass: bool) -> Diagram:
    """A message from outside can arrive while the sign-off is open."""
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", d.task("prepare"), signoff, go_live, "end")
    d.boundary("cancelled", signoff, "message")
    d.chain("cancelled", go_live if bypass else d.end("withdrawn"))
    return d


def non_interrupting_boundary(bypass: bool) -> Diagram:
    """A reminder leaves the sign-off open; a path from it to go-live runs beside the open item."""
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", signoff, go_live, "end")
    d.boundary("reminder", signoff, "timer", interrupting=False)
    d.chain("reminder", d.task("nudge"), go_live if bypass else d.end("nudged"))
    return d


def event_based_gateway(bypass: bool) -> Diagram:
    """Whichever event comes first is taken: a timeout may win over the sign-off's branch."""
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", d.gateway("wait", "eventBased"))
    d.chain("wait", d.event("approved", trigger="message", code="ok"), signoff, go_live, "end")
    d.chain("wait", d.event("timeout", trigger="timer"), go_live if bypass else d.end("expired", "terminate"))
    return d


def terminate_end(bypass: bool) -> Diagram:
    """A terminate end kills the sign-off beside it; inside a sub-process that completes the sub-process."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    d.chain("review_start", d.gateway("fork", "parallel", inside=review))
    d.chain("fork", signoff, d.end("review_end", inside=review))
    d.chain(
        "fork", d.task("check", inside=review), d.end("stop", "terminate" if bypass else None, inside=review)
    )
    return d


def error_end_in_sub_process(bypass: bool) -> Diagram:
    """An error end inside a sub-process leaves it through the error boundary, skipping the rest of it."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    d.chain("review_start", d.task("triage", inside=review), d.gateway("ok", inside=review))
    d.choice("ok", signoff, d.end("broken", "error", code="broken", inside=review), on="triage")
    d.chain(signoff, d.end("review_end", inside=review))
    d.boundary("failed", review, "error", code="broken")
    d.chain("failed", go_live if bypass else d.end("abandoned"))
    return d


def error_caught_outside_the_path(bypass: bool) -> Diagram:
    """Twin kind: the error end is thrown only after the sign-off, so the boundary path is no bypass."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    first = d.task("triage", inside=review) if bypass else signoff
    then = signoff if bypass else d.task("triage", inside=review)
    d.chain("review_start", first, d.gateway("ok", inside=review))
    d.choice("ok", then, d.end("broken", "error", code="broken", inside=review), on=first)
    d.chain(then, d.end("review_end", inside=review))
    d.boundary("failed", review, "error", code="broken")
    d.chain("failed", go_live)
    return d


def error_from_a_connector(bypass: bool) -> Diagram:
    """A service task may fail with an error that a boundary on its sub-process catches: no error end
    is needed for that path to skip the rest of the sub-process."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    d.chain("review_start", d.task("notify", kind="serviceTask", inside=review), signoff)
    d.chain(signoff, d.end("review_end", inside=review))
    d.boundary("failed", review, "error", code="broken")
    d.chain("failed", go_live if bypass else d.end("abandoned"))
    return d


def signal_boundary(bypass: bool) -> Diagram:
    """A signal from outside (another launch) can arrive while the sign-off is open."""
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", signoff, go_live, "end")
    d.boundary("freeze", signoff, "signal", code="freeze", interrupting=False)
    d.chain("freeze", d.task("note_freeze"), go_live if bypass else d.end("frozen"))
    return d


def escalation_in_sub_process(bypass: bool) -> Diagram:
    """An escalation thrown inside a sub-process fires a non-interrupting boundary on it: its path runs
    beside the still open sub-process."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    shout = d.event("shout", "intermediateThrowEvent", "escalation", code="late", inside=review)
    d.chain(
        "review_start", d.task("triage", inside=review), *([shout, signoff] if bypass else [signoff, shout])
    )
    d.chain(shout if not bypass else signoff, d.end("review_end", inside=review))
    d.boundary("escalated", review, "escalation", code="late", interrupting=False)
    d.chain("escalated", d.task("manager_look"), go_live if bypass else d.end("looked"))
    return d


def manual_gate_item(bypass: bool) -> Diagram:
    """A manual task (a person's done step) may be the gate item; a path around it is a bypass."""
    d = Diagram()
    d.task("signoff", kind="manualTask", role="support_lead", gate="signoff")
    go_live = d.task("go_live", go_live=True)
    d.chain("start", d.task("route"), d.gateway("which"))
    d.choice("which", "signoff", *([go_live] if bypass else []), on="route")
    d.chain("signoff", d.gateway("merge"), go_live, "end")
    return d


def multi_instance_zero(bypass: bool) -> Diagram:
    """A multi-instance sign-off whose completion condition holds before anyone signed."""
    d = Diagram()
    condition = "completed >= 0" if bypass else "completed >= 2"
    d.task(
        "signoff", role="support_lead", gate="signoff", multi={"cardinality": "3", "completion": condition}
    )
    d.chain("start", "signoff", d.task("go_live", go_live=True), "end")
    return d


def multi_instance_empty(bypass: bool) -> Diagram:
    """No instance at all signs off nothing (a collection is never empty at run time: the engine refuses
    to start a multi-instance over an empty list)."""
    d = Diagram()
    multi = {"cardinality": "0"} if bypass else {"collection": "regions"}
    d.task("signoff", role="support_lead", gate="signoff", multi=multi)
    d.chain("start", "signoff", d.task("go_live", go_live=True), "end")
    return d


def call_activity(bypass: bool) -> Diagram:
    """The sign-off sits in a called process; one of its paths skips it."""
    called = Diagram("support_readiness")
    called.task("signoff", role="support_lead", gate="signoff")
    called.chain("sr_start", called.task("assess", role="support_lead"), called.gateway("needed"))
    called.choice("needed", "signoff", *(["sr_skip"] if bypass else []), on="assess")
    called.chain("signoff", "sr_end")
    d = Diagram()
    d.chain("start", d.call("readiness", called), d.task("go_live", go_live=True), "end")
    return d


def call_activity_around(bypass: bool) -> Diagram:
    """A call activity to a process without the item, on a branch beside the sign-off."""
    called = Diagram("faq")
    called.chain("faq_start", called.task("write_faq"), "faq_end")
    d = Diagram()
    signoff, go_live = _gated(d)
    d.chain("start", d.task("route"), d.gateway("which"))
    if bypass:
        d.call("faq_call", called)
    d.choice("which", signoff, *(["faq_call"] if bypass else []), on="route")
    d.chain(signoff, d.gateway("merge"), go_live, "end")
    if bypass:
        d.chain("faq_call", "merge")
    return d


def interrupting_event_sub_process(bypass: bool) -> Diagram:
    """A message starts an event sub-process in the review: an interrupting one abandons the review (and
    its sign-off) and the review completes; a non-interrupting one runs beside it."""
    d = Diagram()
    signoff, go_live = _gated(d)
    review = d.sub("review")
    d.nodes[signoff].body = review
    d.chain("start", review, go_live, "end")
    d.chain("review_start", signoff, d.end("review_end", inside=review))
    waived = d.sub("waived", inside=review, event=True)
    d.event("waived_start", "startEvent", "message", code="waive", inside=waived, interrupting=bypass)
    d.chain("waived_start", d.task("note_waiver", inside=waived), d.end("waived_end", inside=waived))
    return d


def inclusive_gateway(bypass: bool) -> Diagram:
    """Any non-empty subset of an inclusive split's branches runs (the join waits for those): a branch
    beside the sign-off's may run alone."""
    d = Diagram()
    signoff, go_live = _gated(d)
    first = d.task("plan") if bypass else signoff
    d.chain("start", first, d.gateway("what", "inclusive"))
    d.flow("what", signoff if bypass else d.task("docs"))
    d.flow("what", d.task("faq"), f"{first}.comment != 'y'")
    d.nodes["what"].attrs["default"] = f"flow_what_{'signoff' if bypass else 'docs'}"
    d.chain(signoff if bypass else "docs", d.gateway("join", "inclusive"))
    d.chain("faq", "join", go_live, "end")
    return d


CONSTRUCTS: dict[str, Callable[[bool], Diagram]] = {
    "boundary event": boundary,
    "message boundary": message_boundary,
    "non-interrupting boundary": non_interrupting_boundary,
    "event-based gateway": event_based_gateway,
    "terminate end": terminate_end,
    "error end inside a sub-process": error_end_in_sub_process,
    "error end before the item": error_caught_outside_the_path,
    "error from a connector": error_from_a_connector,
    "signal boundary": signal_boundary,
    "escalation in a sub-process": escalation_in_sub_process,
    "manual task as the gate item": manual_gate_item,
    "call activity that skips": call_activity,
    "call activity beside the item": call_activity_around,
    "interrupting event sub-process": interrupting_event_sub_process,
    "inclusive gateway": inclusive_gateway,
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_gate_check_refuses_a_bypass_through(name: str) -> None:
    problems = gate_check(CONSTRUCTS[name](True))
    assert bypasses(problems), problems


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_gate_check_accepts_the_twin_that_respects_the_gate_through(name: str) -> None:
    assert gate_check(CONSTRUCTS[name](False)) == []


@pytest.mark.parametrize("build", [multi_instance_zero, multi_instance_empty])
def test_gate_check_refuses_a_multi_instance_item_that_needs_no_sign_off(
    build: Callable[[bool], Diagram],
) -> None:
    [problem] = gate_check(build(True))
    assert problem.element_id == "signoff"
    assert "multi-instance" in problem.message and "without a single sign-off" in problem.message
    assert gate_check(build(False)) == []


# A service task's connector is the automation part's to check (a bare one may be refused on its own).
UNCHECKED_HERE = {"error from a connector"}


@pytest.mark.parametrize("name", sorted(set(CONSTRUCTS) - UNCHECKED_HERE))
def test_deploy_refuses_the_bypass_and_accepts_the_twin_through(name: str) -> None:
    refused = check_diagram(CONSTRUCTS[name](True).xml())
    assert bypasses(refused), refused
    assert check_diagram(CONSTRUCTS[name](False).xml()) == []


@pytest.mark.parametrize("build", [multi_instance_zero, multi_instance_empty])
def test_deploy_refuses_a_multi_instance_item_that_needs_no_sign_off(
    build: Callable[[bool], Diagram],
) -> None:
    problems = check_diagram(build(True).xml())  # a cardinality of 0 is also outside the bound
    assert any(p.element_id == "signoff" and "without a single sign-off" in p.message for p in problems)
    assert check_diagram(build(False).xml()) == []


def test_a_gate_item_of_a_called_process_is_the_launchs_and_go_live_stays_one() -> None:
    model = load_process(call_activity(False).xml()).model
    assert [(g.key, g.task_id) for g in model.gate_items] == [("signoff", "signoff")]
    assert model.go_live_task == "go_live"
    called = Diagram("readiness")
    called.chain(
        "r_start", called.task("signoff", gate="signoff"), called.task("own_go_live", go_live=True), "r_end"
    )
    d = Diagram()
    d.chain(
        "start",
        d.task("check", gate="check"),
        d.call("ready", called),
        d.task("go_live", go_live=True),
        "end",
    )
    assert [p.message for p in check_diagram(d.xml())] == ["expected exactly one go-live task, found 2"]


@pytest.mark.parametrize(
    "build",
    [terminate_end, error_end_in_sub_process, interrupting_event_sub_process],
    ids=lambda b: b.__name__,
)
def test_a_gate_item_inside_a_sub_process_is_a_gate_item_of_the_loaded_model(
    build: Callable[[bool], Diagram],
) -> None:
    model = load_process(build(False).xml()).model
    assert [(g.key, g.task_id) for g in model.gate_items] == [("signoff", "signoff")]
    assert model.go_live_task == "go_live"


def test_a_deployed_called_process_counts_in_the_callers_gate_check() -> None:
    """A process of another file (deployed, or of the same package) is inlined too: its go-live beside
    the caller's is a second one; a plain caller is checked with the called process's gate."""
    called = Diagram("readiness")
    called.chain(
        "r_start", called.task("signoff", gate="signoff"), called.task("go_live", go_live=True), "r_end"
    )
    deployed = {"readiness": called.xml()}
    assert check_diagram(called.xml()) == []
    gated = Diagram("main")
    gated.chain("start", gated.task("check", gate="check"), gated.call("ready", "readiness"))
    gated.chain("ready", gated.task("main_go_live", go_live=True), "end")
    plain = Diagram("main")
    plain.chain("start", plain.task("prepare"), plain.call("ready", "readiness"), "end")
    plain.boundary("late", "ready", "timer")
    plain.chain("late", plain.end("gave_up"))

    assert [p.message for p in check_diagram(gated.xml(), called=deployed)] == [
        "expected exactly one go-live task, found 2"
    ]
    assert check_diagram(plain.xml(), called=deployed) == []
    model = load_process(plain.xml(), called=deployed).model
    assert ([g.key for g in model.gate_items], model.go_live_task) == (["signoff"], "go_live")
