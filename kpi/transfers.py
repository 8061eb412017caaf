"""Transfers: the transferring agent leg's talk stops, and the call is marked transferred.

Asterisk reports a transfer as `BridgeBlindTransfer` / `BridgeAttendedTransfer` (result
Success), as `ChannelTransfer` (state channel_answered, PJSIP `ari-only` handling), and the
engine as `HotlineTransfer`. Whichever comes, the leg that handed the call over stops
counting talk there, so a transferred call does not inflate talk time (docs/kpi.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kpi.call_legs import call_of
from kpi.facts import CallTransferred
from kpi.fold_state import Call, Channel, Event, KpiState, count, is_map


def _mark_transferred(state: KpiState, call: Call | None) -> None:
    if call is None or call.transferred:
        return
    if call.answered_ms is None or call.arrived_ms is None:
        count(state, "transfer_unanswered_call")
        return
    call.transferred = True
    state.out.append(CallTransferred(call.queue, call.arrived_ms))


def _cut(state: KpiState, ch: Channel | None, ms: int) -> None:
    if ch is not None and ch.up_ms is not None and (ch.cut_ms is None or ms < ch.cut_ms):
        ch.cut_ms = ms
        state.talking.pop(ch.id, None)


def _snap_channel(state: KpiState, snap: Any) -> Channel | None:
    if is_map(snap):
        cid = snap.get("id")
        if type(cid) is str:
            return state.channels.get(cid)
    return None


def _call_near(
    state: KpiState, legs: Iterable[Channel | None], others: Iterable[Any]
) -> Call | None:
    for leg in legs:
        if leg is not None:
            call = call_of(state, leg) or state.calls.get(leg.id)
            if call is not None:
                return call
    for snap in others:
        ch = _snap_channel(state, snap)
        if ch is not None and ch.id in state.calls:
            return state.calls[ch.id]
    return None


def transfer(state: KpiState, ms: int, kind: str, event: Event) -> None:
    """Talk of the transferring agent leg stops at the transfer; the call is marked."""
    if kind == "ChannelTransfer":
        if event.get("state") != "channel_answered":
            return
        referred = event.get("referred_by")
        if not is_map(referred):
            return
        source = _snap_channel(state, referred.get("source_channel"))
        _cut(state, source, ms)
        _mark_transferred(state, _call_near(state, [source], [referred.get("connected_channel")]))
        return
    if event.get("result") != "Success":
        return
    if kind == "BridgeBlindTransfer":
        legs = [_snap_channel(state, event.get("channel"))]
    else:
        legs = [
            _snap_channel(state, event.get("transferer_first_leg")),
            _snap_channel(state, event.get("transferer_second_leg")),
        ]
    for leg in legs:
        if leg is not None and leg.role == "agent":
            _cut(state, leg, ms)
    _mark_transferred(state, _call_near(state, legs, [event.get("transferee")]))



def hotline_transfer(state: KpiState, ms: int, event: Event) -> None:
    """The engine's own `HotlineTransfer`: its `call_id`, optionally the leg handing over."""
    call_id = event.get("call_id")
    call = state.call_index.get(call_id) if type(call_id) is str else None
    leg = _snap_channel(state, {"id": event.get("channel")})
    _cut(state, leg, ms)
    if call is None and leg is not None:
        call = call_of(state, leg)
    if call is None:
        count(state, "transfer_unknown_call")
        return
    _mark_transferred(state, call)
