"""User data is text, never markup: a product name and a comment full of HTML show up literally on the
launches list, the launch page (title, comments, history) and the inbox; nothing runs, no element is
created from them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ApiUser, User, start_launch

pytestmark = pytest.mark.browser

PRODUCT = "<img src=x onerror=alert(1)>Fancy"
COMMENT = "<b>bold</b><script>alert(2)</script>"
PLANNED = date(2031, 10, 1)


def assert_nothing_injected(page: Page) -> None:
    """No element made from the user data: no <b>, no <img src=x>, no script that mentions alert."""
    assert page.locator("b").count() == 0
    assert page.locator("img[src=x]").count() == 0
    scripts = page.locator("script").evaluate_all("nodes => nodes.map(n => n.src || n.textContent)")
    assert not [s for s in scripts if "alert" in s], scripts


def test_markup_in_product_name_and_comments_renders_as_text(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser]
) -> None:
    pm, lead = sign_in("pat.pm"), sign_in("sam.support")

    # The PM types the name into the "New launch" form and comments with markup on the launch page.
    launch_id = start_launch(pm, PRODUCT, planned=str(PLANNED))
    page = pm.page
    expect(page.locator("h1")).to_have_text(PRODUCT)
    assert PRODUCT in page.title()
    page.fill("#comment-body", COMMENT)
    page.get_by_role("button", name="Comment", exact=True).click()
    page.wait_for_url(f"**/launches/{launch_id}#comments")
    expect(page.locator("#comments article.comment p")).to_have_text(COMMENT)
    assert_nothing_injected(page)

    # The support lead requests changes with the same markup as the review comment.
    api_users["pat.pm"].complete(
        launch_id,
        "draft_proposal",
        {
            "problem": PRODUCT,
            "summary": COMMENT,
            "target_users": "Everyone.",
            "scope": "Web.",
            "channels": ["web"],
            "planned_launch_date": str(PLANNED),
            "estimated_contacts_per_week": 5,
        },
    )
    lead.open_task(launch_id, "Review Proposal")
    review = lead.page
    expect(review.locator("aside.reviewed")).to_contain_text(PRODUCT)
    expect(review.locator("aside.reviewed")).to_contain_text(COMMENT)
    assert_nothing_injected(review)
    review.check("[name=decision][value=request_changes]")
    review.fill("#comment", COMMENT)
    lead.submit_task()

    # The launch page: title, comments and history hold the text as typed.
    launch = lead.page
    expect(launch.locator("h1")).to_have_text(PRODUCT)
    expect(launch.locator("#comments article.comment p")).to_have_text(COMMENT)
    timeline = launch.locator("ol.timeline")
    expect(timeline.locator("q")).to_have_text([COMMENT, COMMENT])  # the review, then the comment
    expect(launch.locator("#diagram[data-rendered=true]")).to_be_attached()
    assert_nothing_injected(launch)

    # The launches list and the PM's inbox (Revise Proposal) show the product name as text.
    listing = pm.goto("/launches")
    expect(listing.locator("#launch-table").get_by_role("link", name=PRODUCT, exact=True)).to_have_count(1)
    assert_nothing_injected(listing)
    inbox = pm.goto("/inbox")
    row = inbox.locator("#inbox-table tr", has_text="Revise Proposal").filter(has_text=PRODUCT)
    expect(row.get_by_role("link", name=PRODUCT, exact=True)).to_be_visible()
    assert_nothing_injected(inbox)

    # The task page links back to the launch by its name, as text.
    pm.open_task(launch_id, "Revise Proposal")
    expect(pm.page.locator("p.summary").get_by_role("link", name=PRODUCT, exact=True)).to_be_visible()
    assert_nothing_injected(pm.page)

    assert pm.dialogs == []
    assert lead.dialogs == []
