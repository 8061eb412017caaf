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
"""

from __future__ import annotations

from bisect import insort
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import orjson

from ari_app.ari.events import KNOWN_EVENT_TYPES
from ari_app.ari.timestamps import TimestampError, parse_ari_timestamp
from kpi.facts import (
    CallAbandoned,
    CallAnswered,
    CallHandled,
    CallTransferred,
    Fact,
    LegAnswered,
    LegOffered,
    LegPresented,
    LegUnanswered,
    WrapUp,
)
from kpi.journal import kept_lines

Event = Mapping[str, Any]

ARI_EVENT_TYPES = KNOWN_EVENT_TYPES  # every event type of Asterisk 22's events.json

# The ARI events the KPIs are computed from; everything else is skipped cheaply.
RELEVANT_TYPES = frozenset({
    "StasisStart", "ChannelVarset", "ChannelStateChange", "Dial", "ChannelHangupRequest",
    "ChannelDestroyed", "ChannelHold", "ChannelUnhold", "BridgeBlindTransfer",
    "BridgeAttendedTransfer", "ChannelTransfer",
})
NOISE_TYPES = ARI_EVENT_TYPES - RELEVANT_TYPES
_NOISE_TYPE_BYTES = frozenset(t.encode() for t in NOISE_TYPES)
# Raw `"type"` value -> True: skip unparsed; False: a ChannelVarset, skipped unless its
# variable is a HOTLINE_* one. One dict probe per line on the replay hot path.
SKIP_KIND: dict[bytes, bool] = {**dict.fromkeys(_NOISE_TYPE_BYTES, True), b"ChannelVarset": False}

HOTLINE_VARS = ("HOTLINE_ROLE", "HOTLINE_QUEUE", "HOTLINE_AGENT_ID", "HOTLINE_CALL_ID")
AGENT_STATES = frozenset({"login", "available", "paused", "wrapup", "logout"})
_UNAVAILABLE_DIALSTATUS = frozenset({"CHANUNAVAIL", "CONGESTION"})
_RING_STOP_DIALSTATUS = frozenset({"NOANSWER", "CANCEL", "BUSY", "CHANUNAVAIL", "CONGESTION"})
# Q.850 causes meaning the agent's phone could not be reached at all.
_UNAVAILABLE_CAUSES = frozenset({1, 3, 20, 27, 34, 38, 41, 42})
_BUSY_CAUSE = 17
_RECENT_KEYS = 16384
_RECENT_ENDED = 16384
_TS_CACHE = 65536
# The tail of an ARI timestamp ("871+0000") -> its milliseconds: one probe both reads and
# validates it (the seconds cache is keyed by "YYYY-MM-DDTHH:MM:SS.", dot included).
_MILLIS = {f"{n:03d}+0000": n for n in range(1000)}
_PRUNE_EVERY = 1 << 16
STALE_MS = 12 * 3600 * 1000
NO_FACTS: list[Fact] = []


def _type_at(line: bytes) -> int:
    """Index of the top-level `"type"` key: first in Asterisk's own output, last when keys
    are sorted (as in the recorded traces); both are found without scanning the line."""
    if line.startswith(b'{"type"'):
        return 1
    return line.rfind(b'"type"')


def keep_line(line: bytes) -> bool:
    """Cheap pre-parse filter for journal lines: False only for events the fold ignores.

    Reads the `"type"` value by hand and drops known-irrelevant ARI types, and ChannelVarset
    lines whose variable is not a HOTLINE_* one (BRIDGEPEER, RTPAUDIOQOS… are most of a
    journal). Anything it is unsure about is kept, so the parser and the fold judge it.
    """
    i = _type_at(line)
    if i < 0:
        return True
    j = line.find(b'"', i + 6)
    k = line.find(b'"', j + 1)
    if j < 0 or k < 0:
        return True
    kind = line[j + 1:k]
    if kind == b"ChannelVarset":
        v = line.rfind(b'"variable"')
        return v < 0 or b'"HOTLINE_' in line[v + 10:v + 24]
    return kind not in _NOISE_TYPE_BYTES


@dataclass(slots=True, eq=False)
class Channel:
    """What the fold knows about one channel (caller leg, agent leg or other)."""

    id: str
    first_ms: int
    vars_ms: int = -1
    role: str = ""
    queue: str = ""
    agent: str = ""
    call_id: str = ""
    started_ms: int | None = None  # first StasisStart
    orphan: bool = False  # first seen at its end/answer: never seen starting
    call_done: bool = False  # its call (as caller) was resolved and closed
    offered: bool = False
    presented: bool = False
    closed: bool = False  # agent-leg outcome emitted
    period_ms: int = 0
    ring_ms: int | None = None
    ring_end_ms: int | None = None
    up_ms: int | None = None
    end_ms: int | None = None
    cut_ms: int | None = None  # transferred away: talk stops here
    status: str = ""
    hold_since: int | None = None
    hold_ms: int = 0


@dataclass(slots=True, eq=False)
class Call:
    """A queued call, keyed by its caller leg."""

    caller: Channel
    arrived_ms: int | None
    queue: str = ""
    resolved: bool = False
    answered_ms: int | None = None
    transferred: bool = False
    legs: list[Channel] = field(default_factory=list)  # answered agent legs


@dataclass(slots=True)
class AgentStatus:
    """An agent's latest HotlineAgentState."""

    state: str
    since_ms: int
    reason: str = ""
    wrap_call: tuple[str, int] | None = None  # (queue, arrival) the wrap-up belongs to


