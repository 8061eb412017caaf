"""The book of pending callbacks: each one's deadline (working days on the site
calendar), its dialling window (the queue's opening hours), and an exact timer for the
instant it becomes due. Every change is published whole (`CallbackChanged`) for the
records and MQTT."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from ari_app.calendar import Calendar, CalendarError
from ari_app.callbacks import Callback, State, deadline, next_opening
from ari_app.callflow.desk import Desk
from ari_app.config.callbacks import CallbackSettings
from ari_app.config.site_calendar import site_calendar
from ari_app.domain.commands import CancelTimer, StartTimer
from ari_app.domain.events import CallbackChanged
from ari_app.domain.privacy import mask

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class CallbackBook:
    """Pending callbacks by id, and when each may be dialled."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self.book: dict[str, Callback] = {}  # pending callbacks by id
        self._calendar: Calendar | None = None

    def settings(self, queue: str) -> CallbackSettings:
        return self.desk.queues[queue].callback

    def calendar(self) -> Calendar:
        if self._calendar is None:
            self._calendar = site_calendar(self.desk.config)
        return self._calendar

    def schedule(self, cb: Callback, within_days: int | None, now: float) -> Callback:
        """A scheduled callback (overflow, an agent, the API): its deadline on the site
        calendar, then into the book."""
        if within_days is not None and cb.due_by is None:
            try:
                cb = replace(cb, due_by=deadline(self.calendar(), now, within_days))
            except CalendarError as exc:
                self.desk.note("error", f"callback {cb.id}: no deadline: {exc}")
        return self.add(cb, now)

    def add(self, cb: Callback, now: float) -> Callback:
        if cb.queue not in self.desk.queues:
            raise ValueError(f"no queue {cb.queue!r}")
        if cb.id in self.book:
            return self.book[cb.id]
        self.desk.count(f"callback_requested_{cb.kind.value}")
        return self.window(cb, now)

    def restore(self, callbacks: Iterable[Callback], now: float) -> None:
        """At start: the pending callbacks from the records. An attempt that was going on
        is lost with the old engine: due again (not counted if the caller was never
        dialled... the records cannot tell, so the attempt stays counted)."""
        for cb in callbacks:
            if not cb.pending or cb.id in self.book or cb.queue not in self.desk.queues:
                continue
            if cb.state is State.DIALLING:
                cb = cb.released(now)
                self.changed(cb, now)
            self.book[cb.id] = cb
            self.desk.count("callback_restored")
            if cb.state is State.DUE:
                continue
            self.window(cb, now)

    def cancel(self, callback_id: str, now: float, by: str) -> Callback:
        """Cancel a pending callback (KeyError: unknown or no longer pending); the
        attempts room hangs up an attempt going on first."""
        cb = self.book[callback_id].cancelled(now, f"cancelled by {by}")
        self.desk.emit(CancelTimer(("cbdue", callback_id)))
        self.changed(cb, now)
        self.flow.offering.dispatch(now)
        return cb

    def window(self, cb: Callback, now: float) -> Callback:
        """Due now if the queue is open and `not_before` passed; else waiting, with a timer
        for the instant it will be."""
        hours = self.desk.queues[cb.queue].hours
        start = max(now, cb.not_before)
        at = next_opening(hours, start, self.desk.is_open)
        if at is not None and at <= now:
            cb = cb.became_due(now, now)
        else:
            if cb.state is not State.WAITING:
                cb = cb.window_closed(now) if cb.state is State.DUE else cb.wait(now)
            if at is None:
                self.desk.note("warning", f"callback {cb.id}: queue {cb.queue} never opens")
            else:
                self.desk.emit(StartTimer(("cbdue", cb.id), at - now))
        self.changed(cb, now)
        return cb

    def due_timer(self, callback_id: str, now: float) -> None:
        cb = self.book.get(callback_id)
        if cb is None or cb.state not in (State.WAITING, State.RETRY):
            return
        self.window(cb, now)
        self.flow.offering.dispatch(now)

    def changed(self, cb: Callback, now: float) -> None:
        if cb.pending:
            self.book[cb.id] = cb
        else:
            self.book.pop(cb.id, None)
        self.desk.publish(changed_event(cb, now))


def changed_event(cb: Callback, now: float) -> CallbackChanged:
    return CallbackChanged(
        callback_id=cb.id, kind=cb.kind.value, queue=cb.queue, state=cb.state.value,
        caller=mask(cb.caller_number), reason=cb.reason, requested_by=cb.requested_by,
        call_id=cb.call_id, requested_at=cb.requested_at, first_arrival=cb.first_arrival,
        not_before=cb.not_before, due_by=cb.due_by, due_at=cb.due_at,
        max_attempts=cb.max_attempts, retry_seconds=cb.retry_seconds, attempts=cb.attempts,
        last_result=cb.last_result, answered_call_id=cb.answered_call_id,
        answered_at=cb.answered_at, agent_id=cb.agent_id, order_id=cb.order_id, at=now,
        caller_number=cb.caller_number,
    )
