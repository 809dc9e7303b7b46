"""Block-structured random diagrams for the gate's property tests, and the oracle that reads off the block
tree — independently of engine.gate_paths — which gate items a run can skip.

Blocks: user tasks (some gate items, some multi-instance), sequences, exclusive choices (a chooser task
names the branch; a branch may be a terminate or error end), parallel and inclusive splits with their joins,
a timer or message boundary on a task (interrupting: its path rejoins after the task; not: it ends on its
own), an event-based gateway (a message or a timer first), embedded sub-processes (with an error boundary
whose path rejoins after it, with an event sub-process by message, interrupting or not, multi-instance),
and call activities to a process of the same file.

Where a terminate end sits decides what it ends: at the top the launch (no go-live), inside a
sub-process the sub-process (it completes, whatever else ran in it). Error ends are drawn only right
inside a sub-process whose boundary catches them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.engine.bpmn_builder import Diagram

# Multi-instance markers: two that run at least one instance (the engine refuses to start one over an
# empty collection), and one that may complete with none done.
RUNS = {"cardinality": "2"}
OVER_REGIONS = {"collection": "regions"}
MAY_SKIP = ({"cardinality": "3", "completion": "completed >= 0"},)


@dataclass(frozen=True)
class Task:
    name: str
    gate: bool
    multi: dict[str, str] | None = None


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
class Timer:  # a boundary event on `task` (timer or message); interrupting: its path runs `alt` and rejoins
    task: Task  # after the task; not: `alt` runs beside the still open task and ends on its own
    alt: Block
    trigger: str = "timer"
    interrupting: bool = True


@dataclass(frozen=True)
class Stop:  # a terminate end, or an error end ("error")
    name: str
    kind: str = "terminate"


@dataclass(frozen=True)
class EventSub:  # an event sub-process started by a message
    name: str
    body: Block
    interrupting: bool


@dataclass(frozen=True)
class Sub:  # an embedded sub-process; `caught`: the path of its error boundary, which rejoins after it
    name: str
    body: Block
    caught: Block | None = None
    event: EventSub | None = None
    multi: dict[str, str] | None = None


@dataclass(frozen=True)
class Call:  # a call activity to a process of the same file that runs `body` (no gate items in it)
    name: str
    body: Block


Block = Task | Seq | Choice | Split | Timer | Stop | Sub | Call


# ---------------------------------------------------------------------------------------- the oracle


def completes(block: Block) -> bool:
    """Some run of the block passes its token on."""
    return _passes(block, None)


def skips(block: Block, item: str) -> bool:
    """Some run of the block passes its token on without completing task `item`."""
    return _passes(block, item)


def _passes(block: Block, item: str | None) -> bool:
    """Some run passes the token on with `item` never completed (None: any run)."""
    if isinstance(block, Task):
        return block.name != item or (block.multi is not None and block.multi in MAY_SKIP)
    if isinstance(block, Stop):
        return False
    if isinstance(block, Timer):
        return _passes(block.task, item) or (block.interrupting and _passes(block.alt, item))
    if isinstance(block, Call):
        return _passes(block.body, item) or _ends(block.body, item, "terminate")
    if isinstance(block, Sub):
        return _sub_passes(block, item)
    if isinstance(block, Seq) or (isinstance(block, Split) and block.kind == "parallel"):
        return all(_passes(b, item) for b in _parts(block))
    return any(_passes(b, item) for b in _parts(block))  # one branch (an inclusive subset of one)


def _sub_passes(sub: Sub, item: str | None) -> bool:
    if sub.multi is not None and sub.multi in MAY_SKIP:
        return True
    if _passes(sub.body, item) or _ends(sub.body, item, "terminate"):
        return True
    if sub.caught is not None and _ends(sub.body, item, "error") and _passes(sub.caught, item):
        return True
    ev = sub.event
    return ev is not None and ev.interrupting and _passes(ev.body, item)


def _ends(block: Block, item: str | None, kind: str) -> bool:
    """Some run reaches an end of `kind` of this body (not of a nested sub-process) with `item` never
    completed: what ran before it in sequence passed on without it; parallel branches may still wait."""
    if isinstance(block, Stop):
        return block.kind == kind
    if isinstance(block, Task | Sub | Call):
        return False
    if isinstance(block, Timer):
        return _ends(block.alt, item, kind)
    if isinstance(block, Seq):
        for part in block.items:
            if _ends(part, item, kind):
                return True
            if not _passes(part, item):
                return False
        return False
    return any(_ends(b, item, kind) for b in _parts(block))


def _parts(block: Seq | Choice | Split) -> tuple[Block, ...]:
    return block.items if isinstance(block, Seq) else block.branches


def tasks_of(block: Block) -> list[Task]:
    if isinstance(block, Task):
        return [block]
    if isinstance(block, Stop):
        return []
    if isinstance(block, Timer):
        return [block.task, *tasks_of(block.alt)]
    if isinstance(block, Call):
        return tasks_of(block.body)
    if isinstance(block, Sub):
        return [t for b in _inner(block) for t in tasks_of(b)]
    return [t for b in _parts(block) for t in tasks_of(b)]


def _inner(sub: Sub) -> list[Block]:
    return [sub.body, *([sub.caught] if sub.caught else []), *([sub.event.body] if sub.event else [])]


def gate_items(block: Block) -> list[str]:
    return sorted(t.name for t in tasks_of(block) if t.gate)


def bypassed(block: Block) -> set[str]:
    return {t for t in gate_items(block) if skips(block, t)}


# ---------------------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class Where:
    """What may be drawn here: sub-processes and multi-instance (`rich`), terminate ends (not inside an
    event sub-process), error ends (right inside a sub-process whose boundary catches them)."""

    rich: bool
    stops: bool = True
    errors: bool = False
    runs: bool = False  # to be run by the engine: no collection (the launch data has no list)
    gates: bool = True  # gate items may be drawn (not inside a called process: not the launch's)


@st.composite
def blocks(draw: st.DrawFn, where: Where, depth: int = 2, *, structured: bool = False) -> Block:
    counter = draw(st.shared(st.builds(itertools.count), key="names"))

    def name(prefix: str) -> str:
        return f"{prefix}{next(counter)}"

    kinds = [] if structured and depth > 0 else ["task", "task"]
    if depth > 0:
        kinds += ["seq", "choice", "split", "timer", "event"] + (["sub", "sub", "call"] if where.rich else [])
    kind = draw(st.sampled_from(kinds))
    inner = blocks(where, depth - 1)
    gate = where.gates and draw(st.integers(0, 3)) == 0
    if kind == "task":
        return Task(name("t"), gate, _multi(draw, where))
    if kind == "seq":
        return Seq(tuple(draw(st.lists(inner, min_size=2, max_size=3))))
    if kind == "timer":
        interrupting = draw(st.booleans())
        side = Where(True, stops=False, runs=where.runs, gates=where.gates)
        alt = draw(inner if interrupting else blocks(side, 0))
        return Timer(Task(name("t"), gate), alt, draw(st.sampled_from(["timer", "message"])), interrupting)
    if kind == "call":
        called = Where(True, stops=where.stops, runs=where.runs, gates=False)
        return Call(name("c"), draw(blocks(called, depth - 1, structured=True)))
    if kind == "sub":
        return _sub(draw, name("p"), where, depth)
    branches = draw(st.lists(inner, min_size=2, max_size=3))
    if kind == "choice":
        ends = (["terminate"] if where.stops else []) + (["error", "error"] if where.errors else [])
        if len(ends) > 0 and draw(st.booleans()):
            branches.append(Stop(name("stop"), draw(st.sampled_from(ends))))
        return Choice(name("x"), tuple(branches))
    if kind == "event":
        return Choice(name("e"), tuple(branches[:2]), kind="event")
    return Split(name("s"), tuple(branches), kind=draw(st.sampled_from(["parallel", "inclusive"])))


def _multi(draw: st.DrawFn, where: Where) -> dict[str, str] | None:
    if not where.rich or draw(st.integers(0, 3)):
        return None
    return draw(st.sampled_from([RUNS, *MAY_SKIP] if where.runs else [RUNS, OVER_REGIONS, *MAY_SKIP]))


def _sub(draw: st.DrawFn, name: str, where: Where, depth: int) -> Sub:
    catches = draw(st.booleans())
    inner = Where(True, stops=where.stops, errors=catches, runs=where.runs, gates=where.gates)
    body = draw(blocks(inner, depth - 1, structured=True))
    side = Where(True, stops=where.stops, runs=where.runs, gates=where.gates)
    caught = draw(blocks(side, 0)) if catches else None
    event = None
    if draw(st.booleans()):
        ev_body = draw(blocks(Where(True, stops=False, runs=where.runs, gates=where.gates), 0))
        event = EventSub(f"{name}_ev", ev_body, draw(st.booleans()))
    return Sub(name, body, caught, event, _multi(draw, where))


@st.composite
def diagrams(draw: st.DrawFn, rich: bool, *, runs: bool = False) -> Block:
    body = draw(blocks(Where(rich, runs=runs), 2 if runs else 3))
    if not gate_items(body):
        body = Seq((body, Task("t_last", True)))
    return body


# ---------------------------------------------------------------------------------------- rendering


def render(body: Block, process_id: str) -> Diagram:
    d = Diagram(process_id)
    first, last = _render(d, body, None)
    d.chain("start", first)
    assert last is not None
    d.chain(last, d.task("go_live", go_live=True), "end")
    return d


def _render(d: Diagram, block: Block, inside: str | None) -> tuple[str, str | None]:
    """The first and the last node of the block (None: no token leaves it)."""
    if isinstance(block, Task):
        gate = block.name if block.gate else None
        return d.task(block.name, gate=gate, multi=block.multi, inside=inside), block.name
    if isinstance(block, Stop):
        return d.end(block.name, block.kind, code="e", inside=inside), None
    if isinstance(block, Seq):
        ends = [_render(d, b, inside) for b in block.items]
        for (_, last), (first, _) in itertools.pairwise(ends):
            if last is not None:
                d.flow(last, first)
        return ends[0][0], ends[-1][1]
    if isinstance(block, Timer):
        return _render_boundary(d, block, inside)
    if isinstance(block, Call):
        called = Diagram(f"{block.name}_called")
        first, last = _render(called, block.body, None)
        called.chain(f"{block.name}_start", first)
        if last is not None:
            called.flow(last, f"{block.name}_end")
        return d.call(block.name, called, inside=inside), block.name
    if isinstance(block, Sub):
        return _render_sub(d, block, inside)
    if isinstance(block, Choice):
        return _render_choice(d, block, inside)
    return _render_split(d, block, inside)


def _render_boundary(d: Diagram, block: Timer, inside: str | None) -> tuple[str, str | None]:
    host = block.task.name
    first, _ = _render(d, block.task, inside)
    d.boundary(f"{host}_late", host, block.trigger, code=f"{host}_late", interrupting=block.interrupting)
    if block.interrupting:
        return first, _rejoin(d, host, f"{host}_late", block.alt, inside)
    alt_first, alt_last = _render(d, block.alt, inside)
    d.flow(f"{host}_late", alt_first)
    assert alt_last is not None
    d.flow(alt_last, d.end(f"{host}_side_end", inside=inside))
    return first, host


def _rejoin(d: Diagram, main: str, side: str, alt: Block, inside: str | None) -> str:
    """`side` runs `alt`; both it and `main` go on at a merge after `main`: the merge's id."""
    alt_first, alt_last = _render(d, alt, inside)
    d.flow(side, alt_first)
    merge = d.gateway(f"{main}_m", inside=inside)
    d.flow(main, merge)
    if alt_last is not None:
        d.flow(alt_last, merge)
    return merge


