"""Running the background pieces from the command line: the worker, the local SMTP sink, and `run`, which
starts the sink (when SMTP points at this machine), the worker and the server together and stops them
together."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from api.settings import Settings
from engine import Worker, WorkflowEngine

logger = logging.getLogger(__name__)
Echo = Callable[[str], None]


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_worker(
    engine: WorkflowEngine, settings: Settings, *, once: bool, poll_seconds: float | None, echo: Echo
) -> None:
    """`launchgate worker`: tick once, or until SIGTERM / Ctrl-C."""
    from api.audit_settings import get_audit_settings

    audit = get_audit_settings()
    worker = Worker(
        engine,
        settings.delivery_config(),
        signer=audit.signer(),
        checkpoint_every=audit.checkpoint_every(),
        audit_to=audit.send_to(),
    )
    if once:
        report = worker.tick()
        echo(
            f"timers fired: {report.timers}, reminders: {report.reminders}, claimed: {report.claimed}, "
            f"delivered: {report.delivered}, retrying: {report.retrying}, incidents: {report.incidents}"
        )
        return
    from api.metrics import observe_tick

    worker.on_tick = observe_tick
    stop = threading.Event()
    _stop_on_signals(stop)
    channels = ", ".join(c.name for c in worker.channels) or "none (messages become incidents)"
    echo(f"Launch Gate worker {worker.worker_id}: delivering by {channels}")
    worker.run(poll_seconds=poll_seconds or settings.worker_poll_seconds, stop=stop)


def sink_available() -> bool:
    """Is the optional SMTP sink installed (the `sink` extra: aiosmtpd)?"""
    import importlib.util

    return importlib.util.find_spec("aiosmtpd") is not None


def run_sink(host: str, port: int, directory: Path, *, echo: Echo) -> None:
    """`launchgate smtp-sink`: accept mail on host:port and write each message to directory/*.eml."""
    from api.mailsink import start_sink

    stop = threading.Event()
    _stop_on_signals(stop)
    controller = start_sink(host, port, directory)
    echo(f"SMTP sink on {host}:{port}: every message is written to {directory}/*.eml (nothing is relayed)")
    try:
        stop.wait()
    finally:
        controller.stop()


def _wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run_all(settings: Settings, *, echo: Echo) -> int:
    """`launchgate run`: the SMTP sink (if SMTP is local and the sink is on), the worker and the server as
    child processes. Stops them all when one ends or on SIGTERM / Ctrl-C; returns the exit code."""
    command = [sys.executable, "-m", "api.cli"]
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stop = threading.Event()
    _stop_on_signals(stop)

    def start(name: str) -> None:
        # Our own interpreter and CLI with fixed arguments: nothing comes from outside.
        children.append((name, subprocess.Popen([*command, name])))  # noqa: S603

    try:
        if settings.smtp_host and settings.smtp_sink and settings.smtp_is_local() and not sink_available():
            echo("warning: no local SMTP sink (install 'launchgate[sink]'); mail waits in the outbox")
        elif settings.smtp_host and settings.smtp_sink and settings.smtp_is_local():
            start("smtp-sink")
            if not _wait_for_port(settings.smtp_host, settings.smtp_port, 10):
                echo(f"warning: no SMTP sink answers on {settings.smtp_host}:{settings.smtp_port}")
        start("worker")
        start("serve")
        while not stop.is_set():
            ended = [(name, child.returncode) for name, child in children if child.poll() is not None]
            if ended:
                name, code = ended[0]
                echo(f"{name} stopped (exit code {code}); stopping the others")
                return code or 1
            stop.wait(0.5)
        return 0
    finally:
        for _, child in children:
            if child.poll() is None:
                child.terminate()
        for name, child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                echo(f"{name} did not stop in time; killing it")
                child.kill()
                child.wait()
