"""Time, injectable so tests never sleep, and business-day arithmetic for due dates."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


def format_utc(moment: datetime) -> str:
    """A fixed-width, sortable UTC timestamp with microseconds (the audit trail's time format)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_business_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(
    start: datetime, days: int, holidays: Collection[date] = (), *, tz: tzinfo = UTC
) -> datetime:
    """`days` business days after `start`, same local time of day in `tz` (the team's time zone, where
    weekends and holidays fall); weekends and holidays are skipped. The answer is in `start`'s zone."""
    if days < 0:
        raise ValueError("days must not be negative")
    moment = start.astimezone(tz)
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if is_business_day(moment.date(), holidays):
            remaining -= 1
    return moment.astimezone(start.tzinfo)