def _render_sub(d: Diagram, sub: Sub, inside: str | None) -> tuple[str, str | None]:
    d.sub(sub.name, inside=inside, multi=sub.multi)
    first, last = _render(d, sub.body, sub.name)
    d.flow(d.event(f"{sub.name}_start", "startEvent", None, inside=sub.name), first)
    if last is not None:
        d.flow(last, d.end(f"{sub.name}_end", inside=sub.name))
    if sub.event is not None:
        ev = sub.event
        d.sub(ev.name, inside=sub.name, event=True)
        start = d.event(f"{ev.name}_start", "startEvent", "message", code=ev.name, inside=ev.name)
        d.nodes[start].attrs["isInterrupting"] = "true" if ev.interrupting else "false"
        ev_first, ev_last = _render(d, ev.body, ev.name)
        d.flow(start, ev_first)
        if ev_last is not None:
            d.flow(ev_last, d.end(f"{ev.name}_end", inside=ev.name))
    if sub.caught is None:
        return sub.name, sub.name
    d.boundary(f"{sub.name}_err", sub.name, "error", code="e")
    return sub.name, _rejoin(d, sub.name, f"{sub.name}_err", sub.caught, inside)


def _render_choice(d: Diagram, block: Choice, inside: str | None) -> tuple[str, str | None]:
    ends = [_render(d, b, inside) for b in block.branches]
    merge = d.gateway(f"{block.name}_m", inside=inside)
    if block.kind == "event":
        gateway = d.gateway(block.name, "eventBased", inside=inside)
        d.flow(d.event(f"{block.name}_msg", trigger="message", code=block.name, inside=inside), ends[0][0])
        d.flow(d.event(f"{block.name}_timer", trigger="timer", inside=inside), ends[1][0])
        d.flow(gateway, f"{block.name}_msg")
        d.flow(gateway, f"{block.name}_timer")
        first = gateway
    else:
        first = d.task(f"{block.name}_choose", inside=inside)
        d.flow(first, d.gateway(block.name, inside=inside))
        d.choice(block.name, *(f for f, _ in ends), on=first)
    for _, last in ends:
        if last is not None:
            d.flow(last, merge)
    return first, merge


