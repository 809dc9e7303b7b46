"""A minor launch in the browser: the PM chooses "Minor Launch" on the New launch page (each deployed
process offered with its description), starts it, and the launch page names the process and draws its
diagram; the support lead finds the review in the inbox, named with its process. Screenshots go to
tests/e2e/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LAUNCH_ID, ApiUser, User, launch_id_of
from tests.engine.form_examples import MINOR_FORM_DATA

pytestmark = pytest.mark.browser

PRODUCT = "Pay Now Link (e2e)"


def test_pm_chooses_minor_launch_on_the_new_launch_page_and_support_reviews_it(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    pm, lead = sign_in("pat.pm"), sign_in("sam.support")
    page = pm.goto("/launches")
    page.get_by_role("link", name="New launch").click()
    choice = page.locator("#process-choice")
    expect(choice.get_by_role("radio", name=re.compile("^Launch Gate"))).to_be_checked()
    minor = choice.get_by_role("radio", name=re.compile("^Minor Launch"))
    expect(choice.locator("label", has_text="Minor Launch")).to_contain_text(
        "A lighter gate for small features"
    )
    minor.check()
    choice.get_by_role("button", name="Use this process").click()
    page.wait_for_url(re.compile(r"/launches/new\?process=minor_launch$"))
    expect(minor).to_be_checked()
    expect(page.get_by_role("heading", name="Minor Launch: start")).to_be_visible()
    page.screenshot(path=str(artifacts / "new-launch-minor.png"), full_page=True)

    page.fill("#product_name", PRODUCT)
    page.fill("#summary", "A pay now link in invoice reminders.")
    page.fill("#planned_launch_date", "2031-06-15")
    page.get_by_role("button", name="Start launch").click()
    page.wait_for_url(LAUNCH_ID)
    launch_id = launch_id_of(page)
    expect(page.locator("p.summary .process")).to_have_text("Minor Launch v1")
    expect(page.locator("#gate-summary")).to_have_text("Go live is blocked by 2 items.")
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    expect(page.locator(".djs-element.lg-ready[data-element-id=write_proposal]")).to_be_attached()
    for element in (
        "support_review",
        "faq_needed",
        "write_faq",
        "faq_merge",
        "acknowledge_launch_notice",
        "go_live",
    ):
        expect(page.locator(f".djs-element[data-element-id={element}]")).to_be_attached()
    page.locator("#diagram").screenshot(path=str(artifacts / "minor-launch-diagram.png"))

    listing = pm.goto("/launches?q=" + "Pay Now")
    expect(listing.locator("#launch-table tbody tr", has_text=PRODUCT)).to_contain_text("Minor Launch v1")

    pm.open_task(launch_id, "Write One-Page Proposal")
    expect(pm.page.locator("#what_changes")).to_be_visible()
    pm.page.screenshot(path=str(artifacts / "minor-launch-proposal.png"), full_page=True)
    proposal = {**MINOR_FORM_DATA["write_proposal"], "planned_launch_date": "2031-06-15"}
    api_users["pat.pm"].complete(launch_id, "write_proposal", proposal)

    inbox = lead.goto("/inbox")
    row = inbox.locator("#inbox-table tbody tr", has_text=PRODUCT)
    expect(row).to_contain_text("Support Review")
    expect(row).to_contain_text("Minor Launch v1")
