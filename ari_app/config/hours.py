"""Business hours: is a queue open at a given instant?

Pure: the caller passes the instant, so the call flow, the FastAGI `route` hook and tests
all agree and no code reads the wall clock here. Spans are interpreted in the hours' own
time zone (DST-aware through zoneinfo); holidays are whole local days, closed.

Hours written with `working_days`/`rest_days` follow the site calendar (`ari_app.calendar`):
a working Saturday takes the working-day spans, a holiday Monday the rest-day spans. A date
in a year the calendar has no data for raises `YearNotCovered`; `opening_hours` lets the
shell decide what to do then (log it as an error and fall back to the weekly rule).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from ari_app.calendar import Calendar, YearNotCovered
from ari_app.config.settings import Hours

IsOpen = Callable[[Hours | None, datetime], bool]


def is_open(hours: Hours | None, at: datetime, calendar: Calendar | None = None) -> bool:
    """True if `at` falls in an open span; None means open 24/7.

    An `Hours` with no spans is always closed. `at` must be time-zone aware: a naive
    datetime is ambiguous (server-local? UTC?) and is refused rather than guessed. Hours
    that follow the calendar need `calendar` (the site's), and raise `YearNotCovered` for a
    date in a year it has no data for.
    """
    if hours is None:
        return True
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("is_open needs a time-zone aware datetime")
    local = at.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.holidays:
        return False
    if hours.uses_calendar:
        if calendar is None:
            raise ValueError("these hours follow the site calendar: pass it to is_open")
        spans = hours.day_type_spans(calendar.is_working_day(local.date()))
    else:
        spans = hours.spans(local.weekday())
    now = local.time().replace(tzinfo=None)
    return any(start <= now and (now < end or end == time.max) for start, end in spans)


def weekday_rule(hours: Hours, at: datetime) -> bool:
    """The fallback for a year without calendar data: Monday-Friday take `working_days`.

    Only for `opening_hours`' `on_gap`, which must say so (an error in the log): never a
    silent guess.
    """
    local = at.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    spans = hours.day_type_spans(local.weekday() < 5)
    return any(start <= now and (now < end or end == time.max) for start, end in spans)


def opening_hours(
    calendar: Calendar | None,
    on_gap: Callable[[YearNotCovered], None] | None = None,
) -> IsOpen:
    """`is_open` bound to the site's calendar, as the call flow's `Switchboard` takes it.

    Without `on_gap`, a year without data raises. With it, `on_gap` is told (the shell logs
    an error) and the queue follows `weekday_rule`, so callers are still answered.
    """

    def check(hours: Hours | None, at: datetime) -> bool:
        try:
            return is_open(hours, at, calendar)
        except YearNotCovered as gap:
            if on_gap is None or hours is None:
                raise
            on_gap(gap)
            return weekday_rule(hours, at)

    return check
