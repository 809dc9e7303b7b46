"""A multi-instance regional review over HTTP: the task rows and the launch say which instance each task
is and how far the multi-instance is; the gate item says how many sign-offs passed; the inbox page
shows "Regional review — EMEA, 0 of 3 done, needs 2"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.engine.form_examples import VALID_LAUNCH_START
from tests.engine.mi_forms import form_files
from tests.engine.structure_support import fixture


def _deploy(admin: TestClient) -> None:
    upload = [("file", ("regional_review.bpmn", fixture("regional_review"), "application/xml"))]
    upload += [("file", (name, body, "application/json")) for name, body in form_files().items()]
    response = admin.post("/api/v1/processes", files=upload)
    assert response.status_code == 201, response.text


def _complete(client: TestClient, task_id: str, data: dict[str, object]) -> dict[str, object]:
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_instances_and_gate_progress_over_http(
    admin_client: TestClient, pm_client: TestClient, support_client: TestClient
) -> None:
    _deploy(admin_client)
    started = pm_client.post("/api/v1/launches", json={**VALID_LAUNCH_START, "process": "regional_review"})
    assert started.status_code == 201, started.text
    launch = started.json()
    [draft] = launch["open_tasks"]
    _complete(pm_client, draft["id"], {"summary": "s", "regions": ["EMEA", "APAC", "AMER"]})
    launch = support_client.get(f"/api/v1/launches/{launch['id']}").json()
    rows = sorted(launch["open_tasks"], key=lambda t: t["instance_index"])
    assert [
        (t["instance_label"], t["instance_index"], t["instance_total"], t["instance_needed"]) for t in rows
    ] == [
        ("EMEA", 1, 3, 2),
        ("APAC", 2, 3, 2),
        ("AMER", 3, 3, 2),
    ]
    assert rows[0]["instance_summary"] == "EMEA, 0 of 3 done, needs 2"
    page = support_client.get("/inbox")
    assert page.status_code == 200
    assert "EMEA, 0 of 3 done, needs 2" in page.text
    _complete(support_client, rows[0]["id"], {"decision": "approve"})
    launch = support_client.get(f"/api/v1/launches/{launch['id']}").json()
    [item] = launch["gate"]
    assert (item["status"], item["progress_done"], item["progress_total"], item["progress_needed"]) == (
        "open",
        1,
        3,
        2,
    )
    assert item["progress"] == "1 of 3 (needs 2)"
    assert {t["instance_done"] for t in launch["open_tasks"]} == {1}
    page = support_client.get(f"/launches/{launch['id']}")
    assert "(1 of 3 sign-offs, needs 2)" in page.text
    _complete(support_client, rows[1]["id"], {"decision": "approve"})
    launch = support_client.get(f"/api/v1/launches/{launch['id']}").json()
    assert [t["bpmn_id"] for t in launch["open_tasks"]] == ["go_live"]
    assert (launch["gate"][0]["status"], launch["gate"][0]["progress"]) == ("passed", "2 of 3 (needs 2)")
