"""The command line of the background pieces: `launchgate smtp-sink`, `launchgate worker --once`, and
`launchgate run` (what `make run` starts: the server, the worker and the local SMTP sink together)."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.mailsink import start_sink
from api.settings import get_settings
from engine import Database, SystemClock, WorkflowEngine, upgrade_to_head
from tests.conftest import BPMN_DIR
from tests.engine import driver
from tests.ports import LOOPBACK, PortTakenError, on_free_ports
from tests.worker.conftest import SmtpServer, insert_people

WAIT = 120.0  # upper bound for waits on another process; never an assertion on time
runner = CliRunner()


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _launch_with_notice(url: str) -> str:
    database = Database.from_url(url)
    try:
        upgrade_to_head(database.db_engine)
        insert_people(database)
        engine = WorkflowEngine(database, clock=SystemClock())
        engine.sync_shipped_processes(BPMN_DIR)
        launch = driver.start(engine, support_distribution=["frontline@example.com"])
        return driver.advance_until(engine, launch, "acknowledge_launch_notice").id
    finally:
        database.dispose()


def test_smtp_sink_writes_each_message_to_an_eml_file(tmp_path: Path) -> None:
    sink = on_free_ports(lambda port: start_sink(LOOPBACK, port, tmp_path / "mail"))
    port = sink.port
    try:
        email = EmailMessage()
        email["From"] = "launchgate@example.org"
        email["To"] = "frontline@example.com"
        email["Subject"] = "Launch notice: Smart Invoices"
        email.set_content("It goes live.")
        with smtplib.SMTP(LOOPBACK, port, timeout=5) as smtp:
            smtp.send_message(email, to_addrs=["frontline@example.com", "leads@example.com"])
    finally:
        sink.stop()

    [written] = sorted((tmp_path / "mail").glob("*.eml"))
    text = written.read_text()
    assert "X-Sink-Rcpt-To: frontline@example.com, leads@example.com" in text
    assert "Subject: Launch notice: Smart Invoices" in text
    assert "It goes live." in text


def test_worker_once_delivers_the_due_messages(
    tmp_path: Path, clean_settings: pytest.MonkeyPatch, smtp_server: SmtpServer
) -> None:
    url = f"sqlite:///{tmp_path / 'once.db'}"
    _launch_with_notice(url)
    clean_settings.setenv("LAUNCHGATE_SMTP_HOST", smtp_server.host)
    clean_settings.setenv("LAUNCHGATE_SMTP_PORT", str(smtp_server.port))

    result = runner.invoke(app, ["worker", "--once", "--database-url", url])

    assert result.exit_code == 0, result.output
    assert "incidents: 0" in result.output
    notices = [r for r in smtp_server.handler.accepted if "Launch notice" in str(r.message["Subject"])]
    assert [r.rcpt_tos for r in notices] == [["frontline@example.com"]]


def test_worker_refuses_an_unmigrated_database(tmp_path: Path, clean_settings: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["worker", "--once", "--database-url", f"sqlite:///{tmp_path / 'new.db'}"])

    assert result.exit_code == 2
    assert "launchgate db migrate" in result.output


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def _serve_everything(env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`launchgate run` on two free ports (HTTP, SMTP sink), answering /healthz; started again on other
    ports when one was taken between choosing and binding it (the process exits saying so)."""
    log_path = cwd / "run.log"

    def start(http_port: int, smtp_port: int) -> tuple[subprocess.Popen[bytes], int]:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "run"],
                cwd=cwd,
                env={**env, "LAUNCHGATE_PORT": str(http_port), "LAUNCHGATE_SMTP_PORT": str(smtp_port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and _get(f"http://{LOOPBACK}:{http_port}/healthz") != 200:
            if process.poll() is not None:
                if "address already in use" in log_path.read_text(errors="replace").lower():
                    raise PortTakenError(log_path.read_text(errors="replace"))
                break
            time.sleep(0.1)
        return process, http_port

    return on_free_ports(start, 2)


def _launch_notices(mail_dir: Path) -> list[str]:
    return [text for path in mail_dir.glob("*.eml") if "Launch notice" in (text := path.read_text())]


@pytest.mark.slow
def test_run_serves_with_worker_and_smtp_sink_and_stops_them_together(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "LAUNCHGATE_DATABASE_URL": url,
        "LAUNCHGATE_SMTP_HOST": LOOPBACK,
        "LAUNCHGATE_MAIL_DIR": str(mail_dir),
        "LAUNCHGATE_WORKER_POLL_SECONDS": "0.2",
        "LAUNCHGATE_SMTP_SINK": "true",
        "LAUNCHGATE_SMTP_STARTTLS": "false",
        "LAUNCHGATE_SMTP_USERNAME": "",
        "LAUNCHGATE_WEBHOOK_URL": "",
    }
    launch_id = _launch_with_notice(url)
    process, http_port = _serve_everything(env, tmp_path)
    try:
        assert _get(f"http://{LOOPBACK}:{http_port}/healthz") == 200, (tmp_path / "run.log").read_text()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not _launch_notices(mail_dir):
            time.sleep(0.1)
        notices = _launch_notices(mail_dir)  # other mail (tasks available, review outcomes) goes out first
        assert len(notices) == 1
        assert "X-Sink-Rcpt-To: frontline@example.com" in notices[0]
        assert f"/launches/{launch_id}" in notices[0]

        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
        assert _get(f"http://{LOOPBACK}:{http_port}/healthz") == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
