"""Audit-chain figures on PostgreSQL: completions/s with 4 HTTP clients on 1 and 2 server processes, and
how much of that time the servers' transactions spent waiting for a row lock, by what they waited in.

`python -m bench.audit_lock [--servers 1 2] [--launches-per-client 10]` (needs LAUNCHGATE_BENCH_DATABASE_URL
or LAUNCHGATE_TEST_DATABASE_URL). The lock wait comes from sampling `pg_stat_activity` every few
milliseconds on a separate connection: every backend of the scratch database whose `wait_event_type` is
`Lock` counts as one waiter for one sampling interval, classified by the statement it waits in (the
audit head row, an audit chain row, the launch row, anything else). waiter-seconds / wall seconds is the
average number of transactions queued on a lock. Sampling misses waits shorter than the interval, so
the figures are a lower bound; they are comparable between runs made the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from typing import Any

from sqlalchemy import create_engine, text

from bench.databases import Backend, postgres_admin_url
from bench.http import figures, prepare_http_database, run_http_clients, uvicorn_servers
from bench.runner import machine

SAMPLE_S = 0.002
_WAITERS = text(
    "SELECT query FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


def classify(query: str) -> str:
    lowered = query.lower()
    if "audit_head" in lowered:
        return "audit_head"
    if "audit_chain" in lowered:
        return "audit_chain"
    if "update launch" in lowered:
        return "launch"
    return "other"


class LockSampler:
    """Counts lock waiters of the database in a background thread until stopped."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self._stop = threading.Event()
        self.samples = 0
        self.waiters: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.perf_counter() - self._started
        self._engine.dispose()

    def _run(self) -> None:
        with self._engine.connect() as conn:
            while not self._stop.is_set():
                for (query,) in conn.execute(_WAITERS):
                    self.waiters[classify(str(query or ""))] += 1
                self.samples += 1
                self._stop.wait(SAMPLE_S)

    def as_dict(self, completions: int) -> dict[str, Any]:
        interval = self.seconds / max(self.samples, 1)  # the real interval, query time included
        waited = {kind: count * interval for kind, count in sorted(self.waiters.items())}
        return {
            "samples": self.samples,
            "sample_interval_ms": 1000 * interval,
            "waiter_seconds": waited,
            "avg_waiting_transactions": {k: v / self.seconds for k, v in waited.items()},
            "lock_wait_ms_per_completion": {k: 1000 * v / max(completions, 1) for k, v in waited.items()},
        }


def measure(admin_url: str, servers: int, launches_per_client: int) -> dict[str, Any]:
    backend = Backend("postgresql", admin_url=admin_url)
    with backend.scratch(f"audit-lock-{servers}") as url:
        tokens = prepare_http_database(url)
        with uvicorn_servers(url, servers) as running:
            bases = [s.base_url for s in running]
            for base in bases:
                run_http_clients([base], tokens, 1, 1, "warm-up", alternate=False)
            with LockSampler(url) as sampler:
                runs, wall, busy = run_http_clients(
                    bases, tokens, 4, launches_per_client, f"{servers}s", alternate=False
                )
            result = figures(runs, wall, 4, busy)
            result["lock_waits"] = sampler.as_dict(result["completions"])
            result["servers"] = servers
            result["all_live"] = all(r.final_status == "live" for r in runs)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_lock", description=__doc__)
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--launches-per-client", type=int, default=10)
    parser.add_argument("--label", default="", help="a name for this run (e.g. before / after)")
    args = parser.parse_args(argv)
    admin = postgres_admin_url()
    if admin is None:
        raise SystemExit("needs LAUNCHGATE_BENCH_DATABASE_URL or LAUNCHGATE_TEST_DATABASE_URL")
    out: dict[str, Any] = {"label": args.label, "machine": machine(), "runs": []}
    for servers in args.servers:
        result = measure(admin, servers, args.launches_per_client)
        out["runs"].append(result)
        waits = result["lock_waits"]["lock_wait_ms_per_completion"]
        print(
            f"{args.label} servers={servers}: {result['completions_per_s']:.1f} completions/s "
            f"({result['completions']} in {result['wall_s']:.1f} s), submit p50 "
            f"{result['submit_ms']['p50']:.1f} ms, lock wait ms/completion {json.dumps(waits)}",
            flush=True,
        )
    print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
