"""In-process API fixtures: the app on a fresh, migrated database (SQLite and PostgreSQL, from the `database`
fixture), seeded with the shipped diagram and the demo users, and TestClients signed in as each demo role.

Password hashing: production uses argon2id with argon2-cffi's defaults (~0.2 s per hash or check). These
fixtures swap in argon2id with the smallest cost for the duration of a test, so that every test can have a
fresh database and fresh sessions; `test_auth` checks the production parameters separately.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.authorization import Policy
from api.demo import DEMO_USERS, seed_demo
from api.security import CSRF_HEADER
from api.settings import Settings
from engine import AccountService, Actor, AuditEventView, Database, Role, WorkflowEngine
from engine.accounts import passwords as accounts_module
from engine.domain import SYSTEM_ACTOR

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS: dict[str, str] = {username: password for username, password, _, _ in DEMO_USERS}
USER_OF_ROLE: dict[Role, str] = {role: username for username, _, role, _ in DEMO_USERS}
OTHER_PM = "olga.pm"  # a second product manager: the owner of "someone else's launch"
OTHER_PM_PASSWORD = "olga-pm-password"
PASSWORDS[OTHER_PM] = OTHER_PM_PASSWORD


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    policies: tuple[Policy, ...]


def _policies(dependant: Dependant) -> Iterator[Policy]:
    for dependency in dependant.dependencies:
        policy = getattr(dependency.call, "policy", None)
        if isinstance(policy, Policy):
            yield policy
        yield from _policies(dependency)


def app_routes(app: FastAPI) -> tuple[list[RouteInfo], list[str]]:
    """(every method of every APIRoute with the policies its dependencies carry, the paths of every other
    route). Newer FastAPI keeps included routers as lazy entries of app.routes and lists their routes
    through `routing.iter_route_contexts`; older versions flatten them into app.routes."""
    contexts = getattr(routing, "iter_route_contexts", lambda routes: routes)(app.routes)
    api_routes: list[RouteInfo] = []
    others: list[str] = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        path = str(getattr(context, "path_format", None) or getattr(context, "path", repr(context)))
        if not isinstance(route, APIRoute):
            others.append(path)
            continue
        policies = tuple(_policies(context.dependant))
        api_routes.extend(RouteInfo(method, path, policies) for method in sorted(context.methods))
    return api_routes, others


class SignIn(Protocol):
    def __call__(
        self, username: str, password: str | None = None, *, base_url: str = ..., **client_options: Any
    ) -> TestClient: ...


@pytest.fixture
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at minimal cost (still argon2id, still salted and verified) for this test only; the hash
    that unknown users are checked against gets the same cost, as in production."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts_module, "_hasher", cheap)
    monkeypatch.setattr(
        accounts_module, "_DUMMY_HASH", cheap.hash("launch-gate-timing-equaliser"), raising=False
    )


@pytest.fixture
def app(db_url: str, database: Database, fast_password_hashing: None) -> FastAPI:
    """The API on a migrated database with the shipped diagram, the demo users (one per role), the demo
    launch of pat.pm, and a second PM (olga.pm) with no launch yet."""
    WorkflowEngine(database).sync_shipped_processes(ROOT / "bpmn")
    seed_demo(database, echo=lambda _line: None)
    AccountService(database).create_user(
        username=OTHER_PM,
        password=OTHER_PM_PASSWORD,
        roles=[Role.PM],
        display_name="Olga (Product Manager)",
        actor=SYSTEM_ACTOR,
    )
    return create_app(Settings(database_url=db_url), database=database)


@pytest.fixture
def app_engine(app: FastAPI) -> WorkflowEngine:
    engine: WorkflowEngine = app.state.engine
    return engine


@pytest.fixture
def app_accounts(app: FastAPI) -> AccountService:
    accounts: AccountService = app.state.accounts
    return accounts


@pytest.fixture
def audit_events(app_engine: WorkflowEngine) -> Callable[..., list[AuditEventView]]:
    """audit_events(action=..., launch_id=..., actor_name=...) -> the matching audit events, oldest first,
    read straight from the engine (no HTTP request, so nothing is added to the trail)."""
    reader = Actor("test.reader", frozenset({Role.AUDITOR}))

    def read(**filters: Any) -> list[AuditEventView]:
        return app_engine.audit_events(actor=reader, limit=10_000, **filters)

    return read


@pytest.fixture
def sign_in(app: FastAPI) -> Iterator[SignIn]:
    """sign_in(username[, password]) -> a TestClient holding that user's session cookie, with the session's
    CSRF token in its default headers. Clients are closed at the end of the test."""
    with ExitStack() as stack:

        def make(
            username: str,
            password: str | None = None,
            *,
            base_url: str = "http://testserver",
            **client_options: Any,
        ) -> TestClient:
            client = stack.enter_context(TestClient(app, base_url=base_url, **client_options))
            response = client.post(
                "/api/v1/auth/sign-in",
                json={"username": username, "password": password or PASSWORDS[username]},
            )
            assert response.status_code == 200, response.text
            client.headers[CSRF_HEADER] = response.json()["csrf_token"]
            return client

        yield make


@pytest.fixture
def new_client(app: FastAPI) -> Iterator[Callable[..., TestClient]]:
    """new_client(**TestClient options) -> an anonymous client, closed at the end of the test."""
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(TestClient(app, **options))


@pytest.fixture
def anon_client(new_client: Callable[..., TestClient]) -> TestClient:
    return new_client()


@pytest.fixture
def pm_client(sign_in: SignIn) -> TestClient:
    return sign_in(USER_OF_ROLE[Role.PM])


@pytest.fixture
def other_pm_client(sign_in: SignIn) -> TestClient:
    return sign_in(OTHER_PM)


@pytest.fixture
def support_client(sign_in: SignIn) -> TestClient:
    return sign_in(USER_OF_ROLE[Role.SUPPORT_LEAD])


@pytest.fixture
def manager_client(sign_in: SignIn) -> TestClient:
    return sign_in(USER_OF_ROLE[Role.SUPPORT_MANAGER])


@pytest.fixture
def auditor_client(sign_in: SignIn) -> TestClient:
    return sign_in(USER_OF_ROLE[Role.AUDITOR])


@pytest.fixture
def admin_client(sign_in: SignIn) -> TestClient:
    return sign_in(USER_OF_ROLE[Role.ADMIN])
