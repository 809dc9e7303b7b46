"""Property-based API test: schemathesis fuzzes every operation of /openapi.json as a user holding every
role (Bearer token, so no CSRF). Requirements: no server errors, every response is documented (status code,
content type, headers, body schema), and data the schema forbids is refused.

The app runs in-process (ASGI) on a SQLite database seeded with the demo data and a few launches. Path
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
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, seed_demo, start_demo_launch
from api.settings import Settings
from engine import SYSTEM_ACTOR, AccountService, Database, Role, WorkflowEngine, upgrade_to_head

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
# operation) is loaded at import time from an app on an unused in-memory database. Each request goes to the
# seeded app of the `live` fixture instead (`app=` below).
_UNUSED_URL = f"sqlite:///{Path(tempfile.gettempdir()) / 'launchgate-schema-only.db'}"  # never connected
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(database_url=_UNUSED_URL)))
# Real ids per path parameter name, filled in by the `live` fixture before any case is generated.
REAL_IDS: dict[str, list[Any]] = {}


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


def _real_ids(engine: WorkflowEngine, accounts: AccountService) -> dict[str, list[Any]]:
    launches = engine.list_launches(actor=SYSTEM_ACTOR).items
    tasks = engine.list_tasks(actor=SYSTEM_ACTOR, limit=200).items
    admin = next(u for u in accounts.list_users(actor=SYSTEM_ACTOR) if Role.ADMIN in u.roles)
    return {
        "launch_id": [v.id for v in launches],
        "task_id": [t.id for t in tasks],
        "user_id": [u.id for u in accounts.list_users(actor=SYSTEM_ACTOR)],
        "token_id": [t.id for t in accounts.list_tokens(actor=admin.actor())] + [1, 2],
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
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'launchgate.db'}"
    database = Database.from_url(url)
    upgrade_to_head(database.db_engine)
    engine = _seed(database)
    accounts = AccountService(database)
    fuzzer = Fuzzer(accounts)
    REAL_IDS.update(_real_ids(engine, accounts))
    yield Live(create_app(Settings(database_url=url), database=database), fuzzer)
    REAL_IDS.clear()
    database.dispose()


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, live: Live) -> None:
    case.call_and_validate(app=live.app, headers=live.fuzzer.headers(), checks=CHECKS)
