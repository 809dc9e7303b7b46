"""RELIABILITY G2/G3 against a real server process killed with SIGKILL in the middle of a command.

The server runs with LAUNCHGATE_FAULT_INJECTION, which stops the request thread at a chosen point and drops
a marker file: `before_write` (the workflow step is done in memory, nothing written yet) or `after_commit`
(committed, the client has not heard). The test waits for the marker, kills the process with kill -9 (no
shutdown, no rollback handlers), starts a normal server on the same database and checks what the client
finds: before the commit nothing persisted and a retry succeeds exactly once; after the commit the change
is there exactly once and a retry of the completion is refused. The client's own request never gets an
answer. The audit chain verifies afterwards. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live_server import (
    LiveServer,
    UserClient,
    forms_for,
    from_inbox,
    launch_start_data,
    open_ids,
    start_server,
    wait_for_file,
)

pytestmark = pytest.mark.slow  # live server processes

PM, AUDITOR = "pat.pm", "ann.auditor"
PRODUCT = "Crash Test Dummies"


@dataclass
class Crash:
    """A database, a server with a fault injected, and (after `kill_and_restart`) a normal server."""

    db_url: str
    log_dir: Path
    fault: str
    server: LiveServer
    pm: UserClient
    auditor: UserClient | None = None

    def send_and_kill(self, send: Callable[[], httpx.Response]) -> None:
        """Send the request in the background, wait until the server stops at the fault, kill -9 it,
        and check the client got no answer."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: Future[httpx.Response] = pool.submit(send)
            wait_for_file(self.log_dir / self.fault.replace(":", "-"), server=self.server)
            self.server.kill()
            with pytest.raises(httpx.TransportError):
                pending.result(timeout=30)
        assert self.server.process.returncode == -9

    def restart(self) -> LiveServer:
        """A normal server on the same database; the PM keeps their session (it is stored)."""
        self.server = start_server(self.db_url, self.log_dir, name="restarted")
        self.pm.point_to([self.server])
        self.auditor = UserClient.signed_in(AUDITOR, [self.server])
        return self.server

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        assert self.auditor is not None
        return self.auditor.all_items("/audit/events", params)

    def assert_chain_verifies(self) -> None:
        assert self.auditor is not None
        verified = self.auditor.get("/audit/verify")
        assert verified["ok"] is True, verified


@pytest.fixture
def crash(fault: str, db_url: str, tmp_path: Path) -> Iterator[Crash]:
    """A server with the test's `fault` injected, on a fresh seeded database, and the PM signed in."""
    log_dir = tmp_path / "logs"
    server = start_server(db_url, log_dir, fault=fault, name="faulty", prepare=True)
    state = Crash(db_url, log_dir, fault, server, UserClient.signed_in(PM, [server], timeout=60.0))
    try:
        yield state
    finally:
        state.server.stop()
        server.stop()
        state.pm.close()
        if state.auditor is not None:
            state.auditor.close()


