"""/openapi.json as a client generator and Swagger read it: readable operationIds by one rule, the bearer
token and the session cookie as security schemes on every route that needs a caller, per route only the
error statuses that route can answer with, standard JSON Schema keywords, readable model names. And a
client generated from it with openapi-python-client drives a launch against a live server."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.live_server import PASSWORDS, running_servers
from tests.engine import driver

DOCUMENT: dict[str, Any] = create_app(
    Settings(_env_file=None, database_url="sqlite:////nonexistent/unused.db")
).openapi()
OPERATIONS = {
    (method, path): operation
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
}
START = {"product_name": "Generated", "summary": "From a client.", "planned_launch_date": "2030-06-01"}
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("post", "/api/v1/auth/sign-in")}
PYDANTIC_ONLY_KEYWORDS = {"ge", "le", "gt", "lt", "min_length", "max_length", "regex", "multiple_of"}


def _by_id(operation_id: str) -> tuple[str, str]:
    [found] = [key for key, op in OPERATIONS.items() if op["operationId"] == operation_id]
    return found


def test_operation_ids_follow_one_readable_rule() -> None:
    ids = [op["operationId"] for op in OPERATIONS.values()]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)+", i) for i in ids), ids
    assert _by_id("launches-start") == ("post", "/api/v1/launches")
    assert _by_id("launches-list") == ("get", "/api/v1/launches")
    assert _by_id("launches-get") == ("get", "/api/v1/launches/{launch_id}")
    assert _by_id("tasks-complete") == ("post", "/api/v1/tasks/{task_id}/complete")
    assert _by_id("tasks-inbox") == ("get", "/api/v1/tasks/inbox")
    assert _by_id("auth-sign-in") == ("post", "/api/v1/auth/sign-in")
    assert _by_id("auth-sign-out") == ("post", "/api/v1/auth/sign-out")
    assert _by_id("processes-deploy") == ("post", "/api/v1/processes")
    assert _by_id("users-reset-password") == ("post", "/api/v1/users/{user_id}/password")


def test_bearer_and_cookie_schemes_are_declared_and_applied_to_every_route_that_needs_a_caller() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]

    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"] == {
        **schemes["sessionCookie"],
        "type": "apiKey",
        "in": "cookie",
        "name": "lg_session",
    }
    for key, operation in OPERATIONS.items():
        if key in PUBLIC:
            assert "security" not in operation, key
            assert "403" not in operation["responses"], key
        else:
            assert operation["security"] == [{"bearerAuth": []}, {"sessionCookie": []}], key
            assert {"401", "403"} <= set(operation["responses"]), key


def test_each_route_lists_only_the_errors_it_can_answer_with() -> None:
    def statuses(method: str, path: str) -> set[str]:
        return {code for code in OPERATIONS[(method, path)]["responses"] if code.startswith("4")}

    assert statuses("get", "/healthz") == set()
    assert statuses("get", "/api/v1/audit/verify") == {"401", "403"}  # no id, no input, no conflict
    assert statuses("get", "/api/v1/users") == {"401", "403", "422"}  # paging: offset, limit
    assert statuses("get", "/api/v1/launches") == {"401", "403", "422"}
    assert statuses("get", "/api/v1/launches/{launch_id}") == {"401", "403", "404", "422"}
    assert statuses("post", "/api/v1/tasks/{task_id}/complete") == {
        "400", "401", "403", "404", "409", "412", "422"
    }  # fmt: skip
    assert statuses("post", "/api/v1/auth/sign-in") == {"400", "401", "422", "429"}
    for operation in OPERATIONS.values():
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                assert list(response["content"]) == ["application/problem+json"]


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def test_only_standard_json_schema_keywords_and_readable_model_names() -> None:
    names = set(DOCUMENT["components"]["schemas"])
    for schema in _schemas(DOCUMENT["components"]["schemas"]):
        assert not PYDANTIC_ONLY_KEYWORDS & set(schema), schema
    for operation in OPERATIONS.values():
        for parameter in operation.get("parameters", []):
            assert not PYDANTIC_ONLY_KEYWORDS & set(parameter["schema"]), parameter
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in names), sorted(names)
    assert {"LaunchPageRead", "TaskPageRead", "ProcessesDeployUpload"} <= names
    limit = next(p for p in OPERATIONS[("get", "/api/v1/launches")]["parameters"] if p["name"] == "limit")
    [number] = [o for o in limit["schema"]["anyOf"] if o.get("type") == "integer"]  # or null, or empty
    assert (number["minimum"], number["maximum"]) == (1, 200)


# ------------------------------------------------------------------------------ a generated client


@pytest.fixture
def generated_client(tmp_path: Path) -> Iterator[Any]:
    """A Python client generated from the app's document by openapi-python-client, importable."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(DOCUMENT))
    generator = Path(sys.executable).with_name("openapi-python-client")
    subprocess.run(
        [str(generator), "generate", "--path", str(spec), "--output-path", str(tmp_path / "client"),
         "--meta", "none"],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("client")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "client" or m.startswith("client.")]:
            del sys.modules[name]


@pytest.mark.slow
def test_a_generated_client_starts_lists_and_completes(
    generated_client: Any, db_url: str, tmp_path: Path
) -> None:
    def operation(module: str) -> Any:
        return importlib.import_module(f"client.api.{module}")

    models = importlib.import_module("client.models")
    sign_in, create_token = operation("sign_in.auth_sign_in"), operation("sign_in.auth_create_token")
    start, listing = operation("launches.launches_start"), operation("launches.launches_list")
    complete = operation("tasks.tasks_complete")
    with running_servers(db_url, tmp_path / "logs", prepare=True) as [server]:
        anonymous = generated_client.Client(base_url=server.url)
        session = sign_in.sync(
            client=anonymous, body=models.SignInCreate(username="pat.pm", password=PASSWORDS["pat.pm"])
        )
        assert isinstance(session, models.SessionRead), session
        token = create_token.sync(
            client=generated_client.Client(
                base_url=server.url,
                cookies=dict(anonymous.get_httpx_client().cookies),
                headers={"X-CSRF-Token": session.csrf_token},
            ),
            body=models.TokenCreate(name="generated client"),
        )
        pm = generated_client.AuthenticatedClient(base_url=server.url, token=token.token)

        started = start.sync(
            client=pm,
            body=models.LaunchesStartBody.from_dict(
                {
                    "product_name": "Generated",
                    "summary": "From a client.",
                    "planned_launch_date": "2030-06-01",
                }
            ),
        )
        listed = listing.sync(client=pm, limit=10)
        [draft] = [t for t in started.open_tasks if t.bpmn_id == "draft_proposal"]
        completed = complete.sync_detailed(
            task_id=draft.id,
            client=pm,
            body=models.TaskComplete.from_dict({"data": driver.form("draft_proposal")}),
        )

    assert isinstance(started, models.LaunchRead) and started.product_name == "Generated"
    assert isinstance(listed, models.LaunchPageRead)
    assert started.id in [item.id for item in listed.items]
    assert (listed.offset, listed.limit) == (0, 10)
    assert completed.status_code == 200
    assert isinstance(completed.parsed, models.LaunchRead)
    assert [t.bpmn_id for t in completed.parsed.open_tasks] == ["review_proposal"]
    assert completed.headers["etag"] == f'"{completed.parsed.version}"'
