"""The launch gate's regional review over HTTP: the proposal's form offers "Regions needing a support
sign-off", a draft listing two regions opens one review per region in the support lead's inbox, each
named by its instance label, and the sign-off passes only after both approved."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START


def _open(launch: dict[str, Any], bpmn_id: str) -> list[dict[str, Any]]:
    return [t for t in launch["open_tasks"] if t["bpmn_id"] == bpmn_id]


def test_two_regions_get_two_labelled_reviews_and_both_must_approve(
    pm_client: TestClient, support_client: TestClient
) -> None:
    launch = pm_client.post("/api/v1/launches", json={**VALID_LAUNCH_START}).json()
    [draft] = _open(launch, "draft_proposal")
    schema = pm_client.get(f"/api/v1/tasks/{draft['id']}").json()["form_schema"]
    regions = schema["properties"]["support_regions"]
    assert regions["title"] == "Regions needing a support sign-off"
    assert regions["items"]["enum"] == ["Global", "EMEA", "APAC", "AMER", "LATAM"]
    proposal = {**VALID_FORM_DATA["draft_proposal"], "support_regions": ["EMEA", "APAC"]}
    response = pm_client.post(f"/api/v1/tasks/{draft['id']}/complete", json={"data": proposal})
    assert response.status_code == 200, response.text

    inbox = support_client.get("/api/v1/tasks", params={"inbox": "true"}).json()["items"]
    reviews = [t for t in inbox if t["launch_id"] == launch["id"] and t["status"] == "ready"]
    assert sorted((t["bpmn_id"], t["instance_label"]) for t in reviews) == [
        ("review_proposal", "APAC"),
        ("review_proposal", "EMEA"),
    ]
    approve = VALID_FORM_DATA["review_proposal"]
    first, second = sorted(reviews, key=lambda t: t["instance_label"])
    after = support_client.post(f"/api/v1/tasks/{first['id']}/complete", json={"data": approve}).json()
    signoff = next(g for g in after["gate"] if g["key"] == "proposal_signoff")
    assert signoff["status"] == "open" and [t["instance_label"] for t in _open(after, "review_proposal")] == [
        "EMEA"
    ]
    after = support_client.post(f"/api/v1/tasks/{second['id']}/complete", json={"data": approve}).json()
    signoff = next(g for g in after["gate"] if g["key"] == "proposal_signoff")
    assert signoff["status"] == "passed"
    assert sorted(t["bpmn_id"] for t in after["open_tasks"]) == ["draft_report_template", "open_beta"]


def test_a_draft_with_a_region_twice_is_refused_naming_the_field(pm_client: TestClient) -> None:
    launch = pm_client.post("/api/v1/launches", json={**VALID_LAUNCH_START}).json()
    [draft] = _open(launch, "draft_proposal")
    proposal = {**VALID_FORM_DATA["draft_proposal"], "support_regions": ["EMEA", "EMEA"]}
    response = pm_client.post(f"/api/v1/tasks/{draft['id']}/complete", json={"data": proposal})
    assert response.status_code == 422
    assert any("support_regions" in e["loc"] for e in response.json()["errors"]), response.text
