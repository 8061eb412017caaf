"""KPI fold edge cases on constructed journals shaped like the real traces.

`Scenario` writes events the way Asterisk 22 sends them in tests/traces: the caller leg's
role and queue are set by ChannelVarset after its StasisStart, an agent leg's HOTLINE_* vars
appear one by one, ringing is ChannelStateChange Ringing + Dial RINGING, answer is
ChannelStateChange Up + Dial ANSWER. Times are integer milliseconds after T0.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from ari_app.domain.timestamps import format_ari_timestamp, parse_ari_timestamp
from kpi.cli import replay_files
from kpi.fold import KpiState, apply, flush, replay
from kpi.journal import JournalWriter, journal_files
from kpi.params import make_params
from kpi.report import summarise

T0_MS = round(parse_ari_timestamp("2026-11-22T10:00:00.000+0000") * 1000)


def ts(ms: int) -> str:
    return format_ari_timestamp((T0_MS + ms) / 1000)


class Scenario:
    """Builds an event list; each channel's channelvars fill in as they are set."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.vars: dict[str, dict[str, str]] = {}
        self.states: dict[str, str] = {}

    def snap(self, cid: str) -> dict[str, Any]:
        cv = self.vars.setdefault(cid, dict.fromkeys(
            ("HOTLINE_AGENT_ID", "HOTLINE_CALL_ID", "HOTLINE_QUEUE", "HOTLINE_ROLE"), ""))
        return {"id": cid, "name": f"PJSIP/{cid}", "state": self.states.get(cid, "Down"),
                "channelvars": dict(cv), "caller": {"name": "", "number": "13900001"}}

    def ev(self, ms: int, kind: str, **fields: Any) -> None:
        self.events.append({"type": kind, "timestamp": ts(ms), "application": "hotline",
                            **fields})

    def setvar(self, ms: int, cid: str, name: str, value: str) -> None:
        self.snap(cid)
        self.vars[cid][name] = value
        self.ev(ms, "ChannelVarset", channel=self.snap(cid), variable=name, value=value)

    def arrive(self, ms: int, cid: str, queue: str = "support") -> None:
        self.states[cid] = "Ring"
        self.ev(ms, "StasisStart", channel=self.snap(cid), args=[queue])
        self.setvar(ms + 4, cid, "HOTLINE_ROLE", "caller")
        self.setvar(ms + 6, cid, "HOTLINE_QUEUE", queue)

    def offer(self, ms: int, leg: str, agent: str, call: str, queue: str = "support") -> None:
        self.setvar(ms, leg, "HOTLINE_ROLE", "agent")
        self.setvar(ms, leg, "HOTLINE_AGENT_ID", agent)
        self.setvar(ms, leg, "HOTLINE_CALL_ID", call)
        self.setvar(ms, leg, "HOTLINE_QUEUE", queue)
        self.ev(ms + 3, "Dial", peer=self.snap(leg), dialstatus="", dialstring=agent)

    def ring(self, ms: int, leg: str) -> None:
        self.states[leg] = "Ringing"
        self.ev(ms, "ChannelStateChange", channel=self.snap(leg))
        self.ev(ms, "Dial", peer=self.snap(leg), dialstatus="RINGING")

    def answer(self, ms: int, leg: str) -> None:
        self.states[leg] = "Up"
        self.ev(ms, "ChannelStateChange", channel=self.snap(leg))
        self.ev(ms, "Dial", peer=self.snap(leg), dialstatus="ANSWER")

    def hangup(self, ms: int, cid: str, cause: int = 16) -> None:
        self.ev(ms, "ChannelHangupRequest", channel=self.snap(cid), cause=cause)
        self.ev(ms + 1, "ChannelDestroyed", channel=self.snap(cid), cause=cause)

    def agent_state(self, ms: int, agent: str, state: str, **extra: str) -> None:
        self.ev(ms, "HotlineAgentState", agent_id=agent, state=state, **extra)

    def answered_call(self, ms: int, cid: str, agent: str, ring_ms: int, talk_ms: int,
                      queue: str = "support") -> None:
        """Arrive, one agent rings `ring_ms` and answers, caller hangs up after talk_ms."""
        leg = f"agent-{agent}-{cid}"
        self.arrive(ms, cid, queue)
        self.offer(ms + 10, leg, agent, cid, queue)
        self.ring(ms + 15, leg)
        self.answer(ms + 15 + ring_ms, leg)
        self.states[cid] = "Up"
        self.hangup(ms + 15 + ring_ms + talk_ms, cid)
        self.hangup(ms + 15 + ring_ms + talk_ms + 4, leg)


