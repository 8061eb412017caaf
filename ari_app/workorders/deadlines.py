"""Deadlines in working days, on a site's calendar and time zone.

`due_at` is the end (23:59:59 local) of the Nth working day after the day the order was
accepted (0: the same day, or the next working day if it was accepted on a day off); a
granted extension or a pause adds working days. `due_actions` decides, from the order and
`now` alone, whether a reminder (催办) or an escalation is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from ari_app.workorders.model import Limits, WorkOrder, WorkOrderError

_DAY = timedelta(days=1)
END_OF_DAY = time(23, 59, 59)


class WorkingDays(Protocol):
    """What the deadlines need of a calendar (`ari_app.calendar.Calendar` is one)."""

    def is_working_day(self, day: date) -> bool: ...

    def working_day_after(self, start: date, n: int) -> date: ...


@dataclass(frozen=True)
class Rules:
    """The site's calendar and time zone, and the configured limits."""

    days: WorkingDays
    timezone: str
    limits: Limits

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_date(self, at: datetime) -> date:
        if at.tzinfo is None:
            raise WorkOrderError("work-order times must be time-zone aware")
        return at.astimezone(self.zone).date()


def due_day(rules: Rules, accepted: date, n: int) -> date:
    """The local date an order accepted on `accepted` with `n` working days is due."""
    if n < 0:
        raise WorkOrderError(f"a time limit cannot be negative ({n})")
    if n == 0:
        return accepted if rules.days.is_working_day(accepted) else rules.days.working_day_after(
            accepted, 1
        )
    return rules.days.working_day_after(accepted, n)


def end_of_day(rules: Rules, day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, rules.zone).astimezone(UTC)


def due_at(rules: Rules, order: WorkOrder) -> datetime:
    """The order's deadline: its round's start, limit, granted extensions and pauses."""
    n = order.limit_days + order.extension_days + order.paused_days
    return end_of_day(rules, due_day(rules, rules.local_date(order.round_started_at), n))


def working_days_in(rules: Rules, start: datetime, end: datetime) -> int:
    """Working days in (start's date, end's date]: what a pause from `start` to `end` cost."""
    first, last = rules.local_date(start), rules.local_date(end)
    count, day = 0, first + _DAY
    while day <= last:
        count += rules.days.is_working_day(day)
        day += _DAY
    return count


def working_seconds(rules: Rules, start: datetime, end: datetime) -> float:
    """Seconds between two instants that fall on working days (whole local days)."""
    if end <= start:
        return 0.0
    zone = rules.zone
    total, day = 0.0, rules.local_date(start)
    last = rules.local_date(end)
    while day <= last:
        if rules.days.is_working_day(day):
            lo = datetime.combine(day, time(0), zone)
            hi = datetime.combine(day + _DAY, time(0), zone)
            total += max(0.0, (min(hi, end) - max(lo, start)).total_seconds())
        day += _DAY
    return total


def share_used(rules: Rules, order: WorkOrder, now: datetime) -> float:
    """How much of the order's working time is used (1.0 at the deadline)."""
    whole = working_seconds(rules, order.round_started_at, order.due_at)
    if whole <= 0:
        return 1.0
    return working_seconds(rules, order.round_started_at, now) / whole


@dataclass(frozen=True)
class Remind:
    """催办: the share of the time is used; the department is reminded."""

    share: float


@dataclass(frozen=True)
class Escalate:
    """The deadline passed: the supervisor is told."""


DueAction = Remind | Escalate


def due_actions(rules: Rules, order: WorkOrder, now: datetime) -> tuple[DueAction, ...]:
    """What the periodic check must do for this order now (each at most once per round).
    A paused order's clock stands still: nothing is due while it waits for the caller."""
    if not order.is_open or order.paused_since is not None or order.escalated:
        return ()
    if now > order.due_at:
        return (Escalate(),) if order.reminded else (Remind(1.0), Escalate())
    if order.reminded:
        return ()
    used = share_used(rules, order, now)
    return (Remind(round(used, 3)),) if used >= rules.limits.reminder_share else ()
