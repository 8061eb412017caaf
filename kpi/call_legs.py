"""Agent legs and calls: the handlers that turn channel events into leg and call facts.

An agent leg is offered, rings, is answered or not (busy, unavailable, RONA); a call
arrives with its caller leg, is answered by its first agent leg or abandoned, and is
handled when its caller leaves (talk and hold summed over its answered legs). Definitions
are in docs/kpi.md; `kpi.fold` calls these in event-time order.
"""

from __future__ import annotations

from typing import Any

from kpi.facts import (
    CallAbandoned,
    CallAnswered,
    CallHandled,
    LegAnswered,
    LegOffered,
    LegPresented,
    LegUnanswered,
)
from kpi.fold_state import Call, Channel, KpiState, count, is_map

_FIRST_AT_END = frozenset({"ChannelHangupRequest", "ChannelDestroyed"})
_UNAVAILABLE_DIALSTATUS = frozenset({"CHANUNAVAIL", "CONGESTION"})
_RING_STOP_DIALSTATUS = frozenset({"NOANSWER", "CANCEL", "BUSY", "CHANUNAVAIL", "CONGESTION"})
# Q.850 causes meaning the agent's phone could not be reached at all.
_UNAVAILABLE_CAUSES = frozenset({1, 3, 20, 27, 34, 38, 41, 42})
_BUSY_CAUSE = 17


def set_var(ch: Channel, name: Any, value: Any) -> None:
    text = value if type(value) is str else ""
    if name == "HOTLINE_ROLE":
        ch.role = text
    elif name == "HOTLINE_QUEUE":
        ch.queue = text
    elif name == "HOTLINE_AGENT_ID":
        ch.agent = text
    elif name == "HOTLINE_CALL_ID":
        ch.call_id = text


def channel_of(state: KpiState, snap: Any, ms: int, kind: str) -> Channel | None:
    """The channel an event is about, with its HOTLINE_* vars.

    Vars are read from the snapshot until the channel's role is known (originated legs carry
    them from their first event); after that only ChannelVarset events change them, which
    spares re-reading every snapshot on the hot path.
    """
    if type(snap) is not dict and not is_map(snap):
        count(state, "no_channel")
        return None
    cid = snap.get("id")
    ch = state.channels.get(cid) if type(cid) is str else None
    if ch is not None:
        if ch.role:
            return ch
    elif type(cid) is not str:
        count(state, "no_channel")
        return None
    else:
        if cid in state.ended:
            count(state, "after_destroyed")
            return None
        ch = Channel(cid, ms)
        state.channels[cid] = ch
        if kind in _FIRST_AT_END or (
            kind in ("ChannelStateChange", "Dial") and snap.get("state") == "Up"
        ):
            ch.orphan = True
            count(state, "never_started")
    cvars = snap.get("channelvars")
    if ms >= ch.vars_ms and is_map(cvars):
        role = cvars.get("HOTLINE_ROLE")
        if role:
            ch.vars_ms = ms
            ch.role = role
            ch.queue = cvars.get("HOTLINE_QUEUE") or ch.queue
            ch.agent = cvars.get("HOTLINE_AGENT_ID") or ch.agent
            ch.call_id = cvars.get("HOTLINE_CALL_ID") or ch.call_id
            roles_changed(state, ch)
    return ch


def roles_changed(state: KpiState, ch: Channel) -> None:
    """A caller leg becomes a call; its HOTLINE_CALL_ID is indexed for agent legs."""
    if ch.role != "caller" or ch.call_done:
        return
    call = state.calls.get(ch.id)
    if call is None:
        if ch.orphan:
            return
        call = Call(ch, ch.started_ms)
        state.calls[ch.id] = call
        state.call_index[ch.id] = call
        if call.arrived_ms is not None:
            state.waiting[ch.id] = call
    if ch.call_id:
        state.call_index[ch.call_id] = call


def call_of(state: KpiState, ch: Channel) -> Call | None:
    return state.call_index.get(ch.call_id) if ch.call_id else None


def offer(state: KpiState, ch: Channel) -> bool:
    """Emit LegOffered once for an agent leg; False if the leg is not counted at all."""
    if ch.offered:
        return True
    if ch.role != "agent" or not ch.agent or ch.orphan:
        return False
    call = call_of(state, ch)
    ch.period_ms = call.arrived_ms if call is not None and call.arrived_ms is not None \
        else ch.first_ms
    ch.offered = True
    state.out.append(LegOffered(ch.agent, ch.period_ms))
    return True