def figures(events: list[dict[str, Any]], rings: int = 2, **kw: Any) -> dict[str, Any]:
    state = replay(events)
    return summarise(state, make_params(rings, "cn", **kw)).to_dict()


def test_answer_exactly_at_x_rings_is_not_within_x_rings() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=10_000, talk_ms=3_000)  # t = 2·P exactly
    sc.answered_call(60_000, "c2", "1001", ring_ms=9_999, talk_ms=3_000)
    agent = figures(sc.events, rings=2)["agents"]["1001"]
    assert agent["answered"] == 2
    assert agent["answered_within_rings"] == 1  # only the 9.999 s answer
    assert agent["rings_histogram"] == {"2": 1, "3": 1}  # ⌊10/5⌋+1 = 3, ⌊9.999/5⌋+1 = 2
    assert agent["answer_timeliness"] == 0.5
    assert agent["rona"] == 0
    assert figures(sc.events, rings=3)["agents"]["1001"]["answered_within_rings"] == 2


def test_rona_then_answered_by_next_agent() -> None:
    sc = Scenario()
    sc.arrive(0, "c1")
    sc.offer(10, "agent-1001-c1", "1001", "c1")
    sc.ring(15, "agent-1001-c1")
    sc.hangup(12_015, "agent-1001-c1", cause=19)  # rang 12 s >= 2·5 s: RONA
    sc.offer(12_100, "agent-1002-c1", "1002", "c1")
    sc.ring(12_105, "agent-1002-c1")
    sc.answer(15_105, "agent-1002-c1")
    sc.hangup(40_000, "c1")
    sc.hangup(40_004, "agent-1002-c1")
    out = figures(sc.events, rings=2)
    a1, a2 = out["agents"]["1001"], out["agents"]["1002"]
    assert (a1["offers"], a1["presented"], a1["answered"], a1["rona"]) == (1, 1, 0, 1)
    assert a1["answer_timeliness"] == 0.0
    assert (a2["answered"], a2["answered_within_rings"], a2["rona"]) == (1, 1, 0)
    assert a2["avg_ring_seconds"] == 3.0
    q = out["queues"]["support"]
    assert (q["offered"], q["answered"], q["abandoned"]) == (1, 1, 0)
    assert q["asa_seconds"] == 15.105  # arrival at 0, second agent Up at 15.105
    assert q["answered_within_threshold"] == 0  # T = X·P = 10 s
    assert q["service_level"] == 0.0
    assert q["aht_seconds"] == pytest.approx(40.000 - 15.105)
    # with 3 rings (15 s) the first leg was cancelled before X·P: neither answered nor RONA
    a1_3 = figures(sc.events, rings=3)["agents"]["1001"]
    assert (a1_3["answered"], a1_3["rona"], a1_3["answer_timeliness"]) == (0, 0, None)


def test_leg_cancelled_because_another_agent_answered_is_neither() -> None:
    sc = Scenario()
    sc.arrive(0, "c1")
    sc.offer(10, "agent-1001-c1", "1001", "c1")
    sc.offer(10, "agent-1002-c1", "1002", "c1")
    sc.ring(15, "agent-1001-c1")
    sc.ring(15, "agent-1002-c1")
    sc.answer(4_015, "agent-1002-c1")
    sc.hangup(4_020, "agent-1001-c1", cause=26)
    sc.hangup(9_000, "c1")
    out = figures(sc.events, rings=1)
    assert out["agents"]["1001"]["rona"] == 0
    assert out["agents"]["1001"]["answered"] == 0
    assert out["agents"]["1001"]["presented"] == 1
    assert out["queues"]["support"]["answered"] == 1


def test_short_abandon_and_rates() -> None:
    sc = Scenario()
    sc.arrive(0, "c1")
    sc.hangup(3_000, "c1", cause=127)  # 3 s < 5 s: short abandon
    sc.arrive(10_000, "c2")
    sc.hangup(18_000, "c2", cause=127)  # 8 s: a real abandon
    sc.answered_call(30_000, "c3", "1001", ring_ms=4_000, talk_ms=60_000)
    q = figures(sc.events, rings=2)["queues"]["support"]
    assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"]) == (3, 1, 2, 1)
    assert q["answer_rate"] == 0.5  # 1 / (3 - 1)
    assert q["abandon_rate"] == 0.5  # (2 - 1) / (3 - 1)
    assert q["service_level"] == 1.0  # 4.025 s <= 10 s
    assert q["service_level_offered"] == 0.5
    assert q["max_wait_seconds"] == 8.0
    only_short = Scenario()
    only_short.arrive(0, "c1")
    only_short.hangup(1_000, "c1")
    q = figures(only_short.events)["queues"]["support"]
    assert q["abandon_rate"] is None
    assert q["answer_rate"] is None
    assert q["service_level"] is None
    assert figures(sc.events, short_abandon_seconds=10)["queues"]["support"][
        "short_abandoned"] == 2


