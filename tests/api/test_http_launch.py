"""A whole launch over real HTTP, driven by the demo users of every role the way people drive it: each
finds their work in their inbox, opens the task (form schema, prefilled data), submits the form. On SQLite
one server process; on PostgreSQL two server processes on the same database, requests alternating between
them. Then the go-live refusal over HTTP (409 with the blockers), reachable only with a modified diagram
that an admin deploys by upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.live_server import (
    LiveServer,
    UserClient,
    demo_clients,
    forms_for,
    from_inbox,
    open_ids,
    running_servers,
    start_launch,
    work,
)

pytestmark = pytest.mark.slow  # live server processes

PM, SUPPORT, MANAGER, AUDITOR, ADMIN = "pat.pm", "sam.support", "max.manager", "ann.auditor", "ada.admin"
BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "launch_gate.bpmn"
FORMS = Path(__file__).resolve().parents[2] / "forms" / "launch_gate"


def _package(xml: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    """One upload of a launch gate package: the given diagram with the form files it names."""
    forms = sorted(FORMS.glob("*.json"))
    return [("file", ("launch_gate.bpmn", xml, "application/xml"))] + [
        ("file", (p.name, p.read_bytes(), "application/json")) for p in forms
    ]


GATE = ["proposal_signoff", "beta_faq", "report_template", "launch_notice"]


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[list[LiveServer]]:
    """One server on SQLite; two server processes on one PostgreSQL database."""
    count = 2 if db_url.startswith("postgresql") else 1
    with running_servers(db_url, tmp_path / "logs", count=count, prepare=True) as started:
        yield started


@pytest.fixture
def users(servers: list[LiveServer]) -> Iterator[dict[str, UserClient]]:
    """Every demo user; the support lead works through an API token, everybody else signed in."""
    with demo_clients(servers, bearer=[SUPPORT]) as clients:
        yield clients


def test_launch_goes_live_over_http_when_every_role_works_from_its_inbox(
    users: dict[str, UserClient], servers: list[LiveServer]
) -> None:
    pm, support, manager, auditor = users[PM], users[SUPPORT], users[MANAGER], users[AUDITOR]
    forged = pm.http.post(  # the session cookie alone (no CSRF token) changes nothing
        f"{pm.next_url()}/api/v1/launches",
        json={"product_name": "Forged", "summary": "x", "planned_launch_date": "2031-01-01"},
    )
    assert forged.status_code == 403
    assert forged.json()["type"].endswith("/csrf")
    launch = start_launch(pm, "Invoice Reminders")
    lid = launch["id"]
    forms = forms_for(launch)
    assert launch["status"] == "active"
    assert open_ids(launch) == {"draft_proposal"}
    assert [b["item"] for b in support.get(f"/launches/{lid}/blockers")["items"]] == GATE

    # The proposal, with one round of changes.
    work(pm, lid, "draft_proposal", forms["draft_proposal"])
    review = from_inbox(support, lid, "review_proposal")
    assert review["reviewed_data"]["summary"] == forms["draft_proposal"]["summary"]
    changes = {
        **forms["review_proposal"],
        "decision": "request_changes",
        "comment": "Please describe how customers opt out.",
    }
    launch = support.post(f"/tasks/{review['id']}/complete", json={"data": changes})
    assert open_ids(launch) == {"revise_proposal"}
    revise = from_inbox(pm, lid, "revise_proposal")
    assert revise["current_data"]["summary"] == forms["draft_proposal"]["summary"]  # prefilled
    launch = pm.post(f"/tasks/{revise['id']}/complete", json={"data": forms["revise_proposal"]})
    _, launch = work(support, lid, "review_proposal", forms["review_proposal"])
    assert open_ids(launch) == {"open_beta", "draft_report_template"}
    assert launch["gate_passed"] == 1

    # The support manager hands the report template to the support lead; comments on task and launch.
    queue = manager.get("/tasks", params={"launch_id": lid, "role": "support_lead", "status": "ready"})
    template = next(t for t in queue["items"] if t["bpmn_id"] == "draft_report_template")
    assigned = manager.post(f"/tasks/{template['id']}/assign", json={"assignee": SUPPORT})
    assert assigned["assignee"] == SUPPORT
    task_note = support.post(
        f"/tasks/{template['id']}/comments", json={"body": "Categories follow the helpdesk tags."}, expect=201
    )
    launch_note = manager.post(
        f"/launches/{lid}/comments", json={"body": "Two extra agents on launch day."}, expect=201
    )
    blockers = pm.get(f"/launches/{lid}/blockers")["items"]
    assert [b["item"] for b in blockers] == GATE[1:]
    held = {b["item"]: b for b in blockers}
    assert held["report_template"]["owner"] == SUPPORT
    assert held["report_template"]["owner_role"] == "support_lead"
    assert held["beta_faq"]["owner_role"] == "pm"

    # The parallel preparation, the notice, the acknowledgement.
    work(pm, lid, "open_beta", forms["open_beta"])
    _, launch = work(support, lid, "draft_report_template", forms["draft_report_template"])
    assert support.get(f"/tasks/{template['id']}")["status"] == "completed"
    assert [c["id"] for c in pm.get(f"/tasks/{template['id']}/comments")["items"]] == [task_note["id"]]
    work(support, lid, "complete_beta_faq", forms["complete_beta_faq"])
    _, launch = work(pm, lid, "review_report_template", forms["review_report_template"])
    assert open_ids(launch) == {"send_launch_notice"}
    assert launch["gate_passed"] == 3
    work(pm, lid, "send_launch_notice", forms["send_launch_notice"])
    _, launch = work(support, lid, "acknowledge_launch_notice", forms["acknowledge_launch_notice"])
    assert open_ids(launch) == {"go_live"}
    assert launch["ready_to_go_live"] is True
    assert pm.get(f"/launches/{lid}/blockers")["items"] == []
    _, launch = work(pm, lid, "go_live", forms["go_live"])

    assert launch["status"] == "live"
    assert launch["gate_passed"] == launch["gate_total"] == 4
    assert launch["open_tasks"] == []
    assert all(g["status"] == "passed" and g["content_hash"] for g in launch["gate"])
    comments = auditor.get(f"/launches/{lid}/comments")["items"]
    assert [(c["id"], c["task_id"]) for c in comments] == [
        (task_note["id"], template["id"]),
        (launch_note["id"], None),
    ]

    # The auditor reads the history and verifies the chain.
    history = auditor.get(f"/launches/{lid}/history")["items"]
    actions = [e["action"] for e in history]
    assert actions[0] == "launch.started"
    assert actions.count("task.completed") == 11
    assert actions.count("task.assigned") == 1
    assert actions.count("comment.added") == 2
    notes = [e["after"]["body"] for e in history if e["action"] == "comment.added"]
    assert notes == [task_note["body"], launch_note["body"]]
    decisions = [e["detail"]["decision"] for e in history if e["detail"].get("task") == "review_proposal"]
    assert decisions == ["request_changes", "approve"]
    assert {e["actor"] for e in history} == {PM, SUPPORT, MANAGER}
    sequences = [e["sequence"] for e in history]
    assert sequences == sorted(sequences)
    verified = auditor.get("/audit/verify")
    assert verified["ok"] is True, verified
    assert verified["count"] >= len(history)
    if len(servers) == 2:  # the same answers from both processes
        assert {s.url for s in servers} == {pm.next_url(), pm.next_url()}
        for server in servers:
            again = auditor.http.get(f"{server.url}/api/v1/launches/{lid}")
            assert again.json()["status"] == "live"


def test_go_live_answers_409_with_blockers_when_modified_diagram_leaves_item_open(
    users: dict[str, UserClient],
) -> None:
    pm, support, admin, auditor = users[PM], users[SUPPORT], users[ADMIN], users[AUDITOR]
    xml = BPMN.read_text(encoding="utf-8")
    rule = "report_template_review.decision == 'approve'"
    assert rule in xml
    modified = xml.replace(rule, "report_template_review.decision == 'never'").encode()
    deployed = admin.post("/processes", files=_package(modified), expect=201)
    assert deployed["version"] == 2
    assert deployed["is_latest"] is True
    refused = pm.request("POST", "/processes", files=_package(modified))
    assert refused.status_code == 403

    launch = start_launch(pm, "Never Approved Template")
    lid = launch["id"]
    assert launch["process_version"] == 2
    forms = forms_for(launch)
    steps = [
        (pm, "draft_proposal"),
        (support, "review_proposal"),
        (pm, "open_beta"),
        (support, "complete_beta_faq"),
        (support, "draft_report_template"),
        (pm, "review_report_template"),
        (pm, "send_launch_notice"),
        (support, "acknowledge_launch_notice"),
    ]
    for user, bpmn_id in steps:
        _, launch = work(user, lid, bpmn_id, forms[bpmn_id])
    assert open_ids(launch) == {"go_live"}
    assert launch["ready_to_go_live"] is False
    assert [b["item"] for b in pm.get(f"/launches/{lid}/blockers")["items"]] == ["report_template"]

    go_live = from_inbox(pm, lid, "go_live")
    response = pm.request("POST", f"/tasks/{go_live['id']}/complete", json={"data": forms["go_live"]})

    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("gate-blocked")
    assert body["status"] == 409
    [blocker] = body["blockers"]
    assert blocker["title"] in body["detail"]
    assert blocker["item"] == "report_template"
    assert blocker["title"]
    assert blocker["owner_role"] == "pm"
    assert blocker["since"]
    after = pm.get(f"/launches/{lid}")
    assert after["status"] == "active"
    assert after["version"] == launch["version"]
    assert pm.get(f"/tasks/{go_live['id']}")["status"] == "ready"
    blocked = {"launch_id": lid, "action": "task.complete_blocked"}
    refusals = auditor.get("/audit/events", params=blocked)["items"]
    assert [e["detail"]["blockers"] for e in refusals] == [["report_template"]]
    assert auditor.get("/audit/verify")["ok"] is True
