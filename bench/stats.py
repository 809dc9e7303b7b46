"""Latency summaries: medians and percentiles in milliseconds from perf_counter_ns samples."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Milliseconds."""

    n: int
    p50: float
    p95: float
    mean: float
    min: float
    max: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_ns(samples_ns: Sequence[int]) -> Summary:
    ms = [s / 1e6 for s in samples_ns]
    if not ms:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(
        n=len(ms),
        p50=percentile(ms, 50),
        p95=percentile(ms, 95),
        mean=statistics.fmean(ms),
        min=min(ms),
        max=max(ms),
    )


def timed(fn: Callable[[], T]) -> tuple[T, int]:
    """Call fn; return its result and the elapsed nanoseconds."""
    started = time.perf_counter_ns()
    result = fn()
    return result, time.perf_counter_ns() - started


def ratio(numerator: float, denominator: float) -> float:
    if denominator <= 0 or math.isnan(denominator) or math.isnan(numerator):
        return math.nan
    return numerator / denominator


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (Linux /proc); None where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat; None where there is no /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


class CpuBusy:
    """Share of the machine's CPU time that was busy (any process) between start() and stop()."""

    def __init__(self) -> None:
        self._start = _cpu_times()
        self.share: float | None = None

    def stop(self) -> float | None:
        end = _cpu_times()
        if self._start is None or end is None or end[1] == self._start[1]:
            return None
        self.share = (end[0] - self._start[0]) / (end[1] - self._start[1])
        return self.share
