"""`python -m bench.validation --quick`: every figure is printed and the benchmarked launches went live.
Correctness only; a benchmark never fails a test on a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.validation import main, run


def test_validation_bench_measures_every_happy_path_form_and_both_kinds_of_completion(tmp_path: Path) -> None:
    result = run(launches=1, repeat=3, scratch_dir=tmp_path)
    assert set(result["per_task"]) >= {"draft_proposal", "review_proposal", "go_live"}
    assert result["validation_per_completion_ms"] > 0
    assert result["completion_p50_ms"] > 0 and result["without_validation_p50_ms"] > 0
    for checks in result["checks"]:
        assert checks["all_live"] is True and checks["steps_per_launch"] == [9]


def test_validation_bench_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick", "--scratch-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for words in ("validation per completion", "in-process completion p50", "ratio with / without"):
        assert words in out
