"""Every form page of the shipped launch gate, as the person who acts on it: the New launch page and each
task of the happy path, the revision and a second review round, with the earlier documents each shows
beside its form. Each page is screenshotted to
tests/e2e/artifacts/forms/ (for a person to look at) and checked with axe-core: no critical or serious
violation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.demo import demo_forms
from tests.e2e.conftest import ApiUser, User, advance, axe_violations

pytestmark = pytest.mark.browser

PLANNED = date(2031, 10, 1)
SUPPORT_TASKS = {"review_proposal", "complete_beta_faq", "draft_report_template", "acknowledge_launch_notice"}
HAPPY_PATH = [
    "draft_proposal",
    "review_proposal",
    "open_beta",
    "draft_report_template",
    "review_report_template",
    "complete_beta_faq",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
]


# What each page shows beside its form (the documents' own field labels and a typed value).
BESIDE = {
    "review_proposal": ["Draft Proposal", "Target users", "Owners of small businesses"],
    "complete_beta_faq": ["Open Beta", "Beta link", "https://beta.example.com/invoices", "support-beta-1"],
    "review_report_template": ["Draft Report Template", "Cadence"],
    "acknowledge_launch_notice": ["Send Launch Notice", "Rollback plan", "feature flag off"],
    "go_live": ["Acknowledge Launch Notice", "Open questions"],
    "revise_proposal": ["Review Proposal", "request changes", "Say how customers opt out."],
}


def _beside(page: Page, step: str) -> None:
    aside = page.locator("aside.reviewed")
    if step not in BESIDE:
        expect(aside).to_have_count(0)
        return
    for text in BESIDE[step]:
        expect(aside).to_contain_text(text)


def _look(page: Page, path: Path, problems: dict[str, list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    found = axe_violations(page)
    if found:
        problems[path.stem] = found


def test_every_launch_gate_form_page_has_no_serious_accessibility_problem(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    shots = artifacts / "forms"
    problems: dict[str, list[str]] = {}
    pm, lead = sign_in("pat.pm"), sign_in("sam.support")
    _look(pm.goto("/launches/new"), shots / "launch_new.png", problems)

    launch_id = api_users["pat.pm"].start_launch("Every form (e2e)", PLANNED)
    for step in HAPPY_PATH:
        user = lead if step in SUPPORT_TASKS else pm
        task_id = api_users[user.username].open_task(launch_id, step)
        _look(user.goto(f"/tasks/{task_id}"), shots / f"{step}.png", problems)
        _beside(user.page, step)
        advance(api_users, launch_id, [step], PLANNED)

    rework = api_users["pat.pm"].start_launch("Rework forms (e2e)", PLANNED)
    advance(api_users, rework, ["draft_proposal"], PLANNED)
    changes = {**demo_forms(PLANNED)["review_proposal"], "decision": "request_changes"}
    changes["comment"] = "Say how customers opt out."
    api_users["sam.support"].complete(rework, "review_proposal", changes)
    task_id = api_users["pat.pm"].open_task(rework, "revise_proposal")
    _look(pm.goto(f"/tasks/{task_id}"), shots / "revise_proposal.png", problems)
    _beside(pm.page, "revise_proposal")
    advance(api_users, rework, ["revise_proposal"], PLANNED)
    task_id = api_users["sam.support"].open_task(rework, "review_proposal")
    _look(lead.goto(f"/tasks/{task_id}"), shots / "review_proposal-round-2.png", problems)

    assert problems == {}