def present(state: KpiState, ch: Channel) -> None:
    if not ch.presented:
        ch.presented = True
        state.out.append(LegPresented(ch.agent, ch.period_ms))


def dial(state: KpiState, ch: Channel, ms: int, status: Any) -> None:
    if status == "RINGING":
        ringing(state, ch, ms)
        return
    if status == "ANSWER":
        up(state, ch, ms)
        return
    offer(state, ch)
    if status in _RING_STOP_DIALSTATUS and ch.ring_end_ms is None and ch.up_ms is None:
        ch.ring_end_ms = ms
        if status == "BUSY":
            ch.status = "busy"
        elif status in _UNAVAILABLE_DIALSTATUS:
            ch.status = "unavailable"


def ringing(state: KpiState, ch: Channel, ms: int) -> None:
    if ch.ring_ms is None or ms < ch.ring_ms:
        ch.ring_ms = ms
    if offer(state, ch):
        present(state, ch)


def up(state: KpiState, ch: Channel, ms: int) -> None:
    if ch.up_ms is not None:
        return
    ch.up_ms = ms
    if not offer(state, ch) or ch.closed:
        return
    present(state, ch)
    ch.closed = True
    ring = ms - ch.ring_ms if ch.ring_ms is not None else 0
    state.out.append(LegAnswered(ch.agent, ch.period_ms, max(0, ring)))
    state.talking[ch.id] = ch
    call = call_of(state, ch)
    if call is None or call.caller.end_ms is not None:
        return
    call.legs.append(ch)
    if not call.resolved:
        call.resolved = True
        call.answered_ms = ms
        call.queue = call.caller.queue or ch.queue
        state.waiting.pop(call.caller.id, None)
        if call.arrived_ms is None:
            count(state, "calls_never_started")
        else:
            state.out.append(CallAnswered(call.queue, call.arrived_ms, ms - call.arrived_ms))
    if call.arrived_ms is not None and call.answered_ms is not None:
        state.last_call[ch.agent] = (call.queue, call.arrived_ms)


def ended(state: KpiState, ch: Channel, ms: int, cause: Any) -> None:
    if ch.end_ms is not None and ms >= ch.end_ms:
        return
    ch.end_ms = ms
    state.talking.pop(ch.id, None)
    if ch.role == "agent" and not ch.closed and ch.up_ms is None and offer(state, ch):
        ch.closed = True
        if not ch.status and ch.ring_ms is None:
            if cause == _BUSY_CAUSE:
                ch.status = "busy"
            elif cause in _UNAVAILABLE_CAUSES:
                ch.status = "unavailable"
        ring: int | None = None
        if ch.ring_ms is not None:
            stop = ch.ring_end_ms if ch.ring_end_ms is not None else ms
            ring = max(0, stop - ch.ring_ms)
        state.out.append(LegUnanswered(ch.agent, ch.period_ms, ring, ch.status))
    call = state.calls.get(ch.id)
    if call is not None and call.caller is ch:
        _close_call(state, call, ms)


def _close_call(state: KpiState, call: Call, ms: int) -> None:
    """The caller left: an unanswered call is abandoned, an answered one is handled."""
    caller = call.caller
    caller.call_done = True
    state.calls.pop(caller.id, None)
    state.waiting.pop(caller.id, None)
    for key in (caller.id, caller.call_id):
        if key and state.call_index.get(key) is call:
            del state.call_index[key]
    if not call.resolved:
        call.resolved = True
        call.queue = caller.queue
        if call.arrived_ms is None:
            count(state, "calls_never_started")
        else:
            state.out.append(CallAbandoned(call.queue, call.arrived_ms, ms - call.arrived_ms))
        return
    if call.arrived_ms is None or call.answered_ms is None:
        return
    talk = hold = 0
    for leg in call.legs:
        up = leg.up_ms if leg.up_ms is not None else ms
        stop = ms
        if leg.end_ms is not None and leg.end_ms < stop:
            stop = leg.end_ms
        if leg.cut_ms is not None and leg.cut_ms < stop:
            stop = leg.cut_ms
        span = max(0, stop - up)
        held = leg.hold_ms
        if leg.hold_since is not None and stop > leg.hold_since:
            held += stop - leg.hold_since
        held = min(held, span)
        talk += span - held
        hold += held
    state.out.append(CallHandled(call.queue, call.arrived_ms, talk, hold))
