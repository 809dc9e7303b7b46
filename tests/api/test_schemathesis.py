"""Property-based API test: schemathesis fuzzes every operation of /openapi.json as a user holding every
role (Bearer token, so no CSRF). Requirements: no server errors, every response is documented (status code,
content type, headers, body schema), data the schema forbids is refused, and a read the schema allows is
answered. No operation is excluded. The audit exports (CSV, JSON lines) document their media type but no body
schema, so for them the status code and content type are what is checked.

The app runs in-process (ASGI) on a database (SQLite; PostgreSQL too when LAUNCHGATE_TEST_DATABASE_URL is
set) seeded with the demo data and a few launches. Path
parameters are sometimes swapped for ids that really exist, so the fuzzer reaches past the 404s into the
engine (forms, comments, assignment, user administration). Hypothesis runs derandomized with a bounded
number of examples per operation, so CI sees the same cases every run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from api.app import create_app
from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, seed_demo, start_demo_launch
from api.settings import Settings
from engine import SYSTEM_ACTOR, AccountService, Database, Role, WorkflowEngine, upgrade_to_head
from tests.api.conftest import app_routes
from tests.conftest import fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
FUZZER = "fuzz.all-roles"
FUZZER_PASSWORD = "fuzz-all-roles-password"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# The OpenAPI document does not depend on the data, so the schema (and with it one pytest test per
# operation) is loaded at import time from an app whose database is never used. Each request goes to the
# seeded app of the `live` fixture instead (`app=` below).
_UNUSED_URL = f"sqlite:///{Path(tempfile.gettempdir()) / 'launchgate-schema-only.db'}"  # never connected
_SCHEMA_APP = create_app(Settings(database_url=_UNUSED_URL))
schema = schemathesis.openapi.from_asgi("/openapi.json", _SCHEMA_APP)
# No NUL characters in generated strings: the API refuses them everywhere (PostgreSQL cannot store them), but
# the schema does not say so, which would make a GET with one a "valid request rejected". The refusal itself
# is tested below (test_nul_characters_are_refused).
schema.config.generation.update(allow_x00=False)
# The credentials are the fuzzer's own (Fuzzer.headers, a valid bearer token on every request): cases that
# fuzz the declared security schemes (Authorization, the session cookie) would be overridden by it.
schema.config.generation.update(with_security_parameters=False)
# Real ids per path parameter name, filled in by the `live` fixture before any case is generated.
REAL_IDS: dict[str, list[Any]] = {}


BACKENDS = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
    scope="module",
)


class Fuzzer:
    """The all-roles account. A fuzzed request may revoke its token, take away its roles or disable it
    (PATCH /users/{id}, DELETE /auth/tokens/{id} with a real id); `headers()` puts it back first, so every
    request reaches the route instead of stopping at 401/403."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.user = accounts.create_user(
            username=FUZZER, password=FUZZER_PASSWORD, roles=list(Role), actor=SYSTEM_ACTOR
        )
        self.token = self._new_token()

    def _new_token(self) -> str:
        _, raw = self.accounts.create_token(actor=self.user.actor(), name="schemathesis")
        return raw

    def headers(self) -> dict[str, str]:
        user = self.accounts.resolve_token(self.token)
        if user is None or set(user.roles) != set(Role):
            if user is None or not user.active:
                self.accounts.set_active(user_id=self.user.id, active=True, actor=SYSTEM_ACTOR)
            self.accounts.set_roles(user_id=self.user.id, roles=list(Role), actor=SYSTEM_ACTOR)
            if self.accounts.resolve_token(self.token) is None:
                self.token = self._new_token()
        return {"Authorization": f"Bearer {self.token}"}


def _seed(database: Database) -> WorkflowEngine:
    engine = WorkflowEngine(database)
    engine.sync_shipped_processes(ROOT / "bpmn")
    seed_demo(database, echo=lambda _: None)
    # A second launch a step further on: its review task (support) is open, the first draft is done.
    launch = start_demo_launch(engine, product_name="Fuzzed Widgets")
    draft = next(t for t in launch.open_tasks if t.bpmn_id == "draft_proposal")
    engine.complete_task(
        task_id=draft.id, data=demo_forms(launch.planned_launch_date)["draft_proposal"], actor=DEMO_PM
    )
    engine.add_comment(launch_id=launch.id, body="Looks fine so far.", actor=DEMO_SUPPORT)
    return engine