def _render_split(d: Diagram, block: Split, inside: str | None) -> tuple[str, str | None]:
    ends = [_render(d, b, inside) for b in block.branches]
    join = d.gateway(f"{block.name}_j", block.kind, inside=inside)
    if block.kind == "parallel":
        first = d.gateway(block.name, "parallel", inside=inside)
        for f, _ in ends:
            d.flow(first, f)
    else:
        first = d.task(f"{block.name}_choose", inside=inside)
        d.flow(first, d.gateway(block.name, "inclusive", inside=inside))
        d.nodes[block.name].attrs["default"] = f"flow_{block.name}_{ends[0][0]}"
        d.flow(block.name, ends[0][0])
        for f, _ in ends[1:]:
            d.flow(block.name, f, f"'[{f}]' in {first}.comment")
    for _, last in ends:
        if last is not None:
            d.flow(last, join)
    return first, join


# ---------------------------------------------------------------------------------------- driving


def choices(block: Block) -> list[Choice | Split]:
    """Every choice and split of the tree (their chooser tasks and messages)."""
    if isinstance(block, Task | Stop):
        return []
    if isinstance(block, Timer):
        return choices(block.alt)
    if isinstance(block, Call):
        return choices(block.body)
    if isinstance(block, Sub):
        return [c for b in _inner(block) for c in choices(b)]
    found: list[Choice | Split] = [block] if isinstance(block, Choice | Split) else []
    return found + [c for b in _parts(block) for c in choices(b)]


