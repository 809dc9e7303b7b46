"""A whole launch in the browser, from "New launch" to "Go live", by the three people who run it: the PM
(pat.pm), the support lead (sam.support) and the support manager (max.manager), each in a browser context
of their own. Along the way the launch page must show the gate closing item by item, who passed each item,
the history of the review round and the diagram's progress markers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import User, start_launch

pytestmark = pytest.mark.browser

PRODUCT = "Invoice Reminders (e2e)"
CHANGES = "Please describe how customers opt out of reminders."


def expect_notice(page: Page, text: str) -> None:
    expect(page.locator("p.notice[role=status]")).to_have_text(text)


def expect_blocked_by(page: Page, count: int) -> None:
    items = "item" if count == 1 else "items"
    expect(page.locator("#gate-summary")).to_have_text(f"Go live is blocked by {count} {items}.")


def diagram_markers(page: Page) -> tuple[int, int]:
    """(completed, ready) task shapes marked in the rendered diagram."""
    expect(page.locator("#diagram[data-rendered=true]")).to_be_attached()
    completed = page.locator(".djs-element.lg-completed").count()
    ready = page.locator(".djs-element.lg-ready").count()
    return completed, ready


def gate_row(page: Page, title: str) -> str:
    return page.locator("table.gate-items tr", has_text=title).inner_text()


def test_launch_goes_live_when_every_gate_item_is_passed_in_the_browser(
    sign_in: Callable[[str], User],
) -> None:
    pm, lead, manager = sign_in("pat.pm"), sign_in("sam.support"), sign_in("max.manager")

    # The PM starts the launch: the gate is closed on all four items; only Draft Proposal is ready.
    launch_id = start_launch(pm, PRODUCT)
    page = pm.page
    expect_notice(page, f"Launch “{PRODUCT}” started.")
    expect(page.locator("h1")).to_have_text(PRODUCT)
    expect_blocked_by(page, 4)
    assert diagram_markers(page) == (0, 1)
    expect(page.locator(".djs-element.lg-ready[data-element-id=draft_proposal]")).to_be_attached()

    # Draft Proposal, with a second channel added by "Add another" and a second risk by "Add a row".
    pm.open_task(launch_id, "Draft Proposal")
    page.fill("#problem", "Small businesses forget to chase unpaid invoices.")
    page.fill("#summary", "Send polite reminders for overdue invoices automatically.")
    page.fill("#target_users", "Owners of small businesses on the Pro plan.")
    page.fill("#scope", "E-mail reminders in the web app; no SMS in this release.")
    page.fill("[name=channels-0]", "web")
    page.locator("#field-channels").get_by_role("button", name="Add another").click()
    expect(page.locator("[name=channels-1]")).to_have_value("")
    expect(page.locator("[name=channels-0]")).to_have_value("web")
    expect(page.locator("#problem")).to_have_value("Small businesses forget to chase unpaid invoices.")
    page.fill("[name=channels-1]", "e-mail")
    regions = page.get_by_role("group", name="Regions needing a support sign-off")
    regions.get_by_role("checkbox", name="EMEA").check()  # one support review per region listed
    page.fill("#planned_launch_date", "2031-06-15")
    page.fill("#estimated_contacts_per_week", "40")
    page.fill("[name=expected_question_types-0]", "How do I turn reminders off?")
    page.fill("[name=known_risks-0-description]", "A reminder for an invoice paid offline.")
    page.fill("[name=known_risks-0-mitigation]", "Mark it paid first.")
    page.locator("#field-known_risks").get_by_role("button", name="Add a row").click()
    page.fill("[name=known_risks-1-description]", "Reminders sent twice on a time-zone change.")
    pm.submit_task()
    expect_notice(page, "“Draft Proposal” completed.")
    expect_blocked_by(page, 4)
    assert diagram_markers(page) == (1, 1)

    # The support lead asks for changes, with the proposal beside the review form.
    lead.open_task(launch_id, "Review Proposal")
    review = lead.page
    proposal = review.locator("aside.reviewed")
    expect(proposal).to_contain_text("Small businesses forget to chase unpaid invoices.")
    expect(proposal).to_contain_text("Reminders sent twice on a time-zone change.")
    expect(review.locator("section.task-form form")).to_be_visible()
    review.check("[name=decision][value=request_changes]")
    review.fill("#comment", CHANGES)
    lead.submit_task()
    expect_notice(review, "“Review Proposal” completed.")
    expect_blocked_by(review, 4)
    timeline = review.locator("ol.timeline")
    changes = timeline.locator("li", has=review.locator(".decision.request_changes"))
    expect(changes).to_have_count(1)
    expect(changes).to_contain_text("sam.support")
    expect(changes).to_contain_text("Review Proposal")
    expect(changes.locator("q")).to_have_text(CHANGES)

    # The PM revises: the proposal is still filled in, only the answer to the review is new.
    pm.open_task(launch_id, "Revise Proposal")
    expect(page.locator("#problem")).to_have_value("Small businesses forget to chase unpaid invoices.")
    expect(page.locator("[name=channels-1]")).to_have_value("e-mail")
    page.fill("#changes_made", "Added the opt-out path: Settings, Invoices, Reminders.")
    pm.submit_task()
    expect_notice(page, "“Revise Proposal” completed.")
    assert diagram_markers(page) == (3, 1)

    # The support lead approves and adds the customer's voice.
    lead.open_task(launch_id, "Review Proposal")
    expect(review.locator("aside.reviewed")).to_contain_text("Added the opt-out path")
    review.check("[name=decision][value=approve]")
    review.fill("#comment", "Support is ready to take this on.")
    review.select_option("[name=anticipated_questions-0-kind]", "complaint")
    review.fill("[name=anticipated_questions-0-text]", "I was reminded about an invoice I paid.")
    review.locator("#field-anticipated_questions").get_by_role("button", name="Add a row").click()
    review.select_option("[name=anticipated_questions-1-kind]", "question")
    review.fill("[name=anticipated_questions-1-text]", "Can I change the reminder text?")
    lead.submit_task()
    expect_notice(review, "“Review Proposal” completed.")
    expect_blocked_by(review, 3)
    assert re.search(r"Passed by sam\.support on \d{4}-\d\d-\d\d", gate_row(review, "Proposal sign-off"))
    completed, ready = diagram_markers(review)
    assert (completed, ready) == (3, 2)  # Open Beta and Draft Report Template, in parallel

    # The support manager assigns the report template to the support lead (there is no assignment form
    # in the pages, so his signed-in browser session uses the API, with the page's CSRF token).
    manager_page = manager.open_launch(launch_id)
    link = manager_page.locator("section.open-tasks").get_by_role("link", name="Draft Report Template")
    task_id = (link.get_attribute("href") or "").rsplit("/", 1)[-1]
    csrf = manager_page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    assigned = manager.context.request.post(
        f"/api/v1/tasks/{task_id}/assign", data={"assignee": "sam.support"}, headers={"X-CSRF-Token": csrf}
    )
    assert assigned.status == 200, assigned.text()
    manager_page.reload()
    row = manager_page.locator("section.open-tasks tr", has_text="Draft Report Template")
    expect(row).to_contain_text("sam.support")

    # The PM opens the beta.
    pm.open_task(launch_id, "Open Beta")
    expect(page.locator("#beta_url")).to_have_attribute("type", "url")
    page.fill("#beta_url", "https://beta.example.com/invoices")
    page.fill("#beta_start", "2031-05-01")
    page.fill("#beta_end", "2031-06-01")
    page.fill("[name=test_accounts-0-username]", "support-beta-1")
    page.fill("[name=test_accounts-0-notes]", "Pro plan")
    pm.submit_task()
    expect_notice(page, "“Open Beta” completed.")

    # The support lead claims the beta FAQ from the inbox and completes it.
    inbox = lead.goto("/inbox")
    faq_row = inbox.locator("#inbox-table tr", has_text="Complete Beta FAQ").filter(has_text=PRODUCT)
    expect(faq_row).to_contain_text("unassigned")
    faq_row.get_by_role("button", name="Claim").click()
    expect_notice(inbox, "You took “Complete Beta FAQ”.")
    faq_row = inbox.locator("#inbox-table tr", has_text="Complete Beta FAQ").filter(has_text=PRODUCT)
    expect(faq_row).to_contain_text("sam.support")
    faq_row.get_by_role("link", name="Complete Beta FAQ").click()
    faq = lead.page
    expect(faq.locator("h1")).to_have_text("Complete Beta FAQ")
    entries = [
        ("How do I turn reminders off?", "Settings, Invoices, Reminders.", "settings"),
        ("When is a reminder sent?", "Three days after the due date.", "timing"),
        ("Can I edit the text?", "Yes, under Templates.", "content"),
    ]
    expect(faq.locator("#field-faq_entries tbody tr")).to_have_count(3)  # the minimum is shown
    for i, (question, answer, category) in enumerate(entries[:2]):
        faq.fill(f"[name=faq_entries-{i}-question]", question)
        faq.fill(f"[name=faq_entries-{i}-answer]", answer)
        faq.fill(f"[name=faq_entries-{i}-category]", category)
    # "Add a row" keeps what was typed and appends a fourth, blank row (left blank: it is dropped).
    faq.locator("#field-faq_entries").get_by_role("button", name="Add a row").click()
    expect(faq.locator("#field-faq_entries tbody tr")).to_have_count(4)
    expect(faq.locator("[name=faq_entries-1-answer]")).to_have_value("Three days after the due date.")
    question, answer, category = entries[2]
    faq.fill("[name=faq_entries-2-question]", question)
    faq.fill("[name=faq_entries-2-answer]", answer)
    faq.fill("[name=faq_entries-2-category]", category)
    faq.fill("[name=procedure_steps-0]", "Check the invoice's payment status.")
    faq.locator("#field-procedure_steps").get_by_role("button", name="Add another").click()
    faq.fill("[name=procedure_steps-1]", "Escalate wrong reminders to billing.")
    expect(faq.locator("[name=escalation_contacts-0-email]")).to_have_attribute("type", "email")
    faq.fill("[name=escalation_contacts-0-name]", "Bea Billing")
    faq.fill("[name=escalation_contacts-0-email]", "bea.billing@example.com")
    faq.fill("[name=escalation_contacts-0-role]", "Billing on-call")
    faq.fill("[name=beta_issues-0-description]", "Reminder sent twice on a time-zone change.")
    faq.select_option("[name=beta_issues-0-severity]", "medium")
    lead.submit_task()
    expect_notice(faq, "“Complete Beta FAQ” completed.")
    expect_blocked_by(faq, 2)
    assert "Passed by sam.support" in gate_row(faq, "Beta FAQ")

    # The support lead drafts the report template: a category tree with one child category.
    lead.open_task(launch_id, "Draft Report Template")
    faq.fill("[name=metrics-0-name]", "Contacts")
    faq.fill("[name=metrics-0-definition]", "Tickets tagged invoice-reminders per week.")
    faq.fill("[name=categories-0-name]", "Reminders")
    faq.locator("#field-categories").get_by_role("button", name="Add a row").click()
    faq.fill("[name=categories-1-name]", "Opt-out")
    faq.fill("[name=categories-1-parent]", "Reminders")
    faq.fill("[name=contact_fields-0]", "plan")
    faq.locator("#field-contact_fields").get_by_role("button", name="Add another").click()
    faq.fill("[name=contact_fields-1]", "invoice id")
    faq.select_option("#cadence", "weekly")
    lead.submit_task()
    expect_notice(faq, "“Draft Report Template” completed.")
    expect_blocked_by(faq, 2)

    # The PM approves the template, shown beside the decision.
    pm.open_task(launch_id, "Review Report Template")
    expect(page.locator("aside.reviewed")).to_contain_text("Opt-out")
    page.check("[name=decision][value=approve]")
    pm.submit_task()
    expect_notice(page, "“Review Report Template” completed.")
    expect_blocked_by(page, 1)
    assert "Passed by pat.pm" in gate_row(page, "Report template approved")

    # The PM sends the launch notice (a datetime-local input, in UTC).
    pm.open_task(launch_id, "Send Launch Notice")
    expect(page.locator("#launch_at")).to_have_attribute("type", "datetime-local")
    page.fill("#launch_at", "2031-06-15T09:00")
    page.fill("#what_changes", "Overdue invoices get automatic reminders.")
    page.fill("[name=channels-0]", "web")
    page.fill("[name=known_issues-0]", "Reminders may be sent twice on a time-zone change.")
    page.fill("[name=support_contacts-0-name]", "Sam Support")
    page.fill("[name=support_contacts-0-email]", "sam.support@example.com")
    page.fill("#rollback_plan", "Switch the reminders feature flag off.")
    pm.submit_task()
    expect_notice(page, "“Send Launch Notice” completed.")
    expect_blocked_by(page, 1)

    # The support lead acknowledges: the gate opens.
    lead.open_task(launch_id, "Acknowledge Launch Notice")
    faq.check("#staffing_confirmed")
    faq.check("#faq_published")
    lead.submit_task()
    expect_notice(faq, "“Acknowledge Launch Notice” completed.")
    expect(faq.locator("#gate-summary")).to_have_text("Ready to go live.")
    assert "Passed by sam.support" in gate_row(faq, "Launch notice")

    # The PM goes live.
    pm.open_task(launch_id, "Go Live")
    page.check("#confirm")
    page.fill("#notes", "Go.")
    page.get_by_role("button", name="Go live").click()
    page.wait_for_url(re.compile(r"/launches/[0-9a-f-]{36}$"))
    expect_notice(page, f"{PRODUCT} is live.")
    expect(page.locator(".gate-state.live")).to_contain_text("Live since")
    expect(page.locator(".page-head .status")).to_have_text("live")
    expect(page.locator("section.open-tasks")).to_contain_text("No open tasks.")
    for title, who in [
        ("Proposal sign-off", "sam.support"),
        ("Beta FAQ", "sam.support"),
        ("Report template approved", "pat.pm"),
        ("Launch notice", "sam.support"),
    ]:
        assert f"Passed by {who}" in gate_row(page, title), title
    assert diagram_markers(page) == (10, 0)
    # The history keeps the review round, whoever reads it.
    manager.open_launch(launch_id)
    changes = manager.page.locator("ol.timeline li", has=manager.page.locator(".decision.request_changes"))
    expect(changes.locator("q")).to_have_text(CHANGES)
    expect(manager.page.locator("ol.timeline .decision.approve")).to_have_count(2)
    assert not (pm.dialogs or lead.dialogs or manager.dialogs)
