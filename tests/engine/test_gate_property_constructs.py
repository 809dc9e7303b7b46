"""Property over random diagrams assembled from the constructs the engine runs: the deploy check accepts a
diagram iff no run can reach go-live around a gate item, and on an accepted one no run (random choices,
timers, messages, restarts) ever opens go-live with a gate item open, goes live falsely, or stores a state
that does not round-trip.

The diagrams are block-structured (a tree of blocks), so whether a gate item can be skipped is read off
the tree (`skips`) independently of engine.gate_paths. Blocks: user tasks (some gate items), sequences,
exclusive choices (a chooser task names the branch; a branch may be a terminate end), parallel and
inclusive splits with their joins, an interrupting timer boundary on a task whose path rejoins after it,
an event-based gateway (a message or a timer first)."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import (
    Database,
    DiagramRejectedError,
    FixedClock,
    GateItemStatus,
    LaunchStatus,
    LaunchView,
    WorkflowEngine,
    upgrade_to_head,
)
from engine.errors import ConflictError
from engine.specs import check_diagram
from tests.engine.bpmn_builder import Diagram
from tests.engine.driver import ADMIN, AUDITOR, PM, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START

# ---------------------------------------------------------------------------------------- the blocks


@dataclass(frozen=True)
class Task:
    name: str
    gate: bool


@dataclass(frozen=True)
class Seq:
    items: tuple[Block, ...]


@dataclass(frozen=True)
class Choice:  # exclusive; kind "event": an event-based gateway (a message, or a timer, first)
    name: str
    branches: tuple[Block, ...]
    kind: str = "exclusive"


@dataclass(frozen=True)
class Split:  # parallel or inclusive, with its join
    name: str
    branches: tuple[Block, ...]
    kind: str = "parallel"


@dataclass(frozen=True)
class Timer:  # an interrupting timer on `task`; its path runs `alt` and rejoins after the task
    task: Task
    alt: Block


@dataclass(frozen=True)
class Stop:  # a terminate end
    name: str


Block = Task | Seq | Choice | Split | Timer | Stop


def completes(block: Block) -> bool:
    """Some run of the block passes its token on."""
    if isinstance(block, Task | Timer):
        return True
    if isinstance(block, Stop):
        return False
    if isinstance(block, Seq) or (isinstance(block, Split) and block.kind == "parallel"):
        return all(completes(b) for b in _parts(block))
    return any(completes(b) for b in _parts(block))


def skips(block: Block, item: str) -> bool:
    """Some run of the block passes its token on without completing task `item`."""
    if isinstance(block, Task):
        return block.name != item
    if isinstance(block, Stop):
        return False
    if isinstance(block, Timer):
        return block.task.name != item or skips(block.alt, item)
    if isinstance(block, Seq) or (isinstance(block, Split) and block.kind == "parallel"):
        return all(skips(b, item) for b in _parts(block))
    return any(completes(b) and skips(b, item) for b in _parts(block))  # one branch (a subset of one)


def _parts(block: Seq | Choice | Split) -> tuple[Block, ...]:
    return block.items if isinstance(block, Seq) else block.branches


def tasks_of(block: Block) -> list[Task]:
    if isinstance(block, Task):
        return [block]
    if isinstance(block, Stop):
        return []
    if isinstance(block, Timer):
        return [block.task, *tasks_of(block.alt)]
    return [t for b in _parts(block) for t in tasks_of(b)]


# ---------------------------------------------------------------------------------------- generation


@st.composite
def blocks(draw: st.DrawFn, depth: int = 2) -> Block:
    counter = draw(st.shared(st.builds(itertools.count), key="names"))

    def name(prefix: str) -> str:
        return f"{prefix}{next(counter)}"

    kinds = ["task", "task"] + (["seq", "choice", "split", "timer", "event"] if depth > 0 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "task":
        return Task(name("t"), draw(st.booleans()))
    if kind == "seq":
        return Seq(tuple(draw(st.lists(blocks(depth - 1), min_size=2, max_size=3))))
    if kind == "timer":
        return Timer(Task(name("t"), draw(st.booleans())), draw(blocks(depth - 1)))
    branches = draw(st.lists(blocks(depth - 1), min_size=2, max_size=3))
    if kind == "choice":
        if draw(st.booleans()):
            branches.append(Stop(name("stop")))
        return Choice(name("x"), tuple(branches))
    if kind == "event":
        return Choice(name("e"), tuple(branches[:2]), kind="event")
    return Split(name("s"), tuple(branches), kind=draw(st.sampled_from(["parallel", "inclusive"])))


@st.composite
def diagrams(draw: st.DrawFn) -> Block:
    body = draw(blocks())
    if not any(t.gate for t in tasks_of(body)):
        body = Seq((body, Task("t_last", True)))
    return body


# ---------------------------------------------------------------------------------------- rendering


def render(body: Block, process_id: str) -> Diagram:
    d = Diagram(process_id)
    first, last = _render(d, body)
    d.chain("start", first)
    assert last is not None
    d.chain(last, d.task("go_live", go_live=True), "end")
    return d


def _render(d: Diagram, block: Block) -> tuple[str, str | None]:
    """The first and the last node of the block (None: no token leaves it)."""
    if isinstance(block, Task):
        return d.task(block.name, gate=block.name if block.gate else None), block.name
    if isinstance(block, Stop):
        return d.end(block.name, "terminate"), None
    if isinstance(block, Seq):
        ends = [_render(d, b) for b in block.items]
        for (_, last), (first, _) in itertools.pairwise(ends):
            assert last is not None
            d.flow(last, first)
        return ends[0][0], ends[-1][1]
    if isinstance(block, Timer):
        first, last = _render(d, block.task)
        d.boundary(f"{block.task.name}_late", block.task.name, "timer")
        alt_first, alt_last = _render(d, block.alt)
        d.flow(f"{block.task.name}_late", alt_first)
        merge = d.gateway(f"{block.task.name}_m")
        d.flow(block.task.name, merge)
        if alt_last is not None:
            d.flow(alt_last, merge)
        return first, merge
    if isinstance(block, Choice):
        return _render_choice(d, block)
    return _render_split(d, block)


def _render_choice(d: Diagram, block: Choice) -> tuple[str, str | None]:
    ends = [_render(d, b) for b in block.branches]
    merge = d.gateway(f"{block.name}_m")
    if block.kind == "event":
        gateway = d.gateway(block.name, "eventBased")
        d.flow(d.event(f"{block.name}_msg", trigger="message", code=block.name), ends[0][0])
        d.flow(d.event(f"{block.name}_timer", trigger="timer"), ends[1][0])
        d.flow(gateway, f"{block.name}_msg")
        d.flow(gateway, f"{block.name}_timer")
        first = gateway
    else:
        first = d.task(f"{block.name}_choose")
        d.flow(first, d.gateway(block.name))
        d.choice(block.name, *(f for f, _ in ends), on=first)
    for _, last in ends:
        if last is not None:
            d.flow(last, merge)
    return first, merge


def _render_split(d: Diagram, block: Split) -> tuple[str, str | None]:
    ends = [_render(d, b) for b in block.branches]
    join = d.gateway(f"{block.name}_j", block.kind)
    if block.kind == "parallel":
        first = d.gateway(block.name, "parallel")
        for f, _ in ends:
            d.flow(first, f)
    else:
        first = d.task(f"{block.name}_choose")
        d.flow(first, d.gateway(block.name, "inclusive"))
        d.nodes[block.name].attrs["default"] = f"flow_{block.name}_{ends[0][0]}"
        d.flow(block.name, ends[0][0])
        for f, _ in ends[1:]:
            d.flow(block.name, f, f"'[{f}]' in {first}.comment")
    for _, last in ends:
        assert last is not None
        d.flow(last, join)
    return first, join


# ---------------------------------------------------------------------------------------- the property

_names = itertools.count()


@pytest.mark.slow
def test_deploy_accepts_iff_no_bypass_and_accepted_runs_never_open_go_live_early() -> None:
    with tempfile.TemporaryDirectory(prefix="launchgate-gate-constructs-") as tmp:
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'launchgate.db'}")
        upgrade_to_head(db.db_engine)
        clock = FixedClock(datetime(2030, 3, 4, 9, 0, tzinfo=UTC))
        try:
            _property(WorkflowEngine(db, clock=clock), clock)
        finally:
            db.dispose()


def _property(engine: WorkflowEngine, clock: FixedClock) -> None:
    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=diagrams(), data=st.data())
    def run(body: Block, data: st.DataObject) -> None:
        diagram = render(body, f"prop_{next(_names)}")
        gate_items = sorted(t.name for t in tasks_of(body) if t.gate)
        skipped = {t for t in gate_items if skips(body, t)}
        xml = diagram.xml()
        problems = check_diagram(xml)
        named = {t for t in gate_items for p in problems if f"gate item {t!r}" in p.message}
        assert named == skipped, (problems, body)
        assert bool(problems) == bool(skipped), (problems, body)
        if skipped:
            event("refused: a bypass")
            with pytest.raises(DiagramRejectedError):
                engine.deploy_process(xml=xml, actor=ADMIN)
            return
        event("accepted")
        _drive(engine, clock, diagram, body, data)

    run()


def _drive(
    engine: WorkflowEngine, clock: FixedClock, diagram: Diagram, body: Block, data: st.DataObject
) -> None:
    version = engine.deploy_process(xml=diagram.xml(), actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=version.process_id)
    choices = _choices(body)
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
            name = data.draw(st.sampled_from([c.name for c in choices if c.kind == "event"] or ["none"]))
            with contextlib.suppress(ConflictError):  # nothing waits for it
                engine.send_message(launch_id=launch.id, name=name, payload={}, actor=PM)
        elif launch.open_tasks:
            task = data.draw(st.sampled_from(sorted(launch.open_tasks, key=lambda t: t.bpmn_id)))
            comment = _comment(task.bpmn_id, choices, data)
            engine.complete_task(task_id=task.id, data={"comment": comment}, actor=PM)
            went_live = went_live or task.bpmn_id == "go_live"
        launch = engine.get_launch(launch_id=launch.id, actor=AUDITOR)
        assert_state_round_trips(engine, launch.id)
    _check(launch, went_live)
    event(f"run ended {launch.status.value}")


def _check(launch: LaunchView, went_live: bool) -> None:
    """The gate held: go-live opens only with every item passed; live only after go-live completed."""
    open_items = [g.key for g in launch.gate if g.status is not GateItemStatus.PASSED]
    if any(t.bpmn_id == "go_live" for t in launch.open_tasks):
        assert open_items == [], f"go-live is open while {open_items} are open"
    assert (launch.status is LaunchStatus.LIVE) == went_live, "live without go-live, or go-live not live"
    if launch.status is LaunchStatus.LIVE:
        assert open_items == [] and launch.open_tasks == ()


def _choices(block: Block) -> list[Choice | Split]:
    if isinstance(block, Task | Stop):
        return []
    if isinstance(block, Timer):
        return _choices(block.alt)
    found: list[Choice | Split] = [block] if isinstance(block, Choice | Split) else []
    return found + [c for b in _parts(block) for c in _choices(b)]


def _first(block: Block) -> str:
    if isinstance(block, Task | Stop):
        return block.name
    if isinstance(block, Timer):
        return block.task.name
    if isinstance(block, Seq):
        return _first(block.items[0])
    return block.name if block.kind in ("parallel", "event") else f"{block.name}_choose"


def _comment(task_id: str, choices: list[Choice | Split], data: st.DataObject) -> str:
    """A chooser's comment names the branch(es) to take; any other task's is empty."""
    for c in choices:
        if task_id == f"{c.name}_choose":
            firsts = [_first(b) for b in c.branches]
            if c.kind == "inclusive":
                return "".join(f"[{f}]" for f in data.draw(st.lists(st.sampled_from(firsts), unique=True)))
            return data.draw(st.sampled_from(firsts))
    return ""
