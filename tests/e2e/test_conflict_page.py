"""Two people (here: the same support lead in two browsers) open the same ready task; the first submits, the
second submits afterwards and gets a 409 page that says who completed the task and when, and that nothing
they entered was applied."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser, User, advance

pytestmark = pytest.mark.browser

PLANNED = date(2031, 11, 3)


def test_task_submit_shows_conflict_page_when_another_browser_completed_it_first(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    launch_id = api_users["pat.pm"].start_launch("Conflict (e2e)", PLANNED)
    advance(api_users, launch_id, ["draft_proposal"], PLANNED)
    first, second = sign_in("sam.support"), sign_in("sam.support")
    task_id = first.open_task(launch_id, "Review Proposal")
    assert second.open_task(launch_id, "Review Proposal") == task_id

    first.page.check("[name=decision][value=approve]")
    first.page.fill("#comment", "Approved in the first browser.")
    first.submit_task()
    expect(first.page.locator("p.notice[role=status]")).to_have_text("“Review Proposal” completed.")

    page = second.page
    page.check("[name=decision][value=request_changes]")
    page.fill("#comment", "Changes asked in the second browser.")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.locator("#submit-task").click()
    assert response.value.status == 409
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("That could not be done")
    detail = page.locator(".error-detail")
    expect(detail).to_contain_text("This task was already completed by sam.support at ")
    expect(detail).to_contain_text("Nothing you entered was applied.")
    assert re.search(r"completed by sam\.support at \d{4}-\d\d-\d\d \d\d:\d\d UTC", detail.inner_text())
    expect(page.get_by_role("link", name="Back to launches")).to_be_visible()
    page.screenshot(path=str(artifacts / "conflict-409.png"), full_page=True)

    # Only the first decision counts.
    launch = second.open_launch(launch_id)
    expect(launch.locator("ol.timeline .decision")).to_have_count(1)
    expect(launch.locator("ol.timeline .decision.approve")).to_have_count(1)
    expect(launch.locator("body")).not_to_contain_text("Changes asked in the second browser.")
    assert re.search(r"Passed by sam\.support", launch.locator("table.gate-items").inner_text())
