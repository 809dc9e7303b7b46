"""Where users meet the automation over HTTP (in-process): a manual task in the inbox with the plain Done
form, completed through the API and its page; a gateway with no way out shows as a failed launch with its
incident in GET /api/v1/launches/{id}, under /incidents and on the launch page (without a Retry)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from engine import DeliveryConfig, Worker, WorkflowEngine
from tests.engine.diagram_builder import Flow, Node, chain, diagram
from tests.engine.driver import ADMIN

START = {"product_name": "Pay Now Link", "summary": "A pay now link.", "planned_launch_date": "2031-02-03"}


def _deploy(engine: WorkflowEngine) -> None:
    manual = [
        Node("startEvent", "start"),
        Node("manualTask", "print_flyers", name="Print Flyers"),
        Node("endEvent", "end"),
    ]
    engine.deploy_process(xml=diagram("flyers", manual, chain("start", "print_flyers", "end")), actor=ADMIN)
    routed = [
        Node("startEvent", "start"),
        Node("userTask", "choose", props={"document": "choose"}),
        Node("exclusiveGateway", "route"),
        Node("task", "fast"),
        Node("task", "slow"),
        Node("endEvent", "end_fast"),
        Node("endEvent", "end_slow"),
    ]
    flows = [
        *chain("start", "choose", "route"),
        Flow("route", "fast", "choose.comment == 'fast'"),
        Flow("route", "slow", "choose.comment == 'slow'"),
        *chain("fast", "end_fast"),
        *chain("slow", "end_slow"),
    ]
    engine.deploy_process(xml=diagram("routed", routed, flows), actor=ADMIN)


def _start(client: TestClient, process: str) -> dict[str, Any]:
    response = client.post("/api/v1/launches", json={"process": process, **START})
    assert response.status_code == 201, response.text
    launch: dict[str, Any] = response.json()
    return launch


def test_a_manual_task_is_in_the_inbox_with_the_done_form_and_completes_over_http(
    app_engine: WorkflowEngine, pm_client: TestClient
) -> None:
    _deploy(app_engine)
    launch = _start(pm_client, "flyers")
    inbox = pm_client.get("/api/v1/tasks", params={"inbox": "true"}).json()["items"]
    [task] = [t for t in inbox if t["launch_id"] == launch["id"]]
    assert (task["bpmn_id"], task["title"]) == ("print_flyers", "Print Flyers")
    detail = pm_client.get(f"/api/v1/tasks/{task['id']}").json()
    assert list(detail["form_schema"]["properties"]) == ["comment"]
    page = pm_client.get(f"/tasks/{task['id']}")
    assert page.status_code == 200 and "Print Flyers" in page.text
    done = pm_client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"comment": "Printed."}})
    assert done.status_code == 200, done.text
    assert pm_client.get(f"/api/v1/launches/{launch['id']}").json()["status"] == "live"


def test_a_gateway_with_no_way_out_shows_as_a_failed_launch_with_its_incident(
    app_engine: WorkflowEngine, pm_client: TestClient, admin_client: TestClient
) -> None:
    _deploy(app_engine)
    launch = _start(pm_client, "routed")
    [choose] = launch["open_tasks"]
    done = pm_client.post(f"/api/v1/tasks/{choose['id']}/complete", json={"data": {"comment": "neither"}})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["open_tasks"]) == ("failed", [])
    Worker(app_engine, DeliveryConfig(), channels=[]).deliver_due()
    shown = pm_client.get(f"/api/v1/launches/{launch['id']}").json()
    assert (shown["status"], shown["open_tasks"]) == ("failed", [])
    [incident] = pm_client.get(f"/api/v1/launches/{launch['id']}/incidents").json()["items"]
    assert incident["kind"] == "workflow_error" and "'route'" in incident["last_error"]
    page = admin_client.get(f"/launches/{launch['id']}")
    assert page.status_code == 200
    assert "workflow stopped" in page.text and "exclusive gateway &#39;route&#39;" in page.text
    assert "/retry" not in page.text, "retrying cannot move a stopped workflow"
