"""The KPI fold: a pure state machine over ARI events (and the engine's own Hotline* events).

`apply(state, event)` updates `state` and returns the facts it concluded (see kpi.facts).
It does no I/O and never reads a clock: every time is the event's own `timestamp`. The same
fold runs live in the engine (facts feed Prometheus) and offline over a journal (facts feed
`summarise`).

Robustness, all counted in `state.counters` and never fatal:
- events reach the handlers in timestamp order through a small reorder buffer
  (`reorder_ms`, default 250 ms of event time); `flush(state)` drains it;
- identical events (a reconnect replays some) are dropped by a recent-keys set, and every
  handler is idempotent anyway;
- unknown event types, events without a usable timestamp, events for channels already
  destroyed, and channels first seen at their end ("never seen starting") are counted and
  left out of the KPIs they would distort.

The fold's parts, one module each: `kpi.fold_state` (what it carries between events),
`kpi.event_filter` (which events it reads), `kpi.event_time` (timestamps),
`kpi.call_legs` (agent legs and calls), `kpi.transfers`, `kpi.surveys` (the post-call
survey), `kpi.agent_states`. This module
orders, deduplicates and dispatches events, and holds the replay hot path.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from typing import Any

import orjson

from kpi.agent_states import agent_state
from kpi.call_legs import channel_of, dial, ended, ringing, roles_changed, set_var, up
from kpi.event_filter import (
    ARI_EVENT_TYPES,
    HOTLINE_VARS,
    NOISE_TYPES,
    RELEVANT_TYPES,
    SKIP_KIND,
    keep_line,
)
from kpi.event_time import MILLIS, event_ms
from kpi.facts import Fact
from kpi.fold_state import (
    AGENT_STATES,
    STALE_MS,
    AgentStatus,
    Call,
    Channel,
    Event,
    KpiState,
    agents_by_state,
    calls_waiting,
    count,
    is_map,
    prune,
)
from kpi.journal import kept_lines
from kpi.surveys import SURVEY_VARS, caller_gone, survey_digit, survey_var
from kpi.transfers import hotline_transfer, transfer

__all__ = [  # the fold's API, whatever module defines it
    "AGENT_STATES", "ARI_EVENT_TYPES", "HOTLINE_VARS", "NOISE_TYPES", "NO_FACTS",
    "RELEVANT_TYPES", "SKIP_KIND", "STALE_MS", "AgentStatus", "Call", "Channel", "Event",
    "KpiState", "agents_by_state", "apply", "calls_waiting", "flush", "fold_lines",
    "keep_line", "prune", "replay", "replay_lines",
]

_RECENT_KEYS = 16384
_RECENT_ENDED = 16384
_PRUNE_EVERY = 1 << 16
NO_FACTS: list[Fact] = []


def _dedupe_key(kind: str, event: Event) -> tuple[Any, ...]:
    snap = event.get("channel") or event.get("peer")
    cid = snap.get("id") if is_map(snap) else None
    if kind == "ChannelVarset":
        extra: Any = (event.get("variable"), event.get("value"))
    elif kind == "Dial":
        extra = event.get("dialstatus")
    elif kind == "ChannelStateChange":
        extra = snap.get("state") if is_map(snap) else None
    elif kind == "ChannelHangupRequest":
        extra = (event.get("cause"), event.get("soft"))
    elif kind == "ChannelDtmfReceived":
        extra = (event.get("digit"), event.get("duration_ms"))
    elif kind.startswith("Hotline"):
        extra = tuple(sorted((k, repr(v)) for k, v in event.items()))
    else:
        extra = None
    return (kind, event.get("timestamp"), cid, extra)


def _kind(state: KpiState, event: Event) -> str | None:
    """The event's type if the fold handles it; counts what it cannot use."""
    kind = event.get("type")
    if type(kind) is not str:
        count(state, "not_event")
        return None
    if kind not in RELEVANT_TYPES:
        if kind.startswith("Hotline"):
            return kind
        if kind not in ARI_EVENT_TYPES:
            count(state, "unknown_type")
        return None
    if kind == "ChannelVarset":
        var = event.get("variable")
        if type(var) is not str or not var.startswith("HOTLINE_"):
            return None
    return kind