def messages(block: Block) -> list[str]:
    """The messages the diagram waits for: event-based gateways' and event sub-processes' starts."""
    names = [c.name for c in choices(block) if c.kind == "event"]
    names += [f"{t.task.name}_late" for t in boundaries(block) if t.trigger == "message"]
    return names + [s.event.name for s in subs(block) if s.event is not None]


def boundaries(block: Block) -> list[Timer]:
    if isinstance(block, Task | Stop):
        return []
    if isinstance(block, Timer):
        return [block, *boundaries(block.alt)]
    if isinstance(block, Call):
        return boundaries(block.body)
    if isinstance(block, Sub):
        return [t for b in _inner(block) for t in boundaries(b)]
    return [t for b in _parts(block) for t in boundaries(b)]


def subs(block: Block) -> list[Sub]:
    if isinstance(block, Task | Stop):
        return []
    if isinstance(block, Timer):
        return subs(block.alt)
    if isinstance(block, Call):
        return subs(block.body)
    if isinstance(block, Sub):
        return [block] + [s for b in _inner(block) for s in subs(b)]
    return [s for b in _parts(block) for s in subs(b)]


def first_of(block: Block) -> str:
    if isinstance(block, Task | Stop | Sub | Call):
        return block.name
    if isinstance(block, Timer):
        return block.task.name
    if isinstance(block, Seq):
        return first_of(block.items[0])
    return block.name if block.kind in ("parallel", "event") else f"{block.name}_choose"
