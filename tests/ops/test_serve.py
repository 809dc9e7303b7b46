"""`launchgate serve` as deployed: proxy headers believed only from the proxies named, a root path (the
prefix a proxy serves Launch Gate under and strips)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.live_server import LiveServer, prepare_database
from tests.ports import PortTakenError, on_free_ports

pytestmark = pytest.mark.slow


@contextmanager
def launchgate_serve(tmp_path: Path, name: str, *options: str) -> Iterator[LiveServer]:
    """`launchgate serve OPTIONS` on a free port of loopback, on a copy of a migrated and seeded database,
    ready (started again on another port if the one chosen was taken before the server bound it)."""
    prepared = tmp_path / "prepared.db"
    if not prepared.exists():
        prepare_database(f"sqlite:///{prepared}")
    shutil.copyfile(prepared, tmp_path / f"{name}.db")
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHGATE_")}
    log_path = tmp_path / f"{name}.log"

    def start(port: int) -> LiveServer:
        """Serve on `port` until ready; PortTakenError when another process bound it first."""
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--database-url", url]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*command, *options],
                cwd=tmp_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = LiveServer(process, port, log_path)
        try:
            server.wait_ready()
        except RuntimeError:
            server.stop()
            if "address already in use" in server.log_tail().lower():
                raise PortTakenError(server.log_tail()) from None
            raise
        return server

    server = on_free_ports(start)
    try:
        yield server
    finally:
        server.stop()


def _failed_sign_ins(base: str, count: int) -> list[int]:
    """`count` failed sign-ins, each with another user name and another X-Forwarded-For address."""
    with httpx.Client(base_url=base, timeout=30) as client:
        return [
            client.post(
                "/api/v1/auth/sign-in",
                json={"username": f"nobody{i}", "password": "wrong password"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ).status_code
            for i in range(count)
        ]


def test_proxy_headers_are_ignored_unless_the_proxy_is_named(tmp_path: Path) -> None:
    with (
        launchgate_serve(tmp_path, "direct") as direct,
        launchgate_serve(
            tmp_path, "proxied", "--forwarded-allow-ips", "127.0.0.1", "--root-path", "/lg"
        ) as proxied,
    ):
        direct.wait_ready()
        statuses = _failed_sign_ins(direct.url, 25)
        assert set(statuses[:20]) == {401}, statuses
        assert set(statuses[20:]) == {429}, statuses  # the headers change nothing: one client, limited

        proxied.wait_ready()
        # behind the named proxy each forwarded address is its own client: none reaches the limit
        assert set(_failed_sign_ins(proxied.url, 25)) == {401}
        # the proxy strips /lg; the API description tells clients where it is served
        spec = httpx.get(f"{proxied.url}/openapi.json", timeout=10).json()
        assert spec["servers"] == [{"url": "/lg"}]