def _seen(state: KpiState, key: Any) -> bool:
    """True (and counted) if `key` was among the recent events: a replayed duplicate."""
    recent = state.recent
    if key in recent:
        count(state, "duplicates")
        return True
    recent.add(key)
    order = state.recent_order
    order.append(key)
    if len(order) > _RECENT_KEYS:
        recent.discard(order.popleft())
    return False


def apply(state: KpiState, event: Event) -> list[Fact]:
    """Fold one event; returns the facts concluded (possibly from earlier buffered events)."""
    kind = _kind(state, event)
    if kind is None or _seen(state, _dedupe_key(kind, event)):
        return NO_FACTS
    return _push(state, kind, event)


def _push(state: KpiState, kind: str, event: Event) -> list[Fact]:
    """Time-order events through the reorder buffer and handle those old enough."""
    ms = event_ms(state, event.get("timestamp"))
    if ms is None:
        count(state, "bad_timestamp")
        return NO_FACTS
    _enqueue(state, ms, kind, event)
    if not state.out:
        return NO_FACTS
    return _take(state)


def _enqueue(state: KpiState, ms: int, kind: str, event: Event) -> None:
    """Buffer one timed event and handle every buffered event now older than the horizon."""
    if ms < state.max_ms:
        count(state, "out_of_order")
        if ms < state.max_ms - state.reorder_ms:
            count(state, "late")
    else:
        state.max_ms = ms
    state.seq += 1
    if state.seq % _PRUNE_EVERY == 0:
        prune(state)
    buffer = state.buffer
    if not buffer or ms >= buffer[-1][0]:
        buffer.append((ms, state.seq, kind, event))
    else:
        insort(buffer, (ms, state.seq, kind, event))
    horizon = state.max_ms - state.reorder_ms
    while buffer[0][0] <= horizon:
        ems, _, ekind, ev = buffer.popleft()
        _handle(state, ems, ekind, ev)
        if not buffer:
            break


def flush(state: KpiState) -> list[Fact]:
    """Process everything still in the reorder buffer (end of a journal, or a quiet line)."""
    buffer = state.buffer
    while buffer:
        ems, _, ekind, ev = buffer.popleft()
        _handle(state, ems, ekind, ev)
    return _take(state)


def replay(events: Iterable[Event], state: KpiState | None = None) -> KpiState:
    """Fold a whole event stream (offline) and flush; facts are in `state.facts`."""
    st = state if state is not None else KpiState()
    for event in events:
        apply(st, event)
    flush(st)
    return st


def replay_lines(state: KpiState, lines: Iterable[bytes]) -> tuple[int, int, int]:
    """The offline hot path: filter, parse and fold raw journal lines (no flush).

    Same decisions as `keep_line` + `orjson.loads` + `apply`. Returns (lines, skipped
    unparsed, malformed); malformed lines are also counted in
    `state.counters["malformed_lines"]`.
    """
    kept, n, skipped = kept_lines(lines, SKIP_KIND)
    _, malformed = fold_lines(state, kept)
    return n, skipped, malformed


