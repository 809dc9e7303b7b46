"""Logs and metrics as an operator reads them: JSON or text lines naming the request, launch and task;
the access log with its time and request id; /metrics in the Prometheus format, for allowed readers only."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.logs import configure_logging
from engine import log_context

LAUNCHES = "/api/v1/launches"
START = {"product_name": "Observed", "summary": "s", "planned_launch_date": "2031-01-06"}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_access_log_names_time_request_launch_and_status(
    pm_client: TestClient, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    launch = pm_client.post(LAUNCHES, json=START)
    assert launch.status_code == 201, launch.text
    launch_id = launch.json()["id"]
    configure_logging("info", "json")
    answer = pm_client.get(f"{LAUNCHES}/{launch_id}", headers={"X-Request-ID": "req-ops-1"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "req-ops-1"
    lines = _json_lines(capsys.readouterr().err)
    [access] = [line for line in lines if line["logger"] == "launchgate.access"]
    assert access["request_id"] == "req-ops-1"
    assert access["launch_id"] == launch_id
    assert access["status"] == 200
    assert access["route"] == "/api/v1/launches/{launch_id}"
    assert access["level"] == "INFO" and access["time"]


def test_lines_logged_while_a_request_runs_name_its_request_id(
    anon_client: TestClient, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("info", "json")
    refused = anon_client.post(
        "/api/v1/auth/sign-in",
        json={"username": "nobody", "password": "wrong"},
        headers={"X-Request-ID": "req-ops-2"},
    )
    assert refused.status_code == 401
    lines = [
        line for line in _json_lines(capsys.readouterr().err) if line["logger"] != "httpx"
    ]  # the client's
    engine_lines = [line for line in lines if line["logger"].startswith("engine.")]
    assert any("failed sign-in" in line["message"] for line in engine_lines), lines
    assert [line for line in lines if line.get("request_id") != "req-ops-2"] == []


def test_text_lines_end_with_the_ids_of_their_context(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging("info", "text")

    def work() -> None:
        with log_context(launch_id="L-1", task_id="T-2"):
            logging.getLogger("engine.worker").info("delivered")
        logging.getLogger("engine.worker").info("idle")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    delivered, idle = capsys.readouterr().err.splitlines()[-2:]
    assert delivered.endswith(" INFO engine.worker: delivered launch_id=L-1 task_id=T-2")
    assert idle.endswith(" INFO engine.worker: idle")
    assert delivered[:4].isdigit()  # the time comes first


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(
                part.split("=", 1)
                for part in line[line.find("{") + 1 : line.find("}")].split(",")
                if "=" in part
            )
            if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in the scrape")


def test_metrics_are_refused_to_strangers_and_scraped_with_the_token(
    app: FastAPI, pm_client: TestClient
) -> None:
    stranger = TestClient(app)  # its address is not loopback and no token is configured
    assert stranger.get("/metrics").status_code == 404
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": SecretStr("s3cret")})
    assert stranger.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404

    def scrape() -> str:
        answer = stranger.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        text: str = answer.text
        return text

    before = scrape()
    assert pm_client.post(LAUNCHES, json=START).status_code == 201
    assert pm_client.post(LAUNCHES, json={"product_name": ""}).status_code == 422
    text = scrape()
    assert _metric(text, "launchgate_http_requests_total", method="POST", route=LAUNCHES, status="201") >= 1
    assert _metric(text, "launchgate_commands_total", route=LAUNCHES, outcome="ok") >= 1
    assert _metric(text, "launchgate_commands_total", route=LAUNCHES, outcome="refused") >= 1
    assert _metric(text, "launchgate_http_request_duration_seconds_count", method="POST", route=LAUNCHES) >= 2
    for name, labels in (
        ("launchgate_launches", {"status": "active"}),
        ("launchgate_open_tasks", {"role": "pm"}),
    ):
        assert _metric(text, name, **labels) == _metric(before, name, **labels) + 1, name
    assert _metric(text, "launchgate_outbox_messages", status="failed") == 0
    assert _metric(text, "launchgate_incidents") == 0
    assert _metric(text, "launchgate_launches_blocked") >= 0
    assert "launchgate_worker_tick_duration_seconds" in text


def test_metrics_answer_loopback_clients_without_a_token(app: FastAPI) -> None:
    local = TestClient(app, client=("127.0.0.1", 50000))
    assert local.get("/metrics").status_code == 200
