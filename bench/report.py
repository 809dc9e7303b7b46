"""Printing the figures and writing them as JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

Echo = Callable[[str], None]


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def verdict(value: float | None, target: float, *, at_most: bool) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    ok = value <= target if at_most else value >= target
    return "met" if ok else "MISSED"


def table(echo: Echo, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header, *[[fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        echo(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            echo("  " + "  ".join("-" * w for w in widths))


def latency_row(label: str, summary: dict[str, Any]) -> list[Any]:
    return [label, summary["p50"], summary["p95"], summary["mean"], summary["n"]]


LATENCY_HEADER = ["metric (ms)", "p50", "p95", "mean", "n"]


def banner(echo: Echo, workload: str, database: str, machine: dict[str, Any]) -> None:
    echo("")
    echo(f"== {workload} | database: {database} | {machine['cpu_count']} CPUs, {machine['platform']} ==")


def write_json(out_dir: Path, stamp: str, database: str, payload: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stamp}-{database}.json"
    path.write_text(json.dumps(_clean(payload), indent=2, sort_keys=False) + "\n")
    return path


def _clean(value: Any) -> Any:
    """NaN is not JSON: write null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
