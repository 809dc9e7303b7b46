"""The generic form renderer in the browser, on a process package made for it (tests/fixtures/packages/
form_kinds: one form with every field kind, then a task without a form). Its own server and database: the
package is deployed and launches started in-process on the server's SQLite file."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from api.demo import DEMO_PM
from tests.api.live_server import prepare_database, running_servers
from tests.e2e.conftest import PASSWORDS, ApiUser, User, advance, axe_violations

pytestmark = pytest.mark.browser

PACKAGE = Path(__file__).resolve().parents[1] / "fixtures" / "packages" / "form_kinds"
PLANNED = date(2031, 11, 3)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    workdir = tmp_path_factory.mktemp("e2e-kinds")
    url = f"sqlite:///{workdir / 'kinds.db'}"
    prepare_database(url)
    from engine import SYSTEM_ACTOR, Database, WorkflowEngine, read_path

    database = Database.from_url(url)
    try:
        WorkflowEngine(database).deploy_package(package=read_path(PACKAGE), actor=SYSTEM_ACTOR)
    finally:
        database.dispose()
    return url


@pytest.fixture(scope="module")
def base_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's server (overrides the session's): the shipped diagrams plus form_kinds."""
    with running_servers(database_url, tmp_path_factory.mktemp("e2e-kinds-log")) as [server]:
        yield server.url


def start_kinds(database_url: str, name: str) -> str:
    from engine import Database, WorkflowEngine

    database = Database.from_url(database_url)
    try:
        launch = WorkflowEngine(database).start_launch(
            data={"product_name": name, "summary": "Every kind.", "planned_launch_date": str(PLANNED)},
            actor=DEMO_PM,
            process_id="form_kinds",
        )
    finally:
        database.dispose()
    return launch.id


def open_first_task(user: User, launch_id: str, title: str) -> Page:
    user.open_task(launch_id, title)
    return user.page


def submit(page: Page, status: int) -> None:
    with page.expect_response(lambda r: r.request.method == "POST" and "/tasks/" in r.url) as response:
        page.locator("#submit-task").click()
    assert response.value.status == status
    page.wait_for_load_state()


