"""Time, injectable so tests never sleep, and business-day arithmetic for due dates."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
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


def add_business_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """`days` business days after `start`, same time of day; weekends and holidays are skipped."""
    if days < 0:
        raise ValueError("days must not be negative")
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if is_business_day(moment.date(), holidays):
            remaining -= 1
    return moment
