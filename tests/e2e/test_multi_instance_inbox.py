"""The inbox in the browser names each instance of a multi-instance review ("Regional review — EMEA, 0 of
3 done, needs 2"), and the page passes the axe-core checks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ApiUser, User, axe_violations
from tests.engine.form_examples import VALID_LAUNCH_START
from tests.engine.mi_forms import form_files
from tests.engine.structure_support import fixture

pytestmark = pytest.mark.browser


def test_the_inbox_names_each_regional_review_instance(sign_in: Callable[[str], User], base_url: str) -> None:
    admin, pm = ApiUser(base_url, "ada.admin"), ApiUser(base_url, "pat.pm")
    try:
        upload = [("file", ("regional_review.bpmn", fixture("regional_review"), "application/xml"))]
        upload += [("file", (name, body, "application/json")) for name, body in form_files().items()]
        deployed = admin.client.post("/processes", files=upload)
        assert deployed.status_code in (200, 201), deployed.text
        started = pm.client.post(
            "/launches",
            json={**VALID_LAUNCH_START, "product_name": "Regions (e2e)", "process": "regional_review"},
        )
        assert started.status_code == 201, started.text
        pm.complete(
            started.json()["id"], "draft_proposal", {"summary": "s", "regions": ["EMEA", "APAC", "AMER"]}
        )
    finally:
        admin.close()
        pm.close()
    page = sign_in("sam.support").goto("/inbox")
    row = page.locator("#inbox-table tr", has_text="Regions (e2e)").filter(has_text="EMEA")
    expect(row.locator(".instance")).to_have_text("— EMEA, 0 of 3 done, needs 2")
    expect(page.locator("#inbox-table tr", has_text="Regions (e2e)").locator(".instance")).to_have_count(3)
    assert axe_violations(page) == []
