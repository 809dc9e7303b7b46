"""The cost of schema validation per completion, printed beside the in-process completion it is part of.

    python -m bench.validation [--launches N] [--repeat R] [--quick] [--scratch-dir DIR]

On a fresh durable SQLite file with the shipped processes, in the same run:
- **validation per form**: the launch gate's happy-path forms (api.demo's data), each through its stored
  version's form (`Form.validate`: JSON Schema with format checks, then the x-rules), median and p95 per
  task, and their sum per launch divided by its completions: the validation cost of one completion;
- **an in-process completion** (launch-gate-10, 1 client), as bench/inprocess.py measures it;
- **the same completions with validation stubbed out** (each form hands the data back unchanged), the
  upper bound of what validation adds; the ratio of the two is the "completion must stay <= 1.2x without
  the feature" check of shared/BENCHMARK.md (docs/performance.md has the figure from before forms).
Figures are printed, never asserted; tests/bench/test_bench_validation.py runs it --quick for correctness.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.demo import demo_forms, start_demo_launch
from bench.databases import Backend, prepared_engine
from bench.inprocess import checks_for, drive_launch
from bench.stats import summarize_ns
from engine import WorkflowEngine
from engine.forms.validation import Form

PRE_FORMS_P50_MS = 4.92  # docs/performance.md: in-process durable completion p50, SQLite, before forms


def validation_per_task(engine: WorkflowEngine, *, repeat: int) -> dict[str, dict[str, float]]:
    """Each happy-path form of the launch gate through its stored version's form, `repeat` times."""
    launch = start_demo_launch(engine, product_name="Bench validation")
    forms = engine._process(_version_id(engine, launch.id)).forms
    today = engine.clock.now().date()
    found: dict[str, dict[str, float]] = {}
    for task_id, data in demo_forms(launch.planned_launch_date).items():
        form = forms.form_for(task_id)
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter_ns()
            form.validate(dict(data), today=today, subject=task_id)
            samples.append(time.perf_counter_ns() - t0)
        summary = summarize_ns(samples)
        found[task_id] = {"p50_ms": summary.p50, "p95_ms": summary.p95}
    return found


def _version_id(engine: WorkflowEngine, launch_id: str) -> int:
    from engine.db.models import LaunchRecord

    with engine.db.read() as session:
        record = session.get(LaunchRecord, launch_id)
        assert record is not None
        return record.process_version_id


@contextmanager
def validation_stubbed() -> Iterator[None]:
    """Every form hands its data back unchanged (what a completion costs without schema validation)."""
    real = Form.validate

    def unchecked(self: Form, data: object, **_: Any) -> dict[str, Any]:
        return dict(data) if isinstance(data, dict) else {}

    Form.validate = unchecked  # type: ignore[method-assign]
    try:
        yield
    finally:
        Form.validate = real  # type: ignore[method-assign]


def completions(engine: WorkflowEngine, launches: int, tag: str) -> dict[str, Any]:
    runs = [drive_launch(engine, f"Bench {tag} {n}") for n in range(launches)]
    submit = summarize_ns([s for r in runs for s in r.submits_ns])
    cpu = summarize_ns([s for r in runs for s in r.submits_cpu_ns])
    return {
        "submit_p50_ms": submit.p50,
        "submit_p95_ms": submit.p95,
        "cpu_p50_ms": cpu.p50,
        "checks": checks_for(runs),
    }


def run(*, launches: int, repeat: int, scratch_dir: Path | None) -> dict[str, Any]:
    with Backend("sqlite", scratch_dir=scratch_dir).scratch("validation") as url:
        engine = prepared_engine(url)
        happy_path = drive_launch(engine, "Bench warm-up").completed
        per_task = validation_per_task(engine, repeat=repeat)
        # Interleave the two kinds of round so drift on a shared machine hits both alike.
        with_forms: list[dict[str, Any]] = []
        without: list[dict[str, Any]] = []
        for round_ in range(2):
            with_forms.append(completions(engine, launches, f"forms {round_}"))
            with validation_stubbed():
                without.append(completions(engine, launches, f"stubbed {round_}"))
        engine.db.dispose()
    per_completion = sum(per_task[t]["p50_ms"] for t in happy_path) / len(happy_path)
    completion = statistics.median(r["submit_p50_ms"] for r in with_forms)
    bare = statistics.median(r["submit_p50_ms"] for r in without)
    return {
        "per_task": per_task,
        "validation_per_completion_ms": per_completion,
        "completion_p50_ms": completion,
        "without_validation_p50_ms": bare,
        "ratio_to_without": completion / bare if bare else None,
        "ratio_to_pre_forms": completion / PRE_FORMS_P50_MS,
        "checks": [r["checks"] for r in with_forms + without],
    }


def report(result: dict[str, Any]) -> list[str]:
    lines = ["workload: form validation per completion (launch-gate-10 forms), database: sqlite (durable)"]
    for task_id, figures in result["per_task"].items():
        lines.append(
            f"  validate {task_id:<28} p50 {figures['p50_ms']:.3f} ms  p95 {figures['p95_ms']:.3f} ms"
        )
    lines += [
        f"validation per completion (happy path p50):  {result['validation_per_completion_ms']:.3f} ms",
        f"in-process completion p50:                   {result['completion_p50_ms']:.2f} ms",
        f"same, validation stubbed out:                {result['without_validation_p50_ms']:.2f} ms",
        f"ratio with / without validation:             {result['ratio_to_without']:.2f}x (bar: <= 1.2x)",
        f"ratio to the pre-forms figure ({PRE_FORMS_P50_MS} ms):    {result['ratio_to_pre_forms']:.2f}x "
        "(another day's machine: read the same-run ratio)",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.validation", description=__doc__)
    parser.add_argument("--launches", type=int, default=20, help="launches per round (4 rounds)")
    parser.add_argument("--repeat", type=int, default=300, help="validations per form")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, same code paths")
    parser.add_argument("--scratch-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    launches, repeat = (1, 5) if args.quick else (args.launches, args.repeat)
    for line in report(run(launches=launches, repeat=repeat, scratch_dir=args.scratch_dir)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
