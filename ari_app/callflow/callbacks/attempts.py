"""Callback attempts: the due callbacks the fairness rules let go, each with an agent
reserved, dialled until caller and agent are connected.

An attempt is a `Call` of its own (`<callback>-a<n>-<seq>`, its caller leg has the same
id) that never enters a waiting line: an agent is reserved for it (the agent is *ringing*
for it), then

- agent_first: the agent's phone rings; once answered (music meanwhile) the caller is
  dialled; the caller's answer connects them through `Answering` (greeting with the
  agent's ID, bridge, recording), exactly as a call taken from the queue;
- caller_first: the caller is dialled; once answered the call joins the head of its queue
  and is offered to the reserved agent at once (the normal offer: RONA moves on).

Until then every event, timer and failure on the attempt's legs comes here (`on_state`,
`on_dial`, `on_leg_gone`, `failed` answer True when they took it); afterwards the call is
an ordinary call. The attempt's call keeps the caller's first arrival as its arrival when
`sl_from_first_arrival` (the service level then counts the whole wait).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ari_app.callbacks import AttemptResult, Callback, State, dialable
from ari_app.callflow.call import Call, CallState, Leg, Offer
from ari_app.callflow.callbacks.book import CallbackBook
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import (
    AGENT_ID,
    CALL_ID,
    QUEUE,
    ROLE,
    AriCommand,
    CancelTimer,
    CreateChannel,
    Dial,
    Hangup,
    StartMoh,
    StartTimer,
    StopMoh,
)
from ari_app.domain.events import CallbackAttempted, OfferResult
from ari_app.domain.variables import CALLBACK

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow

_CAUSES = {17: AttemptResult.BUSY, 18: AttemptResult.NO_ANSWER, 19: AttemptResult.NO_ANSWER,
           21: AttemptResult.NO_ANSWER, 16: AttemptResult.NO_ANSWER}
_DIAL = {"BUSY": AttemptResult.BUSY, "NOANSWER": AttemptResult.NO_ANSWER}
_AGENT_DIAL = {"BUSY": OfferResult.BUSY, "NOANSWER": OfferResult.RONA}
ROLE_CALLBACK = "callback"
"""`HOTLINE_ROLE` of a dialled-out caller leg (the KPI fold counts `caller` legs as calls)"""


@dataclass(slots=True)
class Attempt:
    callback_id: str
    call: Call
    agent_id: str
    agent_channel: str = ""
    agent_up: bool = False
    caller_dialled: bool = False
    started_at: float = 0.0


class Attempts:
    """Attempts by their call's id, from the reserved agent to the connection."""

    def __init__(self, desk: Desk, flow: Flow, book: CallbackBook) -> None:
        self.desk = desk
        self.flow = flow
        self.book = book
        self.attempts: dict[str, Attempt] = {}  # by the attempt's call id
        # agents reserved for a callback whose phone did not answer, until its caller is
        # dialled: the next reservation goes to someone else first, as a queued caller's
        # next offer does (each reservation is a new call, with `tried` of its own)
        self.tried: dict[str, set[str]] = {}

    def dispatch(self, now: float) -> None:
        """Before waiting callers are offered: the due callbacks the fairness rules let go
        (`ari_app.callbacks.dialable`), each with an agent reserved."""
        due_by_queue: dict[str, list[Callback]] = {}
        for cb in self.book.book.values():
            if cb.state is State.DUE:
                due_by_queue.setdefault(cb.queue, []).append(cb)
        if not due_by_queue:
            return
        desk, offering = self.desk, self.flow.offering
        stamp = datetime.fromtimestamp(now, UTC)
        for queue, due in sorted(due_by_queue.items()):
            settings = desk.queues[queue]
            if not settings.callback.dial:
                continue
            if not desk.is_open(settings.hours, stamp):
                for cb in due:
                    self.book.window(cb, now)
                continue
            waiting = []
            for entry in desk.waiting[queue]:
                call = desk.calls.get(entry.call_id)
                if call is None or call.offer is not None or call.state is not CallState.QUEUED:
                    continue
                waiting.append(float("-inf") if entry.priority == 0 else call.arrived_at)
            free = sum(
                1 for aid in offering.available
                if (a := desk.agents.get(aid)) is not None and a.serves(queue)
                and a.cool_until <= now
            )
            for cb in dialable(due, waiting, free_agents=free):
                if not self._start(cb, now):
                    break

    def _start(self, cb: Callback, now: float) -> bool:
        """Reserve an agent for `cb` and start the attempt; False if no agent was left."""
        desk = self.desk
        s = self.book.settings(cb.queue)
        cid = f"{cb.id}-a{cb.attempts + 1}-{desk.next_seq()}"
        call = Call(
            call_id=cid, caller_channel=cid, queue=cb.queue, vip=False,
            arrived_at=cb.first_arrival if s.sl_from_first_arrival else now,
            seq=desk.next_seq(), caller_answered=True, caller_number=cb.caller_number,
        )
        call.caller_leg = Leg.NONE
        call.tried.update(self.tried.get(cb.id, ()))
        agent = self.flow.offering.pick(call, now)
        if agent is None:
            return False
        self.tried[cb.id] = set(call.tried)  # emptied by the pick when all had a go
        call.queues_visited.append(cb.queue)
        desk.add_call(call)
        att = Attempt(cb.id, call, agent.id, started_at=now)
        self.attempts[cid] = att
        cb = cb.dialling(agent.id, now)
        self.book.changed(cb, now)
        call.tried.add(agent.id)
        self.flow.offering.agent_changed(agent.offer(cid, now))
        desk.count("callback_attempts_started")
        if s.mode == "agent_first":
            self._ring_agent(att, now, originator="")
        else:
            self._dial_caller(att, now)
        return True

    def _ring_agent(self, att: Attempt, now: float, *, originator: str) -> None:
        desk, call = self.desk, att.call
        queue = desk.queues[call.queue]
        agent = desk.agents.require(att.agent_id)
        channel_id = call.agent_channel_id(agent.id)
        att.agent_channel = channel_id
        call.offer = Offer(agent.id, channel_id, now)
        desk.attach(channel_id, call)
        ring = desk.ring_seconds(queue) + desk.limits.setup_seconds
        desk.emit(
            CreateChannel(
                channel_id=channel_id, endpoint=agent.device, app=desk.app, app_args="agent",
                originator=originator,
                variables={AGENT_ID: agent.id, CALL_ID: call.call_id, QUEUE: queue.name,
                           ROLE: "agent", CALLBACK: att.callback_id},
                call_id=call.call_id,
            ),
            Dial(channel_id, caller=originator, timeout=math.ceil(ring), call_id=call.call_id),
            StartTimer(("cbleg", channel_id), ring),
        )
        desk.call_state(call, "offered", now, agent_id=agent.id)

    def _dial_caller(self, att: Attempt, now: float) -> None:
        desk, call = self.desk, att.call
        s = self.book.settings(call.queue)
        cb = self.book.book[att.callback_id]
        cb = cb.caller_dialled(now)
        self.book.changed(cb, now)
        try:
            endpoint = s.endpoint(cb.caller_number)
        except ValueError:
            self.desk.count("callback_bad_number")
            self._caller_lost(att, AttemptResult.FAILED, now, hangup=False)
            return
        att.caller_dialled = True
        originator = att.agent_channel if att.agent_up else ""
        timeout = s.dial_timeout_seconds
        desk.emit(
            CreateChannel(
                channel_id=call.caller_channel, endpoint=endpoint, app=desk.app,
                app_args=f"callback,{cb.id}", originator=originator,
                variables={CALL_ID: call.call_id, QUEUE: call.queue, ROLE: ROLE_CALLBACK,
                           CALLBACK: cb.id},
                call_id=call.call_id,
            ),
            Dial(call.caller_channel, caller=originator, timeout=timeout, call_id=call.call_id),
            StartTimer(("cbdial", call.caller_channel), timeout + desk.limits.setup_seconds),
        )
        desk.call_state(call, "callback_dialling", now, agent_id=att.agent_id)

    # ------------------------------------------------------------------ the attempt's legs

    def _attempt_of(self, call: Call | None) -> Attempt | None:
        return None if call is None else self.attempts.get(call.call_id)

    def on_state(self, call: Call, channel_id: str, state: str, now: float) -> bool:
        att = self._attempt_of(call)
        if att is None:
            return False
        if state == "Ringing":
            self._ringing(att, channel_id, now)
        elif state == "Up":
            self._up(att, channel_id, now)
        return True

    def on_dial(self, call: Call, peer: str, status: str, now: float) -> bool:
        att = self._attempt_of(call)
        if att is None:
            # a connected callback's caller leg: its Dial ANSWER is no agent answering
            return peer == call.caller_channel
        if status == "RINGING":
            self._ringing(att, peer, now)
        elif status == "ANSWER":
            self._up(att, peer, now)
        elif peer == att.agent_channel:
            self._agent_lost(att, _AGENT_DIAL.get(status, OfferResult.UNAVAILABLE), now,
                             hangup=True)
        elif peer == call.caller_channel:
            self._caller_lost(att, _DIAL.get(status, AttemptResult.FAILED), now, hangup=True)
        return True

    def on_leg_gone(self, channel_id: str, kind: str, cause: object, now: float) -> bool:
        att = self._attempt_of(self.desk.call_of(channel_id))
        if att is None:
            return False
        if kind != "ChannelDestroyed":
            return True  # the Dial status or ChannelDestroyed (with its cause) says why
        if channel_id == att.agent_channel:
            offer_result = {17: OfferResult.BUSY}.get(cause if isinstance(cause, int) else 0)
            if offer_result is None:
                offer_result = OfferResult.RONA if cause in (18, 19, 21) else (
                    OfferResult.CANCELLED if att.agent_up else OfferResult.UNAVAILABLE)
            self._agent_lost(att, offer_result, now, hangup=False)
        elif channel_id == att.call.caller_channel:
            result = _CAUSES.get(cause, AttemptResult.FAILED) if isinstance(cause, int) else (
                AttemptResult.FAILED)
            self._caller_lost(att, result, now, hangup=False)
        return True

    def failed(self, command: AriCommand, status: int, now: float) -> bool:
        """A failed request on an attempt's leg (the create or dial of either side)."""
        att = self.attempts.get(command.call_id)
        if att is None:
            return False
        if not isinstance(command, CreateChannel | Dial):
            return isinstance(command, Hangup | StartMoh | StopMoh)
        hangup = isinstance(command, Dial)
        if command.channel_id == att.agent_channel:
            self._agent_lost(att, OfferResult.UNAVAILABLE, now, hangup=hangup)
        elif command.channel_id == att.call.caller_channel:
            self._caller_lost(att, AttemptResult.FAILED, now, hangup=hangup)
        return True

    def leg_timer(self, channel_id: str, now: float) -> None:
        """The reserved agent's phone rang out (or never rang)."""
        att = self._attempt_of(self.desk.call_of(channel_id))
        if att is not None and channel_id == att.agent_channel and not att.agent_up:
            offer = att.call.offer
            rang = offer is not None and offer.ringing_at is not None
            self._agent_lost(att, OfferResult.RONA if rang else OfferResult.UNAVAILABLE, now,
                             hangup=True)

    def dial_timer(self, channel_id: str, now: float) -> None:
        """The caller did not answer in time."""
        att = self._attempt_of(self.desk.call_of(channel_id))
        if att is not None and channel_id == att.call.caller_channel:
            self._caller_lost(att, AttemptResult.NO_ANSWER, now, hangup=True)

    def _ringing(self, att: Attempt, channel_id: str, now: float) -> None:
        offer = att.call.offer
        if channel_id == att.agent_channel and offer is not None and offer.ringing_at is None:
            offer.ringing_at = now
            ring = self.desk.ring_seconds(self.desk.queues[att.call.queue])
            self.desk.emit(StartTimer(("cbleg", channel_id), ring))

    def _up(self, att: Attempt, channel_id: str, now: float) -> None:
        desk, call = self.desk, att.call
        if channel_id == att.agent_channel and not att.agent_up:
            att.agent_up = True
            desk.emit(CancelTimer(("cbleg", channel_id)))
            if not att.caller_dialled:  # agent_first: music for the agent, dial the caller
                desk.emit(StartMoh(channel_id, desk.queues[call.queue].moh_class,
                                   call_id=call.call_id))
                self._dial_caller(att, now)
        elif channel_id == call.caller_channel and call.caller_leg is Leg.NONE:
            call.caller_leg = Leg.UP
            desk.emit(CancelTimer(("cbdial", channel_id)))
            self._caller_answered(att, now)

    def _caller_answered(self, att: Attempt, now: float) -> None:
        desk, flow, call = self.desk, self.flow, att.call
        del self.attempts[call.call_id]  # from here on an ordinary call
        self.tried.pop(att.callback_id, None)
        cb = self.book.book[att.callback_id].attempt_ended(
            AttemptResult.ANSWERED, now, call_id=call.call_id)
        self._attempted(att, cb, AttemptResult.ANSWERED, now)
        self.book.changed(cb, now)
        desk.count("callback_answered")
        if att.agent_up:  # agent_first: both are there
            desk.emit(StopMoh(att.agent_channel, call_id=call.call_id))
            flow.answering.agent_answered(call, att.agent_channel, now)
            return
        # caller_first: the caller joins the head of the queue, offered to the reserved agent
        queue = desk.queues[call.queue]
        agent = desk.agents.require(att.agent_id)
        flow.offering.agent_changed(
            agent.offer_ended(now, rona=False, pause_after=desk.config.ringing.rona_pause_after)
        )
        desk.waiting[queue.name].add(call.call_id, seq=0)
        desk.emit(StartTimer(("maxwait", call.call_id), queue.max_wait_seconds))
        flow.arrival.moh(call, queue, True)
        desk.call_state(call, "queued", now, position=desk.waiting[queue.name].position(
            call.call_id))
        if agent.id in flow.offering.available:
            flow.offering.offer(call, agent, now)
        flow.offering.dispatch(now)

    def _agent_lost(self, att: Attempt, result: OfferResult, now: float, *, hangup: bool) -> None:
        """The reserved agent's leg ended before the connection (agent_first)."""
        desk, call = self.desk, att.call
        desk.emit(CancelTimer(("cbleg", att.agent_channel)))
        if att.agent_up:
            result = OfferResult.CANCELLED  # answered, then gone: not a RONA
        self.flow.offering.end(call, result, now, hangup=hangup)
        if att.caller_dialled:
            desk.emit(Hangup(call.caller_channel, call_id=call.call_id),
                      CancelTimer(("cbdial", call.caller_channel)))
            self._finish_attempt(att, AttemptResult.FAILED, now)
        else:
            self._drop(att)
            self.tried.setdefault(att.callback_id, set()).add(att.agent_id)
            cb = self.book.book[att.callback_id].released(now)
            self.book.changed(cb, now)
        self.flow.offering.dispatch(now)

    def _caller_lost(
        self, att: Attempt, result: AttemptResult, now: float, *, hangup: bool
    ) -> None:
        """The caller's leg ended before answer (or could not be dialled)."""
        desk, call = self.desk, att.call
        desk.emit(CancelTimer(("cbdial", call.caller_channel)))
        if hangup:
            desk.emit(Hangup(call.caller_channel, call_id=call.call_id))
        if call.offer is not None:  # agent_first: free the agent, not counted against them
            if att.agent_up:
                desk.emit(Hangup(att.agent_channel, call_id=call.call_id))
            self.flow.offering.end(call, OfferResult.CANCELLED, now, hangup=not att.agent_up)
            desk.emit(CancelTimer(("cbleg", att.agent_channel)))
        else:  # caller_first: the reservation ends
            agent = desk.agents.get(att.agent_id)
            if agent is not None and agent.call_id == call.call_id:
                self.flow.offering.agent_changed(agent.offer_ended(
                    now, rona=False, pause_after=desk.config.ringing.rona_pause_after))
        self._finish_attempt(att, result, now)
        self.flow.offering.dispatch(now)

    def _finish_attempt(self, att: Attempt, result: AttemptResult, now: float) -> None:
        self._drop(att)
        cb = self.book.book[att.callback_id].attempt_ended(result, now)
        self._attempted(att, cb, result, now)
        self.desk.count(f"callback_attempt_{result.value}")
        self.book.changed(cb, now)
        if cb.state is State.RETRY:
            self.desk.emit(StartTimer(("cbdue", cb.id), max(0.0, cb.not_before - now)))

    def abandon(self, att: Attempt, now: float) -> None:
        """A cancel while an attempt goes on: hang up both legs, free the agent."""
        desk, call = self.desk, att.call
        if att.caller_dialled:
            desk.emit(Hangup(call.caller_channel, call_id=call.call_id))
        desk.emit(CancelTimer(("cbdial", call.caller_channel)),
                  CancelTimer(("cbleg", att.agent_channel)))
        if call.offer is not None:
            self.flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
        else:
            agent = desk.agents.get(att.agent_id)
            if agent is not None and agent.call_id == call.call_id:
                self.flow.offering.agent_changed(agent.offer_ended(
                    now, rona=False, pause_after=desk.config.ringing.rona_pause_after))
        self._drop(att)

    def _drop(self, att: Attempt) -> None:
        """Forget the attempt's call: it never reached anyone (no call record)."""
        desk, call = self.desk, att.call
        self.attempts.pop(call.call_id, None)
        if att.caller_dialled:
            self.tried.pop(att.callback_id, None)
        desk.drop_call(call.call_id)
        for leg in (call.caller_channel, att.agent_channel, *(o.channel_id for o in call.offers)):
            if leg:
                desk.detach(leg)

    def _attempted(self, att: Attempt, cb: Callback, result: AttemptResult, now: float) -> None:
        self.desk.publish(CallbackAttempted(
            cb.id, cb.attempts, cb.queue, att.agent_id, att.call.call_id, att.started_at, now,
            result.value,
        ))

