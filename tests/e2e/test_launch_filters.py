"""The launch list's filter form as people use it: leaving "Any" in the selects sends empty parameters
(`?q=...&status=&blocked=`), which mean "any"; typing part of a product name finds that launch. The page
is screenshotted (tests/e2e/artifacts/launch-filter.png) for a person to look at."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser, User
from tests.e2e.test_screenshots import shoot

pytestmark = pytest.mark.browser

PLANNED = date(2031, 9, 1)


def test_filter_by_part_of_product_name_shows_that_launch_when_selects_are_left_at_any(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    wanted, other = f"Quokka Ledger {tag}", f"Wombat Planner {tag}"
    for name in (wanted, other):
        api_users["pat.pm"].start_launch(name, PLANNED)
    pm = sign_in("pat.pm")
    page = pm.goto("/launches")
    expect(page.locator("#launch-table")).to_contain_text(other)

    page.fill("form.filters input[name=q]", f"okka ledger {tag}")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/launches?*")

    sent = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    assert sent["status"] == [""] and sent["blocked"] == [""], sent
    table = page.locator("#launch-table")
    expect(table).to_contain_text(wanted)
    expect(table).not_to_contain_text(other)
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("form.filters input[name=q]")).to_have_value(f"okka ledger {tag}")
    shoot(page, artifacts / "launch-filter.png")
    assert pm.dialogs == []
