"""Property over random diagrams assembled from the constructs (tests/engine/gate_blocks.py): the deploy
check names exactly the gate items some run can skip (read off the block tree, independently of
engine.gate_paths), and on an accepted diagram of constructs the engine runs no run (random choices,
timers, messages, restarts) ever opens go-live with a gate item open, goes live falsely, or stores a state
that does not round-trip."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from engine import (
    Database,
    DiagramRejectedError,
    FixedClock,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    TaskView,
    WorkflowEngine,
    upgrade_to_head,
)
from engine.errors import ConflictError
from engine.specs import check_diagram
from tests.engine.bpmn_builder import Diagram
from tests.engine.driver import ADMIN, AUDITOR, PM, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START
from tests.engine.gate_blocks import (
    MAY_SKIP,
    OVER_REGIONS,
    RUNS,
    Block,
    Choice,
    EventSub,
    Seq,
    Split,
    Stop,
    Sub,
    Task,
    bypassed,
    choices,
    diagrams,
    first_of,
    gate_items,
    messages,
    render,
    subs,
)

# ---------------------------------------------------------------------------------------- the property

_names = itertools.count()


_INNER = Sub("p1", Choice("x2", (Task("t3", False), Stop("stop4", "error"))), caught=Task("t5", False))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(body=diagrams(rich=True))
@example(body=Sub("p6", Seq((_INNER, Task("g7", True))), caught=Task("t8", False)))  # caught inside
@example(body=Sub("p1", Split("s2", (Task("g3", True), Choice("x4", (Task("t5", False), Stop("s6")))))))
@example(body=Sub("p1", Seq((Task("g3", True), Choice("x4", (Task("t5", False), Stop("s6")))))))
@example(body=Sub("p1", Task("g2", True), event=EventSub("p1_ev", Task("t3", False), True)))
@example(body=Sub("p1", Task("g2", True), event=EventSub("p1_ev", Task("t3", False), False)))
@example(body=Seq((Task("g1", True, MAY_SKIP[0]), Task("g2", True, RUNS))))
@example(body=Sub("p1", Task("g2", True), multi=MAY_SKIP[0]))
@example(body=Sub("p1", Task("g2", True), multi=OVER_REGIONS))
@example(  # a terminate after a parallel join: the join never passes a token when a branch is avoided
    body=Sub(
        "p0",
        Seq(
            (
                Split("s1", (Task("g2", True), Task("g3", True))),
                Choice("x4", (Task("g5", True), Stop("stop6", "terminate"))),
            )
        ),
    )
)
def test_deploy_check_names_exactly_the_gate_items_a_run_can_skip(body: Block) -> None:
    problems = check_diagram(render(body, "prop").xml())
    named = {t for t in gate_items(body) for p in problems if f"gate item {t!r}" in p.message}
    assert named == bypassed(body), (problems, body)
    assert bool(problems) == bool(named), (problems, body)
    event("refused" if problems else "accepted")


@pytest.mark.slow
def test_deploy_accepts_iff_no_bypass_and_accepted_runs_never_open_go_live_early() -> None:
    with tempfile.TemporaryDirectory(prefix="launchgate-gate-constructs-") as tmp:
        template = Path(tmp) / "migrated.db"
        db = Database.from_url(f"sqlite:///{template}")
        upgrade_to_head(db.db_engine)
        db.dispose()
        _property(Path(tmp), template)


@contextlib.contextmanager
def _own_engine(directory: Path, template: Path) -> Iterator[tuple[WorkflowEngine, FixedClock]]:
    """A database and a clock of its own for one example (a copy of the migrated one): what other
    examples' launches do (their timers, their signals) never reaches it, so a replay draws the same."""
    path = directory / f"example_{next(_names)}.db"
    shutil.copyfile(template, path)
    db = Database.from_url(f"sqlite:///{path}")
    clock = FixedClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
    try:
        yield WorkflowEngine(db, clock=clock), clock
    finally:
        db.dispose()
        path.unlink()


