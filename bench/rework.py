"""Growth workload "rework-loop": the proposal review requests changes N times, then the launch finishes.

Measured in-process and durable, with the engine's workflow cache (one process serving the launch) and
without it (cache_size=0: every command restores the workflow from the row, as after a restart or when
requests alternate between server processes). The naive SpiffWorkflow baseline runs the same loop up to
round 300 (it cannot pass about 333 rounds: Spiff's task iterator stops at depth 1000)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, start_demo_launch
from bench.baselines import NaiveSpiff
from bench.stats import ratio
from engine import LaunchStatus, TaskStatus, TaskView, WorkflowEngine

NAIVE_MAX_ROUNDS = 300
TARGET_FROM, TARGET_TO = 10, 300
NAIVE_LAUNCH_DAY = date(2031, 1, 15)


def window(n: int, size: int) -> range:
    """Rounds n-size+1 .. n (at least round 1)."""
    return range(max(1, n - size + 1), n + 1)


def window_medians(per_round_ns: Sequence[Sequence[int]], ns: Sequence[int], size: int) -> dict[str, float]:
    """Round N -> median submit latency (ms) over the submits of the rounds in the window ending at N."""
    out: dict[str, float] = {}
    for n in ns:
        if n > len(per_round_ns):
            continue
        samples = [s for r in window(n, size) for s in per_round_ns[r - 1]]
        out[str(n)] = statistics.median(samples) / 1e6
    return out


@dataclass
class ReworkRun:
    per_round_ns: list[list[int]] = field(default_factory=list)  # round r-1 -> [review submit, revise submit]
    per_round_cpu_ns: list[list[int]] = field(default_factory=list)  # the same, this thread's CPU time
    early_completion: bool = False
    wrong_open_tasks: int = 0
    final_status: str = ""
    gate_passed: int = 0
    completed_tasks: int = 0
    finish_steps: list[str] = field(default_factory=list)
    loop_s: float = 0.0


def _ready(engine: WorkflowEngine, launch_id: str) -> list[TaskView]:
    return list(engine.list_tasks(actor=DEMO_PM, launch_id=launch_id, status=TaskStatus.READY).items)


def run_rework(engine: WorkflowEngine, rounds: int, name: str) -> ReworkRun:
    run = ReworkRun()
    launch = start_demo_launch(engine, product_name=name)
    forms = demo_forms(launch.planned_launch_date)
    changes = {
        **forms["review_proposal"],
        "decision": "request_changes",
        "comment": "Please add more detail.",
    }

    def submit(expect: str, data: dict[str, Any], then: str | None) -> tuple[int, int]:
        ready = _ready(engine, launch.id)
        if [t.bpmn_id for t in ready] != [expect]:
            run.wrong_open_tasks += 1
        task = next(t for t in ready if t.bpmn_id == expect)
        actor = DEMO_PM if task.role == "pm" else DEMO_SUPPORT
        started, cpu = time.perf_counter_ns(), time.thread_time_ns()
        view = engine.complete_task(task_id=task.id, data=data, actor=actor)
        elapsed = (time.perf_counter_ns() - started, time.thread_time_ns() - cpu)
        if view.status is not LaunchStatus.ACTIVE or view.completed_at is not None:
            run.early_completion = True
        if then is not None and [t.bpmn_id for t in view.open_tasks] != [then]:
            run.wrong_open_tasks += 1
        return elapsed

    submit("draft_proposal", dict(forms["draft_proposal"]), "review_proposal")
    began = time.perf_counter()
    for round_ in range(1, rounds + 1):
        revision = {**forms["revise_proposal"], "changes_made": f"Revision {round_}."}
        review = submit("review_proposal", changes, "revise_proposal")
        revise = submit("revise_proposal", revision, "review_proposal")
        run.per_round_ns.append([review[0], revise[0]])
        run.per_round_cpu_ns.append([review[1], revise[1]])
    run.loop_s = time.perf_counter() - began
    # Approve, then the rest of the happy path with the usual list-and-submit loop.
    submit("review_proposal", dict(forms["review_proposal"]), None)
    for _ in range(30):
        ready = _ready(engine, launch.id)
        if not ready:
            break
        task = ready[0]
        actor = DEMO_PM if task.role == "pm" else DEMO_SUPPORT
        view = engine.complete_task(task_id=task.id, data=dict(forms[task.bpmn_id]), actor=actor)
        run.finish_steps.append(task.bpmn_id)
        if view.status is LaunchStatus.LIVE and task.bpmn_id != "go_live":
            run.early_completion = True
    final = engine.get_launch(launch_id=launch.id, actor=DEMO_PM)
    run.final_status = final.status.value
    run.gate_passed = final.gate_passed
    run.completed_tasks = engine.list_tasks(
        actor=DEMO_PM, launch_id=launch.id, status=TaskStatus.COMPLETED, limit=1
    ).total
    return run


def _forms_with(
    forms: Mapping[str, dict[str, Any]], bpmn_id: str, data: dict[str, Any]
) -> Callable[[str], dict[str, Any]]:
    return lambda b: dict(data) if b == bpmn_id else dict(forms[b])


def run_naive_rework(url: str, rounds: int) -> list[list[int]]:
    naive = NaiveSpiff(url)
    forms = demo_forms(NAIVE_LAUNCH_DAY)
    changes = {
        **forms["review_proposal"],
        "decision": "request_changes",
        "comment": "Please add more detail.",
    }
    try:
        instance = naive.start(
            {
                "product_name": "Naive",
                "summary": "Rework.",
                "planned_launch_date": NAIVE_LAUNCH_DAY.isoformat(),
            }
        )
        naive.step(instance, lambda b: dict(forms[b]))  # draft_proposal
        per_round: list[list[int]] = []
        for round_ in range(1, rounds + 1):
            revision = {**forms["revise_proposal"], "changes_made": f"Revision {round_}."}
            review = naive.step(instance, _forms_with(forms, "review_proposal", changes))
            revise = naive.step(instance, _forms_with(forms, "revise_proposal", revision))
            if (review.bpmn_id, revise.bpmn_id) != ("review_proposal", "revise_proposal"):
                raise RuntimeError(f"naive rework went off the loop at round {round_}")
            per_round.append([review.elapsed_ns, revise.elapsed_ns])
        return per_round
    finally:
        naive.close()


def rework_loop(
    make_engine: Callable[[int], WorkflowEngine],
    url: str,
    *,
    ns: Sequence[int],
    window_size: int,
    naive_rounds: int,
) -> dict[str, Any]:
    rounds = max(ns)
    variants: dict[str, Any] = {}
    for label, cache_size in (("cached", 256), ("restore_every_step", 0)):
        engine = make_engine(cache_size)
        try:
            run = run_rework(engine, rounds, f"Rework {label}")
        finally:
            engine.db.dispose()
        medians = window_medians(run.per_round_ns, ns, window_size)
        cpu = window_medians(run.per_round_cpu_ns, ns, window_size)
        variants[label] = {
            "submit_ms_at_round": medians,
            "submit_cpu_ms_at_round": cpu,
            "cpu_ratio_300_vs_10": ratio(
                cpu.get(str(TARGET_TO), float("nan")), cpu.get(str(TARGET_FROM), float("nan"))
            ),
            "ratio_300_vs_10": ratio(
                medians.get(str(TARGET_TO), float("nan")), medians.get(str(TARGET_FROM), float("nan"))
            ),
            "ratio_last_vs_first": ratio(medians[str(max(ns))], medians[str(min(ns))]),
            "loop_s": run.loop_s,
            "ms_per_round": 1000 * run.loop_s / rounds,
            "checks": {
                "rounds": rounds,
                "early_completion": run.early_completion,
                "wrong_open_tasks": run.wrong_open_tasks,
                "final_status": run.final_status,
                "went_live": run.final_status == LaunchStatus.LIVE.value,
                "gate_passed": run.gate_passed,
                "completed_tasks": run.completed_tasks,
                "expected_completed_tasks": 1 + 2 * rounds + 1 + len(run.finish_steps),
                "finish_steps": run.finish_steps,
            },
        }
    result: dict[str, Any] = {"ns": list(ns), "window_rounds": window_size, **variants}
    if naive_rounds > 0:
        naive_ns = [n for n in ns if n <= naive_rounds]
        per_round = run_naive_rework(
            url, min(naive_rounds, NAIVE_MAX_ROUNDS, max(naive_ns or [naive_rounds]))
        )
        naive_medians = window_medians(per_round, naive_ns or [len(per_round)], window_size)
        result["naive"] = {
            "submit_ms_at_round": naive_medians,
            "ratio_300_vs_10": ratio(
                naive_medians.get(str(TARGET_TO), float("nan")),
                naive_medians.get(str(TARGET_FROM), float("nan")),
            ),
            "rounds": len(per_round),
        }
    return result
