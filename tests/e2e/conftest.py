"""Browser tests: a real uvicorn server on 127.0.0.1 (its own SQLite file, the shipped diagrams, the demo
users) driven by Playwright's sync API with the system Chromium. No browser is downloaded: without
/usr/bin/chromium (or without the playwright package) the tests skip, or fail when LAUNCHGATE_REQUIRE_ALL=1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from api.demo import DEMO_USERS, demo_forms
from tests.api.live_server import running_servers
from tests.conftest import REQUIRE_ALL

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

try:
    import playwright.sync_api  # noqa: F401 - only: is it installed?
except ImportError:  # pragma: no cover - the dev extras install it
    if not REQUIRE_ALL:  # with LAUNCHGATE_REQUIRE_ALL=1 the test modules' imports fail the run instead
        collect_ignore_glob = ["test_*.py"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORDS = {username: password for username, password, _, _ in DEMO_USERS}
STEP_TIMEOUT_MS = 15_000
LAUNCH_ID = re.compile(r"/launches/([0-9a-f-]{36})")
TASK_ID = re.compile(r"/tasks/([0-9a-f-]{36})")


def _unavailable(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} but LAUNCHGATE_REQUIRE_ALL=1")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A uvicorn process serving the app on a free loopback port (its own SQLite file, the shipped
    diagrams, the demo users); stopped at the end whatever happened."""
    workdir = tmp_path_factory.mktemp("e2e-server")
    with running_servers(f"sqlite:///{workdir / 'e2e.db'}", workdir, prepare=True) as [server]:
        yield server.url


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    chromium = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class User:
    """One demo user in a browser context of their own, signed in through /sign-in."""

    username: str
    context: BrowserContext
    page: Page
    base_url: str
    dialogs: list[str]

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def open_launch(self, launch_id: str) -> Page:
        return self.goto(f"/launches/{launch_id}")

    def open_task(self, launch_id: str, title: str) -> str:
        """Open the launch page, follow the open task called `title`; return the task's id."""
        page = self.open_launch(launch_id)
        page.locator("section.open-tasks").get_by_role("link", name=title, exact=True).click()
        page.wait_for_url(TASK_ID)
        match = TASK_ID.search(page.url)
        assert match, page.url
        return match.group(1)

    def submit_task(self) -> Page:
        """Press the form's main button and wait for the launch page it redirects to."""
        self.page.locator("#submit-task").click()
        self.page.wait_for_url(re.compile(r"/launches/[0-9a-f-]{36}$"))
        return self.page


@pytest.fixture
def sign_in(browser: Browser, base_url: str) -> Iterator[Callable[[str], User]]:
    """sign_in(username) -> a User in a fresh context; every dialog a page opens is recorded."""
    contexts: list[BrowserContext] = []

    def open_as(username: str) -> User:
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        dialogs: list[str] = []
        page = context.new_page()

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(base_url + "/sign-in")
        page.fill("#username", username)
        page.fill("#password", PASSWORDS[username])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/launches$"))
        return User(username, context, page, base_url, dialogs)

    yield open_as
    for context in contexts:
        context.close()


def launch_id_of(page: Page) -> str:
    match = LAUNCH_ID.search(page.url)
    assert match, page.url
    return match.group(1)


def start_launch(user: User, product_name: str, planned: str = "2031-06-15") -> str:
    """The PM's "New launch" form; returns the new launch's id."""
    page = user.goto("/launches")
    page.get_by_role("link", name="New launch").click()
    page.fill("#product_name", product_name)
    page.fill("#summary", "Automatic reminders for overdue invoices.")
    page.fill("#planned_launch_date", planned)
    page.get_by_role("button", name="Start launch").click()
    page.wait_for_url(LAUNCH_ID)
    return launch_id_of(page)


class ApiUser:
    """A demo user on the JSON API (session cookie + CSRF header): sets up a launch's state quickly, so a
    browser test only drives the pages it is about."""

    def __init__(self, base_url: str, username: str) -> None:
        self.username = username
        self.client = httpx.Client(base_url=base_url + "/api/v1", timeout=15.0)
        response = self.client.post(
            "/auth/sign-in", json={"username": username, "password": PASSWORDS[username]}
        )
        response.raise_for_status()
        self.client.headers["X-CSRF-Token"] = response.json()["csrf_token"]

    def close(self) -> None:
        self.client.close()

    def start_launch(self, product_name: str, planned: date) -> str:
        response = self.client.post(
            "/launches",
            json={
                "product_name": product_name,
                "summary": "Set up by the API.",
                "planned_launch_date": str(planned),
            },
        )
        response.raise_for_status()
        launch_id: str = response.json()["id"]
        return launch_id

    def open_task(self, launch_id: str, bpmn_id: str) -> str:
        response = self.client.get(f"/launches/{launch_id}")
        response.raise_for_status()
        for task in response.json()["open_tasks"]:
            if task["bpmn_id"] == bpmn_id:
                task_id: str = task["id"]
                return task_id
        raise AssertionError(f"{bpmn_id} is not open in launch {launch_id}: {response.json()['open_tasks']}")

    def complete(self, launch_id: str, bpmn_id: str, data: dict[str, Any]) -> None:
        task_id = self.open_task(launch_id, bpmn_id)
        response = self.client.post(f"/tasks/{task_id}/complete", json={"data": data})
        assert response.status_code == 200, response.text


@pytest.fixture
def api_users(base_url: str) -> Iterator[dict[str, ApiUser]]:
    """pat.pm and sam.support on the JSON API."""
    users = {name: ApiUser(base_url, name) for name in ("pat.pm", "sam.support")}
    yield users
    for user in users.values():
        user.close()


def advance(api_users: dict[str, ApiUser], launch_id: str, steps: list[str], planned: date) -> None:
    """Complete the launch's tasks `steps` (BPMN ids, in order) with the demo data, each by its role."""
    forms = demo_forms(planned)
    support_tasks = {
        "review_proposal",
        "complete_beta_faq",
        "draft_report_template",
        "acknowledge_launch_notice",
    }
    for step in steps:
        user = api_users["sam.support" if step in support_tasks else "pat.pm"]
        user.complete(launch_id, step, forms[step])


AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page, impacts: frozenset[str] = frozenset({"critical", "serious"})) -> list[str]:
    """axe-core (npm, node_modules/axe-core) run on the page as it is: one line per violation of the given
    impacts, naming the rule and the elements."""
    if not AXE_SCRIPT.is_file():
        _unavailable(f"{AXE_SCRIPT} is missing (npm ci)")
    # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy does not govern.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in found
        if v.get("impact") in impacts
    ]
