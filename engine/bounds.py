"""Bounds a diagram must keep so that no command runs without end (RELIABILITY.md G9), checked at deploy.

- Every cycle of the flow graph passes a wait state (a user, manual or plain task, a catch event): a loop of
  gateways alone would spin in one command until the step budget stops it, on every start.
- A multi-instance runs at most `MAX_INSTANCES` instances (checked at deploy for a cardinality, when it
  starts for a collection from the launch data).
- Timers wait at most `MAX_TIMER_DAYS`: a duration that long, a date no later than that from now.
  (SpiffWorkflow walks a duration month by month, so 'P99999999999999999999Y' would never finish.)
- Timer cycles `R<n>/...` repeat at most `MAX_CYCLE_COUNT` times, at least `MIN_CYCLE_INTERVAL` apart;
  an unbounded `R/...` is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

__all__ = [
    "MAX_CYCLE_COUNT",
    "MAX_INSTANCES",
    "MAX_TIMER_DAYS",
    "MIN_CYCLE_INTERVAL",
    "WAIT_STATES",
    "cycle_bound_problem",
    "cycles_without_wait_state",
    "duration_days",
    "timer_bound_problem",
]

# A multi-instance runs at most this many instances (its cardinality, or its collection's length).
MAX_INSTANCES: Final = 100
MAX_TIMER_YEARS: Final = 5
MAX_TIMER_DAYS: Final = MAX_TIMER_YEARS * 366
MAX_CYCLE_COUNT: Final = 1000
MIN_CYCLE_INTERVAL: Final = timedelta(minutes=1)
WAIT_STATES: Final = frozenset(
    {"userTask", "manualTask", "task", "receiveTask", "intermediateCatchEvent", "boundaryEvent"}
)
# Upper bounds of each ISO 8601 duration designator, in days (a month as 31, a year as 366).
_DAYS_PER: Final = {
    "years": 366.0,
    "months": 31.0,
    "weeks": 7.0,
    "days": 1.0,
    "hours": 1 / 24,
    "minutes": 1 / 1440,
    "seconds": 1 / 86400,
}


def duration_days(parsed: Mapping[str, float]) -> float:
    """An upper bound of a parsed ISO 8601 duration in days."""
    return sum(float(value) * _DAYS_PER.get(unit, 1.0) for unit, value in parsed.items())


def timer_bound_problem(
    kind: str, value: str, parsed: Mapping[str, float] | None, now: datetime | None = None
) -> str | None:
    """Why an already valid timer value waits too long (None when it is within the bound)."""
    if kind == "timeDuration":
        if parsed is not None and duration_days(parsed) > MAX_TIMER_DAYS:
            return f"timer duration {value!r} is longer than the limit of {MAX_TIMER_YEARS} years"
        return None
    moment = datetime.fromisoformat(value)
    limit = (now or datetime.now(UTC)) + timedelta(days=MAX_TIMER_DAYS)
    if moment.tzinfo is not None and moment > limit:
        return f"timer date {value!r} is more than {MAX_TIMER_YEARS} years ahead"
    return None


def cycles_without_wait_state(
    kinds: Mapping[str, str], edges: Mapping[str, Sequence[str]], *, waiting: Collection[str] = ()
) -> list[list[str]]:
    """The cycles (as strongly connected sets of nodes, in document order) that pass no wait state.

    Wait states (by kind, and the nodes in `waiting`, such as a sub-process holding a user task) are
    taken out of the graph; whatever still loops spins without waiting."""
    nodes = [n for n in kinds if kinds[n] not in WAIT_STATES and n not in waiting]
    keep = set(nodes)
    graph = {n: [t for t in edges.get(n, ()) if t in keep] for n in nodes}
    order = {n: i for i, n in enumerate(kinds)}
    found = []
    for component in _strongly_connected(nodes, graph):
        if len(component) > 1 or component[0] in graph[component[0]]:
            found.append(sorted(component, key=order.__getitem__))
    return sorted(found, key=lambda c: order[c[0]])


def _strongly_connected(nodes: Iterable[str], graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion (a diagram may have thousands of nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def cycle_bound_problem(value: str, count: int | None, interval: timedelta) -> str | None:
    """Why a timer cycle repeats too often or without end (None when within the bounds)."""
    if count is None:
        return f"timer cycle {value!r} repeats without end: write a count, like 'R3/PT1H'"
    if count < 1 or count > MAX_CYCLE_COUNT:
        return f"timer cycle {value!r} must repeat between 1 and {MAX_CYCLE_COUNT} times"
    if interval < MIN_CYCLE_INTERVAL:
        return f"timer cycle {value!r} repeats more often than once a minute"
    if interval > timedelta(days=MAX_TIMER_DAYS):
        return f"timer cycle {value!r} waits longer than the limit of {MAX_TIMER_YEARS} years"
    return None
