"""How long `launchgate audit verify` takes: every chain, every checkpoint's signature and root.

`python -m bench.audit_verify [--events 100000] [--chains 1000] [--db sqlite|postgresql]` appends the events
through `engine.audit.append_event` (500 per transaction, spread over the chains, a signed checkpoint
every 20,000 events), then times `WorkflowEngine.verify_audit` with the public key. It prints the time, the
time per event, and the time for 1,000,000 events extrapolated linearly from the per-event figure (verify
is one pass over the events in order, so its cost grows with their number; the extrapolation is stated
as such, not measured).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.databases import Backend, postgres_admin_url, prepared_engine
from engine import audit
from engine.audit_signing import Signer, generate_private_key_pem
from engine.checkpoints import write_checkpoint
from engine.domain import Actor, Role

ACTOR = Actor("bench.writer", frozenset({Role.PM}))
BATCH = 500
CHECKPOINT_EVERY = 20_000


def seed(engine: Any, signer: Signer, *, events: int, chains: int) -> int:
    at = datetime(2031, 1, 1, tzinfo=UTC)
    written = checkpoints = 0
    while written < events:
        with engine.db.write() as session:
            for index in range(written, min(written + BATCH, events)):
                audit.append_event(
                    session,
                    actor=ACTOR,
                    action="bench.event",
                    at=at + timedelta(milliseconds=index),
                    launch_id=f"bench-{index % chains:06d}",
                    detail={"n": index, "text": "a typical detail of a few dozen characters"},
                )
        written = min(written + BATCH, events)
        if written % CHECKPOINT_EVERY == 0 or written == events:
            write_checkpoint(engine.db, signer, now=at + timedelta(minutes=written), force=True)
            checkpoints += 1
    return checkpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_verify", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    pg = postgres_admin_url() if args.db == "postgresql" else None
    backend = Backend(args.db, admin_url=pg)
    signer = Signer.from_pem(generate_private_key_pem())
    with backend.scratch("audit-verify") as url:
        engine = prepared_engine(url)
        try:
            started = time.perf_counter()
            checkpoints = seed(engine, signer, events=args.events, chains=args.chains)
            seeded_s = time.perf_counter() - started
            started = time.perf_counter()
            result = engine.verify_audit(public_key=signer.public)
            verify_s = time.perf_counter() - started
        finally:
            engine.db.dispose()
    if not result.ok:
        raise SystemExit(f"verify failed: {result.message}")
    per_event_us = 1e6 * verify_s / result.count
    out = {
        "database": args.db,
        "events": result.count,
        "chains": args.chains,
        "signed_checkpoints": result.checkpoints,
        "checkpoints_written": checkpoints,
        "seed_s": seeded_s,
        "verify_s": verify_s,
        "verify_us_per_event": per_event_us,
        "verify_s_for_1m_events_extrapolated": per_event_us,  # µs/event times 10^6 events = seconds
    }
    print(
        f"{args.db}: verify of {result.count} events in {args.chains} chains with {result.checkpoints} "
        f"signed checkpoints: {verify_s:.2f} s ({per_event_us:.1f} µs/event); 1,000,000 events extrapolated "
        f"linearly: {per_event_us:.0f} s"
    )
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
