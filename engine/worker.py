"""The background worker: fires BPMN timers, runs the reminder ladder, delivers the outbox.

One tick:
1. launches whose next timer is due are restored and their timers fired (`WorkflowEngine.fire_due_timers`);
2. due ladder steps are done over the task index (`engine.reminders`);
3. due outbox messages are claimed with a lease and delivered on every configured channel; success marks
   them delivered, failure schedules the next attempt after an exponential backoff, and the last failed
   attempt makes the message an incident;
4. an audit checkpoint when one is due (`engine.checkpoints`): at most once per `checkpoint_every`, only
   when a chain changed, and only when a signing key is configured;
5. maintenance, at most once per `maintenance_every` (and on the first tick): the query planner's
   statistics are refreshed (`engine.db.maintenance.refresh_statistics`), so the inbox and the lists
   keep their indexes as the tables grow. SQLite never gathers statistics by itself.

Any number of workers can run against PostgreSQL (row locks with SKIP LOCKED, version checks); against
SQLite every step is one write transaction, so workers take turns. Time comes from the engine's clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from engine import checkpoints, idempotency, outbox, reminders
from engine.audit_signing import Signer
from engine.commands.outcome import ERROR_KIND, THROWN_KIND
from engine.db.maintenance import refresh_statistics
from engine.delivery import (
    CONNECTOR_WEBHOOK_KIND,
    Channel,
    DeliveryConfig,
    DeliveryError,
    channels_for,
    connector_channel,
)
from engine.logcontext import log_context
from engine.notifications import CompositionError, compose
from engine.outbox import OutboxMessageView
from engine.service import WorkflowEngine

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAINTENANCE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class TickReport:
    timers: int = 0
    reminders: int = 0
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    incidents: int = 0
    maintained: bool = False  # the planner statistics were refreshed in this tick
    checkpoint: int | None = None  # the audit checkpoint written in this tick

    @property
    def busy(self) -> bool:
        return bool(self.timers or self.reminders or self.claimed)


class Worker:
    def __init__(
        self,
        engine: WorkflowEngine,
        config: DeliveryConfig,
        *,
        channels: Sequence[Channel] | None = None,
        worker_id: str | None = None,
        maintenance_every: timedelta = MAINTENANCE_EVERY,
        signer: Signer | None = None,
        checkpoint_every: timedelta = checkpoints.DEFAULT_INTERVAL,
        audit_to: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.channels = list(channels) if channels is not None else channels_for(config)
        self.connector_channel: Channel = connector_channel(
            config, clock=lambda: engine.clock.now().timestamp()
        )
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.maintenance_every = maintenance_every
        self._maintained_at: datetime | None = None
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        # Called after every tick of run() with its report and duration in seconds (metrics).
        self.on_tick: Callable[[TickReport, float], None] | None = None
        self.audit_to = dict(audit_to) if audit_to is not None else None

    def tick(self) -> TickReport:
        """One round: timers, the reminder ladder, deliveries, maintenance when due. A failure in one step
        is logged and does not stop the others (or the next tick)."""
        timers = self._step("timers", lambda: len(self.engine.fire_due_timers()), 0)
        steps = self._step(
            "reminders",
            lambda: reminders.run_ladder(
                self.engine.db,
                now=self.engine.clock.now(),
                policy=self.engine.schedule,
                holidays=self.engine.holidays,
            ),
            0,
        )
        claimed, delivered, retrying, incidents = self._step("delivery", self.deliver_due, (0, 0, 0, 0))
        checkpoint = self._step("checkpoint", self.checkpoint, None)
        maintained = self._step("maintenance", self.maintain, False)
        return TickReport(timers, steps, claimed, delivered, retrying, incidents, maintained, checkpoint)

    def checkpoint(self) -> int | None:
        """Sign and send an audit checkpoint when one is due; its id, or None."""
        if self.signer is None:
            return None
        written = checkpoints.write_checkpoint(
            self.engine.db,
            self.signer,
            now=self.engine.clock.now(),
            interval=self.checkpoint_every,
            send_to=self.audit_to,
        )
        return written.id if written is not None else None

    def maintain(self) -> bool:
        """Refresh the planner statistics if this worker has not done so in the last `maintenance_every`
        (by the engine's clock); True when it ran. The time is taken before the work, so a failing run is
        tried again one interval later, not on every tick."""
        now = self.engine.clock.now()
        last = self._maintained_at
        if last is not None and last <= now < last + self.maintenance_every:
            return False
        self._maintained_at = now
        purged = idempotency.purge(self.engine.db, now=now)
        refresh_statistics(self.engine.db)
        logger.info(
            "worker %s: planner statistics refreshed, %d expired idempotency keys purged",
            self.worker_id,
            purged,
        )
        return True

    def _step(self, name: str, run: Callable[[], T], fallback: T) -> T:
        try:
            return run()
        except Exception:  # keep the worker alive; the failure is in the log and retried next tick
            logger.exception("worker %s: the %s step failed", self.worker_id, name)
            return fallback

    def deliver_due(self) -> tuple[int, int, int, int]:
        """Claim and deliver one batch: (claimed, delivered, retrying, incidents)."""
        batch = outbox.claim(
            self.engine.db,
            now=self.engine.clock.now(),
            worker_id=self.worker_id,
            policy=self.config.retry,
            limit=self.config.batch_size,
        )
        delivered = retrying = incidents = 0
        for message in batch:
            try:
                with log_context(launch_id=message.launch_id, task_id=message.task_id):
                    events = message.kind in (THROWN_KIND, ERROR_KIND)
                    outcome = self.deliver_event(message) if events else self.deliver(message)
            except Exception:  # bookkeeping failed (e.g. a locked database): the lease expires, retried
                logger.exception("outbox message %s: could not record the outcome", message.id)
                continue
            delivered += outcome == "delivered"
            retrying += outcome == "retrying"
            incidents += outcome == "incident"
        return len(batch), delivered, retrying, incidents

    def deliver_event(self, message: OutboxMessageView) -> str:
        """A thrown message or signal goes to the launches waiting for it (never to a channel); an
        uncaught workflow error is an incident at once."""
        db, now = self.engine.db, self.engine.clock.now
        if message.kind == ERROR_KIND:
            error = str(message.payload.get("reason", "an error nobody caught"))
            failed = outbox.finish_failed(
                db,
                message=message,
                worker_id=self.worker_id,
                now=now(),
                error=error,
                policy=self.config.retry,
                permanent=True,
            )
            return "incident" if failed else "lost"
        reached = self.engine.deliver_thrown_event(message)
        logger.info("outbox message %s (%s) reached launches %s", message.id, message.kind, reached)
        delivered = outbox.finish_delivered(db, message_id=message.id, worker_id=self.worker_id, now=now())
        return "delivered" if delivered else "lost"

    def deliver(self, message: OutboxMessageView) -> str:
        """Deliver one claimed message on every channel not done yet: 'delivered', 'retrying',
        'incident', or 'lost' (another worker took it over after our lease expired)."""
        db, now = self.engine.db, self.engine.clock.now
        errors: list[DeliveryError] = []
        channels = self._channels_for(message)
        try:
            if not channels:
                raise DeliveryError("no delivery channel is configured (SMTP or webhook)", permanent=True)
            with db.read() as session:
                notification = compose(
                    session,
                    message,
                    base_url=self.config.base_url,
                    default_distribution=self.config.support_distribution,
                )
            for channel in channels:
                if channel.name in message.delivered_channels:
                    continue
                if not outbox.renew_lease(
                    db, message_id=message.id, worker_id=self.worker_id, now=now(), policy=self.config.retry
                ):
                    logger.warning(
                        "outbox message %s: lease lost before sending; left to its new holder", message.id
                    )
                    return "lost"
                try:
                    channel.send(notification)
                except DeliveryError as exc:
                    errors.append(exc)
                    continue
                outbox.record_channel(
                    db, message_id=message.id, worker_id=self.worker_id, channel=channel.name
                )
        except CompositionError as exc:
            errors.append(DeliveryError(str(exc), permanent=True))
        except DeliveryError as exc:
            errors.append(exc)
        except Exception as exc:  # a bug or an unexpected failure: retried like any failed attempt
            logger.exception("outbox message %s: unexpected failure", message.id)
            errors.append(DeliveryError(f"unexpected: {exc!r}"))
        return self._finish(message, errors)

    def _finish(self, message: OutboxMessageView, errors: Sequence[DeliveryError]) -> str:
        """Record the attempt's outcome: 'delivered', 'retrying', 'incident' or 'lost'."""
        db, now = self.engine.db, self.engine.clock.now
        if not errors:
            if outbox.finish_delivered(db, message_id=message.id, worker_id=self.worker_id, now=now()):
                logger.info("outbox message %s (%s) delivered", message.id, message.kind)
                return "delivered"
            return "lost"
        error = "; ".join(e.message for e in errors)
        permanent = all(e.permanent for e in errors)
        logger.warning(
            "outbox message %s (%s) attempt %s failed: %s", message.id, message.kind, message.attempts, error
        )
        incident = outbox.finish_failed(
            db,
            message=message,
            worker_id=self.worker_id,
            now=now(),
            error=error,
            policy=self.config.retry,
            permanent=permanent,
        )
        return "incident" if incident else "retrying"

    def _channels_for(self, message: OutboxMessageView) -> list[Channel]:
        """A webhook connector's message goes to its own URL only; every other message on every
        configured channel."""
        if message.kind == CONNECTOR_WEBHOOK_KIND:
            return [self.connector_channel]
        return list(self.channels)

    def run(self, *, poll_seconds: float = 2.0, stop: threading.Event | None = None) -> None:
        """Tick until `stop` is set; a busy tick is followed at once by the next one."""
        stop = stop or threading.Event()
        logger.info("worker %s started (poll every %.1f s)", self.worker_id, poll_seconds)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                report = self.tick()
            except Exception:
                logger.exception("worker tick failed; trying again after the poll interval")
                report = TickReport()
            if self.on_tick is not None:
                self.on_tick(report, time.perf_counter() - started)
            if not report.busy:
                stop.wait(poll_seconds)
        logger.info("worker %s stopped", self.worker_id)
