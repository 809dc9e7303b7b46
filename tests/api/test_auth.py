"""Sign-in, sessions, CSRF, API tokens and security headers, over the in-process API.

Covers the "Web security" bar of RELIABILITY.md: the session cookie is HttpOnly, SameSite=Lax and Secure
over https; every sign-in opens a new session; sign-out revokes; one answer for an unknown user and a wrong
password; rate limits per account and per client address; every failure audited without the password;
CSRF token and Origin checks on cookie-authenticated changes; API tokens shown once, revocable, audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from argon2 import Type
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.authorization import Access
from api.security import CSRF_HEADER, SESSION_COOKIE
from engine import AuditEventView, WorkflowEngine
from engine.accounts import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from engine.accounts import passwords as accounts_module
from engine.db.models import UserRecord
from tests.api.conftest import PASSWORDS, app_routes

SIGN_IN = "/api/v1/auth/sign-in"
ME = "/api/v1/auth/me"
TOKENS = "/api/v1/auth/tokens"
PM = "pat.pm"
AuditEvents = Callable[..., list[AuditEventView]]
NewClient = Callable[..., TestClient]


def _session_cookie(response: Any) -> str:
    """The Set-Cookie header of the session cookie."""
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return str(found[0])


def _cookie_value(response: Any) -> str:
    return _session_cookie(response).split(";", 1)[0].split("=", 1)[1]


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


def _sign_in(client: TestClient, username: str = PM, password: str | None = None) -> Any:
    return client.post(SIGN_IN, json={"username": username, "password": password or PASSWORDS[username]})


def _with_cookie(new_client: NewClient, value: str) -> TestClient:
    client = new_client()
    client.cookies.set(SESSION_COOKIE, value)
    return client


# ------------------------------------------------------------------------------------------- passwords


def test_password_hasher_is_argon2id_with_strong_parameters_when_unpatched() -> None:
    hasher = accounts_module._hasher
    assert hasher.type is Type.ID
    assert hasher.time_cost >= 2
    assert hasher.memory_cost >= 19 * 1024  # OWASP's minimum for argon2id: 19 MiB, 2 iterations


def test_stored_password_is_argon2id_hash_when_user_created(app_engine: WorkflowEngine) -> None:
    with app_engine.db.read() as session:
        stored = session.execute(
            select(UserRecord.password_hash).where(UserRecord.username == PM)
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORDS[PM] not in stored


# ------------------------------------------------------------------------------------------- the cookie


def test_sign_in_sets_httponly_lax_cookie_without_secure_when_http(anon_client: TestClient) -> None:
    response = _sign_in(anon_client)
    assert response.status_code == 200
    attributes = _attributes(_session_cookie(response))
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes
    assert any(a.startswith("max-age=") and int(a.split("=")[1]) > 0 for a in attributes)
    assert response.json()["csrf_token"]
    assert "Strict-Transport-Security" not in response.headers


def test_sign_in_sets_secure_cookie_when_https(new_client: NewClient) -> None:
    client = new_client(base_url="https://testserver")
    response = _sign_in(client)
    assert response.status_code == 200
    assert {"httponly", "samesite=lax", "secure"} <= _attributes(_session_cookie(response))
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get(ME).status_code == 200


def test_sign_in_opens_new_session_each_time(anon_client: TestClient, new_client: NewClient) -> None:
    first = _cookie_value(_sign_in(anon_client))
    second = _cookie_value(_sign_in(anon_client))
    assert first != second
    assert _with_cookie(new_client, second).get(ME).status_code == 200


def test_sign_in_replaces_cookie_when_client_brings_its_own(
    anon_client: TestClient, new_client: NewClient
) -> None:
    planted = "chosen-by-an-attacker-0123456789abcdef"
    anon_client.cookies.set(SESSION_COOKIE, planted)
    issued = _cookie_value(_sign_in(anon_client))
    assert issued != planted
    assert _with_cookie(new_client, planted).get(ME).status_code == 401


def test_sign_out_revokes_session_when_old_cookie_replayed(
    anon_client: TestClient, new_client: NewClient, audit_events: AuditEvents
) -> None:
    response = _sign_in(anon_client)
    cookie = _cookie_value(response)
    anon_client.headers[CSRF_HEADER] = response.json()["csrf_token"]
    signed_out = anon_client.post("/api/v1/auth/sign-out")
    assert signed_out.status_code == 204
    assert "max-age=0" in _session_cookie(signed_out).lower()
    replay = _with_cookie(new_client, cookie).get(ME)
    assert replay.status_code == 401
    assert [e.actor for e in audit_events(action="auth.signed_out")] == [PM]


# ------------------------------------------------------------------------------------------- failures


def test_sign_in_gives_same_401_when_user_unknown_or_password_wrong(anon_client: TestClient) -> None:
    wrong_password = _sign_in(anon_client, PM, "not-the-password")
    unknown_user = _sign_in(anon_client, "nobody.here", "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.headers["content-type"] == unknown_user.headers["content-type"]
    assert SESSION_COOKIE not in wrong_password.headers.get("set-cookie", "")


def test_sign_in_refused_with_same_401_when_user_disabled(
    admin_client: TestClient, anon_client: TestClient, app: FastAPI
) -> None:
    user = app.state.accounts.find_user(PM)
    assert admin_client.patch(f"/api/v1/users/{user.id}", json={"active": False}).status_code == 200
    refused = _sign_in(anon_client)
    assert refused.status_code == 401
    assert refused.json() == _sign_in(anon_client, "nobody.here", "x").json()


def test_sign_in_rate_limited_when_account_failed_five_times(anon_client: TestClient) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert _sign_in(anon_client, PM, "a-wrong-guess").status_code == 401
    limited = _sign_in(anon_client, PM, "a-wrong-guess")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 15 * 60
    assert limited.json()["status"] == 429
    with_right_password = _sign_in(anon_client, PM)
    assert with_right_password.status_code == 429, "a lockout must hold against the right password too"
    assert SESSION_COOKIE not in with_right_password.headers.get("set-cookie", "")
    assert _sign_in(anon_client, "sam.support").status_code == 200, "other accounts are not locked"


def test_sign_in_rate_limited_when_address_failed_twenty_times_across_usernames(
    anon_client: TestClient,
) -> None:
    for attempt in range(MAX_FAILURES_PER_ADDRESS):
        response = _sign_in(anon_client, f"guess.{attempt}", "a-wrong-guess")
        assert response.status_code == 401, attempt
    limited = _sign_in(anon_client, "sam.support")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_sign_in_failure_audited_without_password_when_refused(
    anon_client: TestClient, audit_events: AuditEvents
) -> None:
    guesses = {PM: "Secret-Guess-Number-1", "nobody.here": "Secret-Guess-Number-2"}
    for username, password in guesses.items():
        assert _sign_in(anon_client, username, password).status_code == 401
    failures = audit_events(action="auth.sign_in_failed")
    assert [(e.actor, e.detail["reason"]) for e in failures] == [
        (PM, "bad credentials"),
        ("nobody.here", "unknown user"),
    ]
    assert all(e.detail["client"] == "testclient" for e in failures)
    everything = json.dumps([asdict(e) for e in audit_events()], default=str)
    for password in guesses.values():
        assert password not in everything


# ------------------------------------------------------------------------------------------- CSRF


def test_cookie_change_refused_when_csrf_header_missing_or_wrong(
    pm_client: TestClient, audit_events: AuditEvents
) -> None:
    token = pm_client.headers.pop(CSRF_HEADER)
    missing = pm_client.post(TOKENS, json={"name": "bot"})
    wrong = pm_client.post(TOKENS, json={"name": "bot"}, headers={CSRF_HEADER: token + "x"})
    assert missing.status_code == wrong.status_code == 403
    assert missing.json()["type"].endswith("/csrf")
    assert pm_client.get(TOKENS).json()["items"] == [], "reads need no CSRF token, and nothing was created"
    denied = audit_events(action="request.denied")
    assert [(e.actor, e.detail["path"]) for e in denied] == [(PM, TOKENS), (PM, TOKENS)]


def test_cookie_change_refused_when_origin_is_foreign(pm_client: TestClient) -> None:
    foreign = pm_client.post(TOKENS, json={"name": "bot"}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "Origin" in foreign.json()["detail"]
    same_site = pm_client.post(TOKENS, json={"name": "bot"}, headers={"Origin": "http://testserver"})
    assert same_site.status_code == 201


def test_bearer_change_accepted_when_no_csrf_header(pm_client: TestClient, new_client: NewClient) -> None:
    raw = pm_client.post(TOKENS, json={"name": "bot"}).json()["token"]
    bot = new_client(headers={"Authorization": f"Bearer {raw}"})
    started = bot.post(
        "/api/v1/launches",
        json={
            "product_name": "Bot launch",
            "summary": "Started by a script.",
            "planned_launch_date": "2031-01-02",
        },
    )
    assert started.status_code == 201, started.text
    assert started.json()["pm"] == PM


def test_every_cookie_change_refused_when_csrf_token_missing_or_origin_foreign(
    app: FastAPI, pm_client: TestClient, audit_events: AuditEvents
) -> None:
    """Every state-changing route that a session may call, API and pages alike: without the CSRF token
    (header for the API, form field for pages), or from another origin, it is refused before anything
    happens, and each refusal is audited."""
    api_routes, _ = app_routes(app)
    changes = [
        r
        for r in api_routes
        if r.method not in {"GET", "HEAD"} and not all(p.access is Access.PUBLIC for p in r.policies)
    ]
    assert len(changes) >= 20
    token = pm_client.headers.pop(CSRF_HEADER)
    let_through = []
    for route in changes:
        url = re.sub(r"\{[a-z_]+\}", "1", route.path)
        evil = {"Origin": "https://evil.example"}
        attempts: list[dict[str, Any]]
        if route.path.startswith("/api/"):
            attempts = [{"json": {}}, {"json": {}, "headers": {CSRF_HEADER: token, **evil}}]
        else:
            attempts = [{"data": {"csrf_token": "forged"}}, {"data": {"csrf_token": token}, "headers": evil}]
        for options in attempts:
            response = pm_client.request(route.method, url, follow_redirects=False, **options)
            if response.status_code != 403:
                let_through.append(f"{route.method} {route.path}: {response.status_code}")
    assert not let_through, "changes that went past the CSRF check:\n" + "\n".join(let_through)
    assert len(audit_events(action="request.denied", actor_name=PM)) == 2 * len(changes)


def test_sign_in_page_refused_when_origin_foreign(anon_client: TestClient) -> None:
    form = {"username": PM, "password": PASSWORDS[PM]}
    response = anon_client.post("/sign-in", data=form, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


# ------------------------------------------------------------------------------------------- API tokens


def test_api_token_shown_once_and_works_as_bearer(pm_client: TestClient, new_client: NewClient) -> None:
    created = pm_client.post(TOKENS, json={"name": "release bot"})
    assert created.status_code == 201
    body = created.json()
    raw = body["token"]
    assert raw.startswith("lg_") and body["prefix"] == raw[:10] and body["revoked"] is False
    listed = pm_client.get(TOKENS)
    assert [t["name"] for t in listed.json()["items"]] == ["release bot"]
    assert "token" not in listed.json()["items"][0]
    assert raw not in listed.text
    me = new_client(headers={"Authorization": f"Bearer {raw}"}).get(ME)
    assert me.status_code == 200
    assert me.json()["user"]["username"] == PM
    assert me.json()["csrf_token"] is None


def test_api_token_refused_when_revoked(
    pm_client: TestClient, new_client: NewClient, audit_events: AuditEvents
) -> None:
    created = pm_client.post(TOKENS, json={"name": "release bot"}).json()
    bot = new_client(headers={"Authorization": f"Bearer {created['token']}"})
    assert bot.get(ME).status_code == 200
    revoked = pm_client.delete(f"{TOKENS}/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert bot.get(ME).status_code == 401
    assert pm_client.get(TOKENS).json()["items"][0]["revoked"] is True
    events = audit_events(actor_name=PM)
    assert [e.action for e in events if e.action.startswith("token.")] == ["token.created", "token.revoked"]
    assert created["token"] not in json.dumps([asdict(e) for e in events], default=str)


def test_api_token_of_other_user_not_found_when_revoked(
    pm_client: TestClient, support_client: TestClient
) -> None:
    created = pm_client.post(TOKENS, json={"name": "mine"}).json()
    assert support_client.delete(f"{TOKENS}/{created['id']}").status_code == 404
    assert pm_client.get(TOKENS).json()["items"][0]["revoked"] is False


def test_credentials_refused_when_user_disabled(
    pm_client: TestClient, admin_client: TestClient, new_client: NewClient, app: FastAPI
) -> None:
    raw = pm_client.post(TOKENS, json={"name": "bot"}).json()["token"]
    bot = new_client(headers={"Authorization": f"Bearer {raw}"})
    user_id = app.state.accounts.find_user(PM).id
    assert admin_client.patch(f"/api/v1/users/{user_id}", json={"active": False}).status_code == 200
    assert pm_client.get(ME).status_code == 401
    assert bot.get(ME).status_code == 401
    assert admin_client.patch(f"/api/v1/users/{user_id}", json={"active": True}).status_code == 200
    assert pm_client.get(ME).status_code == 401, "re-enabling does not bring old sessions back"
    assert bot.get(ME).status_code == 401, "nor old tokens"


def test_request_refused_when_authorization_header_is_not_valid_bearer(
    pm_client: TestClient,
) -> None:
    for header in ("Basic cGF0OnB3", "Bearer", "Bearer lg_not-a-real-token", "Bearer not-even-prefixed"):
        response = pm_client.get(ME, headers={"Authorization": header})
        assert response.status_code == 401, header  # the header wins over the session cookie
        assert response.headers["content-type"] == "application/problem+json"


# ------------------------------------------------------------------------------------------- headers


def test_security_headers_present_on_api_responses(pm_client: TestClient, anon_client: TestClient) -> None:
    responses = [
        pm_client.get("/api/v1/launches"),
        anon_client.get("/api/v1/launches"),
        pm_client.get("/api/v1/launches/no-such-launch"),
        anon_client.get("/healthz"),
    ]
    assert [r.status_code for r in responses] == [200, 401, 404, 200]
    for response in responses:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Request-ID"]


def test_request_id_echoed_when_client_sends_one(anon_client: TestClient) -> None:
    response = anon_client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert response.headers["X-Request-ID"] == "trace-42"


# ------------------------------------------------------------------------------------------- login CSRF


def _sign_in_form(client: TestClient) -> dict[str, str]:
    page = client.get("/sign-in")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the sign-in form has no pre-session token"
    return {"username": PM, "password": PASSWORDS[PM], "next": "/launches", "csrf_token": match.group(1)}


def test_sign_in_page_signs_in_when_form_carries_this_browsers_token(anon_client: TestClient) -> None:
    response = anon_client.post("/sign-in", data=_sign_in_form(anon_client), follow_redirects=False)
    assert response.status_code == 303
    assert SESSION_COOKIE in response.headers.get("set-cookie", "")


def test_sign_in_page_refused_when_token_missing_forged_or_from_another_browser(
    anon_client: TestClient, new_client: NewClient
) -> None:
    """Login CSRF: another site's form (no Origin header sent) cannot sign the victim in as the attacker."""
    attacker = _sign_in_form(new_client())  # a genuine token, but of the attacker's browser
    anon_client.get("/sign-in")  # the victim's browser holds its own token
    forged = [
        {k: v for k, v in attacker.items() if k != "csrf_token"},
        {**attacker, "csrf_token": "x" * 43},
        {**attacker, "csrf_token": "é" * 43},
        attacker,
    ]
    for form in forged:
        response = anon_client.post("/sign-in", data=form, follow_redirects=False)
        assert response.status_code == 403, form
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert "Please sign in again" in response.text
        assert 'name="csrf_token"' in response.text  # a fresh form to use
    assert anon_client.get("/api/v1/auth/me").status_code == 401


def test_csrf_header_refused_not_failed_when_token_has_non_ascii_characters(pm_client: TestClient) -> None:
    response = pm_client.post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers={CSRF_HEADER: ("é" * 43).encode()}
    )
    assert response.status_code == 403
