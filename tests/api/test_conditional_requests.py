"""Conditional requests on launches: the ETag is the launch's version, If-Match makes a change go through
only while the launch is unchanged (412 otherwise, nothing written), If-None-Match answers 304; and no
authenticated JSON answer may be stored by a browser or a proxy (Cache-Control: no-store)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from engine import AuditEventView
from tests.engine import driver

START = {"product_name": "Etag Launch", "summary": "Tags.", "planned_launch_date": "2030-06-01"}


def _launch_and_draft(pm: TestClient) -> tuple[str, str, str]:
    created = pm.post("/api/v1/launches", json=START)
    assert created.status_code == 201, created.text
    body = created.json()
    [draft] = [t for t in body["open_tasks"] if t["bpmn_id"] == "draft_proposal"]
    return body["id"], draft["id"], created.headers["ETag"]


def test_launch_etag_is_its_version_and_changes_with_it(pm_client: TestClient) -> None:
    launch_id, draft_id, created_tag = _launch_and_draft(pm_client)

    read = pm_client.get(f"/api/v1/launches/{launch_id}")
    unchanged = pm_client.get(f"/api/v1/launches/{launch_id}", headers={"If-None-Match": created_tag})
    completed = pm_client.post(
        f"/api/v1/tasks/{draft_id}/complete",
        json={"data": driver.form("draft_proposal")},
        headers={"If-Match": created_tag},
    )
    changed = pm_client.get(f"/api/v1/launches/{launch_id}", headers={"If-None-Match": created_tag})

    assert read.headers["ETag"] == created_tag == f'"{read.json()["version"]}"'
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert completed.status_code == 200, completed.text
    assert completed.headers["ETag"] == f'"{completed.json()["version"]}"' != created_tag
    assert changed.status_code == 200 and changed.headers["ETag"] == completed.headers["ETag"]


def test_if_match_with_an_old_version_is_refused_with_412_and_nothing_changes(
    pm_client: TestClient, audit_events: Callable[..., list[AuditEventView]]
) -> None:
    launch_id, draft_id, created_tag = _launch_and_draft(pm_client)
    comment = pm_client.post(f"/api/v1/launches/{launch_id}/comments", json={"body": "first"})
    stale = f'"{int(created_tag.strip(chr(34))) - 1}"'

    refused = pm_client.post(
        f"/api/v1/tasks/{draft_id}/complete",
        json={"data": driver.form("draft_proposal")},
        headers={"If-Match": stale},
    )
    garbled = pm_client.post(
        f"/api/v1/tasks/{draft_id}/complete",
        json={"data": driver.form("draft_proposal")},
        headers={"If-Match": "not-a-tag"},
    )
    comment_refused = pm_client.post(
        f"/api/v1/launches/{launch_id}/comments", json={"body": "second"}, headers={"If-Match": stale}
    )
    after = pm_client.get(f"/api/v1/launches/{launch_id}")

    assert comment.status_code == 201
    for response in (refused, garbled, comment_refused):
        assert response.status_code == 412, response.text
        assert response.json()["type"].endswith("precondition-failed")
        assert response.headers["ETag"] == created_tag
    assert after.headers["ETag"] == created_tag
    assert [t["bpmn_id"] for t in after.json()["open_tasks"]] == ["draft_proposal"]
    assert [e.action for e in audit_events(launch_id=launch_id, action="task.completed")] == []
    assert len(audit_events(launch_id=launch_id, action="task.complete_conflict")) == 2
    comments = pm_client.get(f"/api/v1/launches/{launch_id}/comments").json()["items"]
    assert [c["body"] for c in comments] == ["first"]


def test_if_match_star_or_absent_is_no_condition(pm_client: TestClient) -> None:
    launch_id, draft_id, _ = _launch_and_draft(pm_client)

    done = pm_client.post(
        f"/api/v1/tasks/{draft_id}/complete",
        json={"data": driver.form("draft_proposal")},
        headers={"If-Match": "*"},
    )
    comment = pm_client.post(f"/api/v1/launches/{launch_id}/comments", json={"body": "no header"})

    assert done.status_code == 200, done.text
    assert comment.status_code == 201


def test_authenticated_json_is_never_stored(pm_client: TestClient, anon_client: TestClient) -> None:
    launch_id, _, _ = _launch_and_draft(pm_client)
    answers: list[Any] = [
        pm_client.get("/api/v1/launches"),
        pm_client.get(f"/api/v1/launches/{launch_id}"),
        pm_client.get("/api/v1/tasks/inbox"),
        pm_client.get("/api/v1/auth/me"),
        pm_client.get("/api/v1/launches/no-such-launch"),
        anon_client.get("/api/v1/launches"),
        anon_client.post("/api/v1/auth/sign-in", json={"username": "pat.pm", "password": "wrong"}),
    ]

    for response in answers:
        assert response.headers["Cache-Control"] == "no-store", response.request.url
