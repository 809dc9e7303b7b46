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
    found = {p["process_id"]: p for p in response.json()["items"]}
    assert sorted(found) == ["launch_gate", "minor_launch"]
    assert found["minor_launch"]["description"].startswith("A lighter gate for small features")
    assert found["minor_launch"]["gated"] is True
    assert found["minor_launch"]["start_form_schema"]["required"] == [
        "product_name",
        "summary",
        "planned_launch_date",
    ]


def test_pages_name_the_process_of_each_launch(pm_client: TestClient, auditor_client: TestClient) -> None:
    launch = pm_client.post("/api/v1/launches", json={"process": "minor_launch", **START}).json()
    listing = pm_client.get("/launches", params={"q": "Pay Now"})
    assert listing.status_code == 200
    row = listing.text.split(START["product_name"], 1)[1].split("</tr>", 1)[0]
    assert "Minor Launch <small>v1</small>" in row
    assert "Minor Launch v1" in pm_client.get(f"/launches/{launch['id']}").text
    inbox = pm_client.get("/inbox").text  # the PM's Write One-Page Proposal
    assert "Minor Launch <small>v1</small>" in inbox.split(START["product_name"], 1)[1].split("</tr>", 1)[0]
    history = auditor_client.get("/audit", params={"launch_id": launch["id"]})
    assert history.status_code == 200
    assert history.text.count('<small class="process">Minor Launch v1</small>') >= 1


def test_new_launch_page_offers_each_process_and_shows_the_chosen_start_form(pm_client: TestClient) -> None:
    page = pm_client.get("/launches/new", params={"process": "minor_launch"})
    assert page.status_code == 200
    assert 'value="minor_launch" checked' in page.text
    assert "A lighter gate for small features" in page.text and "The full launch gate" in page.text
    assert '<input type="hidden" name="process" value="minor_launch">' in page.text
    missing = pm_client.get("/launches/new", params={"process": "legal_review"})
    assert missing.status_code == 404
    assert "no process &#39;legal_review&#39; is deployed" in missing.text
