"""Short ways to describe corpus diagrams and their scripts (tools/corpus_diagrams.py uses them).

A script says how the corpus harness (tests/engine/test_corpus.py) drives a launch of the diagram: one or
more runs, each a list of steps (complete a task with data, deliver a message, let time pass) with the BPMN
ids open after each step, and the launch's status at the end.
"""

# ruff: noqa: PLR0917 - the helpers read like the diagram: id, name, column, row

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from tools.corpus_layout import Diagram, Flow, Lane, Node, Pool

PM_LANE = Lane("lane_pm", "Product Manager", "pm", (0, 1))
TWO_LANES = [
    Lane("lane_pm", "Product Manager", "pm", (0, 1)),
    Lane("lane_support", "Support Lead", "support_lead", (1, 2)),
]


def form(name: str) -> dict[str, str]:
    return {"formJsonSchemaFilename": f"{name}-schema.json"}


def user(id_: str, name: str, col: float, row: float, form_name: str = "", **props: str) -> Node:
    values = form(form_name) if form_name else {}
    values.update(props)
    return Node(id_, "userTask", name, col, row, props=values)


def node(kind: str, id_: str, name: str, col: float, row: float, body: str = "", **attrs: str) -> Node:
    return Node(id_, kind, name, col, row, body=body, attrs=dict(attrs))


def start(col: float = 0, row: float = 0, body: str = "", id_: str = "start", name: str = "Start") -> Node:
    return Node(id_, "startEvent", name, col, row, body=body)


def end(col: float, row: float = 0, body: str = "", id_: str = "end", name: str = "Done") -> Node:
    return Node(id_, "endEvent", name, col, row, body=body)


def gateway(kind: str, id_: str, name: str, col: float, row: float) -> Node:
    return Node(id_, f"{kind}Gateway", name, col, row)


def boundary(
    id_: str, name: str, host: str, body: str, offset: float = 60, interrupting: bool = True
) -> Node:
    attrs = {"attachedToRef": host}
    if not interrupting:
        attrs["cancelActivity"] = "false"
    return Node(id_, "boundaryEvent", name, offset, 0, body=body, attrs=attrs)


def sub(
    id_: str,
    name: str,
    col: float,
    row: float,
    span: tuple[float, float],
    children: list[Node],
    flows: list[Flow],
    kind: str = "subProcess",
    **attrs: str,
) -> Node:
    return Node(id_, kind, name, col, row, span=span, children=children, flows=flows, attrs=dict(attrs))


def chain(*ids: str) -> list[Flow]:
    return [Flow(a, b) for a, b in pairwise(ids)]


def timer(kind: str, value: str) -> str:
    """kind: timeDuration, timeDate or timeCycle."""
    return (
        "<bpmn:timerEventDefinition>\n"
        f'  <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{value}</bpmn:{kind}>\n'
        "</bpmn:timerEventDefinition>"
    )


def message_def(name: str) -> str:
    return f'<bpmn:messageEventDefinition messageRef="message_{name}" />'


def signal_def(name: str) -> str:
    return f'<bpmn:signalEventDefinition signalRef="signal_{name}" />'


def error_def(name: str) -> str:
    return f'<bpmn:errorEventDefinition errorRef="error_{name}" />'


def escalation_def(name: str) -> str:
    return f'<bpmn:escalationEventDefinition escalationRef="escalation_{name}" />'


def message(name: str) -> str:
    return f'<bpmn:message id="message_{name}" name="{name}" />'


def signal(name: str) -> str:
    return f'<bpmn:signal id="signal_{name}" name="{name}" />'


def error(name: str) -> str:
    return f'<bpmn:error id="error_{name}" name="{name}" errorCode="{name}" />'


def escalation(name: str) -> str:
    return f'<bpmn:escalation id="escalation_{name}" name="{name}" escalationCode="{name}" />'


def pool(
    process_id: str,
    name: str,
    nodes: list[Node],
    flows: list[Flow],
    lanes: list[Lane] | None = None,
    documentation: str = "",
) -> Pool:
    return Pool(
        process_id,
        name,
        nodes,
        flows,
        lanes=[PM_LANE] if lanes is None else lanes,
        documentation=documentation,
    )


def single(
    process_id: str,
    name: str,
    nodes: list[Node],
    flows: list[Flow],
    lanes: list[Lane] | None = None,
    globals_: list[str] | None = None,
    documentation: str = "",
) -> Diagram:
    """A diagram of one process in one pool."""
    return Diagram(
        process_id, [pool(process_id, name, nodes, flows, lanes, documentation)], globals=globals_ or []
    )


# ---------------------------------------------------------------------------------------------- scripts


def done(task: str, *open_after: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete the first open task `task` (with `data`, default the plain form's {})."""
    step: dict[str, Any] = {"complete": task, "open": sorted(open_after)}
    if data is not None:
        step["data"] = data
    return step


def approve(task: str, *open_after: str) -> dict[str, Any]:
    return done(task, *open_after, data={"decision": "approve"})


def changes(task: str, *open_after: str) -> dict[str, Any]:
    return done(task, *open_after, data={"decision": "request_changes", "comment": "Please say more."})


def wait(duration: str, *open_after: str) -> dict[str, Any]:
    """Let `duration` (ISO 8601, e.g. PT2H, P2D) pass on the clock and fire the timers that are due."""
    return {"wait": duration, "open": sorted(open_after)}


def send(name: str, *open_after: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deliver the message `name` to the launch (the messages API)."""
    return {"message": name, "payload": payload or {}, "open": sorted(open_after)}


@dataclass
class Run:
    name: str
    open_at_start: list[str]
    steps: list[dict[str, Any]]
    status: str = "live"
    outbox: list[str] = field(default_factory=list)  # what the diagram sends: connector_email, bpmn_event

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "open_at_start": sorted(self.open_at_start),
            "steps": self.steps,
            "status": self.status,
            "outbox": self.outbox,
        }


@dataclass
class Entry:
    """One corpus diagram: what it covers, the process a launch starts, the other corpus diagrams it needs
    deployed first, and its runs."""

    diagram: Diagram
    about: str
    covers: list[str]
    runs: list[Run]
    process: str = ""
    needs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the elements deploy warns about
    deployed_first: list[str] = field(default_factory=list)  # corpus diagrams deployed before, alone

    def script(self) -> dict[str, Any]:
        return {
            "about": self.about,
            "covers": self.covers,
            "process": self.process or self.diagram.pools[0].process_id,
            "needs": self.needs,
            "deployed_first": self.deployed_first,
            "warnings": sorted(self.warnings),
            "runs": [r.as_json() for r in self.runs],
        }
