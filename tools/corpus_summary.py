"""Run `bpmn check` over every diagram below a directory and print a grouped summary.

    python -m tools.corpus_summary /work/corpus [--by-source] [--examples N]

Each .bpmn file is checked as a package of its own (as `launchgate bpmn check FILE` does). Prints how many
files there are, how many can be deployed (with and without warnings), and for the rest the reasons grouped
with counts: by the first error of each file (every file counted once) and by every distinct error (a file
counted under each reason it has). Quoted names, numbers and line positions are blanked so that the same
reason groups across files. Each file gets `--timeout` seconds; a file that takes longer is counted as such.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from engine import WorkflowEngine, read_path


class _TimeoutError(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _TimeoutError


def reason(message: str) -> str:
    """A message with its particulars blanked, so equal reasons group."""
    text = re.sub(r"'[^']*'", "'…'", message)
    text = re.sub(r'"[^"]*"', '"…"', text)
    text = re.sub(r"<[A-Za-z_][\w.-]*:", "<", text)
    text = re.sub(r"\(line \d+(, column \d+)?\)|line \d+(, column \d+)?", "(line …)", text)
    return re.sub(r"\d+", "N", text)


def check_all(
    root: Path, timeout: int
) -> tuple[int, int, int, Counter[str], Counter[str], Counter[str], float, Counter[str]]:
    files = sorted(p for p in root.rglob("*.bpmn") if p.is_file())
    signal.signal(signal.SIGALRM, _alarm)
    clean = warned = 0
    first: Counter[str] = Counter()
    every: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    only: Counter[str] = Counter()  # files refused for one reason alone
    slowest = 0.0
    for path in files:
        started = time.perf_counter()
        signal.alarm(timeout)
        try:
            report = WorkflowEngine.check_package(read_path(path))
        except _TimeoutError:
            first["(took longer than the timeout)"] += 1
            continue
        except Exception as exc:  # a crash is a finding: count it, do not stop
            first[f"(crash: {type(exc).__name__})"] += 1
            continue
        finally:
            signal.alarm(0)
        slowest = max(slowest, time.perf_counter() - started)
        for message in {reason(w.message) for w in report.warnings}:
            warnings[message] += 1
        if report.deployable:
            clean += not report.warnings
            warned += bool(report.warnings)
            continue
        first[reason(report.errors[0].message)] += 1
        reasons = {reason(e.message) for e in report.errors}
        for message in reasons:
            every[message] += 1
        if len(reasons) == 1:
            only[next(iter(reasons))] += 1
    return len(files), clean, warned, first, every, warnings, slowest, only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--by-source", action="store_true", help="one summary per top-level folder too")
    parser.add_argument("--top", type=int, default=25, help="reasons shown per table")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per file")
    args = parser.parse_args(argv)
    roots = [args.directory]
    if args.by_source:
        roots += sorted(p for p in args.directory.iterdir() if p.is_dir())
    for root in roots:
        total, clean, warned, first, every, warnings, slowest, only = check_all(root, args.timeout)
        print(
            f"== {root}: {total} files, {clean + warned} can be deployed ({warned} with warnings), "
            f"{total - clean - warned} refused; slowest check {slowest:.2f} s"
        )
        for title, counts in (
            ("first error of each refused file", first),
            ("files having each error", every),
            ("files refused for that reason alone", only),
            ("files having each warning", warnings),
        ):
            print(f"-- {title}")
            for message, count in counts.most_common(args.top):
                print(f"{count:6d}  {message}")
            if len(counts) > args.top:
                print(f"        … and {len(counts) - args.top} more reasons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
