"""Served under a root path (`launchgate serve --root-path /lg`: a proxy strips the prefix, the application
sees `scope["root_path"] == "/lg"`): every link, form action, asset URL and redirect a page hands the
browser carries the prefix, and so does every cookie's Path. The client follows the pages' own URLs, so a
URL without the prefix would not reach the application behind such a proxy."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.web.auth import PRESESSION_COOKIE
from api.web.notices import NOTICE_COOKIE
from engine import Role
from tests.api.conftest import PASSWORDS, USER_OF_ROLE, SignIn

ROOT = "/lg"
ORIGIN = {"Origin": "http://testserver"}
URL_ATTRIBUTES = {"href", "action", "src", "data-src"}


class _Urls(HTMLParser):
    """Every URL attribute of a page, and the fields of each form by its action."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.forms: dict[str, dict[str, str]] = {}
        self._form: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.urls += [value for name, value in found.items() if name in URL_ATTRIBUTES]
        if tag == "form":
            self._form = self.forms.setdefault(found.get("action", ""), {})
        elif tag == "input" and self._form is not None and "name" in found:
            self._form.setdefault(found["name"], found.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def _page(client: TestClient, path: str) -> _Urls:
    """The page at `path` (a URL the site gave), its every URL checked to carry the root path."""
    assert path.startswith(ROOT + "/"), path
    response = client.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    parsed = _Urls()
    parsed.feed(response.text)
    assert parsed.urls, path
    outside = [u for u in parsed.urls if not u.startswith((ROOT + "/", "#", "https://", "http://"))]
    assert outside == [], f"{path}: URLs without the root path: {outside}"
    return parsed


def _cookie_paths(response: httpx.Response, name: str) -> list[str]:
    paths = []
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            attributes = dict(
                part.strip().partition("=")[::2] for part in header.split(";")[1:] if "=" in part
            )
            paths.append({k.lower(): v for k, v in attributes.items()}["path"])
    return paths


def _start_launch(pm_api: TestClient) -> str:
    response = pm_api.post(
        "/api/v1/launches",
        json={"product_name": "Prefixed", "summary": "Root path.", "planned_launch_date": "2031-08-04"},
    )
    assert response.status_code == 201, response.text
    launch_id: str = response.json()["id"]
    return launch_id


def _sign_in(client: TestClient) -> None:
    asked = client.get(f"{ROOT}/inbox", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{ROOT}/sign-in?next=/inbox"
    form_page = client.get(asked.headers["location"])
    assert _cookie_paths(form_page, PRESESSION_COOKIE) == [f"{ROOT}/sign-in"]
    sign_in = _page(client, asked.headers["location"])
    [(action, fields)] = sign_in.forms.items()
    assert action == f"{ROOT}/sign-in"
    username = USER_OF_ROLE[Role.PM]
    fields |= {"username": username, "password": PASSWORDS[username]}
    signed_in = client.post(action, data=fields, headers=ORIGIN, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text[:300]
    assert signed_in.headers["location"] == f"{ROOT}/inbox"
    assert _cookie_paths(signed_in, "lg_session") == [ROOT]


def test_pages_links_forms_redirects_and_cookies_carry_the_root_path(
    app: FastAPI, pm_client: TestClient
) -> None:
    launch_id = _start_launch(pm_client)
    with TestClient(app, root_path=ROOT) as client:
        _sign_in(client)
        inbox = _page(client, f"{ROOT}/inbox")
        assert f"{ROOT}/static/app/app.css" in inbox.urls
        launch_page = f"{ROOT}/launches/{launch_id}"
        assert launch_page in inbox.urls
        launch = _page(client, launch_page)
        [diagram] = [u for u in launch.urls if u.endswith("/diagram.bpmn")]
        assert diagram == f"{launch_page}/diagram.bpmn"
        assert "definitions" in client.get(diagram).text
        for asset in [u for u in launch.urls if u.startswith(f"{ROOT}/static/")]:
            assert client.get(asset).status_code == 200, asset
        [task_page] = [u for u in launch.urls if u.startswith(f"{ROOT}/tasks/")][:1]
        task = _page(client, task_page)
        fields = dict(task.forms[task_page]) | {"action": "save_draft"}
        saved = client.post(task_page, data=fields, headers=ORIGIN, follow_redirects=False)
        assert saved.status_code == 303, saved.text[:300]
        assert saved.headers["location"] == task_page
        assert _cookie_paths(saved, NOTICE_COOKIE) == [ROOT]
        shown = client.get(saved.headers["location"])
        assert "Draft saved." in shown.text
        assert _cookie_paths(shown, NOTICE_COOKIE) == [ROOT]
        for link in [
            u for u in task.urls if urlsplit(u).path in (f"{ROOT}/launches", f"{ROOT}/account/tokens")
        ]:
            _page(client, link)
        sign_out = {
            a: f for a, f in _page(client, f"{ROOT}/launches").forms.items() if a.endswith("/sign-out")
        }
        [(action, fields)] = sign_out.items()
        out = client.post(action, data=fields, headers=ORIGIN, follow_redirects=False)
        assert out.headers["location"] == f"{ROOT}/sign-in"
        assert _cookie_paths(out, "lg_session") == [ROOT]


def test_admin_audit_token_and_error_pages_carry_the_root_path(
    sign_in: SignIn, pm_client: TestClient
) -> None:
    _start_launch(pm_client)
    admin = sign_in(USER_OF_ROLE[Role.ADMIN], root_path=ROOT)
    for path in ("/admin/users", "/admin/processes", "/audit", "/account/tokens", "/launches"):
        _page(admin, ROOT + path)
    pm = sign_in(USER_OF_ROLE[Role.PM], root_path=ROOT)
    _page(pm, f"{ROOT}/launches/new")
    missing = pm.get(f"{ROOT}/launches/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    error_page = _Urls()
    error_page.feed(missing.text)
    assert error_page.urls and all(u.startswith(ROOT + "/") for u in error_page.urls), error_page.urls


def test_a_page_redirect_served_at_the_root_has_no_prefix(anon_client: TestClient) -> None:
    asked = anon_client.get("/launches", follow_redirects=False)
    assert asked.headers["location"] == "/sign-in?next=/launches"
    assert _cookie_paths(anon_client.get(asked.headers["location"]), PRESESSION_COOKIE) == ["/sign-in"]
