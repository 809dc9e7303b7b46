"""Workload "launch-gate-10" over HTTP: real uvicorn servers on loopback, httpx clients with API tokens."""

from __future__ import annotations

import importlib.util
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, seed_demo
from bench.databases import ROOT, prepared_engine
from bench.inprocess import MAX_STEPS, LaunchRun, checks_for
from bench.stats import CpuBusy, process_cpu_s, summarize_ns
from engine import AccountService

API = "/api/v1"
STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def uvicorn_servers(database_url: str, count: int) -> Iterator[list[Server]]:
    """`count` uvicorn processes on 127.0.0.1 serving api.app on the database; always stopped afterwards.

    The access log is off (a reverse proxy usually keeps it); everything else is `launchgate serve`'s app."""
    env = {**os.environ, "LAUNCHGATE_DATABASE_URL": database_url}
    env.pop("LAUNCHGATE_FAULT_INJECTION", None)
    log_dir = Path(tempfile.mkdtemp(prefix="lgbench-servers-"))
    servers: list[Server] = []
    try:
        for index in range(count):
            port = _free_port()
            log_path = log_dir / f"server-{index}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "api.app:app_from_environment",
                        "--factory",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--no-access-log",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(process, f"http://127.0.0.1:{port}", log_path))
        for server in servers:
            _wait_ready(server)
        yield servers
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=15)
        for path in log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        log_dir.rmdir()


def server_stack() -> dict[str, str]:
    """What uvicorn picks with its defaults (`--http auto --loop auto`), as the servers run them: httptools
    and uvloop when they are installed, else h11 and asyncio."""
    return {
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    }


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server {server.base_url} exited at start-up:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"server {server.base_url} was not ready after {STARTUP_TIMEOUT_S} s:\n{server.log_tail()}"
    )


@dataclass(frozen=True)
class Tokens:
    pm: dict[str, str]
    support: dict[str, str]


def prepare_http_database(url: str) -> Tokens:
    """Migrate, deploy bpmn/, seed the demo users; API tokens for the demo PM and support lead."""
    engine = prepared_engine(url)
    try:
        seed_demo(engine.db, echo=lambda _line: None)
        accounts = AccountService(engine.db)
        _, pm_token = accounts.create_token(actor=DEMO_PM, name="bench")
        _, support_token = accounts.create_token(actor=DEMO_SUPPORT, name="bench")
    finally:
        engine.db.dispose()
    return Tokens({"Authorization": f"Bearer {pm_token}"}, {"Authorization": f"Bearer {support_token}"})


@dataclass
class HttpClient:
    """One client: its own keep-alive connections; requests go to its servers in turn (one or several)."""

    bases: Sequence[str]
    tokens: Tokens
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))
    _next: Iterator[str] = field(init=False)

    def __post_init__(self) -> None:
        self._next = itertools.cycle(self.bases)

    def url(self, path: str) -> str:
        return f"{next(self._next)}{API}{path}"

    def close(self) -> None:
        self.http.close()


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        )
    return response.json()


def drive_launch_http(client: HttpClient, name: str) -> LaunchRun:
    run = LaunchRun()
    started = time.perf_counter_ns()
    planned = date.fromordinal(date.today().toordinal() + 30)
    launch = _ok(
        client.http.post(
            client.url("/launches"),
            json={
                "product_name": name,
                "summary": "Benchmark launch.",
                "planned_launch_date": planned.isoformat(),
            },
            headers=client.tokens.pm,
        )
    )
    run.launch_id = launch["id"]
    forms = demo_forms(planned)
    for _ in range(MAX_STEPS):
        t0 = time.perf_counter_ns()
        page = _ok(
            client.http.get(
                client.url("/tasks"),
                params={"launch_id": run.launch_id, "status": "ready"},
                headers=client.tokens.pm,
            )
        )
        run.lists_ns.append(time.perf_counter_ns() - t0)
        if not page["items"]:
            break
        task = page["items"][0]
        headers = client.tokens.pm if task["role"] == "pm" else client.tokens.support
        t0 = time.perf_counter_ns()
        view = _ok(
            client.http.post(
                client.url(f"/tasks/{task['id']}/complete"),
                json={"data": forms[task["bpmn_id"]]},
                headers=headers,
            )
        )
        run.submits_ns.append(time.perf_counter_ns() - t0)
        run.completed.append(task["bpmn_id"])
        run.final_status = view["status"]
        if view["status"] == "live" and task["bpmn_id"] != "go_live":
            run.premature_completion = True
    run.total_ns = time.perf_counter_ns() - started
    return run


