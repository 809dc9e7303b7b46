"""Assigning a task over HTTP: the engine decides who may take it (an active user who holds the task's role)
and who may be offered; the JSON API answers a refused assignee with a field error, the task page offers
only those the caller may assign to."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from engine import Role
from tests.api.conftest import OTHER_PM, USER_OF_ROLE

PM = USER_OF_ROLE[Role.PM]
SUPPORT = USER_OF_ROLE[Role.SUPPORT_LEAD]


def _demo_proposal_task(client: TestClient) -> dict[str, Any]:
    inbox: list[dict[str, Any]] = client.get("/api/v1/tasks/inbox").json()["items"]
    [task] = [t for t in inbox if t["bpmn_id"] == "draft_proposal"]
    return task


def test_assign_answers_422_on_assignee_when_user_is_unknown_or_lacks_role(pm_client: TestClient) -> None:
    task = _demo_proposal_task(pm_client)
    for assignee in ("nobody.here", SUPPORT):
        response = pm_client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": assignee})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["type"].endswith("/validation")
        assert [e["loc"] for e in problem["errors"]] == [["body", "assignee"]]
    unchanged = pm_client.get(f"/api/v1/tasks/{task['id']}").json()
    assert unchanged["assignee"] == task["assignee"]


def test_assign_hands_task_over_when_assignee_holds_its_role(pm_client: TestClient) -> None:
    task = _demo_proposal_task(pm_client)
    response = pm_client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": OTHER_PM})
    assert response.status_code == 200, response.text
    assert response.json()["assignee"] == OTHER_PM


def test_task_page_offers_pm_users_to_launch_pm_and_nobody_to_support(
    pm_client: TestClient, support_client: TestClient
) -> None:
    task = _demo_proposal_task(pm_client)
    page = pm_client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200
    assert f'action="/tasks/{task["id"]}/assign"' in page.text
    assert f'<option value="{OTHER_PM}"' in page.text
    assert f'<option value="{SUPPORT}"' not in page.text
    seen_by_support = support_client.get(f"/tasks/{task['id']}")
    assert seen_by_support.status_code == 200
    assert f'action="/tasks/{task["id"]}/assign"' not in seen_by_support.text


def test_assign_page_shows_422_page_when_assignee_lacks_role(pm_client: TestClient) -> None:
    task = _demo_proposal_task(pm_client)
    csrf = pm_client.headers["X-CSRF-Token"]
    response = pm_client.post(
        f"/tasks/{task['id']}/assign", data={"csrf_token": csrf, "assignee": SUPPORT}, follow_redirects=False
    )
    assert response.status_code == 422
    assert "pm role" in response.text
    done = pm_client.post(
        f"/tasks/{task['id']}/assign", data={"csrf_token": csrf, "assignee": OTHER_PM}, follow_redirects=False
    )
    assert done.status_code == 303
    assert pm_client.get(f"/api/v1/tasks/{task['id']}").json()["assignee"] == OTHER_PM


def test_claim_twice_answers_200_with_one_event_when_caller_already_holds_the_task(
    pm_client: TestClient, audit_events: Any
) -> None:
    task = _demo_proposal_task(pm_client)
    pm_client.post(f"/api/v1/tasks/{task['id']}/release")
    first = pm_client.post(f"/api/v1/tasks/{task['id']}/claim")
    version = pm_client.get(f"/api/v1/launches/{task['launch_id']}").json()["version"]
    second = pm_client.post(f"/api/v1/tasks/{task['id']}/claim")
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert second.json()["assignee"] == PM
    assert pm_client.get(f"/api/v1/launches/{task['launch_id']}").json()["version"] == version
    claims = [e for e in audit_events(action="task.claimed") if e.task_id == task["id"]]
    assert len(claims) == 1