def test_calls_count_in_the_hour_of_their_arrival() -> None:
    sc = Scenario()
    # arrives 10:59:58, answered and handled after 11:00: counts in the 10:00 hour
    sc.answered_call(3_598_000, "c1", "1001", ring_ms=6_000, talk_ms=30_000)
    sc.answered_call(3_601_000, "c2", "1002", ring_ms=2_000, talk_ms=30_000)
    state = replay(sc.events)
    out = summarise(state, make_params(2, "cn"), "hour").to_dict()
    assert set(out) == {"params", "queues", "agents"}
    assert out["queues"]["2026-11-22T10:00Z"]["support"]["offered"] == 1
    assert out["queues"]["2026-11-22T11:00Z"]["support"]["offered"] == 1
    assert out["agents"]["2026-11-22T10:00Z"]["1001"]["answered"] == 1
    assert "1001" not in out["agents"]["2026-11-22T11:00Z"]
    by_day = summarise(state, make_params(2, "cn"), "day").to_dict()
    assert by_day["queues"]["2026-11-22"]["support"]["offered"] == 2


def _mixed_day(seed: int = 1) -> Scenario:
    rng = random.Random(seed)
    sc = Scenario()
    for n in range(40):
        start = n * 20_000
        kind = rng.random()
        if kind < 0.6:
            sc.answered_call(start, f"c{n}", str(rng.randint(1001, 1004)),
                             ring_ms=rng.randint(500, 16_000), talk_ms=rng.randint(1_000, 9_000))
        elif kind < 0.85:
            sc.arrive(start, f"c{n}")
            leg = f"agent-1003-c{n}"
            sc.offer(start + 10, leg, "1003", f"c{n}")
            sc.ring(start + 15, leg)
            sc.hangup(start + rng.randint(1_000, 15_000), f"c{n}", cause=127)
            sc.hangup(start + 15_500, leg, cause=16)
        else:
            leg = f"agent-1004-x{n}"
            sc.offer(start, leg, "1004", "")
            sc.ev(start + 5, "Dial", peer=sc.snap(leg), dialstatus="BUSY")
            sc.hangup(start + 6, leg, cause=17)
    sc.events.sort(key=lambda e: e["timestamp"])
    return sc


def test_duplicated_events_after_reconnect_change_nothing() -> None:
    events = _mixed_day().events
    base = figures(events)
    doubled: list[dict[str, Any]] = []
    for i in range(0, len(events), 7):  # a reconnect replays the last few events
        chunk = events[i:i + 7]
        doubled += chunk + [dict(e) for e in chunk[-3:]]
    state = replay(doubled)
    assert summarise(state, make_params(2, "cn")).to_dict() == base
    assert state.counters["duplicates"] > 0


def test_events_out_of_order_by_a_few_ms_give_the_same_figures() -> None:
    events = _mixed_day(2).events
    base = figures(events)
    rng = random.Random(3)
    jittered = sorted(
        events,
        key=lambda e: parse_ari_timestamp(e["timestamp"]) + rng.uniform(-0.004, 0.004),
    )
    assert jittered != events
    state = replay(jittered)
    assert summarise(state, make_params(2, "cn")).to_dict() == base
    assert state.counters["out_of_order"] > 0


def test_role_set_before_stasis_start_in_file_order() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=5_000)
    sc.events[0], sc.events[1] = sc.events[1], sc.events[0]  # Varset (t+4 ms) first
    q = figures(sc.events)["queues"]["support"]
    assert (q["offered"], q["answered"], q["asa_seconds"]) == (1, 1, 3.015)


def test_unknown_types_and_bad_events_are_counted_not_fatal() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=5_000)
    base = figures(sc.events)
    noisy = [
        {"type": "ChannelFrobnicated", "timestamp": ts(1)},
        {"type": "HotlineSomethingNew", "timestamp": ts(2)},
        {"type": "Dial", "timestamp": "yesterday", "peer": {"id": "x"}},
        {"no": "type"},
        {"type": "ChannelStateChange", "timestamp": ts(3)},  # no channel
        {"type": "HotlineAgentState", "timestamp": ts(4), "agent_id": "1001", "state": "nap"},
        *sc.events,
    ]
    state = replay(noisy)
    assert summarise(state, make_params(2, "cn")).to_dict() == base
    c = state.counters
    assert c["unknown_type"] == 2
    assert c["bad_timestamp"] == 1
    assert c["not_event"] == 1
    assert c["no_channel"] == 1
    assert c["bad_agent_state"] == 1