def run_http_clients(
    bases: Sequence[str], tokens: Tokens, clients: int, launches_per_client: int, tag: str, *, alternate: bool
) -> tuple[list[LaunchRun], int, float | None]:
    """Each client drives its own launches. alternate=False: client i talks to server i mod n;
    alternate=True: every request goes to the next server (a round-robin balancer)."""

    def client(index: int) -> list[LaunchRun]:
        mine = list(bases) if alternate else [bases[index % len(bases)]]
        if alternate:
            mine = mine[index % len(mine) :] + mine[: index % len(mine)]
        http_client = HttpClient(mine, tokens)
        try:
            return [
                drive_launch_http(http_client, f"Bench {tag} c{index} l{n}")
                for n in range(launches_per_client)
            ]
        finally:
            http_client.close()

    busy = CpuBusy()
    started = time.perf_counter_ns()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        runs = [r for chunk in pool.map(client, range(clients)) for r in chunk]
    wall = time.perf_counter_ns() - started
    return runs, wall, busy.stop()


@dataclass
class CpuMeter:
    """CPU seconds used by the server processes and by this (client) process during a phase."""

    pids: Sequence[int]
    servers_s: float | None = None
    clients_s: float | None = None

    def __post_init__(self) -> None:
        self._servers = self._servers_now()
        self._client = time.process_time()

    def _servers_now(self) -> float | None:
        values = [process_cpu_s(pid) for pid in self.pids]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    def stop(self) -> CpuMeter:
        now = self._servers_now()
        if now is not None and self._servers is not None:
            self.servers_s = now - self._servers
        self.clients_s = time.process_time() - self._client
        return self


def figures(
    runs: list[LaunchRun], wall_ns: int, clients: int, cpu_busy: float | None, cpu: CpuMeter | None = None
) -> dict[str, Any]:
    completions = sum(len(r.completed) for r in runs)
    seconds = wall_ns / 1e9
    per = max(completions, 1)
    return {
        "server_cpu_ms_per_completion": 1000 * cpu.servers_s / per
        if cpu and cpu.servers_s is not None
        else None,
        "client_cpu_ms_per_completion": 1000 * cpu.clients_s / per
        if cpu and cpu.clients_s is not None
        else None,
        "clients": clients,
        "launches": len(runs),
        "completions": completions,
        "wall_s": seconds,
        "completions_per_s": completions / seconds if seconds else 0.0,
        "machine_cpu_busy": cpu_busy,
        "submit_ms": summarize_ns([s for r in runs for s in r.submits_ns]).as_dict(),
        "list_ms": summarize_ns([s for r in runs for s in r.lists_ns]).as_dict(),
        "whole_launch_ms": summarize_ns([r.total_ns for r in runs]).as_dict(),
    }


def http_floors(base: str, tokens: Tokens, samples: int) -> dict[str, Any]:
    """What any request costs on this server before any work: GET /healthz (no auth, no database) and
    GET /api/v1/auth/me (the API-token look-up every signed-in request makes, and nothing else)."""
    out: dict[str, Any] = {}
    with httpx.Client(timeout=60.0) as http:
        for label, path, headers in (
            ("healthz", "/healthz", {}),
            ("auth_me", f"{API}/auth/me", tokens.support),
        ):
            for _ in range(5):
                _ok(http.get(f"{base}{path}", headers=headers))
            times: list[int] = []
            for _ in range(samples):
                started = time.perf_counter_ns()
                _ok(http.get(f"{base}{path}", headers=headers))
                times.append(time.perf_counter_ns() - started)
            out[label] = summarize_ns(times).as_dict()
    return out


def launch_gate_http(
    url: str,
    *,
    servers: int,
    launches_1: int,
    launches_per_client_4: int,
    round_robin: bool,
    floor_samples: int,
) -> dict[str, Any]:
    tokens = prepare_http_database(url)
    with uvicorn_servers(url, servers) as running:
        bases = [s.base_url for s in running]
        for base in bases:  # warm every server: process version loaded, caches warm
            run_http_clients([base], tokens, 1, 1, "warm-up", alternate=False)
        floors = http_floors(bases[0], tokens, floor_samples)
        pids = [s.process.pid for s in running]
        meter = CpuMeter(pids)
        one, one_wall, one_busy = run_http_clients(bases, tokens, 1, launches_1, "1c", alternate=False)
        one_cpu = meter.stop()
        meter = CpuMeter(pids)
        four, four_wall, four_busy = run_http_clients(
            bases, tokens, 4, launches_per_client_4, "4c", alternate=False
        )
        four_cpu = meter.stop()
        result: dict[str, Any] = {
            "servers": servers,
            "server_stack": server_stack(),
            "request_floor_ms": floors,
            "one_client": figures(one, one_wall, 1, one_busy, one_cpu),
            "four_clients": figures(four, four_wall, 4, four_busy, four_cpu),
        }
        all_runs = one + four
        if round_robin and servers > 1:
            meter = CpuMeter(pids)
            rr, rr_wall, rr_busy = run_http_clients(
                bases, tokens, 4, launches_per_client_4, "rr", alternate=True
            )
            result["four_clients_round_robin"] = figures(rr, rr_wall, 4, rr_busy, meter.stop())
            all_runs += rr
        exited = [s.base_url for s in running if s.process.poll() is not None]
    result["checks"] = {**checks_for(all_runs), "servers_alive_until_the_end": not exited}
    return result
