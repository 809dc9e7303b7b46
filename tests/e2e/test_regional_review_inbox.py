"""The shipped launch gate's regional review in the browser: a proposal listing EMEA and APAC puts one
review per region in the support lead's inbox, each named by its region; the draft form offers the
regions as checkboxes. Screenshot to tests/e2e/artifacts/, axe-core clean (no critical or serious)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser, User, axe_violations
from tests.engine.form_examples import VALID_FORM_DATA

pytestmark = pytest.mark.browser

PRODUCT = "Regional Invoices (e2e)"


def test_each_region_gets_its_own_review_in_the_inbox(
    sign_in: Callable[[str], User], base_url: str, artifacts: Path
) -> None:
    pm = ApiUser(base_url, "pat.pm")
    try:
        launch_id = pm.start_launch(PRODUCT, date(2031, 6, 15))
        proposal = {**VALID_FORM_DATA["draft_proposal"], "support_regions": ["EMEA", "APAC"]}
        pm.complete(launch_id, "draft_proposal", proposal)
    finally:
        pm.close()
    page = sign_in("sam.support").goto("/inbox")
    rows = page.locator("#inbox-table tbody tr", has_text=PRODUCT)
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="EMEA").locator(".instance")).to_contain_text("EMEA, 0 of 2 done")
    expect(rows.filter(has_text="APAC").locator(".instance")).to_contain_text("APAC, 0 of 2 done")
    page.screenshot(path=str(artifacts / "inbox-regional-review.png"), full_page=True)
    assert axe_violations(page) == []