def fold_lines(state: KpiState, lines: Iterable[bytes]) -> tuple[int, int]:
    """Parse and fold the lines `kept_lines(…, SKIP_KIND)` kept (no flush).

    `orjson.loads` + `apply`, inlined. Returns (lines, malformed); malformed lines are
    also counted in `state.counters["malformed_lines"]`.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    seconds = state.ts_cache.get
    millis = MILLIS.get
    buffer = state.buffer
    append = buffer.append
    pop = buffer.popleft
    handle = _handle
    reorder_ms = state.reorder_ms
    relevant = RELEVANT_TYPES
    recent = state.recent
    remember = recent.add
    order = state.recent_order
    n = malformed = 0
    for line in lines:
        n += 1
        try:
            event = loads(line)
        except decode_error:
            if line.strip():
                malformed += 1
            continue
        if type(event) is not dict:
            malformed += 1
            continue
        kind = event.get("type")
        if type(kind) is not str or kind not in relevant or (
            kind == "ChannelVarset" and not str(event.get("variable")).startswith("HOTLINE_")
        ):
            kind = _kind(state, event)  # counts what it rejects; keeps Hotline* events
            if kind is None:
                continue
        if line in recent:  # a reconnect replays identical lines
            count(state, "duplicates")
            continue
        remember(line)
        order.append(line)
        if len(order) > _RECENT_KEYS:
            recent.discard(order.popleft())
        ts = event.get("timestamp")  # `_ms`'s cached path, inlined
        ms: int | None = None
        if type(ts) is str:
            base = seconds(ts[:20])
            milli = millis(ts[20:])
            if base is not None and milli is not None:
                ms = base + milli
        if ms is None:
            ms = event_ms(state, ts)
            if ms is None:
                count(state, "bad_timestamp")
                continue
        # `_enqueue`, inlined
        if ms < state.max_ms:
            count(state, "out_of_order")
            if ms < state.max_ms - reorder_ms:
                count(state, "late")
        else:
            state.max_ms = ms
        seq = state.seq = state.seq + 1
        if seq % _PRUNE_EVERY == 0:
            prune(state)
        if not buffer or ms >= buffer[-1][0]:
            append((ms, seq, kind, event))
        else:
            insort(buffer, (ms, seq, kind, event))
        horizon = state.max_ms - reorder_ms
        while buffer[0][0] <= horizon:
            ems, _, ekind, ev = pop()
            handle(state, ems, ekind, ev)
            if not buffer:
                break
        if state.out:
            _take(state)
    if malformed:
        state.counters["malformed_lines"] = state.counters.get("malformed_lines", 0) + malformed
    return n, malformed


def _take(state: KpiState) -> list[Fact]:
    out = state.out
    if not out:
        return NO_FACTS
    state.out = []
    if state.keep_facts:
        state.facts.extend(out)
    return out


# ---------------------------------------------------------------- handlers (time order)


_CHANNEL_EVENTS = frozenset({
    "ChannelVarset", "ChannelHangupRequest", "StasisStart", "ChannelDestroyed",
    "ChannelStateChange", "ChannelHold", "ChannelUnhold",
})


def _handle(state: KpiState, ms: int, kind: str, event: Event) -> None:
    if kind not in _CHANNEL_EVENTS:
        if kind == "Dial":
            ch = channel_of(state, event.get("peer"), ms, kind)
            if ch is not None:
                dial(state, ch, ms, event.get("dialstatus"))
        elif kind == "ChannelDtmfReceived":
            survey_digit(state, event)
        elif kind.startswith("Hotline"):
            _hotline(state, ms, kind, event)
        else:
            transfer(state, ms, kind, event)
        return
    ch = channel_of(state, event.get("channel"), ms, kind)
    if ch is None:
        return
    if kind == "ChannelVarset":
        name = event.get("variable")
        if name in SURVEY_VARS:  # events of the survey, not a channel's latest value
            survey_var(state, ch, ms, name, event.get("value"))
        if ms >= ch.vars_ms:
            set_var(ch, name, event.get("value"))
            ch.vars_ms = ms
            if name == "HOTLINE_ROLE" or name == "HOTLINE_CALL_ID":
                roles_changed(state, ch)
    elif kind == "ChannelHangupRequest":
        ended(state, ch, ms, event.get("cause"))
        if ch.id in state.surveys:
            caller_gone(state, ch.id)
    elif kind == "StasisStart":
        if ch.started_ms is None or ms < ch.started_ms:
            ch.started_ms = ms
            call = state.calls.get(ch.id)
            if call is not None and call.arrived_ms is None and not call.resolved:
                call.arrived_ms = ms
                state.waiting[ch.id] = call
    elif kind == "ChannelDestroyed":
        ended(state, ch, ms, event.get("cause"))
        if ch.id in state.surveys:
            caller_gone(state, ch.id)
        state.channels.pop(ch.id, None)
        state.talking.pop(ch.id, None)
        state.ended[ch.id] = ms
        if len(state.ended) > _RECENT_ENDED:
            state.ended.popitem(last=False)
    elif kind == "ChannelStateChange":
        snap_state = event["channel"].get("state")
        if snap_state == "Ringing":
            ringing(state, ch, ms)
        elif snap_state == "Up":
            up(state, ch, ms)
    elif kind == "ChannelHold":
        if ch.hold_since is None:
            ch.hold_since = ms
    elif kind == "ChannelUnhold" and ch.hold_since is not None:
        ch.hold_ms += max(0, ms - ch.hold_since)
        ch.hold_since = None


def _hotline(state: KpiState, ms: int, kind: str, event: Event) -> None:
    if kind == "HotlineAgentState":
        agent_state(state, ms, event)
    elif kind == "HotlineTransfer":
        hotline_transfer(state, ms, event)
    else:
        count(state, "unknown_type")
