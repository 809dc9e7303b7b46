"""`python -m bench.profiling`: where one completion's time goes, in-process and over HTTP.

In-process: cProfile switched on around each engine.complete_task call only (the list calls and the launch
start are not in it). Over HTTP: the real app (api.app.create_app) served by uvicorn inside this process,
in the main thread, with FastAPI's threadpool hop made inline so one profiler sees the whole request
(h11 parsing, routing, auth, the engine, the response); a client thread drives launches over loopback.
Both print self time by package and the cumulative time of the steps that matter, per completion, plus the
number of SQL statements per completion; pyinstrument's call tree is written too when it is installed.
cProfile inflates call-heavy code (SQLAlchemy, Spiff): read the shares, not the absolute milliseconds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine, event

from api.demo import DEMO_PM, DEMO_SUPPORT, demo_forms, start_demo_launch
from bench.databases import Backend, postgres_admin_url, prepared_engine
from bench.report import LATENCY_HEADER, fmt, latency_row, table
from bench.stats import summarize_ns
from engine import TaskStatus, WorkflowEngine

# Self time grouped by where the code lives (first match wins).
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database driver (sqlite3 / psycopg, incl. fsync and waits)", ("sqlite3", "psycopg")),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("SpiffWorkflow", ("/SpiffWorkflow/",)),
    ("pydantic", ("/pydantic", "pydantic_core")),
    ("json", ("/json/", "_json")),
    ("uvicorn + h11 (HTTP parsing)", ("/uvicorn/", "/h11/", "/httptools/")),
    ("starlette + FastAPI", ("/starlette/", "/fastapi/")),
    ("anyio / asyncio / selectors (event loop, idle)", ("/anyio/", "/asyncio/", "selectors", "select.epoll")),
    ("engine/ (our code)", ("/engine/",)),
    ("api/ (our code)", ("/api/",)),
    ("lxml / hashlib / uuid / datetime", ("lxml", "hashlib", "sha256", "uuid", "datetime")),
)

# Cumulative time of named steps: (label, path fragment, function name).
INPROCESS_STEPS: tuple[tuple[str, str, str], ...] = (
    ("complete_task (whole call)", "engine/service.py", "complete_task"),
    ("  _attempt (the command)", "engine/commands/complete.py", "_attempt"),
    (
        "    _read_for_task: task, launch, gate items, ready tasks",
        "engine/commands/complete.py",
        "_read_for_task",
    ),
    ("    last_author (four-eyes check)", "engine/db/repository.py", "last_author"),
    ("    Form.validate (JSON Schema form + rules)", "engine/forms/validation.py", "validate"),
    ("    restore (cache hit or JSON restore)", "engine/commands/context.py", "restore"),
    ("    write_change (the one transaction)", "engine/commands/write.py", "write_change"),
    (
        "    complete_user_task (Spiff run, engine steps, compaction)",
        "engine/runtime/workflow.py",
        "complete_user_task",
    ),
    ("    dump_state (serialize, no spec)", "engine/serialization.py", "dump_state"),
    ("    audit.append_event (hash chain, locks the launch's chain)", "engine/audit.py", "append_event"),
    ("    Session.commit (flush + COMMIT)", "sqlalchemy/orm/session.py", "commit"),
    ("  full_view (the launch view returned)", "engine/views.py", "full_view"),
)
HTTP_STEPS: tuple[tuple[str, str, str], ...] = (
    ("POST /tasks/{id}/complete route", "api/routes/tasks.py", "complete_task"),
    ("  engine.complete_task", "engine/service.py", "complete_task"),
    ("  LaunchRead.of_full (response model)", "api/schemas.py", "of_full"),
    ("GET /tasks route (list ready tasks)", "api/routes/tasks.py", "list_tasks"),
    ("  engine.list_tasks", "engine/service.py", "list_tasks"),
    ("resolve_caller (API token lookup, every request)", "api/security.py", "resolve_caller"),
    ("FastAPI serialize_response (validate + dump)", "fastapi/routing.py", "serialize_response"),
    ("h11 / uvicorn protocol handling", "uvicorn/protocols/http/h11_impl.py", "handle_events"),
)


@contextmanager
def count_statements(db_engine: Engine) -> Iterator[list[int]]:
    """Statements sent to the database while the block runs. (Removing an Engine listener does not reach
    the engines made by execution_options() that the sessions use, so the listener stays and a flag ends
    the counting.)"""
    counter = [0]
    active = [True]

    def before(*_args: Any) -> None:
        if active[0]:
            counter[0] += 1

    event.listen(db_engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        active[0] = False


def by_package(stats: pstats.Stats, per: int) -> list[list[Any]]:
    totals: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    grand = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        where = f"{filename}:{name}"
        label = next((lbl for lbl, keys in PACKAGES if any(k in where for k in keys)), "other (stdlib, misc)")
        totals[label] = totals.get(label, 0.0) + tottime
        grand += tottime
    rows = sorted(totals.items(), key=lambda kv: -kv[1])
    return [[label, 1000 * value / per, 100 * value / grand if grand else 0.0] for label, value in rows]


def steps(stats: pstats.Stats, wanted: tuple[tuple[str, str, str], ...], per: int) -> list[list[Any]]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows: list[list[Any]] = []
    for label, path, name in wanted:
        # Several functions of one file may share a name (Session.commit, SessionTransaction.commit):
        # the outermost one has the largest cumulative time.
        found = [
            (ct, nc)
            for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items()
            if func == name and filename.replace("\\", "/").endswith(path)
        ]
        cum, calls = max(found) if found else (0.0, 0)
        rows.append([label, 1000 * cum / per, calls / per])
    return rows


def top_functions(profiler: cProfile.Profile, count: int) -> str:
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(count)
    return buffer.getvalue()


def _drive(engine: WorkflowEngine, name: str, around: Callable[[Callable[[], Any]], Any]) -> int:
    """One launch with the list-and-submit loop; each complete_task call goes through `around`."""
    launch = start_demo_launch(engine, product_name=name)
    forms = demo_forms(launch.planned_launch_date)
    completions = 0
    while True:
        page = engine.list_tasks(actor=DEMO_PM, launch_id=launch.id, status=TaskStatus.READY)
        if not page.items:
            return completions
        task = page.items[0]
        actor = DEMO_PM if task.role == "pm" else DEMO_SUPPORT
        data = dict(forms[task.bpmn_id])
        around(lambda t=task, a=actor, d=data: engine.complete_task(task_id=t.id, data=d, actor=a))  # type: ignore[misc]
        completions += 1


def profile_inprocess(url: str, launches: int, echo: Callable[[str], None], out: Path) -> dict[str, Any]:
    engine = prepared_engine(url)
    try:
        _drive(engine, "warm-up", lambda call: call())
        # Plain timing first (no profiler), then the same work under cProfile.
        plain: list[int] = []

        def timed(call: Callable[[], Any]) -> None:
            started = time.perf_counter_ns()
            call()
            plain.append(time.perf_counter_ns() - started)

        with count_statements(engine.db.db_engine) as counter:
            count = sum(_drive(engine, f"plain {i}", timed) for i in range(launches))
        statements_per_launch = counter[0] / launches
        profiler = cProfile.Profile()

        def profiled(call: Callable[[], Any]) -> None:
            profiler.enable()
            try:
                call()
            finally:
                profiler.disable()

        completions = sum(_drive(engine, f"profiled {i}", profiled) for i in range(launches))
        one = _one_completion(engine)
        tree = _pyinstrument_tree(engine, launches)
    finally:
        engine.db.dispose()
    stats = pstats.Stats(profiler)
    echo(
        f"in-process: {completions} completions profiled ({launches} launches, "
        f"{url.split(':', maxsplit=1)[0]})"
    )
    table(
        echo, LATENCY_HEADER, [latency_row("complete_task without profiler", summarize_ns(plain).as_dict())]
    )
    echo(
        f"  SQL statements: {one[0]} for one completion; {fmt(statements_per_launch, 1)} per launch "
        f"(start + {count // launches} x (list + complete))"
    )
    table(
        echo,
        ["step (cumulative, ms per completion under cProfile)", "ms", "calls"],
        steps(stats, INPROCESS_STEPS, completions),
    )
    table(echo, ["self time by package", "ms per completion", "%"], by_package(stats, completions))
    (out / "profile-inprocess-top.txt").write_text(top_functions(profiler, 60))
    if tree:
        (out / "profile-inprocess-pyinstrument.txt").write_text(tree)
    return {
        "completion_ms": summarize_ns(plain).as_dict(),
        "statements_one_completion": one[0],
        "statements_per_launch": statements_per_launch,
        "steps": steps(stats, INPROCESS_STEPS, completions),
        "packages": by_package(stats, completions),
    }


def _one_completion(engine: WorkflowEngine) -> list[int]:
    """SQL statements of one complete_task call: the second step of a fresh launch (review_proposal),
    with the workflow cached, as in the loop."""
    launch = start_demo_launch(engine, product_name="one")
    forms = demo_forms(launch.planned_launch_date)
    task = launch.open_tasks[0]
    launch = engine.complete_task(task_id=task.id, data=dict(forms[task.bpmn_id]), actor=DEMO_PM)
    task = launch.open_tasks[0]
    with count_statements(engine.db.db_engine) as counter:
        engine.complete_task(task_id=task.id, data=dict(forms[task.bpmn_id]), actor=DEMO_SUPPORT)
    return counter


def _pyinstrument_tree(engine: WorkflowEngine, launches: int) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return ""
    profiler = Profiler(interval=0.0002)

    def sampled(call: Callable[[], Any]) -> None:
        profiler.start()
        try:
            call()
        finally:
            profiler.stop()

    for i in range(launches):
        _drive(engine, f"sampled {i}", sampled)
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


# ---------------------------------------------------------------------------------------------- HTTP


async def _inline_run_sync(func: Callable[..., Any], *args: Any, **_kwargs: Any) -> Any:
    return func(*args)


def profile_http(url: str, launches: int, echo: Callable[[str], None], out: Path) -> dict[str, Any]:
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from bench.http import HttpClient, _free_port, drive_launch_http, prepare_http_database

    tokens = prepare_http_database(url)
    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = _inline_run_sync  # type: ignore[assignment]
    try:
        app = create_app(Settings(database_url=url))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"

        def serve(profiler: cProfile.Profile | None, work: Callable[[HttpClient], Any]) -> Any:
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
            )
            result: list[Any] = []
            failure: list[BaseException] = []

            def client() -> None:
                while not server.started:
                    time.sleep(0.01)
                http_client = HttpClient([base], tokens)
                try:
                    result.append(work(http_client))
                except BaseException as exc:  # reported in the main thread
                    failure.append(exc)
                finally:
                    http_client.close()
                    server.should_exit = True

            thread = threading.Thread(target=client)
            thread.start()
            if profiler is not None:
                profiler.enable()
            try:
                server.run()
            finally:
                if profiler is not None:
                    profiler.disable()
                thread.join()
            if failure:
                raise failure[0]
            return result[0]

        serve(None, lambda c: drive_launch_http(c, "warm-up"))
        plain = serve(None, lambda c: [drive_launch_http(c, f"plain {i}") for i in range(launches)])
        profiler = cProfile.Profile()
        runs = serve(profiler, lambda c: [drive_launch_http(c, f"profiled {i}") for i in range(launches)])
    finally:
        anyio.to_thread.run_sync = original
    completions = sum(len(r.completed) for r in runs)
    stats = pstats.Stats(profiler)
    submit = summarize_ns([s for r in plain for s in r.submits_ns])
    listing = summarize_ns([s for r in plain for s in r.lists_ns])
    echo(f"HTTP: {completions} completions profiled (server in-process, threadpool hop inlined)")
    table(
        echo,
        LATENCY_HEADER,
        [
            latency_row("POST complete, client side, no profiler", submit.as_dict()),
            latency_row("GET ready tasks, client side, no profiler", listing.as_dict()),
        ],
    )
    table(
        echo,
        ["step (cumulative, ms per completion under cProfile)", "ms", "calls"],
        steps(stats, HTTP_STEPS, completions),
    )
    table(
        echo,
        ["server self time by package (list + complete)", "ms per completion", "%"],
        by_package(stats, completions),
    )
    (out / "profile-http-top.txt").write_text(top_functions(profiler, 60))
    return {
        "submit_ms": submit.as_dict(),
        "list_ms": listing.as_dict(),
        "steps": steps(stats, HTTP_STEPS, completions),
        "packages": by_package(stats, completions),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--launches", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    backend = (
        Backend("sqlite") if args.db == "sqlite" else Backend("postgresql", admin_url=postgres_admin_url())
    )
    out = args.out / f"profile-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{args.db}"
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def echo(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    with backend.scratch("profile-inprocess") as url:
        profile_inprocess(url, args.launches, echo, out)
    echo("")
    with backend.scratch("profile-http") as url:
        profile_http(url, args.launches, echo, out)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print(f"profiles: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
