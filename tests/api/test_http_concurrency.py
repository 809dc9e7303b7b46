"""RELIABILITY G1 over real HTTP: 50 simultaneous completions of one READY task, sent to two server processes
on one PostgreSQL database, end in exactly one success and 49 conflicts. Nothing of the losers persists: one
`task.completed` audit row, one successor task, one outbox message, the launch version bumped once; every
refused attempt is itself one audit row. PostgreSQL only (several server processes need it); under
LAUNCHGATE_REQUIRE_ALL=1 a missing PostgreSQL fails the test instead of skipping it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine import Database
from engine.db.models import OutboxMessageRecord, TaskRecord
from tests.api.live_server import (
    LiveServer,
    advance_until,
    demo_clients,
    forms_for,
    open_ids,
    running_servers,
    start_launch,
)

PM, SUPPORT, AUDITOR = "pat.pm", "sam.support", "ann.auditor"
ATTEMPTS = 50


@pytest.fixture
def pg_servers(db_url: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    with running_servers(db_url, tmp_path / "logs", count=2, prepare=True) as servers:
        yield servers


def outcome(code: int) -> str:
    if 200 <= code < 300:
        return "2xx"
    return "5xx" if code >= 500 else str(code)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_completions_over_http_succeed_once_when_50_race_on_two_servers(
    db_url: str, pg_servers: list[LiveServer]
) -> None:
    with demo_clients(pg_servers, only=[PM, SUPPORT, AUDITOR], bearer=[PM]) as users:
        pm, support, auditor = users[PM], users[SUPPORT], users[AUDITOR]
        launch = advance_until(pm, support, start_launch(pm, "Race Day"), "send_launch_notice")
        lid = launch["id"]
        [task] = [t for t in launch["open_tasks"] if t["bpmn_id"] == "send_launch_notice"]
        body = {"data": forms_for(launch)["send_launch_notice"]}
        version = launch["version"]
        assert pm.bearer is not None
        headers = {"Authorization": f"Bearer {pm.bearer}"}
        barrier = threading.Barrier(ATTEMPTS)

        def complete(i: int) -> tuple[int, dict[str, Any]]:
            url = f"{pg_servers[i % 2].url}/api/v1/tasks/{task['id']}/complete"
            with httpx.Client(timeout=60.0) as http:  # its own connection
                barrier.wait(timeout=30)
                response = http.post(url, json=body, headers=headers)
                return response.status_code, response.json()

        with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
            results = list(pool.map(complete, range(ATTEMPTS)))

        counts = Counter(outcome(code) for code, _ in results)
        print(f"\n{ATTEMPTS} concurrent HTTP completions on 2 servers: {dict(sorted(counts.items()))}")
        assert counts == {"2xx": 1, "409": ATTEMPTS - 1}, counts
        assert all(b["type"].endswith("/conflict") for code, b in results if code == 409)
        [winner] = [b for code, b in results if code < 300]
        assert open_ids(winner) == {"acknowledge_launch_notice"}
        assert winner["version"] == version + 1

        after = auditor.get(f"/launches/{lid}")
        assert after["version"] == version + 1
        assert open_ids(after) == {"acknowledge_launch_notice"}
        completed = auditor.all_items("/audit/events", {"launch_id": lid, "action": "task.completed"})
        assert [e["task_id"] for e in completed].count(task["id"]) == 1
        conflicts = auditor.all_items("/audit/events", {"launch_id": lid, "action": "task.complete_conflict"})
        assert [e["task_id"] for e in conflicts] == [task["id"]] * (ATTEMPTS - 1)
        assert auditor.get("/audit/verify")["ok"] is True

    database = Database.from_url(db_url)
    try:
        with database.read() as session:
            outbox = session.scalar(
                select(func.count())
                .select_from(OutboxMessageRecord)
                # the notice is queued by the send task that follows (launch_gate v2), once
                .where(
                    OutboxMessageRecord.launch_id == lid, OutboxMessageRecord.kind == "launch_notice_email"
                )
            )
            successors = session.scalar(
                select(func.count())
                .select_from(TaskRecord)
                .where(TaskRecord.launch_id == lid, TaskRecord.bpmn_id == "acknowledge_launch_notice")
            )
    finally:
        database.dispose()
    print(f"task.completed rows: 1, outbox rows: {outbox}, successor tasks: {successors}")
    assert outbox == 1
    assert successors == 1