def seeded_draft(pm: UserClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo launch's first task (seeded) and the launch."""
    [summary] = pm.get("/launches")["items"]
    launch: dict[str, Any] = pm.get(f"/launches/{summary['id']}")
    return from_inbox(pm, launch["id"], "draft_proposal"), launch


def complete(pm: UserClient, task: dict[str, Any], launch: dict[str, Any]) -> httpx.Response:
    data = forms_for(launch)["draft_proposal"]
    return pm.request("POST", f"/tasks/{task['id']}/complete", json={"data": data})


@pytest.mark.parametrize("fault", ["before_write:complete_task"])
def test_completion_leaves_no_trace_and_retry_succeeds_once_when_killed_before_commit(crash: Crash) -> None:
    task, launch = seeded_draft(crash.pm)

    crash.send_and_kill(lambda: complete(crash.pm, task, launch))
    crash.restart()

    after = crash.pm.get(f"/launches/{launch['id']}")
    assert after["version"] == launch["version"]
    assert open_ids(after) == {"draft_proposal"}
    assert crash.pm.get(f"/tasks/{task['id']}")["status"] == "ready"
    assert crash.audit(launch_id=launch["id"], action="task.completed") == []
    crash.assert_chain_verifies()

    retried = complete(crash.pm, task, launch)
    assert retried.status_code == 200, retried.text
    assert open_ids(retried.json()) == {"review_proposal"}
    again = complete(crash.pm, task, launch)
    assert again.status_code == 409, again.text
    assert len(crash.audit(launch_id=launch["id"], action="task.completed")) == 1
    assert crash.pm.get(f"/launches/{launch['id']}")["version"] == launch["version"] + 1
    crash.assert_chain_verifies()


@pytest.mark.parametrize("fault", ["after_commit:complete_task"])
def test_completion_is_kept_once_and_retry_conflicts_when_killed_after_commit(crash: Crash) -> None:
    task, launch = seeded_draft(crash.pm)

    crash.send_and_kill(lambda: complete(crash.pm, task, launch))
    crash.restart()

    after = crash.pm.get(f"/launches/{launch['id']}")
    assert after["version"] == launch["version"] + 1
    assert open_ids(after) == {"review_proposal"}
    stored = crash.pm.get(f"/tasks/{task['id']}")
    assert (stored["status"], stored["completed_by"]) == ("completed", PM)
    [event] = crash.audit(launch_id=launch["id"], action="task.completed")
    assert event["task_id"] == task["id"]
    crash.assert_chain_verifies()

    retried = complete(crash.pm, task, launch)
    assert retried.status_code == 409, retried.text
    assert retried.json()["type"].endswith("/conflict")
    assert len(crash.audit(launch_id=launch["id"], action="task.completed")) == 1
    assert crash.pm.get(f"/launches/{launch['id']}")["version"] == launch["version"] + 1
    crash.assert_chain_verifies()


def launches_named(pm: UserClient, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = pm.get("/launches", params={"q": name})["items"]
    return items


@pytest.mark.parametrize("fault", ["before_write:start_launch"])
def test_launch_start_leaves_nothing_and_retry_creates_one_when_killed_before_commit(crash: Crash) -> None:
    body = launch_start_data(PRODUCT)

    crash.send_and_kill(lambda: crash.pm.request("POST", "/launches", json=body))
    crash.restart()

    assert launches_named(crash.pm, PRODUCT) == []
    started = crash.audit(action="launch.started")
    assert [e["after"]["product_name"] for e in started] == ["Smart Invoices"]  # the seeded demo launch
    crash.assert_chain_verifies()

    retried = crash.pm.post("/launches", json=body, expect=201)
    [listed] = launches_named(crash.pm, PRODUCT)
    assert listed["id"] == retried["id"]
    assert len(crash.audit(action="launch.started")) == 2
    crash.assert_chain_verifies()


@pytest.mark.parametrize("fault", ["after_commit:start_launch"])
def test_launch_start_is_kept_whole_once_when_killed_after_commit(crash: Crash) -> None:
    body = launch_start_data(PRODUCT)

    crash.send_and_kill(lambda: crash.pm.request("POST", "/launches", json=body))
    crash.restart()

    [listed] = launches_named(crash.pm, PRODUCT)  # the client never got its 201; it finds the launch
    launch = crash.pm.get(f"/launches/{listed['id']}")
    assert launch["status"] == "active"
    assert launch["version"] == 1
    assert open_ids(launch) == {"draft_proposal"}
    assert [g["status"] for g in launch["gate"]] == ["open"] * 4
    assert len(launch["blockers"]) == 4
    [event] = crash.audit(launch_id=launch["id"], action="launch.started")
    assert event["after"]["product_name"] == PRODUCT
    assert from_inbox(crash.pm, launch["id"], "draft_proposal")["launch_id"] == launch["id"]
    crash.assert_chain_verifies()
