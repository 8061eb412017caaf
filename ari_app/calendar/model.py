"""A site's working-day calendar: which local dates are working days, and deadlines on them.

Pure: no clock, no files. A `Calendar` knows the years it has data for (`years`); asking
about any other year raises `YearNotCovered`, never a guess from the weekday. Within a
covered year a date is a working day unless it is a weekend day or listed as a day off,
and a weekend day is a working day when listed as one (China's make-up working weekends).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)


class CalendarError(ValueError):
    """A question the calendar cannot answer; the message says why."""


class YearNotCovered(CalendarError):
    """The calendar has no data for the date's year (and will not guess)."""

    def __init__(self, year: int, site: str, years: Iterable[int]) -> None:
        have = sorted(years)
        known = f"{have[0]}-{have[-1]}" if have else "none"
        if have and len(have) != have[-1] - have[0] + 1:
            known = ", ".join(str(y) for y in have)
        super().__init__(
            f"the calendar of site {site!r} has no data for {year} (years with data: {known});"
            f" add {year}'s days off and working weekends to [calendar] (docs/calendar.md)"
        )
        self.year = year
        self.site = site


@dataclass(frozen=True, slots=True)
class Day:
    """One listed date: a day off or a working day, its name and where it comes from."""

    date: date
    working: bool
    name: str
    source: str  # "seed chinesecalendar 1.11.0" or "config: <note>"


@dataclass(frozen=True)
class Calendar:
    """One site's calendar.

    `days` lists only the dates that differ from the weekly rule or carry a name (holidays
    that fall on a weekend are listed too, as days off, for their name). `weekend` holds
    weekday numbers (0 = Monday).
    """

    site: str
    timezone: str
    years: frozenset[int]
    days: Mapping[date, Day] = field(default_factory=dict)
    weekend: frozenset[int] = frozenset({5, 6})

    # ------------------------------------------------------------------ one day

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def _check(self, day: date) -> None:
        if day.year not in self.years:
            raise YearNotCovered(day.year, self.site, self.years)

    def is_working_day(self, day: date) -> bool:
        """True on a working day; raises YearNotCovered for a year without data."""
        self._check(day)
        listed = self.days.get(day)
        if listed is not None:
            return listed.working
        return day.weekday() not in self.weekend

    def describe(self, day: date) -> Day:
        """The day with its reason: the listed entry, else `weekday` or `weekend`."""
        self._check(day)
        listed = self.days.get(day)
        if listed is not None:
            return listed
        weekend = day.weekday() in self.weekend
        return Day(day, not weekend, "weekend" if weekend else "weekday", "weekly rule")

    def local_date(self, at: datetime) -> date:
        """The site's local date at an aware instant (naive instants are refused)."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise CalendarError("the calendar needs a time-zone aware datetime")
        return at.astimezone(ZoneInfo(self.timezone)).date()

    # ------------------------------------------------------------------ deadlines

    def working_day_after(self, start: date, n: int) -> date:
        """The `n`th working day after `start` (`n` ≥ 1; `start` itself never counts).

        `working_day_after(2026-09-28, 5)` is 2026-10-10, a working Saturday. Every year
        crossed must have data: a deadline is never computed on a guess.
        """
        if n < 1:
            raise CalendarError(f"n must be 1 or more, not {n}")
        self._check(start)
        day = start
        while n:
            day += _DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def working_day_before(self, start: date, n: int) -> date:
        """The `n`th working day before `start` (`n` ≥ 1)."""
        if n < 1:
            raise CalendarError(f"n must be 1 or more, not {n}")
        self._check(start)
        day = start
        while n:
            day -= _DAY
            if self.is_working_day(day):
                n -= 1
        return day

    def next_working_day(self, start: date) -> date:
        """`start` if it is a working day, else the first working day after it."""
        return start if self.is_working_day(start) else self.working_day_after(start, 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (`start`, `end`]: how many a deadline from `start` has used."""
        if end < start:
            return -self.working_days_between(end, start)
        self._check(start)
        return sum(1 for d in _dates(start + _DAY, end) if self.is_working_day(d))

    def listed(self, year: int) -> list[Day]:
        """The year's listed days (days off and working weekends), in date order."""
        self._check(date(year, 1, 1))
        return sorted((d for d in self.days.values() if d.date.year == year), key=_by_date)


def _by_date(day: Day) -> date:
    return day.date


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _DAY
