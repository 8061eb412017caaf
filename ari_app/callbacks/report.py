"""Callback KPIs per queue, from the records: `hotline report callbacks`.

A callback counts in the period it was requested in. Per queue (and a total line `*`):
`requested`; `dialled` (at least one attempt reached the dialling of the caller);
`attempts` (callers dialled, in all); `answered`; `failed` (attempts used up); `cancelled`;
`pending` (still open now); `answered_rate` (answered / requested); and the time to
callback in working days of the answered ones (`Calendar.working_days_between` of the
request's and the answer's local days: 0 = the same day): `mean_working_days`,
`max_working_days`, `answered_within_deadline` (answered by `due_by`, scheduled ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ari_app.calendar import Calendar
from ari_app.callbacks.model import Callback, State
from ari_app.callbacks.windows import working_days_taken

TOTAL = "*"


@dataclass(frozen=True, slots=True)
class CallbackKpi:
    queue: str
    requested: int
    dialled: int
    attempts: int
    answered: int
    failed: int
    cancelled: int
    pending: int
    answered_rate: float | None
    mean_working_days: float | None
    max_working_days: int | None
    answered_within_deadline: int

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


def callback_kpis(
    callbacks: Iterable[Callback], calendar: Calendar, start: float, end: float
) -> list[CallbackKpi]:
    """Callbacks requested in [start, end), per queue in name order, then the total."""
    by_queue: dict[str, list[Callback]] = {}
    for cb in callbacks:
        if start <= cb.requested_at < end:
            by_queue.setdefault(cb.queue, []).append(cb)
    rows = [_row(q, by_queue[q], calendar) for q in sorted(by_queue)]
    rows.append(_row(TOTAL, [cb for q in sorted(by_queue) for cb in by_queue[q]], calendar))
    return rows


def _row(queue: str, cbs: list[Callback], calendar: Calendar) -> CallbackKpi:
    answered = [cb for cb in cbs if cb.state is State.ANSWERED and cb.answered_at is not None]
    days = [working_days_taken(calendar, cb.requested_at, cb.answered_at or 0.0) for cb in answered]
    return CallbackKpi(
        queue=queue,
        requested=len(cbs),
        dialled=sum(1 for cb in cbs if cb.attempts > 0),
        attempts=sum(cb.attempts for cb in cbs),
        answered=len(answered),
        failed=sum(1 for cb in cbs if cb.state is State.FAILED),
        cancelled=sum(1 for cb in cbs if cb.state is State.CANCELLED),
        pending=sum(1 for cb in cbs if cb.pending),
        answered_rate=round(len(answered) / len(cbs), 4) if cbs else None,
        mean_working_days=round(sum(days) / len(days), 4) if days else None,
        max_working_days=max(days) if days else None,
        answered_within_deadline=sum(
            1 for cb in answered
            if cb.due_by is not None and (cb.answered_at or 0.0) <= cb.due_by
        ),
    )
