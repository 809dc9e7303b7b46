"""`python -m bench --quick` on every database the suite runs on: the figures are there and the launches
went live. Correctness only; a benchmark never fails a test on a time."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.databases import Backend
from bench.runner import QUICK, WORKLOADS, run_backend

PG_URL = os.environ.get("LAUNCHGATE_TEST_DATABASE_URL", "")
REQUIRE_ALL = os.environ.get("LAUNCHGATE_REQUIRE_ALL") == "1"


def _backend(name: str, tmp_path: Path) -> Backend:
    if name == "sqlite":
        return Backend("sqlite", scratch_dir=tmp_path)
    if not PG_URL:
        if REQUIRE_ALL:
            pytest.fail("LAUNCHGATE_TEST_DATABASE_URL is not set but LAUNCHGATE_REQUIRE_ALL=1")
        pytest.skip("LAUNCHGATE_TEST_DATABASE_URL not set")
    return Backend("postgresql", admin_url=PG_URL)


def _assert_launches_went_live(result: dict[str, object], keys: tuple[str, ...]) -> None:
    checks = result["checks"]
    assert isinstance(checks, dict)
    assert checks["all_live"] is True
    assert checks["last_step_go_live"] is True
    assert checks["premature_completions"] == 0
    assert checks["steps_per_launch"] == [9]
    for key in keys:
        part = result[key]
        assert isinstance(part, dict)
        assert part["completions"] == 9 * part["launches"] > 0
        assert part["submit_ms"]["n"] == part["completions"]
        assert part["submit_ms"]["p50"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_quick_run_of_every_workload(database: str, tmp_path: Path) -> None:
    lines: list[str] = []
    payload = run_backend(_backend(database, tmp_path), WORKLOADS, QUICK, lines.append, quick=True)
    text = "\n".join(lines)

    # Every run names the workload, the database, the machine, and the baselines of the same run.
    for name in WORKLOADS:
        assert f"== {name} | database: {database} |" in text
    assert "CPUs" in text
    assert "commit floor" in text
    assert "naive" in text
    baselines = payload["baselines"]
    assert baselines["commit_floor_ms"]["n"] == QUICK.floor_samples
    assert baselines["naive_steps_per_launch"] == 9
    assert baselines["naive_step_ms"]["n"] == 9 * QUICK.naive_launches

    workloads = payload["workloads"]
    inprocess = workloads["launch-gate-10"]
    _assert_launches_went_live(inprocess, ("one_client", "four_clients"))
    assert inprocess["checks"]["launches"] == QUICK.launches_1 + 4 * QUICK.launches_per_client_4
    assert inprocess["ratios"]["submit_p50_vs_floor"] > 0

    http = workloads["launch-gate-10-http"]
    http_keys = ("one_client", "four_clients") + (
        ("four_clients_round_robin",) if database != "sqlite" else ()
    )
    _assert_launches_went_live(http, http_keys)
    assert http["servers"] == (1 if database == "sqlite" else 2)
    assert http["checks"]["servers_alive_until_the_end"] is True

    rework = workloads["rework-loop"]
    rounds = max(QUICK.rework_ns)
    for variant in ("cached", "restore_every_step"):
        checks = rework[variant]["checks"]
        assert checks["rounds"] == rounds
        assert checks["went_live"] is True
        assert checks["early_completion"] is False
        assert checks["wrong_open_tasks"] == 0
        assert checks["gate_passed"] == 4
        assert checks["completed_tasks"] == checks["expected_completed_tasks"] == 1 + 2 * rounds + 1 + 7
        assert set(rework[variant]["submit_ms_at_round"]) == {str(n) for n in QUICK.rework_ns}
    assert rework["naive"]["rounds"] == QUICK.naive_rework_rounds

    inbox = workloads["inbox"]
    checks = inbox["checks"]
    assert checks["rows"]["launch"] == QUICK.inbox_launches
    assert checks["expected"]["open_tasks"] == QUICK.inbox_open_tasks
    assert checks["inbox_total_right"] and checks["launch_total_right"]
    assert checks["blocked_total_right"] and checks["search_total_right"]
    assert checks["inbox_sorted_by_due"]
    assert checks["no_restore"] is True
    assert checks["restores"] == {"restore_state": 0, "_restore": 0}
    assert checks["page_items"]["support_lead_inbox"] == 50
    for summary in inbox["query_ms"].values():
        assert summary["n"] == QUICK.query_repeats

    assert {t["verdict"] for t in payload["targets"]} <= {"met", "MISSED", "n/a"}


def test_command_line_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    assert (
        main(
            [
                "--quick",
                "--db",
                "sqlite",
                "--workload",
                "inbox",
                "--out",
                str(out),
                "--scratch-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    files = list(out.glob("*-sqlite.json"))
    assert len(files) == 1
    payload = json.loads(files[0].read_text())
    assert list(payload["workloads"]) == ["inbox"]
    assert payload["machine"]["cpu_count"] >= 1
    assert payload["database"] == "sqlite"
    assert "results:" in capsys.readouterr().out


def test_results_are_not_committed() -> None:
    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().splitlines()
    assert "bench/results/" in ignored