def _property(directory: Path, template: Path) -> None:
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=diagrams(rich=True, runs=True), data=st.data())
    def run(body: Block, data: st.DataObject) -> None:
        diagram = render(body, f"prop_{next(_names)}")
        skipped = bypassed(body)
        xml = diagram.xml()
        problems = check_diagram(xml)
        named = {t for t in gate_items(body) for p in problems if f"gate item {t!r}" in p.message}
        assert named == skipped, (problems, body)
        assert bool(problems) == bool(skipped), (problems, body)
        with _own_engine(directory, template) as (engine, clock):
            if skipped:
                event("refused: a bypass")
                with pytest.raises(DiagramRejectedError):
                    engine.deploy_process(xml=xml, actor=ADMIN)
                return
            event("accepted")
            if subs(body):
                event("accepted with a sub-process")
            _drive(engine, clock, diagram, body, data)

    run()


def _drive(
    engine: WorkflowEngine, clock: FixedClock, diagram: Diagram, body: Block, data: st.DataObject
) -> None:
    version = engine.deploy_process(xml=diagram.xml(), actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=version.process_id)
    found = choices(body)
    went_live = False
    for _ in range(25):
        _check(launch, went_live)
        if launch.status is not LaunchStatus.ACTIVE:
            break
        action = data.draw(st.sampled_from(["task", "task", "task", "timer", "message", "restart"]))
        if action == "restart":
            before = engine.get_launch(launch_id=launch.id, actor=AUDITOR)
            engine = restart(engine)
            assert engine.get_launch(launch_id=launch.id, actor=AUDITOR) == before, "a restart changed it"
        elif action == "timer":
            clock.advance(timedelta(hours=2))
            engine.fire_due_timers()
        elif action == "message":
            name = data.draw(st.sampled_from(messages(body) or ["none"]))
            with contextlib.suppress(ConflictError):  # nothing waits for it
                engine.send_message(launch_id=launch.id, name=name, payload={}, actor=PM)
        elif launch.open_tasks:
            task = data.draw(st.sampled_from(sorted(launch.open_tasks, key=_position)))
            comment = _comment(task.bpmn_id, found, data)
            engine.complete_task(task_id=task.id, data={"comment": comment}, actor=PM)
            went_live = went_live or task.bpmn_id == "go_live"
        launch = engine.get_launch(launch_id=launch.id, actor=AUDITOR)
        assert_state_round_trips(engine, launch.id)
    _check(launch, went_live)
    event(f"run ended {launch.status.value}")


def _check(launch: LaunchView, went_live: bool) -> None:
    """The gate held: go-live opens only with every item passed; live only after go-live completed, and
    once go-live completed, live as soon as nothing else runs (the path of a non-interrupting event may
    still hold a task or wait: the process ends when its last path does)."""
    open_items = [g.key for g in launch.gate if g.status is not GateItemStatus.PASSED]
    if any(t.bpmn_id == "go_live" for t in launch.open_tasks):
        assert open_items == [], f"go-live is open while {open_items} are open"
    if launch.status is LaunchStatus.LIVE:
        assert went_live, "live without go-live"
        assert open_items == [] and launch.open_tasks == ()
    elif went_live and launch.status is LaunchStatus.ACTIVE:
        assert launch.open_tasks or launch.waiting, "go-live completed and nothing runs, yet not live"


def _position(task: TaskView) -> tuple[str, int]:
    """Tasks in an order that does not depend on their random ids (instances of one task by index)."""
    return task.bpmn_id, task.instance_index if task.instance_index is not None else -1


def _comment(task_id: str, choices: list[Choice | Split], data: st.DataObject) -> str:
    """A chooser's comment names the branch(es) to take; any other task's is empty."""
    for c in choices:
        if task_id == f"{c.name}_choose":
            firsts = [first_of(b) for b in c.branches]
            if c.kind == "inclusive":
                return "".join(f"[{f}]" for f in data.draw(st.lists(st.sampled_from(firsts), unique=True)))
            return data.draw(st.sampled_from(firsts))
    return ""


def test_state_round_trips_when_a_multi_instance_sub_process_holds_a_sub_process(
    engine: WorkflowEngine,
) -> None:
    """Found by the property: SpiffWorkflow lists sub-workflows as created, and after a restore depth
    first; the stored state holds them in one order."""
    body = Sub("p0", Sub("p1", Task("t2", True)), multi=RUNS)
    version = engine.deploy_process(xml=render(body, "nested_multi").xml(), actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=version.process_id)
    assert [t.bpmn_id for t in launch.open_tasks] == ["t2", "t2"]
    assert_state_round_trips(engine, launch.id)
    launch = engine.complete_task(task_id=launch.open_tasks[0].id, data={"comment": ""}, actor=PM)
    assert_state_round_trips(engine, launch.id)
