"""The fold's state: what it knows about channels, calls, surveys and agents between events.

`KpiState` is everything `kpi.fold.apply` carries from one event to the next; `Channel`,
`Call`, `SurveyRun` and `AgentStatus` are its parts. The views the live gauges read
(`calls_waiting`, `agents_by_state`) and `prune`, which keeps a long-running engine's state
bounded, are here too: they look only at the state, never at events.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from kpi.facts import Fact

Event = Mapping[str, Any]

AGENT_STATES = frozenset({"login", "available", "paused", "wrapup", "logout"})
STALE_MS = 12 * 3600 * 1000


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


@dataclass(slots=True, eq=False)
class SurveyRun:
    """A post-call survey on a caller's channel, from `HOTLINE_SURVEY` to its outcome."""

    queue: str
    agent: str  # the credited agent (HOTLINE_SURVEY's value)
    at: int  # period anchor: the call's arrival, else the survey's start
    started_ms: int
    answers: list[int | None] = field(default_factory=list)  # per question, None: none yet
    asking: int = 0  # the question (1-based) whose marker is set and not yet answered
    keys: str = ""  # that question's valid keys


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
    surveys: dict[str, SurveyRun] = field(default_factory=dict)  # caller channel id -> run
    ended: OrderedDict[str, int] = field(default_factory=OrderedDict)  # bounded
    recent: set[Any] = field(default_factory=set)  # dedupe keys, bounded…
    recent_order: deque[Any] = field(default_factory=deque)  # …oldest first, evicted first
    ts_cache: dict[str, int] = field(default_factory=dict)
    # sorted by (time, arrival): in-order events (nearly all) are appended, late ones inserted
    buffer: deque[tuple[int, int, str, Event]] = field(default_factory=deque)
    seq: int = 0
    max_ms: int = 0  # latest event time seen: the fold's notion of "now"
    out: list[Fact] = field(default_factory=list)


def is_map(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def count(state: KpiState, name: str) -> None:
    """Count one robustness event (see docs/kpi.md, "Robustness") in `state.counters`."""
    state.counters[name] = state.counters.get(name, 0) + 1


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
    lost = [cid for cid, run in state.surveys.items() if run.started_ms < limit]
    for cid in lost:  # its caller's end never came: no outcome, counted
        del state.surveys[cid]
    if lost:
        state.counters["pruned_surveys"] = state.counters.get("pruned_surveys", 0) + len(lost)
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
