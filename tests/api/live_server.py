"""Real Launch Gate servers for HTTP tests: uvicorn processes on loopback, on a database of the test's own.

`prepare_database(url)` migrates a fresh database, deploys the shipped diagrams and seeds the demo users
(and the demo launch). `running_servers(url, log_dir, count=2)` starts that many separate uvicorn
processes on ports of 127.0.0.1 nobody else has (each is handed a socket this process bound to port 0, so
parallel test processes never race for a port), all on the same database, waits until each answers
/readyz, and stops them afterwards whatever happened. Each server's output goes to a log file whose tail is
shown when a server misbehaves. `LiveServer.kill()` is kill -9.

`UserClient` is a demo user as a program meets the API: signed in with a password (session cookie, the
CSRF token sent on every change) or with a personal API token (Bearer). A client given several servers
sends its requests to each in turn, so every step of a test exercises them all.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from api.demo import DEMO_USERS, demo_forms, seed_demo
from engine import Database, WorkflowEngine, upgrade_to_head
from engine.accounts import passwords as accounts_module
from tests.ports import LOOPBACK, listening_socket, port_of

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
API = "/api/v1"
READY_TIMEOUT = 120.0  # an upper bound on a slow, shared machine; never an assertion on time
PASSWORDS = {username: password for username, password, _, _ in DEMO_USERS}


def prepare_database(url: str, *, fast_hashing: bool = True) -> None:
    """Migrate to head, deploy bpmn/ and seed the demo data: what `launchgate db migrate` and
    `launchgate seed` do, in-process (the command line would pay the import time twice).

    With `fast_hashing` the demo passwords are hashed with argon2id at minimal cost; the servers verify a
    hash with the parameters stored in it, so signing in is cheap too (still argon2id, salted, verified)."""
    database = Database.from_url(url)
    hasher = accounts_module._hasher
    if fast_hashing:
        accounts_module._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        upgrade_to_head(database.db_engine)
        WorkflowEngine(database).sync_shipped_processes(BPMN_DIR)
        seed_demo(database, echo=lambda _line: None)
    finally:
        accounts_module._hasher = hasher
        database.dispose()


@dataclass
class LiveServer:
    """One uvicorn process serving api.app on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as probe:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"server on port {self.port} exited with {self.process.returncode}:\n"
                        + self.log_tail()
                    )
                try:
                    if probe.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"server on port {self.port} not ready after {timeout} s:\n" + self.log_tail())

    def kill(self) -> None:
        """kill -9: no shutdown handlers, no rollback, no flush."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def _spawn(database_url: str, log_dir: Path, *, fault: str, marker_dir: Path | None, name: str) -> LiveServer:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHGATE_")}
    env["LAUNCHGATE_DATABASE_URL"] = database_url
    if fault:
        env["LAUNCHGATE_FAULT_INJECTION"] = fault
        env["LAUNCHGATE_FAULT_MARKER_DIR"] = str(marker_dir or log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    with listening_socket() as sock:  # ours until the server takes it over: no other process can bind it
        port = port_of(sock)
        log_path = log_dir / f"{name}-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.app:app_from_environment",
                    "--factory",
                    "--fd",
                    str(sock.fileno()),
                    "--log-level",
                    "warning",
                ],
                cwd=log_dir,  # not the repo root: a developer's .env stays out of test servers
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(sock.fileno(),),
            )
    return LiveServer(process, port, log_path)


def start_servers(
    database_url: str,
    log_dir: Path,
    *,
    count: int = 1,
    fault: str = "",
    marker_dir: Path | None = None,
    name: str = "server",
    prepare: bool = False,
) -> list[LiveServer]:
    """Start `count` separate server processes (in parallel) and wait until each is ready. `fault` is
    LAUNCHGATE_FAULT_INJECTION ('before_write:complete_task', 'after_commit:start_launch', ...). With
    `prepare`, the database is migrated and seeded while the servers import (they touch it only once
    asked, and readiness is polled afterwards)."""
    servers = [
        _spawn(database_url, log_dir, fault=fault, marker_dir=marker_dir, name=f"{name}{i}")
        for i in range(count)
    ]
    try:
        if prepare:
            prepare_database(database_url)
        for server in servers:
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def start_server(
    database_url: str,
    log_dir: Path,
    *,
    fault: str = "",
    marker_dir: Path | None = None,
    name: str = "server",
    prepare: bool = False,
) -> LiveServer:
    """One server process, ready."""
    [server] = start_servers(
        database_url, log_dir, fault=fault, marker_dir=marker_dir, name=name, prepare=prepare
    )
    return server


@contextmanager
def running_servers(
    database_url: str,
    log_dir: Path,
    *,
    count: int = 1,
    fault: str = "",
    marker_dir: Path | None = None,
    prepare: bool = False,
) -> Iterator[list[LiveServer]]:
    """`count` separate server processes on one database; all stopped (or killed) on exit."""
    servers = start_servers(
        database_url, log_dir, count=count, fault=fault, marker_dir=marker_dir, prepare=prepare
    )
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def wait_for_file(path: Path, *, timeout: float = 15.0, server: LiveServer | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            tail = server.log_tail() if server else ""
            raise AssertionError(f"{path.name} did not appear within {timeout} s\n{tail}")
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------- clients


@dataclass
class UserClient:
    """A demo user talking to one or more servers (in turn). Signed in by password (cookie + CSRF token)
    or by API token (Bearer)."""

    username: str
    servers: Sequence[LiveServer]
    timeout: float = 30.0
    http: httpx.Client = field(init=False)
    csrf_token: str | None = field(default=None, init=False)
    bearer: str | None = field(default=None, init=False)
    _turn: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=self.timeout)
        self.point_to(self.servers)

    def point_to(self, servers: Sequence[LiveServer]) -> None:
        """Talk to these servers from now on (e.g. after a restart), keeping the session or token."""
        self.servers = list(servers)
        self._turn = itertools.cycle(range(len(self.servers)))

    @classmethod
    def signed_in(cls, username: str, servers: Sequence[LiveServer], **kwargs: Any) -> UserClient:
        client = cls(username, servers, **kwargs)
        client.sign_in()
        return client

    @classmethod
    def with_token(cls, username: str, servers: Sequence[LiveServer], **kwargs: Any) -> UserClient:
        """Sign in once to create a personal API token, then forget the session and use the token."""
        client = cls.signed_in(username, servers, **kwargs)
        created = client.post("/auth/tokens", json={"name": f"{username} automation"}, expect=201)
        client.http.cookies.clear()
        client.csrf_token = None
        client.bearer = created["token"]
        return client

    def sign_in(self) -> None:
        body = self.post(
            "/auth/sign-in", json={"username": self.username, "password": PASSWORDS[self.username]}
        )
        self.csrf_token = body["csrf_token"]

    def close(self) -> None:
        self.http.close()

    def next_url(self) -> str:
        return self.servers[next(self._turn)].url

    def request(self, method: str, path: str, *, base: str | None = None, **kwargs: Any) -> httpx.Response:
        """One request to the next server in turn (or to `base`); `path` is relative to /api/v1 unless it
        starts with '//' (then relative to the server root)."""
        headers = dict(kwargs.pop("headers", None) or {})
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        elif self.csrf_token and method.upper() not in {"GET", "HEAD", "OPTIONS"}:
            headers["X-CSRF-Token"] = self.csrf_token
        url = (base or self.next_url()) + (path[1:] if path.startswith("//") else API + path)
        return self.http.request(method, url, headers=headers, **kwargs)

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == expect, (
            f"{self.username} {method} {path}: expected {expect}, got {response.status_code}: "
            f"{response.text[:2000]}"
        )
        return response.json() if response.content else None

    def get(self, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect=expect, **kwargs)

    def all_items(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a list route, page by page (`offset=next_offset` until it is null)."""
        items: list[Any] = []
        offset: int | None = 0
        while offset is not None:
            page = self.get(path, params={**(params or {}), "offset": offset, "limit": 200})
            items.extend(page["items"])
            offset = page["next_offset"]
        return items

    def post(self, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("POST", path, expect=expect, **kwargs)


@contextmanager
def demo_clients(
    servers: Sequence[LiveServer], *, only: Sequence[str] = (), bearer: Sequence[str] = ()
) -> Iterator[dict[str, UserClient]]:
    """Demo users (all, or `only` these) signed in, by username; those in `bearer` use an API token."""
    clients: dict[str, UserClient] = {}
    try:
        for username in only or PASSWORDS:
            make = UserClient.with_token if username in bearer else UserClient.signed_in
            clients[username] = make(username, servers)
        yield clients
    finally:
        for client in clients.values():
            client.close()


# ------------------------------------------------------------------------------------------- launches

HAPPY_PATH: tuple[str, ...] = (
    "draft_proposal",
    "review_proposal",
    "open_beta",
    "complete_beta_faq",
    "draft_report_template",
    "review_report_template",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
)


def launch_start_data(product_name: str) -> dict[str, str]:
    planned = (datetime.now(UTC) + timedelta(days=45)).date()
    return {
        "product_name": product_name,
        "summary": "Automatic reminders for overdue invoices.",
        "planned_launch_date": planned.isoformat(),
    }


def start_launch(pm: UserClient, product_name: str) -> dict[str, Any]:
    launch: dict[str, Any] = pm.post("/launches", json=launch_start_data(product_name), expect=201)
    return launch


def forms_for(launch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Valid form data for every task of this launch (dates fit its planned launch date)."""
    return demo_forms(date.fromisoformat(launch["planned_launch_date"]))


def open_ids(launch: dict[str, Any]) -> set[str]:
    return {t["bpmn_id"] for t in launch["open_tasks"]}


def from_inbox(user: UserClient, launch_id: str, bpmn_id: str) -> dict[str, Any]:
    """The user finds the task in their inbox and opens it: form schema and prefilled data included."""
    inbox = user.get("/tasks/inbox", params={"limit": 200})
    mine = [t for t in inbox["items"] if t["launch_id"] == launch_id]
    found = [t for t in mine if t["bpmn_id"] == bpmn_id]
    assert len(found) == 1, f"{bpmn_id} not in {user.username}'s inbox: {[t['bpmn_id'] for t in mine]}"
    task: dict[str, Any] = user.get(f"/tasks/{found[0]['id']}")
    assert task["status"] == "ready"
    assert task["form_schema"]["type"] == "object"
    assert task["form_schema"]["properties"], task["form_schema"]
    assert isinstance(task["current_data"], dict)
    return task


def work(
    user: UserClient, launch_id: str, bpmn_id: str, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Take the task from the inbox and submit the form; returns (the task, the launch afterwards)."""
    task = from_inbox(user, launch_id, bpmn_id)
    launch: dict[str, Any] = user.post(f"/tasks/{task['id']}/complete", json={"data": data})
    return task, launch


def advance_until(
    pm: UserClient, support: UserClient, launch: dict[str, Any], bpmn_id: str
) -> dict[str, Any]:
    """Follow the happy path (every review approves) until `bpmn_id` is open; returns the launch."""
    forms = forms_for(launch)
    for step in HAPPY_PATH[: HAPPY_PATH.index(bpmn_id)]:
        role = next(t["role"] for t in launch["open_tasks"] if t["bpmn_id"] == step)
        _, launch = work(pm if role == "pm" else support, launch["id"], step, forms[step])
    assert bpmn_id in open_ids(launch), open_ids(launch)
    return launch
