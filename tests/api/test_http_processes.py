"""Several processes over HTTP: POST /api/v1/launches names the process it runs (`process`, default the
launch gate), an unknown one is a 422 field error on `process`, and the launch, the lists and the inbox say
which process (id, name, version) a launch runs; GET /api/v1/processes/latest offers the deployed ones."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

START = {
    "product_name": "Pay Now Link",
    "summary": "A pay now link in reminders.",
    "planned_launch_date": "2031-02-03",
}


def test_pm_starts_a_minor_launch_by_naming_its_process(
    pm_client: TestClient, support_client: TestClient
) -> None:
    response = pm_client.post("/api/v1/launches", json={"process": "minor_launch", **START})
    assert response.status_code == 201, response.text
    launch = response.json()
    assert (launch["process_id"], launch["process_name"], launch["process_version"]) == (
        "minor_launch",
        "Minor Launch",
        1,
    )
    assert [t["bpmn_id"] for t in launch["open_tasks"]] == ["write_proposal"]
    assert [b["item"] for b in launch["blockers"]] == ["proposal_signoff", "launch_notice"]
    listed = pm_client.get("/api/v1/launches", params={"q": "Pay Now"}).json()["items"]
    assert [(item["id"], item["process_id"], item["process_name"]) for item in listed] == [
        (launch["id"], "minor_launch", "Minor Launch")
    ]
    inbox = pm_client.get("/api/v1/tasks", params={"inbox": "true"}).json()["items"]
    mine = [t for t in inbox if t["launch_id"] == launch["id"]]
    assert [(t["bpmn_id"], t["process_id"], t["process_version"]) for t in mine] == [
        ("write_proposal", "minor_launch", 1)
    ]


def test_a_launch_without_process_runs_the_launch_gate(pm_client: TestClient) -> None:
    launch = pm_client.post("/api/v1/launches", json=START).json()
    assert (launch["process_id"], launch["process_name"]) == ("launch_gate", "Launch Gate")


@pytest.mark.parametrize("process", ["legal_review", "", 7, None, ["minor_launch"]])
def test_starting_an_unknown_process_is_a_field_error_on_process(pm_client: TestClient, process: Any) -> None:
    before = pm_client.get("/api/v1/launches").json()["total"]
    response = pm_client.post("/api/v1/launches", json={**START, "process": process})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["loc"], e["type"]) for e in errors] == [(["body", "process"], "process_unknown")]
    assert errors[0]["message"].startswith("Process: ")
    assert pm_client.get("/api/v1/launches").json()["total"] == before


def test_latest_processes_are_offered_with_description_and_start_form(support_client: TestClient) -> None:
    response = support_client.get("/api/v1/processes/latest")
    assert response.status_code == 200
    found = {p["process_id"]: p for p in response.json()}
    assert sorted(found) == ["launch_gate", "minor_launch"]
    assert found["minor_launch"]["description"].startswith("A lighter gate for small features")
    assert found["minor_launch"]["gated"] is True
    assert found["minor_launch"]["start_form_schema"]["required"] == [
        "product_name",
        "summary",
        "planned_launch_date",
    ]
