"""The per-request HTTP layer: the policy decided in the route's own threadpool trip still comes before the
route's input, the security headers are on every response (also unexpected errors and static files), the
request id of the audit rows is the one the response echoes, and credentials are checked against the
database on every request (no cache: a revoked token, an expired or revoked session, a disabled user are
refused at once).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.authorization import AUTHORIZES_IN_THREADPOOL
from engine import AccountService, AuditEventView, Database, Role
from engine.clock import FixedClock
from engine.domain import SYSTEM_ACTOR
from tests.api.conftest import PASSWORDS

AuditEvents = Callable[..., list[AuditEventView]]
NewClient = Callable[..., TestClient]
LAUNCHES = "/api/v1/launches"
TASKS = "/api/v1/tasks"


def _routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    contexts = getattr(routing, "iter_route_contexts", lambda routes: routes)(app.routes)
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        path = str(getattr(context, "path_format", None) or getattr(route, "path", ""))
        if isinstance(route, APIRoute):
            found.append((path, route))
    return found


def _json_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    return [(p, r) for p, r in _routes(app) if p.startswith(("/api/", "/healthz", "/readyz"))]


def test_every_json_route_is_a_coroutine_when_app_built(app: FastAPI) -> None:
    """A plain `def` route costs FastAPI a second threadpool trip (the response validation); blocking
    routes are wrapped by api.authorization.in_threadpool instead."""
    routes = _json_routes(app)
    assert len(routes) > 30
    plain = [path for path, route in routes if not inspect.iscoroutinefunction(route.endpoint)]
    assert plain == []
    wrapped = {path for path, route in routes if getattr(route.endpoint, AUTHORIZES_IN_THREADPOOL, False)}
    assert {"/api/v1/tasks", "/api/v1/tasks/{task_id}/complete", "/api/v1/launches"} <= wrapped


def test_no_page_blocks_the_event_loop(app: FastAPI) -> None:
    """Pages call the engine and argon2 (sign-in): every page route is a plain function, which FastAPI runs
    in its threadpool, so one slow request never stalls the others; POST forms are read by the page's
    dependency on the event loop and handed over (api.web.auth.posted_form)."""
    json_paths = {p for p, _ in _json_routes(app)}
    pages = [route for path, route in _routes(app) if path not in json_paths]
    assert sum(1 for r in pages if "POST" in (r.methods or set())) >= 10
    assert [r.path for r in pages if inspect.iscoroutinefunction(r.endpoint)] == []


# ------------------------------------------------------------------------- the policy before the input


def test_policy_refusal_wins_over_invalid_body_when_authorization_is_deferred(
    anon_client: TestClient,
    new_client: NewClient,
    auditor_client: TestClient,
    pm_client: TestClient,
    audit_events: AuditEvents,
) -> None:
    invalid = {"product_name": "", "unknown": 1}
    assert anon_client.post(LAUNCHES, json=invalid).status_code == 401
    bogus = new_client(headers={"Authorization": "Bearer lg_not-a-real-token"})
    assert bogus.post(LAUNCHES, json=invalid).status_code == 401
    before = len(audit_events(action="request.denied"))
    refused = auditor_client.post(LAUNCHES, json=invalid)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    denied = audit_events(action="request.denied")
    assert len(denied) == before + 1
    assert denied[-1].actor == "ann.auditor"
    assert pm_client.post(LAUNCHES, json=invalid).status_code == 422


def test_policy_refusal_wins_over_invalid_query_and_missing_csrf_when_deferred(
    anon_client: TestClient, pm_client: TestClient, support_client: TestClient
) -> None:
    assert anon_client.get(TASKS, params={"limit": 0}).status_code == 401
    assert pm_client.get(TASKS, params={"limit": 0}).status_code == 422
    del support_client.headers["X-CSRF-Token"]
    no_csrf = support_client.post(f"{TASKS}/no-such-task/complete", json={"wrong": True})
    assert no_csrf.status_code == 403
    assert no_csrf.json()["type"].endswith("/csrf")


def test_deferred_caller_decided_once_when_route_refuses(
    auditor_client: TestClient, audit_events: AuditEvents
) -> None:
    """A valid request that the policy refuses: the refusal is decided (and audited) once, in the route's
    trip."""
    before = len(audit_events(action="request.denied"))
    body = {"product_name": "Nope", "summary": "s", "planned_launch_date": "2031-01-06"}
    assert auditor_client.post(LAUNCHES, json=body).status_code == 403
    assert len(audit_events(action="request.denied")) == before + 1


# ------------------------------------------------------------------------- headers and request id


def _assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Request-ID"]
    assert len(headers.get_list("X-Frame-Options")) == 1


def test_security_headers_present_on_static_files_and_unexpected_errors(
    app: FastAPI, pm_client: TestClient, new_client: NewClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = new_client().get("/static/app/app.css")
    assert static.status_code == 200
    _assert_security_headers(static)

    def broken(**_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.engine, "list_tasks", broken)
    quiet = new_client(raise_server_exceptions=False)
    quiet.cookies.update(pm_client.cookies)
    failed = quiet.get(TASKS)
    assert failed.status_code == 500
    assert "boom" not in failed.text
    _assert_security_headers(failed)


def test_request_id_of_audit_row_is_the_echoed_one_when_server_made_it(
    pm_client: TestClient, audit_events: AuditEvents
) -> None:
    launch_id = pm_client.get(LAUNCHES).json()["items"][0]["id"]
    response = pm_client.post(f"{LAUNCHES}/{launch_id}/comments", json={"body": "traced"})
    assert response.status_code == 201
    rid = response.headers["X-Request-ID"]
    assert len(rid) == 32
    commented = [e for e in audit_events(launch_id=launch_id) if e.request_id == rid]
    assert len(commented) == 1


def test_request_id_cut_to_100_characters_when_client_sends_long_one(anon_client: TestClient) -> None:
    response = anon_client.get("/healthz", headers={"X-Request-ID": "x" * 300})
    assert response.headers["X-Request-ID"] == "x" * 100


# ------------------------------------------------------------------------- credentials, every request


def test_session_refused_when_expired_or_revoked_and_token_when_revoked(database: Database) -> None:
    clock = FixedClock(datetime(2031, 3, 3, 9, 0, tzinfo=UTC))
    accounts = AccountService(database, clock=clock)
    user = accounts.create_user(
        username="kim.pm", password=PASSWORDS["pat.pm"], roles=[Role.PM], actor=SYSTEM_ACTOR
    )
    grant = accounts.sign_in(username="kim.pm", password=PASSWORDS["pat.pm"], client="test")
    session = accounts.resolve_session(grant.session_token)
    assert session is not None
    assert session.user == user
    assert session.csrf_token == grant.csrf_token
    assert session.expires_at == grant.expires_at
    assert accounts.resolve_session(grant.session_token + "x") is None
    assert accounts.resolve_session("") is None
    clock.advance(grant.expires_at - clock.now() - timedelta(seconds=1))
    assert accounts.resolve_session(grant.session_token) is not None
    clock.advance(timedelta(seconds=1))
    assert accounts.resolve_session(grant.session_token) is None, "expired"

    second = accounts.sign_in(username="kim.pm", password=PASSWORDS["pat.pm"], client="test")
    accounts.sign_out(second.session_token)
    assert accounts.resolve_session(second.session_token) is None, "revoked"

    view, raw = accounts.create_token(actor=user.actor(), name="bot")
    assert accounts.resolve_token(raw) == user
    assert accounts.resolve_token("lg_" + "x" * 40) is None
    assert accounts.resolve_token("no-prefix") is None
    accounts.revoke_token(token_id=view.id, actor=user.actor())
    assert accounts.resolve_token(raw) is None, "revoked"


def test_credentials_refused_when_user_disabled_in_another_process(database: Database) -> None:
    """Two AccountServices on two Database objects (two pools, as in two server processes): a change made
    through one is seen by the other's very next look-up."""
    admin = AccountService(database)
    other = AccountService(Database.from_url(database.url))
    try:
        root = admin.create_user(
            username="root.admin", password=PASSWORDS["pat.pm"], roles=[Role.ADMIN], actor=SYSTEM_ACTOR
        ).actor()
        user = admin.create_user(
            username="kim.pm", password=PASSWORDS["pat.pm"], roles=[Role.PM], actor=SYSTEM_ACTOR
        )
        _, raw = admin.create_token(actor=user.actor(), name="bot")
        grant = admin.sign_in(username="kim.pm", password=PASSWORDS["pat.pm"], client="test")
        assert other.resolve_token(raw) == user
        assert other.resolve_session(grant.session_token) is not None
        admin.set_roles(user_id=user.id, roles=[Role.PM, Role.AUDITOR], actor=root)
        resolved = other.resolve_token(raw)
        assert resolved is not None and resolved.roles == frozenset({Role.PM, Role.AUDITOR})
        admin.set_active(user_id=user.id, active=False, actor=root)
        assert other.resolve_token(raw) is None
        assert other.resolve_session(grant.session_token) is None
    finally:
        other.db.dispose()
