"""Runs the chosen workloads on one database and prints every figure next to its baselines."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from api.demo import demo_forms
from bench.baselines import commit_floor_samples, measure_naive
from bench.databases import ROOT, Backend, prepared_engine
from bench.http import launch_gate_http
from bench.inbox import inbox_at_scale
from bench.inprocess import launch_gate_inprocess
from bench.report import LATENCY_HEADER, Echo, banner, fmt, latency_row, table, verdict
from bench.rework import rework_loop
from bench.stats import ratio, summarize_ns

WORKLOADS = ("launch-gate-10", "launch-gate-10-http", "rework-loop", "inbox")
NAIVE_DAY = datetime(2031, 1, 15, tzinfo=UTC).date()
NAIVE_START = {
    "product_name": "Naive",
    "summary": "Naive baseline.",
    "planned_launch_date": NAIVE_DAY.isoformat(),
}


@dataclass(frozen=True)
class Sizes:
    floor_samples: int = 500
    naive_launches: int = 10
    launches_1: int = 30
    launches_per_client_4: int = 15
    http_launches_1: int = 30
    http_launches_per_client_4: int = 15
    http_floor_samples: int = 300
    rework_ns: tuple[int, ...] = (10, 100, 300, 1000)
    rework_window: int = 10
    naive_rework_rounds: int = 300
    inbox_launches: int = 10_000
    inbox_open_tasks: int = 50_000
    query_repeats: int = 100


QUICK = Sizes(
    floor_samples=30,
    naive_launches=1,
    launches_1=1,
    launches_per_client_4=1,
    http_launches_1=1,
    http_launches_per_client_4=1,
    http_floor_samples=5,
    rework_ns=(1, 3),
    rework_window=1,
    naive_rework_rounds=3,
    inbox_launches=200,
    inbox_open_tasks=1000,
    query_repeats=5,
)


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
        )
    except OSError:
        commit, dirty = "", False
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def run_backend(
    backend: Backend, workloads: Sequence[str], sizes: Sizes, echo: Echo, *, quick: bool
) -> dict[str, Any]:
    info = machine()
    started = time.perf_counter()
    payload: dict[str, Any] = {
        "database": backend.name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "sizes": asdict(sizes),
        "machine": info,
        "workloads": {},
        "targets": [],
    }
    banner(echo, "baselines", backend.name, info)
    with backend.scratch("baselines") as url:
        floor_before = commit_floor_samples(url, sizes.floor_samples)
        forms = demo_forms(NAIVE_DAY)
        naive_steps, naive_totals, naive_count, naive_size = measure_naive(
            url, sizes.naive_launches, NAIVE_START, forms
        )
    floor = summarize_ns(floor_before)
    naive_step = summarize_ns(naive_steps)
    naive_launch = summarize_ns(naive_totals)
    baselines: dict[str, Any] = {
        "commit_floor_ms": floor.as_dict(),
        "naive_step_ms": naive_step.as_dict(),
        "naive_whole_launch_ms": naive_launch.as_dict(),
        "naive_steps_per_launch": naive_count,
        "naive_state_chars": naive_size,
    }
    payload["baselines"] = baselines
    table(
        echo,
        LATENCY_HEADER,
        [
            latency_row("commit floor: 1-row INSERT + COMMIT", floor.as_dict()),
            latency_row("naive Spiff step (restore+run+serialize w/ spec)", naive_step.as_dict()),
            latency_row(f"naive whole launch ({naive_count} steps)", naive_launch.as_dict()),
        ],
    )
    echo(f"  naive state with the spec inside: {naive_size} characters")

    def targets(*items: tuple[str, float | None, str, float, bool]) -> None:
        for metric, value, unit, target, at_most in items:
            payload["targets"].append(
                {
                    "metric": metric,
                    "value": value,
                    "unit": unit,
                    "target": target,
                    "at_most": at_most,
                    "verdict": verdict(value, target, at_most=at_most),
                }
            )

    for name in workloads:
        banner(echo, name, backend.name, info)
        if name == "launch-gate-10":
            with backend.scratch("inprocess") as url:
                engine = prepared_engine(url)
                try:
                    result = launch_gate_inprocess(
                        engine, launches_1=sizes.launches_1, launches_per_client_4=sizes.launches_per_client_4
                    )
                finally:
                    engine.db.dispose()
            _print_launch_gate(echo, result, floor.p50, naive_step.p50, naive_launch.p50)
            one = result["one_client"]
            result["ratios"] = _ratios(one, floor.p50, naive_step.p50, naive_launch.p50)
            targets(
                (
                    "in-process completion p50 / commit floor p50",
                    result["ratios"]["submit_p50_vs_floor"],
                    "x",
                    7.0,
                    True,
                )
            )
        elif name == "launch-gate-10-http":
            servers = 1 if backend.name == "sqlite" else 2
            with backend.scratch("http") as url:
                result = launch_gate_http(
                    url,
                    servers=servers,
                    launches_1=sizes.http_launches_1,
                    launches_per_client_4=sizes.http_launches_per_client_4,
                    round_robin=servers > 1,
                    floor_samples=sizes.http_floor_samples,
                )
            _print_launch_gate(echo, result, floor.p50, naive_step.p50, naive_launch.p50)
            one = result["one_client"]
            result["ratios"] = _ratios(one, floor.p50, naive_step.p50, naive_launch.p50)
            if backend.name == "sqlite":
                targets(
                    ("HTTP submit p50, SQLite", one["submit_ms"]["p50"], "ms", 4.0, True),
                    ("HTTP whole launch p50, SQLite", one["whole_launch_ms"]["p50"], "ms", 60.0, True),
                )
            else:
                targets(
                    (
                        f"HTTP completions/s, 4 clients, PostgreSQL, {servers} servers",
                        result["four_clients"]["completions_per_s"],
                        "/s",
                        300.0,
                        False,
                    )
                )
        elif name == "rework-loop":
            with backend.scratch("rework") as url:
                result = rework_loop(
                    lambda cache_size, u=url: prepared_engine(u, cache_size=cache_size),  # type: ignore[misc]
                    url,
                    ns=sizes.rework_ns,
                    window_size=sizes.rework_window,
                    naive_rounds=sizes.naive_rework_rounds,
                )
            _print_rework(echo, result, floor.p50)
            targets(
                ("rework round 300 / round 10 (cached)", result["cached"]["ratio_300_vs_10"], "x", 1.5, True)
            )
        elif name == "inbox":
            with backend.scratch("inbox") as url:
                engine = prepared_engine(url)
                try:
                    result = inbox_at_scale(
                        engine,
                        launches=sizes.inbox_launches,
                        open_tasks=sizes.inbox_open_tasks,
                        repeats=sizes.query_repeats,
                    )
                finally:
                    engine.db.dispose()
            _print_inbox(echo, result, floor.p50, naive_step.p50)
            for query in ("support_lead_inbox", "launch_list", "launch_list_blocked", "launch_list_search"):
                targets(
                    (
                        f"{query} p95, {sizes.inbox_launches} launches / {sizes.inbox_open_tasks} tasks",
                        result["query_ms"][query]["p95"],
                        "ms",
                        20.0,
                        True,
                    )
                )
        else:
            raise ValueError(f"unknown workload {name!r}")
        payload["workloads"][name] = result

    # The floor again at the end: a noisy machine shows up as a difference between the two.
    with backend.scratch("floor-after") as url:
        floor_after = commit_floor_samples(url, sizes.floor_samples)
    baselines["commit_floor_after_ms"] = summarize_ns(floor_after).as_dict()
    echo("")
    echo(
        f"commit floor p50: {fmt(floor.p50)} ms at the start, "
        f"{fmt(summarize_ns(floor_after).p50)} ms at the end"
    )
    payload["machine"]["load_average_end"] = list(os.getloadavg())
    payload["elapsed_s"] = time.perf_counter() - started
    _print_targets(echo, payload["targets"], backend.name)
    return payload


def _ratios(
    one: dict[str, Any], floor_p50: float, naive_p50: float, naive_launch_p50: float
) -> dict[str, float]:
    return {
        "submit_p50_vs_floor": ratio(one["submit_ms"]["p50"], floor_p50),
        "submit_p50_vs_naive_step": ratio(one["submit_ms"]["p50"], naive_p50),
        "whole_launch_p50_vs_naive": ratio(one["whole_launch_ms"]["p50"], naive_launch_p50),
    }


def _print_launch_gate(
    echo: Echo, result: dict[str, Any], floor_p50: float, naive_p50: float, naive_launch_p50: float
) -> None:
    rows: list[list[Any]] = []
    through: list[list[Any]] = []
    for key in ("one_client", "four_clients", "four_clients_round_robin"):
        if key not in result:
            continue
        part = result[key]
        label = key.replace("_", " ")
        rows.append(latency_row(f"submit, {label}", part["submit_ms"]))
        if "submit_cpu_ms" in part:
            rows.append(latency_row(f"  of which CPU (this thread), {label}", part["submit_cpu_ms"]))
        rows.append(latency_row(f"list ready tasks, {label}", part["list_ms"]))
        rows.append(latency_row(f"whole launch, {label}", part["whole_launch_ms"]))
        busy = part.get("machine_cpu_busy")
        through.append(
            [
                label,
                part["launches"],
                part["completions"],
                part["wall_s"],
                part["completions_per_s"],
                f"{100 * busy:.0f}%" if busy is not None else "-",
                part.get("server_cpu_ms_per_completion"),
                part.get("client_cpu_ms_per_completion"),
            ]
        )
    for name, summary in result.get("request_floor_ms", {}).items():
        label = {"healthz": "request floor: GET /healthz", "auth_me": "request floor: GET /auth/me (token)"}[
            name
        ]
        rows.append(latency_row(label, summary))
    table(echo, LATENCY_HEADER, rows)
    table(
        echo,
        [
            "clients",
            "launches",
            "completions",
            "wall s",
            "completions/s",
            "machine CPU busy",
            "server CPU ms/completion",
            "client CPU ms/completion",
        ],
        through,
    )
    one = result["one_client"]
    echo(
        "  ratios (1 client, p50): submit / commit floor = "
        f"{fmt(ratio(one['submit_ms']['p50'], floor_p50))}x; submit / naive step = "
        f"{fmt(ratio(one['submit_ms']['p50'], naive_p50))}x; whole launch / naive whole launch = "
        f"{fmt(ratio(one['whole_launch_ms']['p50'], naive_launch_p50))}x"
    )
    echo(f"  checks: {result['checks']}")


def _print_rework(echo: Echo, result: dict[str, Any], floor_p50: float) -> None:
    header = [
        "round N",
        "cached ms",
        "cached CPU ms",
        "restore-every-step ms",
        "r-e-s CPU ms",
        "naive ms",
        "cached / floor",
    ]
    rows: list[list[Any]] = []
    naive = result.get("naive", {}).get("submit_ms_at_round", {})
    for n in result["ns"]:
        cached = result["cached"]["submit_ms_at_round"].get(str(n), math.nan)
        rows.append(
            [
                n,
                cached,
                result["cached"]["submit_cpu_ms_at_round"].get(str(n), math.nan),
                result["restore_every_step"]["submit_ms_at_round"].get(str(n), math.nan),
                result["restore_every_step"]["submit_cpu_ms_at_round"].get(str(n), math.nan),
                naive.get(str(n)),
                ratio(cached, floor_p50),
            ]
        )
    echo(f"  median submit latency over the rounds in a window of {result['window_rounds']} ending at N")
    table(echo, header, rows)
    for variant in ("cached", "restore_every_step"):
        part = result[variant]
        echo(
            f"  {variant}: round 300 / round 10 = {fmt(part['ratio_300_vs_10'])}x "
            f"(CPU {fmt(part['cpu_ratio_300_vs_10'])}x); last / first = "
            f"{fmt(part['ratio_last_vs_first'])}x; "
            f"{fmt(part['ms_per_round'])} ms per round (2 submits + 2 lists)"
        )
        echo(f"    checks: {part['checks']}")
    if "naive" in result:
        echo(f"  naive: round 300 / round 10 = {fmt(result['naive']['ratio_300_vs_10'])}x")


def _print_inbox(echo: Echo, result: dict[str, Any], floor_p50: float, naive_p50: float) -> None:
    upkeep = " + ".join(
        n for n, done in (("ANALYZE", result["analyzed"]), ("VACUUM", result.get("vacuumed"))) if done
    )
    echo(
        f"  seeded {result['checks']['rows']} rows in {fmt(result['seed_s'])} s "
        f"(state column: {result['state_chars_per_launch']} characters per launch)"
        f"{f' (then {upkeep})' if upkeep else ''}"
    )
    rows = [latency_row(name, summary) for name, summary in result["query_ms"].items()]
    table(echo, LATENCY_HEADER, rows)
    inbox = result["query_ms"]["support_lead_inbox"]
    echo(
        f"  ratios (inbox p50): / commit floor = {fmt(ratio(inbox['p50'], floor_p50))}x; / naive step = "
        f"{fmt(ratio(inbox['p50'], naive_p50))}x"
    )
    echo(f"  checks: {result['checks']}")


def _print_targets(echo: Echo, items: list[dict[str, Any]], database: str) -> None:
    echo("")
    echo(f"== targets ({database}) ==")
    table(
        echo,
        ["metric", "value", "target", "verdict"],
        [
            [
                t["metric"],
                f"{fmt(t['value'])} {t['unit']}",
                f"{'<=' if t['at_most'] else '>='} {t['target']:g}",
                t["verdict"],
            ]
            for t in items
        ],
    )