def _real_ids(engine: WorkflowEngine, accounts: AccountService, fuzzer: Fuzzer) -> dict[str, list[Any]]:
    launches = engine.list_launches(actor=SYSTEM_ACTOR).items
    tasks = engine.list_tasks(actor=SYSTEM_ACTOR, limit=200).items
    return {
        "launch_id": [v.id for v in launches],
        "task_id": [t.id for t in tasks],
        "user_id": [u.id for u in accounts.list_users(actor=SYSTEM_ACTOR)],
        "token_id": [t.id for t in accounts.list_tokens(actor=fuzzer.user.actor())],
    }


@schema.hook
def flatmap_path_parameters(_context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half the time (per parameter) use an id that exists, so cases get past the 404."""
    if not path_parameters:
        return st.just(path_parameters)
    chosen: dict[str, Any] = {}
    for name, value in path_parameters.items():
        pool = REAL_IDS.get(name) or []
        # Only replace a value of the right type: a deliberately invalid one (negative testing) stays.
        if pool and type(value) is type(pool[0]):
            chosen[name] = st.one_of(st.just(value), st.sampled_from(pool))
        else:
            chosen[name] = st.just(value)
    return st.fixed_dictionaries(chosen)


@dataclass
class Live:
    app: Any
    fuzzer: Fuzzer


@pytest.fixture(scope="module")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite, and PostgreSQL too when LAUNCHGATE_TEST_DATABASE_URL is set (as in tests/conftest.py, but one
    database for the whole module: the fuzzer's requests build on each other)."""
    with fresh_database_url(request.param, tmp_path_factory.mktemp("schemathesis")) as url:
        yield url


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[Live]:
    database = Database.from_url(database_url)
    upgrade_to_head(database.db_engine)
    engine = _seed(database)
    accounts = AccountService(database)
    fuzzer = Fuzzer(accounts)
    REAL_IDS.clear()
    REAL_IDS.update(_real_ids(engine, accounts, fuzzer))
    yield Live(create_app(Settings(database_url=database_url), database=database), fuzzer)
    REAL_IDS.clear()
    database.dispose()


@pytest.mark.slow
@BACKENDS
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case[Any], live: Live) -> None:
    # Reads have no rules beyond their schema, so a read the schema allows must not be refused (422); writes
    # may be (password rules, form data checked against the task's form, unknown assignee...).
    extra = [positive_data_acceptance] if case.method == "GET" else []
    case.call_and_validate(app=live.app, headers=live.fuzzer.headers(), checks=CHECKS + extra)


def test_every_api_route_is_an_operation_the_fuzzer_runs() -> None:
    """A JSON API route left out of the OpenAPI document (include_in_schema=False) would escape the fuzzer:
    the operations fuzzed above are exactly the app's routes under /api/ and the health checks."""
    api_routes, _ = app_routes(_SCHEMA_APP)
    routes = {(r.method, r.path) for r in api_routes if r.path.startswith(("/api/", "/healthz", "/readyz"))}
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    fuzzed = {(op.method.upper(), op.path) for op in operations}
    assert routes - fuzzed == set(), "API routes missing from the OpenAPI document"
    assert {"/api/v1/audit/launches/{launch_id}/bundle", "/api/v1/processes"} <= {p for _, p in fuzzed}


NUL_REQUESTS = [
    ("GET", "/api/v1/launches/a%00b", None, None),
    ("GET", "/api/v1/launches", {"q": "a\x00b"}, None),
    ("GET", "/api/v1/tasks", {"assignee": "a\x00b"}, None),
    ("GET", "/api/v1/audit/events", {"actor": "a\x00b"}, None),
    ("POST", "/api/v1/auth/tokens", None, {"name": "a\x00b"}),
    ("POST", "/api/v1/auth/sign-in", None, {"username": "a\x00b", "password": "x"}),
]


@pytest.mark.slow
@BACKENDS
@pytest.mark.parametrize(("method", "path", "params", "body"), NUL_REQUESTS)
def test_nul_characters_are_refused(
    live: Live, method: str, path: str, params: dict[str, str] | None, body: dict[str, str] | None
) -> None:
    """Regression: PostgreSQL cannot hold NUL in text, so these were 500s there. The fuzzer rarely sends NUL
    within its bounded examples, so the cases are spelled out (they run on every backend)."""
    with TestClient(live.app) as client:
        response = client.request(method, path, params=params, json=body, headers=live.fuzzer.headers())
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["errors"][0]["message"]
