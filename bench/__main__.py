"""`python -m bench`: Launch Gate's benchmarks. See docs/performance.md."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.databases import Backend, postgres_admin_url
from bench.report import write_json
from bench.runner import QUICK, WORKLOADS, Sizes, run_backend


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql", "all"),
        default="all",
        help="all = SQLite, plus PostgreSQL when LAUNCHGATE_BENCH_DATABASE_URL or "
        "LAUNCHGATE_TEST_DATABASE_URL is set (default: all)",
    )
    parser.add_argument(
        "--workload",
        action="append",
        choices=WORKLOADS,
        help="repeatable; default: all of them",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the same code paths")
    parser.add_argument("--out", type=Path, default=Path("bench/results"), help="where the JSON results go")
    parser.add_argument(
        "--scratch-dir",
        type=Path,
        default=None,
        help="where SQLite scratch files go (default: the system temp dir; it must be a real disk)",
    )
    return parser.parse_args(argv)


def backends(choice: str, scratch_dir: Path | None) -> list[Backend]:
    pg = postgres_admin_url()
    found: list[Backend] = []
    if choice in ("sqlite", "all"):
        found.append(Backend("sqlite", scratch_dir=scratch_dir))
    if choice in ("postgresql", "all"):
        if pg is None:
            if choice == "postgresql":
                raise SystemExit(
                    "PostgreSQL needs LAUNCHGATE_BENCH_DATABASE_URL or LAUNCHGATE_TEST_DATABASE_URL "
                    "(a server where scratch databases may be created)"
                )
            print(
                "(PostgreSQL skipped: LAUNCHGATE_BENCH_DATABASE_URL / LAUNCHGATE_TEST_DATABASE_URL not set)"
            )
        else:
            found.append(Backend("postgresql", admin_url=pg))
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes: Sizes = QUICK if args.quick else Sizes()
    workloads = tuple(dict.fromkeys(args.workload or WORKLOADS))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for backend in backends(args.db, args.scratch_dir):
        payload = run_backend(
            backend, workloads, sizes, lambda line: print(line, flush=True), quick=args.quick
        )
        path = write_json(args.out, stamp, backend.name, payload)
        print(f"results: {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
