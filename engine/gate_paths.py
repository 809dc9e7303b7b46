"""The paths of a diagram as the gate's bypass check reads them: "can a token reach go-live in a run in
which gate item X never completes?" — for every construct the engine runs.

The graph (`FlowGraph`, built from the XML by engine.specs.graph) is flat: every flow node of the process,
of its sub-processes, event sub-processes and inlined called processes, each with the scope it sits in.
The answer over-approximates what can happen (sound: a bypass is never missed) and is exact where a
loose answer would refuse well-formed diagrams:

- `entered` (forward): a token can arrive at the node. A parallel join with several incoming flows needs
  all of them; every other node needs one (an inclusive join is read like an exclusive merge).
- `done` (forward): the node passes its token on along its sequence flows. An activity does when it is not
  the avoided item, and a sub-process only when its body can finish (`finishes`).
- boundary events and event sub-processes fire whenever their host is active (timer, message, signal, …:
  something from outside can fire them at any time); error and escalation ones only when a matching throw
  can happen inside their host.
- `finishes` (backward, per body): a token at the node can run out with the body completing normally —
  a parallel split needs every branch to, a choice needs one, a terminate end completes the body whatever
  the other tokens do, an error end caught by an interrupting catcher leaves it abnormally instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.expressions import evaluate_condition, parse_expression

GOES_ON = frozenset({"timer", "message", "signal", "conditional", "none"})  # triggers from outside
THROWN = frozenset({"error", "escalation"})  # triggers thrown inside the host
FAILING = frozenset({"serviceTask", "sendTask", "callActivity"})
CHOICES = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"})
ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "subProcess",
        "adHocSubProcess",
        "transaction",
        "callActivity",
    }
)


@dataclass(frozen=True)
class Boundary:
    id: str
    host: str
    trigger: str  # timer, message, signal, error, escalation, conditional, none, …
    interrupting: bool
    code: str | None = None  # the error / escalation code it catches (None: any)


@dataclass(frozen=True)
class Scope:
    """A body: the process itself (id ""), an embedded sub-process, an event sub-process, or a called
    process inlined under its call activity (scope id = the activity's node id)."""

    id: str
    parent: str | None
    starts: tuple[str, ...]
    event_sub: bool = False
    trigger: str = "none"  # event sub-processes: what starts them
    interrupting: bool = True
    code: str | None = None


@dataclass(frozen=True)
class MultiInstance:
    cardinality: str | None
    collection: str | None
    completion: str | None
    sequential: bool = False


@dataclass(frozen=True)
class FlowGraph:
    """A process's flow nodes by (flattened) id: what the bypass check reads of a diagram."""

    start: str | None
    edges: Mapping[str, Sequence[str]]  # source id -> target ids (sequence flows)
    kinds: Mapping[str, str]  # node id -> BPMN element name (userTask, parallelGateway, ...)
    boundaries: Sequence[Boundary] = ()
    scopes: Mapping[str, Scope] = field(default_factory=dict)  # "" is the process
    parent: Mapping[str, str] = field(default_factory=dict)  # node id -> id of the scope it is in
    events: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)  # node -> (trigger, code)
    origin: Mapping[str, str] = field(default_factory=dict)  # node id -> element id in its own process
    multi: Mapping[str, MultiInstance] = field(default_factory=dict)
    may_skip: frozenset[str] = frozenset()  # activities that may complete without running (0 instances)
    # element id -> (go-live?, gate item key) of the marked human tasks of inlined called processes
    called_marks: Mapping[str, tuple[bool, str | None]] = field(default_factory=dict)

    def copies(self, element_id: str) -> set[str]:
        """The nodes that are the element (a called process inlined twice has two copies of each)."""
        found = {n for n, o in self.origin.items() if o == element_id}
        return found | ({element_id} if element_id in self.kinds and element_id not in self.origin else set())


def reachable(graph: FlowGraph, goals: Iterable[str], *, avoid: Iterable[str] = ()) -> bool:
    """Can a token arrive at one of `goals` in a run in which no node of `avoid` completes?"""
    return bool(set(goals) & _Paths(graph, frozenset(avoid)).entered())


