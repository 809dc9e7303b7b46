"""Time rules: due dates of user tasks and the reminder / escalation ladder. Plain values, no database.

- A user task is due `due_in_business_days` (its diagram property) after it becomes ready, unless the
  launch overrides that task's number of days. Business days skip weekends and the configured holidays.
- Tasks that hold a gate item (the gate item task itself and the steps towards it) are due no later than
  `support_days_before_launch` business days before the planned launch date: support's work must be done
  before the launch, however late the step before it finished.
- The ladder is configuration, not diagram: steps relative to the due date, in business days
  (-1 = one business day before it, 0 = at it, +1 = one business day overdue), each a reminder to the
  assignee (or the task's role queue) or an escalation to the support managers.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum

from engine.clock import add_business_days, is_business_day
from engine.domain import Actor

# Who the audit trail names for what the worker does on its own (timers, reminders, escalations).
WORKER_ACTOR = Actor(username="launchgate-worker", roles=frozenset())


class LadderAction(StrEnum):
    REMIND = "remind"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class LadderStep:
    """One rung: `offset_business_days` relative to the due date, and what happens then."""

    offset_business_days: int
    action: LadderAction

    @property
    def audit_action(self) -> str:
        return "task.escalated" if self.action is LadderAction.ESCALATE else "task.reminded"

    @property
    def message_kind(self) -> str:
        return "task_escalation" if self.action is LadderAction.ESCALATE else "task_reminder"

    def describe(self) -> str:
        days = abs(self.offset_business_days)
        when = (
            "at the due date"
            if days == 0
            else f"{days} business day{'s' if days != 1 else ''} "
            + ("before the due date" if self.offset_business_days < 0 else "overdue")
        )
        return f"{self.action.value} {when}"


DEFAULT_LADDER: tuple[LadderStep, ...] = (
    LadderStep(-1, LadderAction.REMIND),
    LadderStep(0, LadderAction.REMIND),
    LadderStep(1, LadderAction.ESCALATE),
)


@dataclass(frozen=True)
class SchedulePolicy:
    """Due-date and ladder configuration (from settings; the engine gets plain values)."""

    ladder: tuple[LadderStep, ...] = DEFAULT_LADDER
    support_days_before_launch: int = 2
    escalate_to_role: str = "support_manager"
    timezone: tzinfo = UTC  # where the team's days begin and end: weekends, holidays, the launch date

    def __post_init__(self) -> None:
        offsets = [s.offset_business_days for s in self.ladder]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise ValueError("ladder steps must have distinct offsets in increasing order")
        if self.support_days_before_launch < 0:
            raise ValueError("support_days_before_launch must not be negative")


def shift_business_days(
    moment: datetime, days: int, holidays: Collection[date] = (), *, tz: tzinfo = UTC
) -> datetime:
    """`days` business days after (positive) or before (negative) `moment`, same local time of day in
    `tz`. The answer is in `moment`'s zone."""
    if days >= 0:
        return add_business_days(moment, days, holidays, tz=tz)
    local = moment.astimezone(tz)
    remaining = -days
    while remaining > 0:
        local -= timedelta(days=1)
        if is_business_day(local.date(), holidays):
            remaining -= 1
    return local.astimezone(moment.tzinfo)


def task_due_at(
    *,
    now: datetime,
    task_id: str,
    default_days: int | None,
    overrides: Mapping[str, int],
    holds_gate_item: bool,
    planned_launch_date: date | None,
    policy: SchedulePolicy,
    holidays: Collection[date] = (),
) -> datetime | None:
    """When a task that becomes ready at `now` is due (None: it has no due date)."""
    days = overrides.get(task_id, default_days)
    tz = policy.timezone
    due = add_business_days(now, days, holidays, tz=tz) if days else None
    if holds_gate_item and planned_launch_date is not None:
        # The launch date is a day of the team's calendar: that day at the local time it is now.
        launch_day = datetime.combine(planned_launch_date, now.astimezone(tz).timetz()).astimezone(now.tzinfo)
        bound = shift_business_days(launch_day, -policy.support_days_before_launch, holidays, tz=tz)
        due = bound if due is None or bound < due else due
    return due


def ladder_moment(
    due_at: datetime, step: LadderStep, holidays: Collection[date] = (), *, tz: tzinfo = UTC
) -> datetime:
    return shift_business_days(due_at, step.offset_business_days, holidays, tz=tz)


def next_ladder_step(
    *,
    due_at: datetime | None,
    created_at: datetime,
    start: int,
    ladder: Sequence[LadderStep],
    holidays: Collection[date] = (),
    tz: tzinfo = UTC,
) -> tuple[int, datetime | None]:
    """The index of the next ladder step from `start` on, and when it is due (None: the ladder is done).

    Steps that would have fallen before the task existed are skipped: a reminder "one day before the due
    date" of a task that was only one day long would say nothing the assignment did not."""
    if due_at is None:
        return len(ladder), None
    for index in range(start, len(ladder)):
        moment = ladder_moment(due_at, ladder[index], holidays, tz=tz)
        if moment > created_at:
            return index, moment
    return len(ladder), None
