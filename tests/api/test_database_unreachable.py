"""The database out of reach is "try again in a moment" (503 with Retry-After), never a 500: PostgreSQL
refusing connections (a closed port, a database that does not exist) for a page, a signed-in API route and
/readyz, and a SQLite database locked by another writer past the busy timeout for a command."""

from __future__ import annotations

import logging
import socket
import sqlite3
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from api.settings import Settings
from engine import Database, Role
from tests.api.conftest import PASSWORDS, USER_OF_ROLE


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens on it once the probe is closed


@pytest.fixture(params=["closed-port", "no-such-database"])
def unreachable_client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    if request.param == "closed-port":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/launchgate"
    else:
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/launchgate_no_such_database"
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as client:
        yield client


def _assert_unavailable(response: object, *, json: bool) -> None:
    assert hasattr(response, "status_code") and hasattr(response, "headers")
    assert response.status_code == 503, getattr(response, "text", "")[:300]
    assert int(response.headers["retry-after"]) > 0
    if json:
        assert response.headers["content-type"].startswith("application/problem+json")


def test_unreachable_postgresql_answers_503_on_pages_api_and_readiness(
    unreachable_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    session = {"lg_session": "s" * 43}
    unreachable_client.cookies.update(session)
    page = unreachable_client.get("/launches")
    _assert_unavailable(page, json=False)
    assert page.headers["content-type"].startswith("text/html")
    assert "try again" in page.text.lower()

    unreachable_client.cookies.clear()
    bearer = {"Authorization": "Bearer lg_" + "t" * 43}
    for method, path in (
        ("GET", "/api/v1/launches"),
        ("GET", "/api/v1/auth/me"),
        ("POST", "/api/v1/launches"),
    ):
        answer = unreachable_client.request(method, path, headers=bearer, json={})
        _assert_unavailable(answer, json=True)
        assert answer.json()["type"].endswith("/unavailable")
    signing_in = unreachable_client.post("/api/v1/auth/sign-in", json={"username": "pat.pm", "password": "x"})
    _assert_unavailable(signing_in, json=True)

    ready = unreachable_client.get("/readyz")
    _assert_unavailable(ready, json=False)
    assert ready.json()["status"] == "unavailable"
    assert "database unreachable" in ready.json()["detail"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings  # one line for the outage, not one per request or retry
    assert warnings[0].startswith("database unavailable: ")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_locked_by_another_writer_answers_503_to_a_command(app: FastAPI, db_url: str) -> None:
    impatient = Database.from_url(db_url, busy_timeout_s=0.2)
    with TestClient(
        create_app(Settings(database_url=db_url), database=impatient), raise_server_exceptions=False
    ) as client:
        username = USER_OF_ROLE[Role.PM]
        signed_in = client.post(
            "/api/v1/auth/sign-in", json={"username": username, "password": PASSWORDS[username]}
        )
        assert signed_in.status_code == 200, signed_in.text
        client.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        body = {"product_name": "Locked", "summary": "Busy.", "planned_launch_date": "2031-08-04"}

        writer = sqlite3.connect(str(make_url(db_url).database), isolation_level=None)
        try:
            writer.execute("BEGIN EXCLUSIVE")
            locked = client.post("/api/v1/launches", json=body)
            _assert_unavailable(locked, json=True)
            assert "busy" in locked.json()["detail"]
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert client.post("/api/v1/launches", json=body).status_code == 201
        assert [launch["product_name"] for launch in client.get("/api/v1/launches").json()["items"]].count(
            "Locked"
        ) == 1
    impatient.dispose()
