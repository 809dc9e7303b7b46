"""Bounds at deploy (RELIABILITY G9): hostile diagrams of tests/fixtures/bpmn/ are refused, naming the
element, in bounded time; nothing is stored. Today's shipped diagrams stay within every bound."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from engine import DiagramRejectedError, LaunchStatus, WorkflowEngine
from engine.bounds import cycles_without_wait_state
from engine.errors import DiagramProblem
from engine.specs import check_diagram, inspect_diagram, load_process
from tests.engine import driver
from tests.engine.form_examples import VALID_LAUNCH_START

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
T = TypeVar("T")
GENEROUS_SECONDS = 20  # a refusal takes milliseconds; only a hang (the bug) gets near this


def _within_bound(call: Callable[[], T]) -> T:
    """Run `call` and fail the test (instead of hanging it) when it does not return in time."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=GENEROUS_SECONDS)
    finally:
        pool.shutdown(wait=False)


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bpmn").read_bytes()


def _errors(name: str) -> list[DiagramProblem]:
    return _within_bound(lambda: check_diagram(_fixture(name), known_forms=None))


def test_deploy_refuses_gateway_loop_without_wait_state_naming_the_loop() -> None:
    problems = _errors("gateway_loop")
    assert [(p.element_id, p.message) for p in problems] == [
        (
            "spin_a",
            "the loop spin_a → spin_b has no wait state (a user task or a catch event): "
            "a launch would run round it without end",
        )
    ]


def test_deploy_accepts_rework_loop_through_a_user_task() -> None:
    assert check_diagram(_fixture("minimal_gate"), known_forms=None) == []


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("timer_forever", "timer duration 'P99999999999999999999Y' is longer than the limit of 5 years"),
        ("timer_8000_years", "timer duration 'P8000Y' is longer than the limit of 5 years"),
        ("timer_date_year_9999", "timer date '9999-12-31T00:00:00+00:00' is more than 5 years ahead"),
    ],
)
def test_deploy_refuses_timer_beyond_the_bound_in_bounded_time(fixture: str, message: str) -> None:
    assert [(p.element_id, p.message) for p in _errors(fixture)] == [("cooling_off", message)]


@pytest.mark.parametrize(
    ("value", "refused"),
    [("'P4Y11M'", False), ("'P5Y'", False), ("'P1827D'", False), ("'P6Y'", True), ("'PT99999999H'", True)],
)
def test_timer_duration_bound_is_five_years(value: str, refused: bool) -> None:
    data = _fixture("timed_launch").replace(b"'PT2H'", value.encode())
    messages = [p.message for p in check_diagram(data, known_forms=None)]
    assert bool(messages) is refused, messages


def test_timer_date_bound_is_five_years_from_now() -> None:
    inside = (datetime.now(UTC) + timedelta(days=4 * 365)).replace(microsecond=0).isoformat()
    outside = (datetime.now(UTC) + timedelta(days=6 * 365)).replace(microsecond=0).isoformat()
    timed = _fixture("timer_date_year_9999")
    assert check_diagram(timed.replace(b"9999-12-31T00:00:00+00:00", inside.encode()), known_forms=None) == []
    refused = check_diagram(timed.replace(b"9999-12-31T00:00:00+00:00", outside.encode()), known_forms=None)
    assert [p.element_id for p in refused] == ["cooling_off"]


def test_deploy_of_hostile_timer_stores_nothing(engine: WorkflowEngine) -> None:
    before = engine.list_process_versions(actor=driver.ADMIN)
    with pytest.raises(DiagramRejectedError) as caught:
        _within_bound(lambda: engine.deploy_process(xml=_fixture("timer_forever"), actor=driver.ADMIN))
    assert "longer than the limit of 5 years" in caught.value.message
    assert engine.list_process_versions(actor=driver.ADMIN) == before


def test_names_with_line_breaks_and_control_characters_are_put_on_one_line() -> None:
    data = _fixture("control_characters")
    loaded = load_process(data, known_forms=None)
    title = loaded.model.tasks["signoff"].title
    assert title == "Sign Bcc: all@example.com Off"
    assert loaded.model.gate_items[0].title == "Sign-off Subject: hi"
    warnings = [p for p in inspect_diagram(data, known_forms=None).problems if not p.is_error]
    assert {p.element_id for p in warnings} == {"signoff"}
    assert all("line breaks or control characters" in p.message for p in warnings)


@pytest.mark.parametrize("name", ["launch_gate"])
def test_shipped_diagrams_keep_every_bound(name: str) -> None:
    check = inspect_diagram((ROOT / "bpmn" / f"{name}.bpmn").read_bytes())
    assert check.problems == ()
    assert WorkflowEngine.check_diagram((ROOT / "bpmn" / f"{name}.bpmn").read_bytes()) == []


def test_cycles_without_wait_state_finds_self_loops_and_ignores_waiting_cycles() -> None:
    kinds = {"s": "startEvent", "g": "exclusiveGateway", "t": "userTask", "h": "parallelGateway"}
    edges = {"s": ["g"], "g": ["t", "g"], "t": ["h"], "h": ["g"]}
    assert cycles_without_wait_state(kinds, edges) == [["g"]]
    assert cycles_without_wait_state(kinds, {"s": ["g"], "g": ["t"], "t": ["h"], "h": ["g"]}) == []


def test_cycles_without_wait_state_copes_with_a_very_long_chain() -> None:
    count = 20_000
    kinds = {f"g{i}": "exclusiveGateway" for i in range(count)}
    edges = {f"g{i}": [f"g{(i + 1) % count}"] for i in range(count)}
    found = _within_bound(lambda: cycles_without_wait_state(kinds, edges))
    assert len(found) == 1 and len(found[0]) == count


# ---------------------------------------------------------------------------------------- plain processes


def test_a_process_that_marks_no_go_live_task_is_a_plain_process_and_runs_to_its_end(
    engine: WorkflowEngine,
) -> None:
    data = _fixture("plain_process")
    assert inspect_diagram(data).problems == ()
    deployed = engine.deploy_process(xml=data, actor=driver.ADMIN)
    assert (deployed.process_id, deployed.version) == ("plain_process", 1)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=driver.PM, process_id="plain_process")
    assert launch.gate == () and launch.blockers == ()
    # its tasks name no form: each gets the plain form (an optional comment), whatever its id
    launch = driver.complete(engine, launch, "draft_proposal", {"comment": "Drafted."})
    launch = driver.complete(engine, launch, "open_beta", {})
    assert launch.status is LaunchStatus.LIVE
    assert launch.open_tasks == ()


def test_a_process_that_marks_gate_items_without_a_go_live_task_is_refused() -> None:
    data = _fixture("plain_process").replace(
        b'<spiffworkflow:property name="document" value="beta" />',
        b'<spiffworkflow:property name="document" value="beta" />'
        b'<spiffworkflow:property name="gate_item" value="beta" />',
    )
    assert [(p.element_id, p.message) for p in check_diagram(data)] == [
        ("plain_process", "expected exactly one go-live task, found 0")
    ]