class _Paths:
    def __init__(self, graph: FlowGraph, avoid: frozenset[str]) -> None:
        self.g = graph
        self.avoid = avoid
        self.incoming: dict[str, list[str]] = {}
        for source, targets in graph.edges.items():
            for target in targets:
                self.incoming.setdefault(target, []).append(source)
        self.on: dict[str, list[Boundary]] = {}
        for b in graph.boundaries:
            self.on.setdefault(b.host, []).append(b)
        self.boundary = {b.id: b for b in graph.boundaries}
        self.catchers: dict[tuple[str, str], list[tuple[bool, str | None]]] = {}
        for b in graph.boundaries:
            self.catchers.setdefault((b.host, b.trigger), []).append((b.interrupting, b.code))
        for e in graph.scopes.values():
            if e.event_sub:
                self.catchers.setdefault((e.parent or "", e.trigger), []).append((e.interrupting, e.code))
        self.throws = {n: (t, c) for n, (t, c) in graph.events.items() if t in THROWN and self._throws(n)}
        # what may fail with an error without an error end: a connector, a process called from elsewhere
        self.throws |= {
            n: ("error", None) for n, k in graph.kinds.items() if k in FAILING and n not in graph.scopes
        }
        self.heard = {n: set(self._propagation(n)) for n in self.throws}
        self.finishing = self._finishing()

    def _throws(self, node: str) -> bool:
        return self.g.kinds.get(node) in {"endEvent", "intermediateThrowEvent"}

    # ---------------------------------------------------------------- backward: can a body finish?

    def _finishing(self) -> set[str]:
        """Least fixpoint of "a token here can run out with its body completing" (F) joined with "a token
        here can reach a terminate end of its body" (which completes the body whatever else runs; not
        through a parallel join that some way in never feeds: `_fed`)."""
        finishes: set[str] = set()
        terminates: set[str] = set()
        changed = True
        while changed:
            changed = False
            fed = self._fed(finishes)
            for node in self.g.kinds:
                if node not in terminates and self._terminates(node, terminates, finishes, fed):
                    terminates.add(node)
                    changed = True
                if node not in finishes and (node in terminates or self._finishes(node, finishes)):
                    finishes.add(node)
                    changed = True
        self._finished = finishes
        return finishes

    def _terminates(self, node: str, terminates: set[str], finishes: set[str], fed: set[str]) -> bool:
        if self.g.events.get(node, ("", None))[0] == "terminate" and self.g.kinds[node] == "endEvent":
            return True
        if self._joins(node) and not all(p in fed for p in self.incoming[node]):
            return False  # a parallel join one of whose ways in never brings a token never passes one on
        nexts = self.g.edges.get(node, ())
        escapes = any(b.id in terminates for b in self._boundaries(node, interrupting=True))
        if self.g.kinds[node] in ACTIVITIES and not self._completes(node, finishes):
            return escapes
        return escapes or any(n in terminates for n in nexts)

    def _joins(self, node: str) -> bool:
        return self.g.kinds[node] == "parallelGateway" and len(self.incoming.get(node, ())) > 1

    def _fed(self, finishes: set[str]) -> set[str]:
        """The nodes a token may leave on its way on (least fixpoint, over-approximated): an activity that
        never completes passes none; a parallel join needs every way in fed, any other node one; a node
        with no way in (a start, a boundary event) is given its token."""
        fed: set[str] = set()
        changed = True
        while changed:
            changed = False
            for node, kind in self.g.kinds.items():
                if node in fed or (kind in ACTIVITIES and not self._completes(node, finishes)):
                    continue
                incoming = self.incoming.get(node, ())
                if not incoming or (all if self._joins(node) else any)(p in fed for p in incoming):
                    fed.add(node)
                    changed = True
        return fed

    def _finishes(self, node: str, finishes: set[str]) -> bool:
        kind = self.g.kinds[node]
        nexts = self.g.edges.get(node, ())
        if node in self.throws and self._caught(node):
            return False  # leaves the body abnormally
        if kind == "endEvent":
            return True
        onward = (any if kind in CHOICES and nexts else all)(n in finishes for n in nexts)
        if kind not in ACTIVITIES:
            return onward
        escapes = any(b.id in finishes for b in self._boundaries(node, interrupting=True))
        return escapes or (onward and self._completes(node, finishes))

    def _completes(self, node: str, finishes: set[str]) -> bool:
        """The activity itself completes: it is not avoided, and a body it has can finish."""
        if node in self.g.may_skip:
            return True
        if node in self.avoid:
            return False
        return node not in self.g.scopes or self._body_finishes(node, finishes)

    def _body_finishes(self, scope_id: str, finishes: set[str]) -> bool:
        scope = self.g.scopes[scope_id]
        if all(s in finishes for s in scope.starts):
            return True
        return any(
            s.event_sub
            and s.parent == scope_id
            and s.interrupting
            and self._can_fire(s.trigger, scope_id, s.code)
            and self._body_finishes(s.id, finishes)
            for s in self.g.scopes.values()
        )

    def _propagation(self, node: str) -> list[str]:
        """The scopes a throw travels up through, each of whose catchers may take it: it stops at the first
        one with a catcher that surely takes it (one without a code, or with the thrown code)."""
        trigger, code = self.throws[node]
        scopes: list[str] = []
        scope: str | None = self.g.parent.get(node, "")
        while scope is not None:
            scopes.append(scope)
            if any(_surely(c, code) for _, c in self.catchers.get((scope, trigger), ())):
                break
            scope = self.g.scopes[scope].parent if scope in self.g.scopes else None
        return scopes

    def _caught(self, node: str) -> bool:
        """A thrown error / escalation surely taken by an interrupting catcher: the body is left abnormally,
        it does not finish. Any doubt (a catcher that may not take it, a non-interrupting one that may)
        answers no: finishing is the direction that refuses more."""
        trigger, code = self.throws[node]
        for scope in self._propagation(node):
            found = [(stops, c) for stops, c in self.catchers.get((scope, trigger), ()) if _maybe(c, code)]
            if any(not stops for stops, _ in found):
                return False
            if any(_surely(c, code) for _, c in found):
                return True
        return False

    def _can_fire(self, trigger: str, host: str, code: str | None, entered: set[str] | None = None) -> bool:
        """Something from outside fires at any time, and a task may fail with an error at any time; on a
        body (a sub-process, the process) an error or escalation catcher needs a throw inside it that
        travels up to it and may match it — one that can be reached, when `entered` is known."""
        if trigger not in THROWN or host not in self.g.scopes:
            return True
        return any(
            t == trigger and host in self.heard[n] and _maybe(code, c) and (entered is None or n in entered)
            for n, (t, c) in self.throws.items()
        )

    def _boundaries(self, node: str, *, interrupting: bool) -> list[Boundary]:
        return [
            b
            for b in self.on.get(node, ())
            if b.interrupting == interrupting and self._can_fire(b.trigger, node, b.code)
        ]

    # ---------------------------------------------------------------- forward: where can tokens be?

    def entered(self) -> set[str]:
        top = self.g.scopes.get("")
        entered = set(top.starts if top else ([self.g.start] if self.g.start else []))
        done: set[str] = set()
        changed = True
        while changed:
            changed = False
            for node in self.g.kinds:
                if node not in entered and self._enters(node, entered, done):
                    entered.add(node)
                    changed = True
                if node in entered and node not in done and self._passes_on(node):
                    done.add(node)
                    changed = True
        return entered

    def _enters(self, node: str, entered: set[str], done: set[str]) -> bool:
        incoming = self.incoming.get(node, [])
        joins = self.g.kinds[node] == "parallelGateway" and len(incoming) > 1
        if incoming and (all if joins else any)(p in done for p in incoming):
            return True
        return self._triggered(node, entered)

    def _triggered(self, node: str, entered: set[str]) -> bool:
        """Entered without a sequence flow: a boundary event of an active host, a start event of an active
        body (an event sub-process's when its trigger can fire)."""
        boundary = self.boundary.get(node)
        if boundary is not None:
            host = boundary.host
            return host in entered and self._can_fire(boundary.trigger, host, boundary.code, entered)
        scope = self.g.scopes.get(self.g.parent.get(node, ""))
        if self.g.kinds[node] != "startEvent" or scope is None or scope.id == "":
            return False
        if not scope.event_sub:
            return scope.id in entered
        host = scope.parent or ""
        return (host == "" or host in entered) and self._can_fire(scope.trigger, host, scope.code, entered)

    def _passes_on(self, node: str) -> bool:
        if self.g.kinds[node] not in ACTIVITIES:
            return True
        return self._completes(node, self._finished)


