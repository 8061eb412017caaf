"""The in-queue callback offer: after a while in the queue the caller hears that a key
keeps their place and hangs up; pressing it books a callback ordered by their arrival.
The overflow action `callback` books a scheduled one (within N working days)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callbacks import Callback, Kind
from ari_app.callflow.call import Call, CallState
from ari_app.callflow.callbacks.book import CallbackBook
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import Play, StartTimer
from ari_app.domain.events import OfferResult, Outcome

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class InQueueOffer:
    """The offer to waiting callers, the key, and the overflow's scheduled callback."""

    def __init__(self, desk: Desk, flow: Flow, book: CallbackBook) -> None:
        self.desk = desk
        self.flow = flow
        self.book = book
        self.offered: set[str] = set()  # calls that heard the in-queue offer

    def queued(self, call: Call, now: float) -> None:
        """A caller joined a queue: the offer comes after `offer_after_seconds`."""
        s = self.book.settings(call.queue)
        cid = call.call_id
        if s.in_queue and s.dial and call.caller_number and cid not in self.offered:
            self.desk.emit(StartTimer(("cboffer", cid), s.offer_after_seconds))

    def offer_timer(self, call_id: str, now: float) -> None:
        desk = self.desk
        call = desk.calls.get(call_id)
        if call is None or call.state is not CallState.QUEUED or call_id in self.offered:
            return
        s = self.book.settings(call.queue)
        if not (s.in_queue and call.caller_answered):
            return  # ringback: the caller's line is not answered, no keys to press
        if call.playbacks:  # an announcement is playing: try again shortly
            desk.emit(StartTimer(("cboffer", call_id), 5.0))
            return
        self.offered.add(call_id)
        desk.count("callback_offered")
        self.flow.arrival.moh(call, desk.queues[call.queue], False)
        pid = call.play("announce")  # music comes back after it, as after an announcement
        desk.add_playback(pid, call)
        desk.emit(Play(call.caller_channel, pid, desk.render(s.offer_prompt, call),
                       call_id=call_id))

    def digit(self, call: Call, digit: str, now: float) -> bool:
        """A key from a waiting caller: True when it was the callback key after the offer."""
        if call.call_id not in self.offered or call.state is not CallState.QUEUED:
            return False
        s = self.book.settings(call.queue)
        if digit != s.key:
            return False
        desk, flow = self.desk, self.flow
        if call.offer is not None:
            flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
        flow.arrival.leave_queue(call)
        call.overflow = "callback"
        desk.count("callback_in_queue")
        flow.overflow.prompt_then(call, s.confirm_prompt, Outcome.CALLBACK, "hangup", now)
        cb = Callback(
            id=f"cb-{call.call_id}", kind=Kind.IN_QUEUE, queue=call.queue,
            caller_number=call.caller_number, reason="in-queue", requested_by="caller",
            call_id=call.call_id, requested_at=now, first_arrival=call.arrived_at,
            not_before=now, max_attempts=s.attempts, retry_seconds=s.retry_seconds,
            updated_at=now,
        )
        self.book.add(cb, now)
        flow.offering.dispatch(now)
        return True

    def from_overflow(self, call: Call, now: float) -> None:
        """The queue's overflow action `callback`: a scheduled callback within the queue's
        `within_working_days`."""
        s = self.book.settings(call.queue)
        if not call.caller_number:
            self.desk.count("callback_without_number")
            return
        self.book.schedule(
            Callback(
                id=f"cb-{call.call_id}", kind=Kind.SCHEDULED, queue=call.queue,
                caller_number=call.caller_number, reason=f"overflow:{call.overflow}",
                requested_by="overflow", call_id=call.call_id, requested_at=now,
                first_arrival=call.arrived_at, not_before=now, max_attempts=s.attempts,
                retry_seconds=s.retry_seconds, updated_at=now,
            ),
            s.within_working_days,
            now,
        )

