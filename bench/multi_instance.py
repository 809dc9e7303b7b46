"""Workload "multi-instance-approval": a regional review with one instance per region (3 regions,
completion condition `approved >= 2`, a gate item decided by the multi-instance), driven in-process on a
durable database: start, draft the proposal (3 regions), the three regional reviews (approve, reject,
approve: the third decides), go live. Measured with the engine's workflow cache and without it
(cache_size=0: every command restores the workflow from its row), beside the single-task submit of the
same launches (the proposal). `python -m bench.multi_instance [--launches N]`."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.demo import DEMO_PM, DEMO_SUPPORT
from bench.databases import Backend, prepared_engine
from bench.stats import summarize_ns
from engine import Actor, LaunchStatus, Role, WorkflowEngine
from engine.db.models import LaunchRecord

ROOT = Path(__file__).resolve().parents[1]
DIAGRAM = ROOT / "tests" / "fixtures" / "bpmn" / "regional_review.bpmn"
ADMIN = Actor("ada.admin", frozenset({Role.ADMIN}))
REGIONS = ["EMEA", "APAC", "AMER"]
START = {"product_name": "Regions", "summary": "Regional sign-offs.", "planned_launch_date": "2031-06-15"}
_TEXT = {"type": "string", "maxLength": 200}
FORMS = {
    "proposal-schema.json": {
        "title": "Proposal",
        "type": "object",
        "properties": {"summary": _TEXT, "regions": {"type": "array", "items": _TEXT, "maxItems": 20}},
        "required": ["regions"],
    },
    "review-schema.json": {
        "title": "Regional review",
        "type": "object",
        "properties": {"decision": {"type": "string", "enum": ["approve", "reject"]}, "comment": _TEXT},
        "required": ["decision"],
    },
}


@dataclass
class Figures:
    proposal_ns: list[int] = field(default_factory=list)  # the single task before the multi-instance
    instance_ns: list[int] = field(default_factory=list)  # each regional review instance
    deciding_ns: list[int] = field(default_factory=list)  # the instance that decides the gate item
    launch_ns: list[int] = field(default_factory=list)  # start to live
    state_chars: list[int] = field(default_factory=list)  # the stored state at the end
    wrong: int = 0  # launches that did not end live with the item passed "2 of 3"


def _timed(call: Any) -> tuple[Any, int]:
    started = time.perf_counter_ns()
    result = call()
    return result, time.perf_counter_ns() - started


def one_launch(engine: WorkflowEngine, figures: Figures) -> None:
    began = time.perf_counter_ns()
    launch = engine.start_launch(data=dict(START), actor=DEMO_PM, process_id="regional_review")
    [draft] = launch.open_tasks
    launch, spent = _timed(
        lambda: engine.complete_task(
            task_id=draft.id, data={"summary": "s", "regions": REGIONS}, actor=DEMO_PM
        )
    )
    figures.proposal_ns.append(spent)
    for label, decision in (("EMEA", "approve"), ("APAC", "reject"), ("AMER", "approve")):
        task = next(t for t in launch.open_tasks if t.instance_label == label)
        data = {"decision": decision, "comment": ""}
        started = time.perf_counter_ns()
        launch = engine.complete_task(task_id=task.id, data=data, actor=DEMO_SUPPORT)
        spent = time.perf_counter_ns() - started
        figures.instance_ns.append(spent)
        if label == "AMER":
            figures.deciding_ns.append(spent)
    [go_live] = launch.open_tasks
    launch = engine.complete_task(task_id=go_live.id, data={}, actor=DEMO_PM)
    figures.launch_ns.append(time.perf_counter_ns() - began)
    item = launch.gate[0]
    if launch.status is not LaunchStatus.LIVE or item.progress != "2 of 3 (needs 2)":
        figures.wrong += 1
    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch.id)
        figures.state_chars.append(len(record.state) if record is not None else 0)


def run(launches: int, *, cache_size: int, backend: Backend) -> Figures:
    figures = Figures()
    with backend.scratch("multi-instance") as url:
        engine = prepared_engine(url, cache_size=cache_size)
        files = {name: json.dumps(schema).encode() for name, schema in FORMS.items()}
        engine.deploy_process(xml=DIAGRAM.read_bytes(), actor=ADMIN, files=files)
        for _ in range(launches):
            one_launch(engine, figures)
        engine.db.db_engine.dispose()
    return figures


def report(name: str, figures: Figures) -> dict[str, Any]:
    rows = {
        "proposal submit (single task)": summarize_ns(figures.proposal_ns),
        "regional review submit (each instance)": summarize_ns(figures.instance_ns),
        "deciding instance submit (ends the multi-instance)": summarize_ns(figures.deciding_ns),
        "whole launch (start .. live, 6 commands)": summarize_ns(figures.launch_ns),
    }
    print(f"\n{name}")
    print(f"  {'ms':<52} {'p50':>8} {'p95':>8} {'n':>5}")
    for label, summary in rows.items():
        print(f"  {label:<52} {summary.p50:8.2f} {summary.p95:8.2f} {summary.n:5d}")
    ratio = rows["regional review submit (each instance)"].p50 / rows["proposal submit (single task)"].p50
    states = sorted(figures.state_chars)
    print(
        f"  instance p50 / single-task p50: {ratio:.2f}x; state at the end: {states[len(states) // 2]} chars"
    )
    print(f"  launches not live with 2 of 3: {figures.wrong}")
    return {
        **{k: v.as_dict() for k, v in rows.items()},
        "ratio": ratio,
        "state_chars": states[len(states) // 2],
        "wrong": figures.wrong,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.multi_instance", description=__doc__)
    parser.add_argument("--launches", type=int, default=30)
    args = parser.parse_args(argv)
    backend = Backend("sqlite")
    print(f"multi-instance approval (3 regions), SQLite durable, {args.launches} launches")
    report("with the workflow cache", run(args.launches, cache_size=256, backend=backend))
    report(
        "without it (every command restores the workflow)", run(args.launches, cache_size=0, backend=backend)
    )


if __name__ == "__main__":
    main()