def task_data(base_url: str, task_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url + "/api/v1") as client:
        signed = client.post("/auth/sign-in", json={"username": "pat.pm", "password": PASSWORDS["pat.pm"]})
        signed.raise_for_status()
        response = client.get(f"/tasks/{task_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()["current_data"]
        return data


def test_every_field_kind_renders_and_submits_typed_values(
    sign_in: Callable[[str], User], database_url: str, base_url: str, artifacts: Path
) -> None:
    launch_id = start_kinds(database_url, "Kinds (e2e)")
    pm = sign_in("pat.pm")
    task_id = pm.open_task(launch_id, "All Kinds")
    page = pm.page
    expect(page.locator("h2.form-section")).to_have_text("Details")
    expect(page.locator("#title")).to_have_attribute("placeholder", "A title")
    expect(page.locator("#field-title .hint")).to_have_text("Shown on every list.")
    expect(page.locator("textarea#notes")).to_have_attribute("rows", "3")
    expect(page.locator("#count")).to_have_attribute("type", "number")
    expect(page.locator("#ratio")).to_have_attribute("step", "any")
    expect(page.locator("#day")).to_have_attribute("type", "date")
    expect(page.locator("#moment")).to_have_attribute("type", "datetime-local")
    expect(page.locator("#mail")).to_have_attribute("type", "email")
    expect(page.locator("#site")).to_have_attribute("type", "url")
    expect(page.locator("select#size")).to_be_visible()
    expect(page.locator("[name=colour][type=radio]")).to_have_count(2)
    expect(page.locator("#field-address legend")).to_have_text("Address")
    expect(page.locator("[name=tags][type=checkbox]")).to_have_count(3)
    expect(page.locator("#submit-task")).to_have_text("Save all kinds")
    page.screenshot(path=str(artifacts / "kinds-blank.png"), full_page=True)
    assert axe_violations(page) == []

    page.fill("#title", "Every kind")
    page.fill("#notes", "Line one\nLine two")
    page.fill("#count", "7")
    page.fill("#ratio", "0.25")
    page.check("#agree")
    page.select_option("#size", "large")
    page.check("[name=colour][value=green]")
    page.fill("#day", "2031-11-04")
    page.fill("#moment", "2031-11-04T09:30")
    page.fill("#mail", "Kim@Example.COM")
    page.fill("#site", "https://example.com/kinds")
    page.fill("#address-street", "1 Main St")
    page.fill("#address-city", "Springfield")
    page.fill("[name=people-0-name]", "Kim")
    page.select_option("[name=people-0-role]", "lead")
    page.check("[name=tags][value=alpha]")
    page.check("[name=tags][value=gamma]")
    page.fill("[name=words-0]", "hello")
    pm.submit_task()

    assert task_data(base_url, task_id) == {
        "title": "Every kind",
        "notes": "Line one\nLine two",
        "count": 7,
        "ratio": 0.25,
        "agree": True,
        "size": "large",
        "colour": "green",
        "day": "2031-11-04",
        "moment": "2031-11-04T09:30:00Z",
        "mail": "Kim@example.com",
        "site": "https://example.com/kinds",
        "address": {"street": "1 Main St", "city": "Springfield"},
        "people": [{"name": "Kim", "role": "lead"}],
        "tags": ["alpha", "gamma"],
        "words": ["hello"],
    }
    # The completed task reads back through the same renderer, read-only.
    pm.goto(f"/tasks/{task_id}")
    expect(page.locator("form input#title")).to_have_count(0)
    expect(page.locator("section.task-form")).to_contain_text("Springfield")


def test_task_without_form_gets_comment_and_done_button(
    sign_in: Callable[[str], User], database_url: str, api_users: dict[str, ApiUser]
) -> None:
    launch_id = start_kinds(database_url, "No form (e2e)")
    api_users["pat.pm"].complete(launch_id, "all_kinds", {"title": "t", "count": 1, "agree": True})
    pm = sign_in("pat.pm")
    pm.open_task(launch_id, "No Form")
    page = pm.page
    expect(page.locator("#submit-task")).to_have_text("Done")
    expect(page.get_by_label("Comment", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    pm.submit_task()
    expect(page.locator(".status").first).to_have_text("live")


def test_rows_are_added_removed_and_kept_when_enter_is_pressed_in_a_row(
    sign_in: Callable[[str], User], database_url: str, artifacts: Path
) -> None:
    launch_id = start_kinds(database_url, "Rows (e2e)")
    pm = sign_in("pat.pm")
    pm.open_task(launch_id, "All Kinds")
    page = pm.page
    page.fill("[name=people-0-name]", "Ann")
    page.get_by_role("button", name="Add a row").click()
    page.wait_for_load_state()
    page.fill("[name=people-1-name]", "Bo")
    page.get_by_role("button", name="Add a row").click()
    page.wait_for_load_state()
    page.fill("[name=people-2-name]", "Cy")
    expect(page.locator("#field-people tbody tr")).to_have_count(3)

    # Enter in a row's field submits the form (the title is missing: 422), never a row's Remove.
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.locator("[name=people-0-name]").press("Enter")
    assert response.value.status == 422
    page.wait_for_load_state()
    for index, name in enumerate(["Ann", "Bo", "Cy"]):
        expect(page.locator(f"[name=people-{index}-name]")).to_have_value(name)

    page.get_by_role("button", name="Remove row 2 of People").click()
    page.wait_for_load_state()
    expect(page.locator("#field-people tbody tr")).to_have_count(2)
    expect(page.locator("[name=people-0-name]")).to_have_value("Ann")
    expect(page.locator("[name=people-1-name]")).to_have_value("Cy")
    page.screenshot(path=str(artifacts / "kinds-rows.png"), full_page=True)


def test_errors_are_tied_to_their_inputs_and_the_summary_links_to_them(
    sign_in: Callable[[str], User], database_url: str, artifacts: Path
) -> None:
    launch_id = start_kinds(database_url, "Errors (e2e)")
    pm = sign_in("pat.pm")
    pm.open_task(launch_id, "All Kinds")
    page = pm.page
    page.select_option("[name=people-0-role]", "member")  # a row without its required name
    submit(page, 422)

    title = page.locator("#title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_attribute("aria-describedby", re.compile(r"\btitle-error\b"))
    expect(page.locator("#title-error")).to_contain_text("Title")
    expect(page.locator("#people-0-name")).to_have_attribute("aria-invalid", "true")
    summary = page.locator("#form-errors")
    expect(summary.locator("a[href='#title']")).to_have_count(1)
    expect(summary.locator("a[href='#people-0-name']")).to_have_count(1)
    expect(summary.locator("a[href='#agree']")).to_have_count(1)
    page.screenshot(path=str(artifacts / "kinds-errors.png"), full_page=True)
    assert axe_violations(page) == []
    summary.locator("a[href='#people-0-name']").click()
    expect(page.locator("#people-0-name")).to_be_focused()


def test_people_who_may_not_act_see_the_task_read_only_and_who_may_claim(
    sign_in: Callable[[str], User], api_users: dict[str, ApiUser], artifacts: Path
) -> None:
    launch_id = api_users["pat.pm"].start_launch("Read only (e2e)", PLANNED)
    advance(api_users, launch_id, ["draft_proposal"], PLANNED)
    task_id = api_users["sam.support"].open_task(launch_id, "review_proposal")

    auditor = sign_in("ann.auditor")
    page = auditor.goto(f"/tasks/{task_id}")
    expect(page.locator("#read-only")).to_contain_text("support_lead role, which you do not hold")
    expect(page.locator("#read-only")).to_contain_text("anyone with the support lead role")
    expect(page.locator("#submit-task")).to_have_count(0)
    expect(page.locator("section.task-form input, section.task-form textarea")).to_have_count(0)
    expect(page.locator("#claim-task")).to_have_count(0)
    page.screenshot(path=str(artifacts / "read-only-auditor.png"), full_page=True)
    assert axe_violations(page) == []

    lead = sign_in("sam.support")
    page = lead.goto(f"/tasks/{task_id}")
    page.locator("#claim-task").click()
    page.wait_for_url(re.compile(rf"/tasks/{task_id}"))
    expect(page.locator(".summary")).to_contain_text("assigned to sam.support")
    expect(page.locator("#claim-task")).to_have_count(0)
    expect(page.locator("#submit-task")).to_be_visible()

    manager = sign_in("max.manager")
    page = manager.goto(f"/tasks/{task_id}")
    expect(page.locator("#read-only")).to_contain_text("“sam.support”")
    expect(page.locator("#submit-task")).to_have_count(0)
