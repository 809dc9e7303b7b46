"""The cost of a task page's form: `python -m bench.render [--rounds N]`.

Walks one launch of the shipped launch gate along its happy path in-process (FastAPI's TestClient on a
scratch SQLite file), and at every ready task (and the New launch page) requests the HTML page `--rounds`
times as the person who acts on it. Printed per page: the median time spent rendering the template (the
form renderer: Jinja2 only, measured around `api.web.templating.render`) and the median whole request.
Run it before and after a change to the templates, on the same machine, and compare the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from starlette.responses import HTMLResponse

import api.web.pages.launches as launches_pages
import api.web.pages.tasks as task_pages
from api.app import create_app
from api.demo import DEMO_USERS, demo_forms, seed_demo
from api.settings import Settings
from bench.databases import BPMN_DIR
from engine import Database, WorkflowEngine, upgrade_to_head

PLANNED = date(2031, 6, 16)
PASSWORDS = {username: password for username, password, _, _ in DEMO_USERS}
SUPPORT_TASKS = frozenset(
    {"review_proposal", "complete_beta_faq", "draft_report_template", "acknowledge_launch_notice"}
)


@contextmanager
def timed_render(spent: list[int]) -> Iterator[None]:
    """Record the nanoseconds of every page render (the pages' `render`) while the block runs."""
    modules = (task_pages, launches_pages)
    original: Callable[..., HTMLResponse] = getattr(task_pages, "render")  # noqa: B009 - patched below

    def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        began = time.perf_counter_ns()
        response = original(name, status_code=status_code, **context)
        spent.append(time.perf_counter_ns() - began)
        return response

    for module in modules:
        setattr(module, "render", render)  # noqa: B010 - the pages call it by this name
    try:
        yield
    finally:
        for module in modules:
            setattr(module, "render", original)  # noqa: B010


def _client(app: Any, username: str) -> TestClient:
    client = TestClient(app)
    response = client.post(
        "/api/v1/auth/sign-in", json={"username": username, "password": PASSWORDS[username]}
    )
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def _measure(client: TestClient, path: str, rounds: int) -> tuple[float, float]:
    renders: list[int] = []
    requests: list[int] = []
    with timed_render(renders):
        for _ in range(rounds):
            began = time.perf_counter_ns()
            response = client.get(path)
            requests.append(time.perf_counter_ns() - began)
            assert response.status_code == 200, (path, response.status_code)
    return statistics.median(renders) / 1e6, statistics.median(requests) / 1e6


def run(rounds: int) -> list[tuple[str, float, float]]:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'render.db'}"
        database = Database.from_url(url)
        upgrade_to_head(database.db_engine)
        WorkflowEngine(database).sync_shipped_processes(BPMN_DIR)
        seed_demo(database, echo=lambda _line: None)
        app = create_app(Settings(database_url=url), database=database)
        pm, support = _client(app, "pat.pm"), _client(app, "sam.support")
        found = [("launch_new", *_measure(pm, "/launches/new", rounds))]
        response = pm.post(
            "/api/v1/launches",
            json={"product_name": "Render bench", "summary": "Bench.", "planned_launch_date": str(PLANNED)},
        )
        response.raise_for_status()
        launch_id = response.json()["id"]
        forms = demo_forms(PLANNED)
        seen: set[str] = set()
        while True:
            ready = pm.get(f"/api/v1/launches/{launch_id}").json()["open_tasks"]
            todo = [t for t in ready if t["bpmn_id"] not in seen]
            if not todo:
                break
            task = todo[0]
            seen.add(task["bpmn_id"])
            actor = support if task["bpmn_id"] in SUPPORT_TASKS else pm
            found.append((task["bpmn_id"], *_measure(actor, f"/tasks/{task['id']}", rounds)))
            done = actor.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": forms[task["bpmn_id"]]})
            assert done.status_code == 200, done.text
        pm.close()
        support.close()
        database.db_engine.dispose()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.render", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    rows = run(args.rounds)
    print(f"{'page':<28} {'render p50 ms':>14} {'request p50 ms':>15}")
    for name, render_ms, request_ms in rows:
        print(f"{name:<28} {render_ms:>14.3f} {request_ms:>15.3f}")
    renders = [r for _, r, _ in rows]
    print(f"{'median over pages':<28} {statistics.median(renders):>14.3f}")


if __name__ == "__main__":
    main()
