"""Days that are not business days: a manual list beside a country's public holidays (the maintained
`holidays` package), computed per year on first use so a due date in any year finds its holidays."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator
from datetime import date

import holidays as holiday_data


class HolidayCalendar(Collection[date]):
    """`day in calendar`: a manual holiday, or a public holiday of `country` (and `subdiv`). Thread-safe."""

    def __init__(self, manual: Iterable[date] = (), *, country: str = "", subdiv: str = "") -> None:
        self.manual = frozenset(manual)
        self.country = country.upper()
        self.subdiv = subdiv.upper()
        self._years: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()
        if self.country:
            self._load(date.today().year)  # refuses an unknown country or subdivision now, not at a due date
        elif self.subdiv:
            raise ValueError("a holidays subdivision needs a holidays country")

    def _load(self, year: int) -> frozenset[date]:
        with self._lock:
            found = self._years.get(year)
            if found is None:
                try:
                    days = holiday_data.country_holidays(self.country, subdiv=self.subdiv or None, years=year)
                except NotImplementedError as exc:
                    raise ValueError(
                        f"unknown holidays country/subdivision {self.country!r}/{self.subdiv!r}"
                    ) from exc
                found = self._years[year] = frozenset(days)
            return found

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, date):
            return False
        return day in self.manual or (bool(self.country) and day in self._load(day.year))

    def __iter__(self) -> Iterator[date]:
        """The manual days and the public holidays of the years looked at so far."""
        with self._lock:
            loaded = set().union(*self._years.values()) if self._years else set()
        return iter(sorted(self.manual | loaded))

    def __len__(self) -> int:
        return len(list(iter(self)))
