"""Callbacks in the call flow: one room in three parts, and the face the other rooms and
the switchboard see.

The rules are the pure `ari_app.callbacks` (state machine, fairness, windows); this room
applies them: `InQueueOffer` (the offer to waiting callers and its key, the overflow's
scheduled callback), `CallbackBook` (pending callbacks, deadlines, dialling windows, due
timers) and `Attempts` (reserved agents, the dialled legs, each attempt's outcome).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ari_app.callbacks import Callback
from ari_app.callflow.call import Call
from ari_app.callflow.callbacks.attempts import ROLE_CALLBACK, Attempt, Attempts
from ari_app.callflow.callbacks.book import CallbackBook, changed_event
from ari_app.callflow.callbacks.in_queue import InQueueOffer
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import AriCommand

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow

__all__ = ["ROLE_CALLBACK", "Attempt", "Callbacks", "changed_event"]


class Callbacks:
    """The in-queue offer, pending callbacks, and attempts until connected."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.flow = flow
        self.pending = CallbackBook(desk, flow)
        self.in_queue = InQueueOffer(desk, flow, self.pending)
        self.attempting = Attempts(desk, flow, self.pending)

    @property
    def book(self) -> dict[str, Callback]:
        """Pending callbacks by id."""
        return self.pending.book

    @property
    def attempts(self) -> dict[str, Attempt]:
        return self.attempting.attempts

    # ------------------------------------------------------------------ callers and people

    def queued(self, call: Call, now: float) -> None:
        self.in_queue.queued(call, now)

    def offer_timer(self, call_id: str, now: float) -> None:
        self.in_queue.offer_timer(call_id, now)

    def digit(self, call: Call, digit: str, now: float) -> bool:
        return self.in_queue.digit(call, digit, now)

    def from_overflow(self, call: Call, now: float) -> None:
        self.in_queue.from_overflow(call, now)

    def schedule(self, cb: Callback, within_days: int | None, now: float) -> Callback:
        """From the API or a work order: due now with an agent free, it is dialled now
        (nothing else would wake the dispatch). Returns it as it is after that."""
        cb = self.pending.schedule(cb, within_days, now)
        self.flow.offering.dispatch(now)
        return self.pending.book.get(cb.id, cb)

    def restore(self, callbacks: Iterable[Callback], now: float) -> None:
        self.pending.restore(callbacks, now)

    def cancel(self, callback_id: str, now: float, by: str) -> Callback:
        """KeyError: unknown or no longer pending. An attempt going on is hung up."""
        if callback_id not in self.pending.book:
            raise KeyError(callback_id)
        for att in list(self.attempting.attempts.values()):
            if att.callback_id == callback_id:
                self.attempting.abandon(att, now)
        self.attempting.tried.pop(callback_id, None)
        return self.pending.cancel(callback_id, now, by)

    def due_timer(self, callback_id: str, now: float) -> None:
        self.pending.due_timer(callback_id, now)

    # ------------------------------------------------------------------ attempts

    def dispatch(self, now: float) -> None:
        self.attempting.dispatch(now)

    def on_state(self, call: Call, channel_id: str, state: str, now: float) -> bool:
        return self.attempting.on_state(call, channel_id, state, now)

    def on_dial(self, call: Call, peer: str, status: str, now: float) -> bool:
        return self.attempting.on_dial(call, peer, status, now)

    def on_leg_gone(self, channel_id: str, kind: str, cause: object, now: float) -> bool:
        return self.attempting.on_leg_gone(channel_id, kind, cause, now)

    def failed(self, command: AriCommand, status: int, now: float) -> bool:
        return self.attempting.failed(command, status, now)

    def leg_timer(self, channel_id: str, now: float) -> None:
        self.attempting.leg_timer(channel_id, now)

    def dial_timer(self, channel_id: str, now: float) -> None:
        self.attempting.dial_timer(channel_id, now)
