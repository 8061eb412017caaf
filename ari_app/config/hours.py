"""Business hours: is a queue open at a given instant?

Pure: the caller passes the instant, so the call flow, the FastAGI `route` hook and tests
all agree and no code reads the wall clock here. Spans are interpreted in the hours' own
time zone (DST-aware through zoneinfo); holidays are whole local days, closed.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from ari_app.config.settings import Hours


def is_open(hours: Hours | None, at: datetime) -> bool:
    """True if `at` falls in an open span; None means open 24/7.

    An `Hours` with no weekly spans is always closed. `at` must be time-zone aware: a naive
    datetime is ambiguous (server-local? UTC?) and is refused rather than guessed.
    """
    if hours is None:
        return True
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("is_open needs a time-zone aware datetime")
    local = at.astimezone(ZoneInfo(hours.timezone))
    if local.date() in hours.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    return any(
        start <= now and (now < end or end == time.max)
        for start, end in hours.spans(local.weekday())
    )
