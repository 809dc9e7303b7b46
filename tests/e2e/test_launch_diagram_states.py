"""The launch page's diagram shows the state inside sub-processes, what waiting events wait for, and which
process a call activity calls, linking to a called diagram's part (api/web/static/diagram.js). Corpus
diagrams are deployed over the API and started; each launch page is drawn, its markers and notes
checked, screenshotted to tests/e2e/artifacts/ (for a person to look at) and checked with axe-core (no
critical or serious violation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ApiUser, User, axe_violations
from tests.engine.form_examples import VALID_LAUNCH_START

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"


def _deploy(base_url: str, diagram: str) -> None:
    admin = ApiUser(base_url, "ada.admin")
    try:
        xml = (CORPUS / f"{diagram}.bpmn").read_bytes()
        deployed = admin.client.post(
            "/processes", files=[("file", (f"{diagram}.bpmn", xml, "application/xml"))]
        )
        assert deployed.status_code in (200, 201), deployed.text
    finally:
        admin.close()


def _launch(base_url: str, diagram: str, product: str, *steps: str, process: str | None = None) -> str:
    """Deploy a corpus diagram, start a launch of it and complete `steps` (plain forms) as the PM."""
    _deploy(base_url, diagram)
    pm = ApiUser(base_url, "pat.pm")
    try:
        started = pm.client.post(
            "/launches", json={**VALID_LAUNCH_START, "product_name": product, "process": process or diagram}
        )
        assert started.status_code == 201, started.text
        launch_id = str(started.json()["id"])
        for step in steps:
            pm.complete(launch_id, step, {})
        return launch_id
    finally:
        pm.close()


def _drawn(user: User, launch_id: str) -> Page:
    page = user.goto(f"/launches/{launch_id}")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    return page


def test_a_sub_process_holding_the_ready_task_is_marked(
    sign_in: Callable[[str], User], base_url: str, artifacts: Path
) -> None:
    launch_id = _launch(base_url, "embedded_subprocess", "Readiness (e2e)")
    page = _drawn(sign_in("pat.pm"), launch_id)
    expect(page.locator(".djs-element.lg-ready-inside[data-element-id=support_readiness]")).to_be_attached()
    expect(page.locator(".djs-element.lg-ready[data-element-id=train_agents]")).to_be_attached()
    page.locator("#diagram").screenshot(path=str(artifacts / "diagram-sub-process.png"))
    assert axe_violations(page) == []


def test_a_waiting_message_event_says_what_it_waits_for(
    sign_in: Callable[[str], User], base_url: str, artifacts: Path
) -> None:
    launch_id = _launch(base_url, "message_catch", "Beta feedback (e2e)", "open_beta")
    page = _drawn(sign_in("pat.pm"), launch_id)
    expect(page.locator(".djs-element.lg-waiting[data-element-id=feedback_arrives]")).to_be_attached()
    expect(page.locator(".lg-waiting-note")).to_have_text("waits for message beta_feedback")
    expect(page.locator(".waiting-events tr[data-element=feedback_arrives]")).to_contain_text("beta_feedback")
    page.locator("#diagram").screenshot(path=str(artifacts / "diagram-waiting-message.png"))
    assert axe_violations(page) == []


def test_a_call_activity_names_the_process_it_calls(
    sign_in: Callable[[str], User], base_url: str, artifacts: Path
) -> None:
    launch_id = _launch(
        base_url, "call_activity_same_file", "Release train (e2e)", "plan_release", process="release_train"
    )
    page = _drawn(sign_in("pat.pm"), launch_id)
    note = page.get_by_role("button", name="calls support_checklist")
    expect(note).to_be_visible()
    # the called part runs (Check Macros is ready): the call activity is marked, and its note shows it
    expect(page.locator(".djs-element.lg-ready-inside[data-element-id=prepare_support]")).to_be_attached()
    note.click()
    expect(
        page.locator(".djs-element.lg-called[data-element-id=participant_support_checklist]")
    ).to_be_attached()
    page.locator("#diagram").screenshot(path=str(artifacts / "diagram-call-activity.png"))
    assert axe_violations(page) == []


def test_a_call_to_another_diagram_links_to_the_called_part(
    sign_in: Callable[[str], User], base_url: str, artifacts: Path
) -> None:
    _deploy(base_url, "support_readiness")
    launch_id = _launch(base_url, "call_activity_other_diagram", "Support ready (e2e)", "draft_plan")
    page = _drawn(sign_in("pat.pm"), launch_id)
    link = page.get_by_role("link", name="calls support_readiness")
    expect(link).to_be_visible()
    # Train Agents (in the called diagram) is ready: the call activity is marked as holding it
    expect(page.locator(".djs-element.lg-ready-inside[data-element-id=get_support_ready]")).to_be_attached()
    page.locator("#diagram").screenshot(path=str(artifacts / "diagram-call-other-diagram.png"))
    link.click()
    expect(page).to_have_url(f"{base_url}/launches/{launch_id}?part=support_readiness#diagram-section")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    expect(page.get_by_role("heading", name="Process — called part support_readiness")).to_be_visible()
    expect(page.locator(".djs-element.lg-ready[data-element-id=train_agents]")).to_be_attached()
    page.locator("#diagram").screenshot(path=str(artifacts / "diagram-called-part.png"))
    assert axe_violations(page) == []
    page.get_by_role("link", name="Back to the launch's process").click()
    expect(page.locator(".djs-element[data-element-id=get_support_ready]")).to_be_attached()
