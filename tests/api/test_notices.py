"""Page notices are one-time and bound to the session that made the change (api/web/notices.py): a crafted
`?notice=` link, or a notice cookie that the session did not get from us, shows nothing under our banner."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.web.notices import NOTICE_COOKIE

CRAFTED = "Your account is locked: call +1 555 0100 now"
BANNER = 'class="notice"'


def _proposal_task(client: TestClient) -> dict[str, Any]:
    inbox = client.get("/api/v1/tasks/inbox").json()["items"]
    tasks: list[dict[str, Any]] = [t for t in inbox if t["bpmn_id"] == "draft_proposal"]
    [task] = tasks
    return task


def test_crafted_notice_parameter_shows_nothing_when_link_is_followed(pm_client: TestClient) -> None:
    for path in ("/launches", "/inbox", f"/tasks/{_proposal_task(pm_client)['id']}", "/account/tokens"):
        page = pm_client.get(path, params={"notice": CRAFTED})
        assert page.status_code == 200, path
        assert CRAFTED not in page.text
        assert BANNER not in page.text


def test_notice_shown_once_when_a_page_change_redirects(pm_client: TestClient) -> None:
    task = _proposal_task(pm_client)
    saved = pm_client.post(
        f"/tasks/{task['id']}",
        data={"csrf_token": pm_client.headers["X-CSRF-Token"], "action": "save_draft", "problem": "x"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/tasks/{task['id']}"
    assert "notice" not in saved.headers["location"]

    shown = pm_client.get(saved.headers["location"])
    assert "Draft saved." in shown.text
    assert BANNER in shown.text
    again = pm_client.get(saved.headers["location"])
    assert "Draft saved." not in again.text


def test_notice_cookie_shows_nothing_when_not_signed_for_this_session(
    pm_client: TestClient, other_pm_client: TestClient
) -> None:
    task = _proposal_task(pm_client)
    saved = pm_client.post(
        f"/tasks/{task['id']}",
        data={"csrf_token": pm_client.headers["X-CSRF-Token"], "action": "save_draft"},
        follow_redirects=False,
    )
    genuine = saved.cookies[NOTICE_COOKIE]
    body = genuine.strip('"').rpartition(".")[0]
    for forged in (genuine, f"{body}.{'0' * 64}", "bm90IG91cnM", "%%%.zz"):
        other_pm_client.cookies.set(NOTICE_COOKIE, forged)
        page = other_pm_client.get("/launches")
        assert page.status_code == 200
        assert BANNER not in page.text
        assert "Draft saved." not in page.text
