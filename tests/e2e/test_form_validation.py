"""Form validation in the browser: the engine's errors come back as a 422 page with each message next to its
field, and everything typed is still in the inputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ApiUser, User, advance

pytestmark = pytest.mark.browser

PLANNED = date(2031, 9, 1)


def submit_expecting(page: Page, status: int) -> None:
    with page.expect_response(lambda r: r.request.method == "POST" and "/tasks/" in r.url) as response:
        page.locator("#submit-task").click()
    assert response.value.status == status
    page.wait_for_load_state()


def test_review_form_shows_comment_error_inline_when_changes_are_requested_without_comment(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser]
) -> None:
    launch_id = api_users["pat.pm"].start_launch("Validation review (e2e)", PLANNED)
    advance(api_users, launch_id, ["draft_proposal"], PLANNED)
    lead = sign_in("sam.support")
    lead.open_task(launch_id, "Review Proposal")
    page = lead.page
    page.check("[name=decision][value=request_changes]")
    page.fill("[name=anticipated_questions-0-text]", "Why was I reminded twice?")
    page.select_option("[name=anticipated_questions-0-kind]", "complaint")

    submit_expecting(page, 422)

    expect(page.locator("#form-errors")).to_contain_text("Nothing was submitted")
    comment = page.locator("#field-comment")
    expect(comment.locator(".error")).to_contain_text(
        "Comment: a comment is required when requesting changes"
    )
    expect(page.locator("#comment")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[name=decision][value=request_changes]")).to_be_checked()
    expect(page.locator("[name=anticipated_questions-0-text]")).to_have_value("Why was I reminded twice?")
    expect(page.locator("[name=anticipated_questions-0-kind]")).to_have_value("complaint")
    expect(page.locator("aside.reviewed")).to_be_visible()  # the proposal is still beside the form
    expect(page.locator(".status").first).to_have_text("ready")

    # Nothing was applied: the launch still waits for the review.
    launch = lead.open_launch(launch_id)
    expect(launch.locator("section.open-tasks")).to_contain_text("Review Proposal")
    expect(launch.locator("ol.timeline .decision")).to_have_count(0)


def test_faq_form_shows_minimum_error_inline_when_only_two_entries_are_given(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    launch_id = api_users["pat.pm"].start_launch("Validation FAQ (e2e)", PLANNED)
    advance(api_users, launch_id, ["draft_proposal", "review_proposal", "open_beta"], PLANNED)
    lead = sign_in("sam.support")
    lead.open_task(launch_id, "Complete Beta FAQ")
    page = lead.page
    typed = {
        "faq_entries-0-question": "How do I turn reminders off?",
        "faq_entries-0-answer": "Settings, Invoices, Reminders.",
        "faq_entries-0-category": "settings",
        "faq_entries-1-question": "When is a reminder sent?",
        "faq_entries-1-answer": "Three days after the due date.",
        "faq_entries-1-category": "timing",
        "procedure_steps-0": "Check the invoice's payment status.",
        "escalation_contacts-0-name": "Bea Billing",
        "escalation_contacts-0-email": "bea.billing@example.com",
    }
    for name, value in typed.items():
        page.fill(f"[name={name}]", value)

    submit_expecting(page, 422)

    expect(page.locator("#form-errors")).to_contain_text("Please correct the 1 problem")
    faq = page.locator("#field-faq_entries")
    expect(faq.locator(".error")).to_have_count(1)
    expect(faq.locator(".error")).to_contain_text("at least 3")
    for name, value in typed.items():
        expect(page.locator(f"[name={name}]")).to_have_value(value)
    # The minimum number of rows is shown again, the blank third one included.
    expect(faq.locator("tbody tr")).to_have_count(3)
    expect(page.locator("[name=faq_entries-2-question]")).to_have_value("")
    expect(page.locator("#field-procedure_steps .error")).to_have_count(0)
    page.screenshot(path=str(artifacts / "faq-422.png"), full_page=True)