def test_channels_never_seen_starting_are_left_out() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=5_000)
    sc.answered_call(20_000, "c2", "1002", ring_ms=2_000, talk_ms=5_000)
    # the journal starts after c1 was answered: only its Up and hang-ups are in it
    first_c2 = next(i for i, e in enumerate(sc.events)
                    if e.get("channel", {}).get("id") == "c2")
    tail = [e for e in sc.events[:first_c2]
            if e["type"] in ("ChannelHangupRequest", "ChannelDestroyed")
            or (e["type"] == "ChannelStateChange" and e["channel"]["state"] == "Up")]
    state = replay(tail + sc.events[first_c2:])
    out = summarise(state, make_params(2, "cn")).to_dict()
    assert out["queues"]["support"]["offered"] == 1
    assert set(out["agents"]) == {"1002"}
    assert state.counters["never_started"] >= 2


def test_busy_unavailable_and_hold_and_wrapup_in_aht() -> None:
    sc = Scenario()
    sc.arrive(0, "c1")
    sc.offer(10, "agent-1003-c1", "1003", "c1")
    sc.ev(20, "Dial", peer=sc.snap("agent-1003-c1"), dialstatus="BUSY")
    sc.hangup(21, "agent-1003-c1", cause=17)
    sc.offer(30, "agent-1004-c1", "1004", "c1")
    sc.ev(40, "Dial", peer=sc.snap("agent-1004-c1"), dialstatus="CHANUNAVAIL")
    sc.hangup(41, "agent-1004-c1", cause=20)
    leg = "agent-1001-c1"
    sc.offer(50, leg, "1001", "c1")
    sc.ring(55, leg)
    sc.answer(2_055, leg)
    sc.ev(10_000, "ChannelHold", channel=sc.snap(leg))
    sc.ev(15_000, "ChannelUnhold", channel=sc.snap(leg))
    sc.hangup(32_055, leg)  # agent hangs up first: talk 30 s of which 5 s hold
    sc.hangup(32_060, "c1")
    sc.agent_state(32_100, "1001", "wrapup")
    sc.agent_state(42_100, "1001", "available")
    out = figures(sc.events)
    assert out["agents"]["1003"]["busy"] == 1
    assert out["agents"]["1004"]["unavailable"] == 1
    assert out["agents"]["1003"]["presented"] == 0
    assert out["queues"]["support"]["aht_seconds"] == pytest.approx(30.0 + 10.0)
    state = replay(sc.events)
    handled = [f for f in state.facts if type(f).__name__ == "CallHandled"]
    assert [(f.talk_ms, f.hold_ms) for f in handled] == [(25_000, 5_000)]


def test_engine_transfer_event_cuts_talk_and_marks_call() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=60_000)
    sc.ev(13_015, "HotlineTransfer", call_id="c1", channel="agent-1001-c1")
    sc.events.sort(key=lambda e: e["timestamp"])
    q = figures(sc.events)["queues"]["support"]
    assert q["transferred"] == 1
    assert q["aht_seconds"] == 10.0  # 3.015 -> 13.015, not until the caller left


def test_live_apply_returns_facts_and_flush_drains() -> None:
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=5_000)
    state = KpiState(keep_facts=False)
    seen = [f for e in sc.events for f in apply(state, e)]
    seen += flush(state)
    assert [type(f).__name__ for f in seen] == [
        "LegOffered", "LegPresented", "LegAnswered", "CallAnswered", "CallHandled"]
    assert state.facts == []


def test_rotated_gz_journals_read_in_order(tmp_path: Path) -> None:
    events = _mixed_day(4).events
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    clock = [1_800_000_000.0]
    with JournalWriter(tmp_path / "hotline.jsonl", max_bytes=20_000,
                       clock=lambda: clock[0]) as writer:
        for e in events:
            writer.append(orjson.dumps(e))  # raw, as received
            clock[0] += 0.01
    files = journal_files(tmp_path / "hotline.jsonl")
    assert len(files) > 3
    assert all(f.name.endswith(".jsonl.gz") for f in files[:-1])
    rotated = summarise(replay_files(files), make_params(2, "cn")).to_dict()
    assert rotated == summarise(replay_files([plain]), make_params(2, "cn")).to_dict()
    assert rotated["queues"]["support"]["offered"] > 10