def _surely(catches: str | None, thrown: str | None) -> bool:
    return catches is None or (thrown is not None and catches == thrown)


def _maybe(catches: str | None, thrown: str | None) -> bool:
    return catches is None or thrown is None or catches == thrown


# ------------------------------------------------------------------------------- multi-instance activities

# The counts a completion condition may read (docs/design.md, "The gate"), each before any instance is
# done: a condition that already holds then lets the activity complete without a single sign-off.
_BEFORE_ANY_DONE = tuple(
    {"completed": 0, "approved": 0, "passed": 0, "rejected": 0, "total": n, "remaining": n, "active": n}
    for n in (1, 2, 3, 10, 100)
)


def skip_reason(multi: MultiInstance) -> str | None:
    """Why a multi-instance activity may complete with no instance done (None when it cannot): a
    cardinality expression may be 0, a cardinality of 0, a completion condition that holds before any
    instance is done. A collection is never empty when it runs: the engine refuses an empty one."""
    cardinality = multi.cardinality
    if multi.collection is not None:
        cardinality = "1"  # never empty: the engine refuses to start one over an empty list
    if cardinality is None or not cardinality.isdigit():
        return f"its cardinality {cardinality!r} may be 0"
    if int(cardinality) < 1:
        return "its cardinality is 0"
    if multi.completion is not None and _holds_before_any_done(multi.completion):
        return f"its completion condition {multi.completion!r} holds before any instance is done"
    return None


def _holds_before_any_done(source: str) -> bool:
    try:
        expression = parse_expression(source)
    except UnsafeExpressionError:
        return False  # refused on its own by the check of conditions
    for counts in _BEFORE_ANY_DONE:
        try:
            if evaluate_condition(expression, counts):
                return True
        except ExpressionEvaluationError:
            return True  # it reads something else: it cannot be shown to wait for a sign-off
    return False
