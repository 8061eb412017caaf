"""When a callback may be dialled, and by when it should be.

A callback is dialled only while its queue is open (`ari_app.config.hours.is_open`, bound to
the site calendar). Its deadline is the end (23:59:59, the site's time zone) of the Nth
working day after the local day it was asked for, on the site calendar (`ari_app.calendar`):
asked on Monday 2026-09-28 within 5 working days, it is due by Saturday 2026-10-10 (the
National Day holiday 10-01..07 does not count, Saturday 10-10 is a working day). Pure: the
caller passes every instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ari_app.calendar import Calendar
from ari_app.config.opening import Hours

IsOpen = Callable[[Hours | None, datetime], bool]

_HORIZON_DAYS = 400


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def deadline(calendar: Calendar, requested_at: float, working_days: int) -> float:
    """The end of the `working_days`th working day after the request's local day (0: the
    same day if it is a working day, else the next working day). Raises `YearNotCovered`
    for a year the calendar has no data for: a deadline is never a guess."""
    day = calendar.local_date(_utc(requested_at))
    if working_days == 0:
        last = calendar.next_working_day(day)
    else:
        last = calendar.working_day_after(day, working_days)
    end = datetime.combine(last, time(23, 59, 59), ZoneInfo(calendar.timezone))
    return end.timestamp()


def working_days_taken(calendar: Calendar, requested_at: float, done_at: float) -> int:
    """Working days from the request's local day to the callback's (the KPI's "time to
    callback"): 0 on the same day, 1 on the next working day..."""
    start = calendar.local_date(_utc(requested_at))
    end = calendar.local_date(_utc(done_at))
    return calendar.working_days_between(start, end)


def next_opening(hours: Hours | None, after: float, is_open: IsOpen) -> float | None:
    """The first instant at or after `after` at which the queue is open (None: not within
    400 days). The candidates are `after` itself and the start of every span on the days
    that follow; `is_open` decides each, so holidays, working weekends and days off follow
    the same rule as for a caller ringing in."""
    if hours is None or is_open(hours, _utc(after)):
        return after
    zone = ZoneInfo(hours.timezone)
    starts = sorted(
        {start for wd in range(7) for start, _ in hours.spans(wd)}
        | {start for working in (True, False) for start, _ in hours.day_type_spans(working)}
    )
    local = _utc(after).astimezone(zone)
    day: date = local.date()
    for _ in range(_HORIZON_DAYS):
        for start in starts:
            candidate = datetime.combine(day, start, zone)
            if candidate.timestamp() > after and is_open(hours, candidate):
                return candidate.timestamp()
        day += timedelta(days=1)
    return None