@dataclass(slots=True)
class KpiState:
    """Everything the fold carries between events. Build with `KpiState()`."""

    keep_facts: bool = True
    reorder_ms: int = 250
    facts: list[Fact] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)  # caller channel id -> call
    call_index: dict[str, Call] = field(default_factory=dict)  # channel id / HOTLINE_CALL_ID
    waiting: dict[str, Call] = field(default_factory=dict)
    talking: dict[str, Channel] = field(default_factory=dict)  # answered agent legs, not ended
    agents: dict[str, AgentStatus] = field(default_factory=dict)
    last_call: dict[str, tuple[str, int]] = field(default_factory=dict)  # agent -> call
    ended: OrderedDict[str, int] = field(default_factory=OrderedDict)  # bounded
    recent: set[Any] = field(default_factory=set)  # dedupe keys, bounded…
    recent_order: deque[Any] = field(default_factory=deque)  # …oldest first, evicted first
    ts_cache: dict[str, int] = field(default_factory=dict)
    # sorted by (time, arrival): in-order events (nearly all) are appended, late ones inserted
    buffer: deque[tuple[int, int, str, Event]] = field(default_factory=deque)
    seq: int = 0
    max_ms: int = 0  # latest event time seen: the fold's notion of "now"
    out: list[Fact] = field(default_factory=list)


