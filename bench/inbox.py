"""Inbox at scale: many launches and open tasks written straight into the tables (SQLAlchemy Core bulk
INSERTs, realistic values; `state` is a placeholder since nothing may restore it), then the worker's
maintenance step once (planner statistics, as a running deployment has them), then the support lead's
inbox and the launch list, timed, with every workflow restore counted (there must be none)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

import engine.commands.context as context_module
from api.demo import DEMO_SUPPORT, demo_forms
from bench.databases import BPMN_DIR
from bench.stats import summarize_ns
from engine import Actor, DeliveryConfig, Role, Worker, WorkflowEngine
from engine.db.models import Base, GateItemRecord, LaunchRecord, ProcessVersionRecord, TaskRecord
from engine.model import ProcessModel
from engine.runtime import RunningWorkflow
from engine.serialization import dump_state
from engine.specs import load_process

SEARCH_TERM = "invoice"
_WORDS = (
    "Invoice",
    "Payroll",
    "Billing",
    "Reports",
    "Inbox",
    "Calendar",
    "Exports",
    "Mobile",
    "Search",
    "Audit",
)
_NOUNS = ("Reminders", "Insights", "Sync", "Assistant", "Dashboard", "Alerts", "Templates", "Connect")
CHUNK = 2000


@contextmanager
def counting_restores(engine: WorkflowEngine) -> Iterator[dict[str, int]]:
    """Count calls to restore_state and EngineContext.restore (the one place a command or query restores a
    workflow, from the cache or the stored state) while the block runs."""
    counts = {"restore_state": 0, "_restore": 0}
    original_restore_state = getattr(context_module, "restore_state")  # noqa: B009 - patched below
    ctx = engine._ctx
    original_method = ctx.restore

    def restore_state(*args: Any, **kwargs: Any) -> Any:
        counts["restore_state"] += 1
        return original_restore_state(*args, **kwargs)

    def method(*args: Any, **kwargs: Any) -> Any:
        counts["_restore"] += 1
        return original_method(*args, **kwargs)

    setattr(context_module, "restore_state", restore_state)  # noqa: B010
    ctx.restore = method  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        setattr(context_module, "restore_state", original_restore_state)  # noqa: B010
        del ctx.restore


def _model() -> ProcessModel:
    xml = (BPMN_DIR / "launch_gate.bpmn").read_bytes()
    return load_process(xml).model


def realistic_state(steps: int = 4) -> str:
    """A real stored state of a launch a few steps in (built in memory): every seeded row carries one of
    this size, so list queries that load the `state` column pay what they would in production. Nothing
    restores these rows (the ids inside do not match them)."""
    loaded = load_process((BPMN_DIR / "launch_gate.bpmn").read_bytes())
    day = (datetime.now(UTC) + timedelta(days=30)).date()
    start = {"product_name": "Seed", "summary": "Seeded launch.", "planned_launch_date": day.isoformat()}
    workflow = RunningWorkflow.start(loaded.spiff_spec, start_data=start, launch_id=str(uuid.uuid4()))
    forms = demo_forms(day)
    for _ in range(steps):
        task = workflow.ready_user_tasks()[0]
        document = loaded.model.tasks[task.bpmn_id].document
        workflow.complete_user_task(task.id, document=document, data=forms[task.bpmn_id])
    return dump_state(workflow)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`parts` positive counts around total/parts (1 .. 2*avg-1) that sum to exactly `total`."""
    avg = max(1, total // parts)
    counts = [rng.randint(1, max(1, 2 * avg - 1)) for _ in range(parts)]
    diff = total - sum(counts)
    while diff != 0:
        i = rng.randrange(parts)
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts


def seed(engine: WorkflowEngine, *, launches: int, open_tasks: int, seed_value: int = 7) -> dict[str, Any]:
    """Bulk-insert launches, their gate items, open tasks and some completed ones. Returns the expected
    answers (computed from the generated rows) and the time it took."""
    rng = random.Random(seed_value)
    model = _model()
    specs = list(model.tasks.values())
    now = datetime.now(UTC).replace(microsecond=0)
    pms = ["pat.pm", *(f"pm.{i:02d}" for i in range(39))]
    leads = ["sam.support", *(f"support.{i:02d}" for i in range(15))]
    with engine.db.read() as session:
        version_id = (
            session.query(ProcessVersionRecord.id).order_by(ProcessVersionRecord.id.desc()).limit(1).scalar()
        )
    assert version_id is not None
    gate_keys = [g.key for g in sorted(model.gate_items, key=lambda g: g.position)]
    state = realistic_state()

    live_count = launches // 10
    active_count = launches - live_count
    per_launch = _split(open_tasks, active_count, rng)
    launch_rows: list[dict[str, Any]] = []
    gate_rows: list[dict[str, Any]] = []
    task_rows: list[dict[str, Any]] = []
    expected = {"launches": launches, "blocked": 0, "search": 0, "inbox": 0, "open_tasks": 0, "all_tasks": 0}
    for i in range(launches):
        launch_id = str(uuid.uuid4())
        live = i >= active_count
        created = now - timedelta(days=rng.uniform(0, 720))
        name = f"{rng.choice(_WORDS)} {rng.choice(_NOUNS)} {i}"
        pm = rng.choice(pms)
        passed = 4 if live else (4 if rng.random() < 0.15 else rng.randint(0, 3))
        blocked_by = ",".join(gate_keys[passed:])
        if not live and blocked_by:
            expected["blocked"] += 1
        if SEARCH_TERM in name.lower():
            expected["search"] += 1
        launch_rows.append(
            {
                "id": launch_id,
                "process_version_id": version_id,
                "product_name": name,
                "product_name_lower": name.lower(),
                "summary": f"Benchmark launch {i}: {name}.",
                "planned_launch_date": (created + timedelta(days=rng.randint(20, 120))).date(),
                "pm": pm,
                "status": "live" if live else "active",
                "state": state,
                "version": rng.randint(2, 30),
                "gate_total": len(gate_keys),
                "gate_passed": passed,
                "blocked_by": blocked_by,
                "created_at": created,
                "updated_at": created + timedelta(hours=rng.randint(1, 400)),
                "completed_at": created + timedelta(days=30) if live else None,
            }
        )
        for position, key in enumerate(gate_keys):
            item = model.gate_items[position]
            gate_rows.append(
                {
                    "launch_id": launch_id,
                    "key": key,
                    "title": item.title,
                    "bpmn_task_id": item.task_id,
                    "position": item.position,
                    "status": "passed" if position < passed else "open",
                    "passed_at": created + timedelta(days=position + 1) if position < passed else None,
                    "passed_by": "sam.support" if position < passed else None,
                    "content_hash": "0" * 64 if position < passed else None,
                    "opened_at": created,
                }
            )
        done = 9 if live else 2
        for n in range(done):
            spec = specs[n % len(specs)]
            task_rows.append(_task_row(launch_id, spec, pm, "completed", created, now, rng, leads))
        if not live:
            for _ in range(per_launch[i]):
                spec = rng.choice(specs)
                row = _task_row(launch_id, spec, pm, "ready", created, now, rng, leads)
                task_rows.append(row)
                expected["open_tasks"] += 1
                if row["assignee"] == DEMO_SUPPORT.username or (
                    row["assignee"] is None and row["role"] == Role.SUPPORT_LEAD.value
                ):
                    expected["inbox"] += 1
    expected["all_tasks"] = len(task_rows)
    started = time.perf_counter()
    with engine.db.db_engine.begin() as conn:
        tables: tuple[tuple[type[Base], list[dict[str, Any]]], ...] = (
            (LaunchRecord, launch_rows),
            (GateItemRecord, gate_rows),
            (TaskRecord, task_rows),
        )
        for table, rows in tables:
            for offset in range(0, len(rows), CHUNK):
                conn.execute(insert(table), rows[offset : offset + CHUNK])
    seconds = time.perf_counter() - started
    # A deployment that grew to this size has had its planner statistics refreshed by the worker (hourly,
    # Worker.maintain) and, on PostgreSQL, its tables vacuumed by autovacuum (which runs after 1,000 + 20 %
    # inserted rows, and keeps the visibility map that index-only scans need); rows bulk-inserted a moment
    # ago have had neither. So: the worker's own maintenance step once and, on PostgreSQL, the VACUUM that
    # autovacuum would run (done here because a test server may run with autovacuum off).
    analyzed = Worker(engine, DeliveryConfig(), channels=()).maintain()
    vacuumed = False
    if not engine.db.is_sqlite:
        names = ", ".join(t.__tablename__ for t in (LaunchRecord, GateItemRecord, TaskRecord))
        with engine.db.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM {names}")
        vacuumed = True
    return {
        "expected": expected,
        "rows": {"launch": len(launch_rows), "gate_item": len(gate_rows), "task": len(task_rows)},
        "seed_s": seconds,
        "analyzed": analyzed,
        "vacuumed": vacuumed,
        "state_chars": len(state),
    }


def _task_row(
    launch_id: str,
    spec: Any,
    pm: str,
    status: str,
    created: datetime,
    now: datetime,
    rng: random.Random,
    leads: list[str],
) -> dict[str, Any]:
    if spec.role == Role.PM.value:
        assignee: str | None = pm
    else:
        assignee = rng.choice(leads) if rng.random() < 0.5 else None
    due = None if rng.random() < 0.05 else now + timedelta(days=rng.uniform(-10, 30))
    task_created = created + timedelta(minutes=rng.randint(1, 60 * 24 * 20))
    completed = status == "completed"
    return {
        "id": str(uuid.uuid4()),
        "launch_id": launch_id,
        "bpmn_id": spec.id,
        "title": spec.title,
        "role": spec.role,
        "assignee": assignee if not completed else (assignee or rng.choice(leads)),
        "status": status,
        "gate_item": spec.gate_item,
        "is_go_live": spec.go_live,
        "created_at": task_created,
        "due_at": due,
        "completed_at": task_created + timedelta(days=1) if completed else None,
        "completed_by": (assignee or rng.choice(leads)) if completed else None,
    }


def time_query(fn: Callable[[], Any], repeats: int, warmup: int = 5) -> tuple[list[int], Any]:
    result: Any = None
    for _ in range(warmup):
        result = fn()
    samples: list[int] = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        result = fn()
        samples.append(time.perf_counter_ns() - started)
    return samples, result


def inbox_at_scale(engine: WorkflowEngine, *, launches: int, open_tasks: int, repeats: int) -> dict[str, Any]:
    seeded = seed(engine, launches=launches, open_tasks=open_tasks)
    expected = seeded["expected"]
    pm = Actor("pat.pm", frozenset({Role.PM}))
    queries: dict[str, Callable[[], Any]] = {
        "support_lead_inbox": lambda: engine.list_tasks(actor=DEMO_SUPPORT, inbox=True, limit=50),
        "support_lead_inbox_page_2": lambda: engine.list_tasks(
            actor=DEMO_SUPPORT, inbox=True, offset=50, limit=50
        ),
        "pm_inbox": lambda: engine.list_tasks(actor=pm, inbox=True, limit=50),
        "launch_list": lambda: engine.list_launches(actor=DEMO_SUPPORT, limit=50),
        "launch_list_blocked": lambda: engine.list_launches(actor=DEMO_SUPPORT, blocked=True, limit=50),
        "launch_list_search": lambda: engine.list_launches(actor=DEMO_SUPPORT, search=SEARCH_TERM, limit=50),
    }
    figures: dict[str, Any] = {}
    totals: dict[str, int] = {}
    items: dict[str, int] = {}
    with counting_restores(engine) as restores:
        for name, fn in queries.items():
            samples, page = time_query(fn, repeats)
            figures[name] = summarize_ns(samples).as_dict()
            totals[name] = page.total
            items[name] = len(page.items)
    inbox_sorted = _inbox_sorted(engine)
    checks = {
        "rows": seeded["rows"],
        "expected": expected,
        "totals": totals,
        "page_items": items,
        "inbox_total_right": totals["support_lead_inbox"] == expected["inbox"],
        "launch_total_right": totals["launch_list"] == expected["launches"],
        "blocked_total_right": totals["launch_list_blocked"] == expected["blocked"],
        "search_total_right": totals["launch_list_search"] == expected["search"],
        "inbox_sorted_by_due": inbox_sorted,
        "restores": dict(restores),
        "no_restore": restores["restore_state"] == 0 and restores["_restore"] == 0,
    }
    return {
        "launches": launches,
        "open_tasks": open_tasks,
        "seed_s": seeded["seed_s"],
        "analyzed": seeded["analyzed"],
        "vacuumed": seeded["vacuumed"],
        "state_chars_per_launch": seeded["state_chars"],
        "query_ms": figures,
        "checks": checks,
    }


def _inbox_sorted(engine: WorkflowEngine) -> bool:
    page = engine.list_tasks(actor=DEMO_SUPPORT, inbox=True, limit=50)
    dues = [t.due_at for t in page.items if t.due_at is not None]
    return dues == sorted(dues) and all(
        t.assignee == DEMO_SUPPORT.username or (t.assignee is None and t.role == Role.SUPPORT_LEAD.value)
        for t in page.items
    )
