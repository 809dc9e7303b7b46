"""/metrics in the Prometheus text format (prometheus-client).

Counted as it happens: HTTP requests by method, route template and status, their latency, changes
(commands: every POST/PUT/PATCH/DELETE) by outcome (ok, refused, conflict, error), the worker's tick
duration. Read from the database at each scrape: launches by status, blocked launches, open tasks by role,
completed tasks, outbox messages pending and failed (incidents).

Several processes (serve --workers N, the worker beside them): `launchgate serve` and `worker` keep their
counters in PROMETHEUS_MULTIPROC_DIR (default: metrics/ in the data directory) and a scrape adds up
every process's (prometheus-client's multiprocess mode).

Who may read it: clients on loopback, clients in LAUNCHGATE_METRICS_ALLOW_IPS, and requests with
`Authorization: Bearer <LAUNCHGATE_METRICS_TOKEN>`; anyone else gets 404 (not audited)."""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from api.authorization import PUBLIC, allow
from api.errors import problem
from api.settings import Settings
from engine import Database, read_operational_counts

REQUESTS = Counter(
    "launchgate_http_requests",
    "HTTP requests by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "launchgate_http_request_duration_seconds",
    "HTTP request latency by method and route",
    ["method", "route"],
)
COMMANDS = Counter(
    "launchgate_commands", "Changes (POST/PUT/PATCH/DELETE) by route and outcome", ["route", "outcome"]
)
TICKS = Histogram(
    "launchgate_worker_tick_duration_seconds",
    "Duration of the worker's ticks",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 409:
        return "conflict"
    return "refused" if status < 500 else "error"


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)
    if method in _CHANGES:
        COMMANDS.labels(route, outcome(status)).inc()


def observe_tick(_report: object, seconds: float) -> None:
    TICKS.observe(seconds)


class DatabaseGauges(Collector):
    """Gauges read from the database at each scrape."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        counts = read_operational_counts(self.database)
        launches = GaugeMetricFamily("launchgate_launches", "Launches by status", labels=["status"])
        for status, count in sorted(counts.launches_by_status.items()):
            launches.add_metric([status], count)
        yield launches
        yield GaugeMetricFamily(
            "launchgate_launches_blocked",
            "Active launches whose go-live is blocked",
            value=counts.blocked_launches,
        )
        tasks = GaugeMetricFamily("launchgate_open_tasks", "Ready tasks by role", labels=["role"])
        for role, count in sorted(counts.open_tasks_by_role.items()):
            tasks.add_metric([role], count)
        yield tasks
        yield GaugeMetricFamily(
            "launchgate_task_completions", "Tasks completed (all time)", value=counts.completed_tasks
        )
        outbox = GaugeMetricFamily(
            "launchgate_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        for status in ("pending", "failed"):
            outbox.add_metric([status], counts.outbox_by_status.get(status, 0))
        yield outbox
        yield GaugeMetricFamily(
            "launchgate_incidents",
            "Messages that could not be delivered",
            value=counts.outbox_by_status.get("failed", 0),
        )


def may_read(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token.get_secret_value()
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    allowed = [part.strip() for part in settings.metrics_allow_ips.split(",") if part.strip()]
    return address.is_loopback or any(address in ipaddress.ip_network(net, strict=False) for net in allowed)


def install_metrics(app: FastAPI, database: Database) -> None:
    gauges = DatabaseGauges(database)

    @app.get("/metrics", include_in_schema=False, dependencies=[Depends(allow(PUBLIC))])
    def metrics(request: Request) -> Response:
        if not may_read(request, request.app.state.settings):
            # 404, as if there were none: not an audited refusal (a scraper set up wrongly would fill the
            # audit trail every few seconds), and nothing to learn about the server.
            return problem(404, "not-found", "no such page")
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(gauges)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        registry.register(gauges)
        body = generate_latest(REGISTRY) + generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