def _is_map(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _count(state: KpiState, name: str) -> None:
    state.counters[name] = state.counters.get(name, 0) + 1


def _ms(state: KpiState, text: Any) -> int | None:
    """Epoch ms of an ARI timestamp, cached by second: events share seconds far more often
    than whole timestamps, and a cache of seconds stays small, so it is rarely cleared."""
    if type(text) is not str:
        return None
    cache = state.ts_cache
    if len(text) == 28 and text[19] == "." and text[23:] == "+0000":
        base = cache.get(text[:20])
        millis = text[20:23]
        if base is not None and millis.isdigit():
            return base + int(millis)
    try:
        ms: int = round(parse_ari_timestamp(text) * 1000)
    except TimestampError:
        return None
    if len(text) == 28 and text[19] == "." and text[23:] == "+0000":
        if len(cache) >= _TS_CACHE:
            cache.clear()
        cache[text[:20]] = ms - ms % 1000
    return ms


def _dedupe_key(kind: str, event: Event) -> tuple[Any, ...]:
    snap = event.get("channel") or event.get("peer")
    cid = snap.get("id") if _is_map(snap) else None
    if kind == "ChannelVarset":
        extra: Any = (event.get("variable"), event.get("value"))
    elif kind == "Dial":
        extra = event.get("dialstatus")
    elif kind == "ChannelStateChange":
        extra = snap.get("state") if _is_map(snap) else None
    elif kind == "ChannelHangupRequest":
        extra = (event.get("cause"), event.get("soft"))
    elif kind.startswith("Hotline"):
        extra = tuple(sorted((k, repr(v)) for k, v in event.items()))
    else:
        extra = None
    return (kind, event.get("timestamp"), cid, extra)


def _kind(state: KpiState, event: Event) -> str | None:
    """The event's type if the fold handles it; counts what it cannot use."""
    kind = event.get("type")
    if type(kind) is not str:
        _count(state, "not_event")
        return None
    if kind not in RELEVANT_TYPES:
        if kind.startswith("Hotline"):
            return kind
        if kind not in ARI_EVENT_TYPES:
            _count(state, "unknown_type")
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
        _count(state, "duplicates")
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
    ms = _ms(state, event.get("timestamp"))
    if ms is None:
        _count(state, "bad_timestamp")
        return NO_FACTS
    _enqueue(state, ms, kind, event)
    if not state.out:
        return NO_FACTS
    return _take(state)


def _enqueue(state: KpiState, ms: int, kind: str, event: Event) -> None:
    """Buffer one timed event and handle every buffered event now older than the horizon."""
    if ms < state.max_ms:
        _count(state, "out_of_order")
        if ms < state.max_ms - state.reorder_ms:
            _count(state, "late")
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
    millis = _MILLIS.get
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
            _count(state, "duplicates")
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
            ms = _ms(state, ts)
            if ms is None:
                _count(state, "bad_timestamp")
                continue
        # `_enqueue`, inlined
        if ms < state.max_ms:
            _count(state, "out_of_order")
            if ms < state.max_ms - reorder_ms:
                _count(state, "late")
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

_FIRST_AT_END = frozenset({"ChannelHangupRequest", "ChannelDestroyed"})


_CHANNEL_EVENTS = frozenset({
    "ChannelVarset", "ChannelHangupRequest", "StasisStart", "ChannelDestroyed",
    "ChannelStateChange", "ChannelHold", "ChannelUnhold",
})


def _handle(state: KpiState, ms: int, kind: str, event: Event) -> None:
    if kind not in _CHANNEL_EVENTS:
        if kind == "Dial":
            ch = _channel(state, event.get("peer"), ms, kind)
            if ch is not None:
                _dial(state, ch, ms, event.get("dialstatus"))
        elif kind.startswith("Hotline"):
            _hotline(state, ms, kind, event)
        else:
            _transfer(state, ms, kind, event)
        return
    ch = _channel(state, event.get("channel"), ms, kind)
    if ch is None:
        return
    if kind == "ChannelVarset":
        if ms >= ch.vars_ms:
            name = event.get("variable")
            _set_var(ch, name, event.get("value"))
            ch.vars_ms = ms
            if name == "HOTLINE_ROLE" or name == "HOTLINE_CALL_ID":
                _roles_changed(state, ch)
    elif kind == "ChannelHangupRequest":
        _ended(state, ch, ms, event.get("cause"))
    elif kind == "StasisStart":
        if ch.started_ms is None or ms < ch.started_ms:
            ch.started_ms = ms
            call = state.calls.get(ch.id)
            if call is not None and call.arrived_ms is None and not call.resolved:
                call.arrived_ms = ms
                state.waiting[ch.id] = call
    elif kind == "ChannelDestroyed":
        _ended(state, ch, ms, event.get("cause"))
        state.channels.pop(ch.id, None)
        state.talking.pop(ch.id, None)
        state.ended[ch.id] = ms
        if len(state.ended) > _RECENT_ENDED:
            state.ended.popitem(last=False)
    elif kind == "ChannelStateChange":
        snap_state = event["channel"].get("state")
        if snap_state == "Ringing":
            _ringing(state, ch, ms)
        elif snap_state == "Up":
            _up(state, ch, ms)
    elif kind == "ChannelHold":
        if ch.hold_since is None:
            ch.hold_since = ms
    elif kind == "ChannelUnhold" and ch.hold_since is not None:
        ch.hold_ms += max(0, ms - ch.hold_since)
        ch.hold_since = None


def _set_var(ch: Channel, name: Any, value: Any) -> None:
    text = value if type(value) is str else ""
    if name == "HOTLINE_ROLE":
        ch.role = text
    elif name == "HOTLINE_QUEUE":
        ch.queue = text
    elif name == "HOTLINE_AGENT_ID":
        ch.agent = text
    elif name == "HOTLINE_CALL_ID":
        ch.call_id = text


def _channel(state: KpiState, snap: Any, ms: int, kind: str) -> Channel | None:
    """The channel an event is about, with its HOTLINE_* vars.

    Vars are read from the snapshot until the channel's role is known (originated legs carry
    them from their first event); after that only ChannelVarset events change them, which
    spares re-reading every snapshot on the hot path.
    """
    if type(snap) is not dict and not _is_map(snap):
        _count(state, "no_channel")
        return None
    cid = snap.get("id")
    ch = state.channels.get(cid) if type(cid) is str else None
    if ch is not None:
        if ch.role:
            return ch
    elif type(cid) is not str:
        _count(state, "no_channel")
        return None
    else:
        if cid in state.ended:
            _count(state, "after_destroyed")
            return None
        ch = Channel(cid, ms)
        state.channels[cid] = ch
        if kind in _FIRST_AT_END or (
            kind in ("ChannelStateChange", "Dial") and snap.get("state") == "Up"
        ):
            ch.orphan = True
            _count(state, "never_started")
    cvars = snap.get("channelvars")
    if ms >= ch.vars_ms and _is_map(cvars):
        role = cvars.get("HOTLINE_ROLE")
        if role:
            ch.vars_ms = ms
            ch.role = role
            ch.queue = cvars.get("HOTLINE_QUEUE") or ch.queue
            ch.agent = cvars.get("HOTLINE_AGENT_ID") or ch.agent
            ch.call_id = cvars.get("HOTLINE_CALL_ID") or ch.call_id
            _roles_changed(state, ch)
    return ch


def _roles_changed(state: KpiState, ch: Channel) -> None:
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


def _call_of(state: KpiState, ch: Channel) -> Call | None:
    return state.call_index.get(ch.call_id) if ch.call_id else None


def _offer(state: KpiState, ch: Channel) -> bool:
    """Emit LegOffered once for an agent leg; False if the leg is not counted at all."""
    if ch.offered:
        return True
    if ch.role != "agent" or not ch.agent or ch.orphan:
        return False
    call = _call_of(state, ch)
    ch.period_ms = call.arrived_ms if call is not None and call.arrived_ms is not None \
        else ch.first_ms
    ch.offered = True
    state.out.append(LegOffered(ch.agent, ch.period_ms))
    return True


def _present(state: KpiState, ch: Channel) -> None:
    if not ch.presented:
        ch.presented = True
        state.out.append(LegPresented(ch.agent, ch.period_ms))


def _dial(state: KpiState, ch: Channel, ms: int, status: Any) -> None:
    if status == "RINGING":
        _ringing(state, ch, ms)
        return
    if status == "ANSWER":
        _up(state, ch, ms)
        return
    _offer(state, ch)
    if status in _RING_STOP_DIALSTATUS and ch.ring_end_ms is None and ch.up_ms is None:
        ch.ring_end_ms = ms
        if status == "BUSY":
            ch.status = "busy"
        elif status in _UNAVAILABLE_DIALSTATUS:
            ch.status = "unavailable"


def _ringing(state: KpiState, ch: Channel, ms: int) -> None:
    if ch.ring_ms is None or ms < ch.ring_ms:
        ch.ring_ms = ms
    if _offer(state, ch):
        _present(state, ch)


def _up(state: KpiState, ch: Channel, ms: int) -> None:
    if ch.up_ms is not None:
        return
    ch.up_ms = ms
    if not _offer(state, ch) or ch.closed:
        return
    _present(state, ch)
    ch.closed = True
    ring = ms - ch.ring_ms if ch.ring_ms is not None else 0
    state.out.append(LegAnswered(ch.agent, ch.period_ms, max(0, ring)))
    state.talking[ch.id] = ch
    call = _call_of(state, ch)
    if call is None or call.caller.end_ms is not None:
        return
    call.legs.append(ch)
    if not call.resolved:
        call.resolved = True
        call.answered_ms = ms
        call.queue = call.caller.queue or ch.queue
        state.waiting.pop(call.caller.id, None)
        if call.arrived_ms is None:
            _count(state, "calls_never_started")
        else:
            state.out.append(CallAnswered(call.queue, call.arrived_ms, ms - call.arrived_ms))
    if call.arrived_ms is not None and call.answered_ms is not None:
        state.last_call[ch.agent] = (call.queue, call.arrived_ms)


def _ended(state: KpiState, ch: Channel, ms: int, cause: Any) -> None:
    if ch.end_ms is not None and ms >= ch.end_ms:
        return
    ch.end_ms = ms
    state.talking.pop(ch.id, None)
    if ch.role == "agent" and not ch.closed and ch.up_ms is None and _offer(state, ch):
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
            _count(state, "calls_never_started")
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


def _mark_transferred(state: KpiState, call: Call | None) -> None:
    if call is None or call.transferred:
        return
    if call.answered_ms is None or call.arrived_ms is None:
        _count(state, "transfer_unanswered_call")
        return
    call.transferred = True
    state.out.append(CallTransferred(call.queue, call.arrived_ms))


def _cut(state: KpiState, ch: Channel | None, ms: int) -> None:
    if ch is not None and ch.up_ms is not None and (ch.cut_ms is None or ms < ch.cut_ms):
        ch.cut_ms = ms
        state.talking.pop(ch.id, None)


def _snap_channel(state: KpiState, snap: Any) -> Channel | None:
    if _is_map(snap):
        cid = snap.get("id")
        if type(cid) is str:
            return state.channels.get(cid)
    return None


def _call_near(
    state: KpiState, legs: Iterable[Channel | None], others: Iterable[Any]
) -> Call | None:
    for leg in legs:
        if leg is not None:
            call = _call_of(state, leg) or state.calls.get(leg.id)
            if call is not None:
                return call
    for snap in others:
        ch = _snap_channel(state, snap)
        if ch is not None and ch.id in state.calls:
            return state.calls[ch.id]
    return None


def _transfer(state: KpiState, ms: int, kind: str, event: Event) -> None:
    """Talk of the transferring agent leg stops at the transfer; the call is marked."""
    if kind == "ChannelTransfer":
        if event.get("state") != "channel_answered":
            return
        referred = event.get("referred_by")
        if not _is_map(referred):
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


def _hotline(state: KpiState, ms: int, kind: str, event: Event) -> None:
    if kind == "HotlineAgentState":
        _agent_state(state, ms, event)
    elif kind == "HotlineTransfer":
        call_id = event.get("call_id")
        call = state.call_index.get(call_id) if type(call_id) is str else None
        leg = _snap_channel(state, {"id": event.get("channel")})
        _cut(state, leg, ms)
        if call is None and leg is not None:
            call = _call_of(state, leg)
        if call is None:
            _count(state, "transfer_unknown_call")
            return
        _mark_transferred(state, call)
    else:
        _count(state, "unknown_type")


def _agent_state(state: KpiState, ms: int, event: Event) -> None:
    agent = event.get("agent_id")
    new = event.get("state")
    if type(agent) is not str or not agent or new not in AGENT_STATES:
        _count(state, "bad_agent_state")
        return
    assert isinstance(new, str)
    status = state.agents.get(agent)
    if status is not None and status.state == "wrapup" and new != "wrapup":
        if status.wrap_call is None:
            _count(state, "wrapup_without_call")
        else:
            queue, at = status.wrap_call
            state.out.append(WrapUp(queue, at, agent, max(0, ms - status.since_ms)))
    if status is not None and status.state == new:
        return
    reason = event.get("reason")
    status = AgentStatus(new, ms, reason if type(reason) is str else "")
    if new == "wrapup":
        status.wrap_call = state.last_call.get(agent)
    state.agents[agent] = status


def prune(state: KpiState, stale_ms: int = STALE_MS) -> int:
    """Forget channels whose end Asterisk never reported (e.g. legs that left Stasis).

    Channels first seen more than `stale_ms` before the latest event and not a live call's
    caller are dropped, so a long-running engine's state stays bounded. Returns how many.
    """
    limit = state.max_ms - stale_ms
    stale = [
        cid for cid, ch in state.channels.items()
        if ch.first_ms < limit and cid not in state.calls
    ]
    for cid in stale:
        del state.channels[cid]
        state.talking.pop(cid, None)
    if stale:
        state.counters["pruned_channels"] = state.counters.get("pruned_channels", 0) + len(stale)
    return len(stale)


def calls_waiting(state: KpiState) -> dict[str, list[int]]:
    """Queue -> arrival times (ms) of calls not yet answered nor abandoned."""
    out: dict[str, list[int]] = {}
    for call in state.waiting.values():
        if call.arrived_ms is not None:
            out.setdefault(call.caller.queue, []).append(call.arrived_ms)
    return out


def agents_by_state(state: KpiState) -> dict[str, int]:
    """How many agents are in each HotlineAgentState, plus those on a call right now."""
    counts = dict.fromkeys(sorted(AGENT_STATES), 0)
    for status in state.agents.values():
        counts[status.state] += 1
    counts["on_call"] = len(state.talking)
    return counts
