"""Idempotency-Key on POST /api/v1/launches and on task completion: a retry with the same key (same user,
same route) gets the first answer back and the command does not run again; the same key with another body
is refused; concurrent duplicates run the command once; keys expire and the worker purges them. On SQLite
and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.idempotency import fingerprint
from engine import (
    AuditEventView,
    DeliveryConfig,
    FixedClock,
    IdempotentReplay,
    Worker,
    WorkflowEngine,
)
from engine.db.models import IdempotencyKeyRecord, LaunchRecord
from tests.engine import driver

START = {"product_name": "Once Only", "summary": "Started once.", "planned_launch_date": "2030-06-01"}


def _launch_count(engine: WorkflowEngine) -> int:
    with engine.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(LaunchRecord)) or 0)


def test_a_retried_start_returns_the_first_launch_and_starts_nothing_new(
    pm_client: TestClient, app_engine: WorkflowEngine
) -> None:
    before = _launch_count(app_engine)
    headers = {"Idempotency-Key": "start-1"}

    first = pm_client.post("/api/v1/launches", json=START, headers=headers)
    again = pm_client.post("/api/v1/launches", json=START, headers=headers)
    other_body = pm_client.post("/api/v1/launches", json={**START, "summary": "Else."}, headers=headers)
    new_key = pm_client.post("/api/v1/launches", json=START, headers={"Idempotency-Key": "start-2"})

    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["ETag"] == first.headers["ETag"]
    assert other_body.status_code == 409
    assert "different request" in other_body.json()["detail"]
    assert new_key.status_code == 201 and new_key.json()["id"] != first.json()["id"]
    assert _launch_count(app_engine) == before + 2


def test_the_same_key_of_another_user_is_another_key(
    pm_client: TestClient, other_pm_client: TestClient, app_engine: WorkflowEngine
) -> None:
    headers = {"Idempotency-Key": "shared"}

    mine = pm_client.post("/api/v1/launches", json=START, headers=headers)
    theirs = other_pm_client.post("/api/v1/launches", json=START, headers=headers)

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_retried_completion_answers_as_the_first_and_completes_once(
    pm_client: TestClient, audit_events: Callable[..., list[AuditEventView]]
) -> None:
    launch = pm_client.post("/api/v1/launches", json=START).json()
    [draft] = [t for t in launch["open_tasks"] if t["bpmn_id"] == "draft_proposal"]
    url = f"/api/v1/tasks/{draft['id']}/complete"
    bad = {"data": {**driver.form("draft_proposal"), "problem": ""}}

    refused = pm_client.post(url, json=bad, headers={"Idempotency-Key": "bad"})
    refused_again = pm_client.post(url, json=bad, headers={"Idempotency-Key": "bad"})
    done = pm_client.post(
        url, json={"data": driver.form("draft_proposal")}, headers={"Idempotency-Key": "ok"}
    )
    done_again = pm_client.post(
        url, json={"data": driver.form("draft_proposal")}, headers={"Idempotency-Key": "ok"}
    )
    without_key = pm_client.post(url, json={"data": driver.form("draft_proposal")})

    assert refused.status_code == refused_again.status_code == 422
    assert refused_again.json() == refused.json()
    assert refused_again.headers["Content-Type"] == "application/problem+json"
    assert done.status_code == 200, done.text
    assert (done_again.status_code, done_again.json()) == (200, done.json())
    assert without_key.status_code == 409  # a retry without a key is a second completion: refused
    assert len(audit_events(launch_id=launch["id"], action="task.completed")) == 1
    assert len(audit_events(launch_id=launch["id"], action="task.complete_invalid")) == 1


def test_concurrent_duplicates_start_one_launch(pm_client: TestClient, app_engine: WorkflowEngine) -> None:
    before = _launch_count(app_engine)
    attempts = 8
    barrier = threading.Barrier(attempts)

    def post(_: int) -> httpx.Response:
        barrier.wait()
        response: httpx.Response = pm_client.post(
            "/api/v1/launches", json=START, headers={"Idempotency-Key": "race"}
        )
        return response

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(post, range(attempts)))

    created = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    assert created and len({r.json()["id"] for r in created}) == 1
    assert all("still running" in r.json()["detail"] for r in responses if r.status_code == 409)
    assert _launch_count(app_engine) == before + 1


def test_a_retry_after_a_commit_whose_answer_was_lost_returns_that_launch(
    pm_client: TestClient, app_engine: WorkflowEngine
) -> None:
    # The first request committed its launch (and with it the key) and died before storing its answer.
    begun = app_engine.idempotency_begin(
        actor=driver.PM, route="POST /api/v1/launches", key="lost", fingerprint=fingerprint(START),
        ttl=timedelta(hours=1),
    )  # fmt: skip
    assert isinstance(begun, int)
    with app_engine.idempotency_pending(begun):
        launch = app_engine.start_launch(data=START, actor=driver.PM)
    before = _launch_count(app_engine)

    retry = pm_client.post("/api/v1/launches", json=START, headers={"Idempotency-Key": "lost"})

    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == launch.id and retry.headers["Idempotent-Replayed"] == "true"
    assert _launch_count(app_engine) == before


def test_keys_expire_and_the_worker_purges_them(engine: WorkflowEngine, clock: FixedClock) -> None:
    def begin() -> int | IdempotentReplay:
        return engine.idempotency_begin(
            actor=driver.PM, route="POST /api/v1/launches", key="k", fingerprint="f", ttl=timedelta(hours=24)
        )

    first = begin()
    assert isinstance(first, int)
    engine.idempotency_finish(first, status_code=201, body='{"version": 1}')
    replay = begin()
    clock.advance(timedelta(hours=25))
    Worker(engine, DeliveryConfig()).maintain()

    assert replay == IdempotentReplay(201, '{"version": 1}', None)
    with engine.db.read() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKeyRecord)) == 0
    assert isinstance(begin(), int)  # a new reservation: the command would run again
