"""PostgreSQL connections ended under the app (pg_terminate_backend: what a database restart or an
administrator does), between requests and in the middle of one. A read (page or API) answers 200: the
pool replaces a dead idle connection, and a GET whose connection died under it runs once more. A command
whose connection died before its commit is run again by the command runner (200, applied once); one whose
connection died during its commit answers 503 with Retry-After, never 500, and nothing of it is written.
PostgreSQL only."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text

from engine import AuditEventView, WorkflowEngine

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]

READS = ("/api/v1/launches", "/api/v1/tasks/inbox", "/launches", "/inbox", "/api/v1/auth/me")


class Terminator:
    """Ends PostgreSQL backends of the app's pool from a connection of its own, waiting until each is gone:
    all of them (`end_pool`), or the one a statement or a commit is about to use (`arm`)."""

    def __init__(self, db_url: str, app_db: Engine) -> None:
        self.admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
        self.app_db = app_db
        self.pids: set[int] = set()
        self.armed: tuple[str, Callable[[str], bool]] | None = None
        self.fired = 0
        event.listen(app_db, "connect", self._on_connect)
        event.listen(app_db, "before_cursor_execute", self._on_statement)
        event.listen(app_db, "commit", self._on_commit)
        app_db.pool.dispose()  # from now on every connection of the app is seen connecting

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        self.pids.add(int(dbapi_connection.info.backend_pid))

    def _pid(self, connection: Any) -> int:
        return int(connection.connection.dbapi_connection.info.backend_pid)

    def _on_statement(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.armed and self.armed[0] == "statement" and self.armed[1](statement):
            self.armed = None
            self.end(self._pid(connection))

    def _on_commit(self, connection: Any) -> None:
        if self.armed and self.armed[0] == "commit":
            self.armed = None
            self.end(self._pid(connection))

    def arm(self, when: str, matches: Callable[[str], bool] = lambda _sql: True) -> None:
        self.armed = (when, matches)

    def end(self, pid: int) -> None:
        with self.admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        self.fired += 1

    def end_pool(self) -> int:
        with self.admin.connect() as connection:
            alive = [
                pid
                for pid in self.pids
                if connection.execute(
                    text("SELECT 1 FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                ).first()
            ]
        for pid in alive:
            self.end(pid)
        return len(alive)

    def close(self) -> None:
        self.admin.dispose()


@pytest.fixture
def terminator(db_url: str, app_engine: WorkflowEngine) -> Iterator[Terminator]:
    found = Terminator(db_url, app_engine.db.db_engine)
    yield found
    found.close()


def _task(client: TestClient) -> dict[str, Any]:
    inbox = client.get("/api/v1/tasks/inbox").json()["items"]
    tasks: list[dict[str, Any]] = [t for t in inbox if t["bpmn_id"] == "draft_proposal"]
    return tasks[0]


def _version(client: TestClient, launch_id: str) -> int:
    return int(client.get(f"/api/v1/launches/{launch_id}").json()["version"])


def test_reads_answer_200_when_every_pooled_connection_was_ended_between_requests(
    pm_client: TestClient, terminator: Terminator
) -> None:
    for _ in range(3):
        for path in READS:
            assert pm_client.get(path).status_code == 200, path
        assert terminator.end_pool() > 0
    for path in READS:
        response = pm_client.get(path)
        assert response.status_code == 200, (path, response.text[:300])


def test_read_runs_again_when_its_connection_is_ended_under_it(
    pm_client: TestClient, terminator: Terminator
) -> None:
    for path in ("/api/v1/launches", "/launches", "/api/v1/tasks/inbox"):
        terminator.arm("statement")
        response = pm_client.get(path)
        assert terminator.armed is None, "the fault did not fire"
        assert response.status_code == 200, (path, response.text[:300])


def test_command_applied_once_when_its_connection_is_ended_before_commit(
    pm_client: TestClient, terminator: Terminator, audit_events: Callable[..., list[AuditEventView]]
) -> None:
    task = _task(pm_client)
    assert pm_client.post(f"/api/v1/tasks/{task['id']}/release").status_code == 200
    version = _version(pm_client, task["launch_id"])
    terminator.arm("statement", lambda sql: sql.lstrip().upper().startswith("UPDATE LAUNCH"))
    response = pm_client.post(f"/api/v1/tasks/{task['id']}/claim")
    assert terminator.armed is None, "the fault did not fire"
    assert response.status_code == 200, response.text
    assert _version(pm_client, task["launch_id"]) == version + 1
    claims = [e for e in audit_events(action="task.claimed") if e.task_id == task["id"]]
    assert len(claims) == 1


def test_command_answers_503_and_writes_nothing_when_its_connection_is_ended_at_commit(
    pm_client: TestClient, terminator: Terminator, audit_events: Callable[..., list[AuditEventView]]
) -> None:
    task = _task(pm_client)
    assert pm_client.post(f"/api/v1/tasks/{task['id']}/release").status_code == 200
    version = _version(pm_client, task["launch_id"])
    events = len(audit_events())

    terminator.arm("commit")
    response = pm_client.post(f"/api/v1/tasks/{task['id']}/claim")
    assert terminator.armed is None, "the fault did not fire"
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0
    assert "Idempotency-Key" in response.json()["detail"]

    assert _version(pm_client, task["launch_id"]) == version  # the commit never reached the server
    assert len(audit_events()) == events
    assert pm_client.get(f"/api/v1/tasks/{task['id']}").json()["assignee"] is None
    again = pm_client.post(f"/api/v1/tasks/{task['id']}/claim")  # the retry the 503 asks for
    assert again.status_code == 200
    assert len([e for e in audit_events(action="task.claimed") if e.task_id == task["id"]]) == 1


def test_page_change_answers_503_page_when_its_connection_is_ended_at_commit(
    pm_client: TestClient, terminator: Terminator
) -> None:
    task = _task(pm_client)
    terminator.arm("commit")
    response = pm_client.post(
        f"/tasks/{task['id']}",
        data={"csrf_token": pm_client.headers["X-CSRF-Token"], "action": "save_draft"},
        follow_redirects=False,
    )
    assert terminator.armed is None, "the fault did not fire"
    assert response.status_code == 503, response.text[:300]
    assert "try again" in response.text.lower()


def test_many_requests_never_answer_500_when_backends_are_ended_while_they_run(
    app: FastAPI, pm_client: TestClient, terminator: Terminator
) -> None:
    task = _task(pm_client)
    seen: dict[int, int] = {}
    for round_ in range(12):
        if round_ % 3 == 0:
            terminator.arm("statement")
        elif round_ % 3 == 1:
            terminator.arm("commit")
        for path in ("/api/v1/launches", "/launches"):
            code = pm_client.get(path).status_code
            seen[code] = seen.get(code, 0) + 1
        for action in ("release", "claim"):
            code = pm_client.post(f"/api/v1/tasks/{task['id']}/{action}").status_code
            seen[code] = seen.get(code, 0) + 1
        time.sleep(0.01)
    print(f"\nstatus codes with backends ended under requests: {dict(sorted(seen.items()))}")
    assert set(seen) <= {200, 503}, seen
    assert terminator.fired >= 8
