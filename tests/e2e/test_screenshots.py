"""Screenshots of the main pages for a person to look at: a launch half way through (gate panel, diagram
with its markers), the support lead's inbox, a review form beside the proposal and a long task form. They
are written to tests/e2e/artifacts/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ApiUser, User, advance

pytestmark = pytest.mark.browser

PLANNED = date(2031, 12, 1)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def shoot(page: Page, path: Path) -> None:
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000, f"{path.name} looks empty"


def test_screenshots_are_written_for_launch_inbox_and_task_pages(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    pm_api = api_users["pat.pm"]
    halfway = pm_api.start_launch("Smart Invoices (screenshot)", PLANNED)
    advance(api_users, halfway, ["draft_proposal", "review_proposal", "open_beta"], PLANNED)
    in_review = pm_api.start_launch("Team Calendars (screenshot)", PLANNED)
    advance(api_users, in_review, ["draft_proposal"], PLANNED)
    lead = sign_in("sam.support")

    page = lead.open_launch(halfway)
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    expect(page.locator(".djs-element.lg-completed")).to_have_count(3)
    expect(page.locator(".djs-element.lg-ready")).to_have_count(2)
    shoot(page, artifacts / "launch.png")

    lead.goto("/inbox")
    expect(page.locator("#inbox-table")).to_contain_text("Team Calendars (screenshot)")
    shoot(page, artifacts / "inbox.png")

    lead.open_task(in_review, "Review Proposal")
    expect(page.locator("aside.reviewed")).to_be_visible()
    shoot(page, artifacts / "task-review-proposal.png")

    lead.open_task(halfway, "Complete Beta FAQ")
    shoot(page, artifacts / "task-complete-beta-faq.png")
    assert lead.dialogs == []
