"""POST /api/v1/launches/{id}/messages/{name} over HTTP: who may send (PMs and admins, with a session or
an API token), 404 for an unknown launch, 409 when nothing waits, 422 with field errors against the
waiting event's messageSchema, the Idempotency-Key, and the audit row."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from engine import SYSTEM_ACTOR, LaunchStatus, WorkflowEngine
from tests.engine.event_launch import EventWorld
from tests.engine.test_messages import SCHEMA, WAIT_FOR_BETA

START = {
    "process": "events",
    "product_name": "Messaged",
    "summary": "Waits for the beta to end.",
    "planned_launch_date": "2030-06-01",
}


@pytest.fixture
def launch_id(app_engine: WorkflowEngine, pm_client: TestClient) -> str:
    EventWorld(app_engine).deploy(WAIT_FOR_BETA, {"beta_ended.schema.json": json.dumps(SCHEMA).encode()})
    started = pm_client.post("/api/v1/launches", json=START)
    assert started.status_code == 201, started.text
    assert started.json()["waiting"] == [
        {
            "kind": "message",
            "name": "beta_ended",
            "element_id": "beta",
            "due_at": None,
            "boundary": False,
            "interrupting": True,
        }
    ]
    return str(started.json()["id"])


def _url(launch_id: str, name: str = "beta_ended") -> str:
    return f"/api/v1/launches/{launch_id}/messages/{name}"


def test_a_pm_sends_the_message_and_the_launch_moves_on(
    pm_client: TestClient, launch_id: str, app_engine: WorkflowEngine
) -> None:
    sent = pm_client.post(_url(launch_id), json={"payload": {"testers": 140}})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert [t["bpmn_id"] for t in body["open_tasks"]] == ["report"]
    assert body["waiting"] == []
    assert body["status"] == LaunchStatus.ACTIVE.value
    events = app_engine.launch_history(launch_id=launch_id, actor=SYSTEM_ACTOR)
    received = [e for e in events if e.action == "message.received"]
    assert len(received) == 1 and received[0].actor == "pat.pm"
    assert received[0].after == {"beta_ended": {"testers": 140}}


def test_who_may_send(
    launch_id: str,
    anon_client: TestClient,
    support_client: TestClient,
    auditor_client: TestClient,
    admin_client: TestClient,
) -> None:
    payload = {"payload": {"testers": 1}}
    assert anon_client.post(_url(launch_id), json=payload).status_code == 401
    assert support_client.post(_url(launch_id), json=payload).status_code == 403
    assert auditor_client.post(_url(launch_id), json=payload).status_code == 403
    assert admin_client.post(_url(launch_id), json=payload).status_code == 200


def test_an_api_token_of_a_pm_may_send(
    pm_client: TestClient, launch_id: str, new_client: Callable[..., TestClient]
) -> None:
    raw = pm_client.post("/api/v1/auth/tokens", json={"name": "beta-system"}).json()["token"]
    bot = new_client(headers={"Authorization": f"Bearer {raw}"})
    assert bot.post(_url(launch_id), json={"payload": {"testers": 3}}).status_code == 200


def test_unknown_launch_nothing_waiting_and_an_invalid_payload(pm_client: TestClient, launch_id: str) -> None:
    assert pm_client.post(_url("no-such-launch"), json={"payload": {}}).status_code == 404
    nothing = pm_client.post(_url(launch_id, "halt"), json={"payload": {}})
    assert nothing.status_code == 409
    assert "waits for the message 'halt'" in nothing.json()["detail"]
    invalid = pm_client.post(_url(launch_id), json={"payload": {"testers": "many"}})
    assert invalid.status_code == 422
    assert [e["loc"] for e in invalid.json()["errors"]] == [["body", "payload", "testers"]]
    missing = pm_client.post(_url(launch_id), json={"payload": {}})
    assert missing.status_code == 422
    not_an_object = pm_client.post(_url(launch_id), json={"payload": [1, 2]})
    assert not_an_object.status_code == 422
    unknown_field = pm_client.post(_url(launch_id), json={"payload": {"testers": 1}, "extra": 1})
    assert unknown_field.status_code == 422


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(
    pm_client: TestClient, launch_id: str
) -> None:
    headers = {"Idempotency-Key": "beta-ended-1"}
    first = pm_client.post(_url(launch_id), json={"payload": {"testers": 5}}, headers=headers)
    again = pm_client.post(_url(launch_id), json={"payload": {"testers": 5}}, headers=headers)
    other = pm_client.post(_url(launch_id), json={"payload": {"testers": 6}}, headers=headers)
    assert first.status_code == 200, first.text
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert "different request" in other.json()["detail"]
    # without the key, a second message finds nothing waiting any more
    assert pm_client.post(_url(launch_id), json={"payload": {"testers": 5}}).status_code == 409


def test_the_launch_page_lists_what_the_launch_waits_for(pm_client: TestClient, launch_id: str) -> None:
    page = pm_client.get(f"/launches/{launch_id}")
    assert page.status_code == 200
    assert "Waiting for" in page.text
    assert '<tr data-element="beta">' in page.text and "beta_ended" in page.text
    pm_client.post(_url(launch_id), json={"payload": {"testers": 2}})
    assert "Waiting for" not in pm_client.get(f"/launches/{launch_id}").text


def test_admins_broadcast_a_signal(
    admin_client: TestClient, pm_client: TestClient, anon_client: TestClient, launch_id: str
) -> None:
    assert anon_client.post("/api/v1/signals/freeze").status_code == 401
    assert pm_client.post("/api/v1/signals/freeze").status_code == 403
    sent = admin_client.post("/api/v1/signals/freeze")
    assert (sent.status_code, sent.json()) == (200, {"signal": "freeze", "reached": []})  # nothing waits


def test_a_key_on_the_longest_message_path_is_kept_like_any_other(pm_client: TestClient) -> None:
    """A 200-character message name makes a path longer than the stored route: its hash is kept instead
    (found by schemathesis: it was a 500)."""
    url = _url("0" * 36, "m" * 200)
    headers = {"Idempotency-Key": "long-path-1"}
    first = pm_client.post(url, json={"payload": {}}, headers=headers)
    again = pm_client.post(url, json={"payload": {}}, headers=headers)
    assert first.status_code == 404, first.text
    assert (again.status_code, again.json()) == (404, first.json())
