"""Workload "launch-gate-10" in-process: the engine API, durable, 1 and 4 concurrent clients (threads)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, start_demo_launch
from bench.stats import CpuBusy, summarize_ns
from engine import LaunchStatus, TaskStatus, WorkflowEngine

MAX_STEPS = 60


@dataclass
class LaunchRun:
    """One launch driven to go-live: what was submitted and how long each submit took."""

    launch_id: str = ""
    submits_ns: list[int] = field(default_factory=list)
    submits_cpu_ns: list[int] = field(default_factory=list)  # this thread's CPU time (no waits, no fsync)
    lists_ns: list[int] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    total_ns: int = 0
    final_status: str = ""
    premature_completion: bool = False  # the launch said "live" before go_live was submitted


def drive_launch(engine: WorkflowEngine, name: str) -> LaunchRun:
    """Start a launch, then list its ready tasks and submit one (a small valid form) until go-live is done."""
    run = LaunchRun()
    started = time.perf_counter_ns()
    launch = start_demo_launch(engine, product_name=name)
    run.launch_id = launch.id
    forms = demo_forms(launch.planned_launch_date)
    for _ in range(MAX_STEPS):
        t0 = time.perf_counter_ns()
        page = engine.list_tasks(actor=DEMO_PM, launch_id=launch.id, status=TaskStatus.READY)
        run.lists_ns.append(time.perf_counter_ns() - t0)
        if not page.items:
            break
        task = page.items[0]
        actor = DEMO_PM if task.role == "pm" else DEMO_SUPPORT
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        view = engine.complete_task(task_id=task.id, data=dict(forms[task.bpmn_id]), actor=actor)
        run.submits_ns.append(time.perf_counter_ns() - t0)
        run.submits_cpu_ns.append(time.thread_time_ns() - c0)
        run.completed.append(task.bpmn_id)
        run.final_status = view.status.value
        if view.status is LaunchStatus.LIVE and task.bpmn_id != "go_live":
            run.premature_completion = True
    run.total_ns = time.perf_counter_ns() - started
    return run


@dataclass
class ClientsResult:
    clients: int
    runs: list[LaunchRun]
    wall_ns: int
    cpu_busy: float | None = None

    def as_dict(self) -> dict[str, Any]:
        completions = sum(len(r.completed) for r in self.runs)
        seconds = self.wall_ns / 1e9
        return {
            "clients": self.clients,
            "launches": len(self.runs),
            "completions": completions,
            "wall_s": seconds,
            "completions_per_s": completions / seconds if seconds else 0.0,
            "launches_per_s": len(self.runs) / seconds if seconds else 0.0,
            "machine_cpu_busy": self.cpu_busy,
            "submit_ms": summarize_ns([s for r in self.runs for s in r.submits_ns]).as_dict(),
            "submit_cpu_ms": summarize_ns([s for r in self.runs for s in r.submits_cpu_ns]).as_dict(),
            "list_ms": summarize_ns([s for r in self.runs for s in r.lists_ns]).as_dict(),
            "whole_launch_ms": summarize_ns([r.total_ns for r in self.runs]).as_dict(),
        }


def run_clients(engine: WorkflowEngine, clients: int, launches_per_client: int, tag: str) -> ClientsResult:
    """`clients` threads, each driving its own launches one after another; wall time for all of them."""

    def client(index: int) -> list[LaunchRun]:
        return [drive_launch(engine, f"Bench {tag} c{index} l{n}") for n in range(launches_per_client)]

    busy = CpuBusy()
    started = time.perf_counter_ns()
    if clients == 1:
        runs = client(0)
    else:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            runs = [r for chunk in pool.map(client, range(clients)) for r in chunk]
    wall = time.perf_counter_ns() - started
    return ClientsResult(clients, runs, wall, busy.stop())


def checks_for(runs: list[LaunchRun]) -> dict[str, Any]:
    """Correctness: every launch went live, after exactly the happy path's steps, never early."""
    steps = {len(r.completed) for r in runs}
    return {
        "launches": len(runs),
        "all_live": all(r.final_status == LaunchStatus.LIVE.value for r in runs),
        "last_step_go_live": all(r.completed and r.completed[-1] == "go_live" for r in runs),
        "premature_completions": sum(1 for r in runs if r.premature_completion),
        "steps_per_launch": sorted(steps),
    }


def launch_gate_inprocess(
    engine: WorkflowEngine, *, launches_1: int, launches_per_client_4: int
) -> dict[str, Any]:
    drive_launch(engine, "Bench warm-up")  # loads the process version, warms SQLAlchemy's caches
    one = run_clients(engine, 1, launches_1, "1c")
    four = run_clients(engine, 4, launches_per_client_4, "4c")
    return {
        "one_client": one.as_dict(),
        "four_clients": four.as_dict(),
        "checks": checks_for(one.runs + four.runs),
    }
