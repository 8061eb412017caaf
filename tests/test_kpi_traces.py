"""KPIs of the real Asterisk 22 traces, computed by hand from their timestamps here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ari_app.domain.timestamps import parse_ari_timestamp
from kpi.cli import replay_files
from kpi.params import make_params
from kpi.report import summarise


def at(text: str) -> float:
    return parse_ari_timestamp(f"2026-11-22T{text}+0000")


def kpis(traces_dir: Path, names: list[str], rings: int = 2, **kw: Any) -> dict[str, Any]:
    state = replay_files([traces_dir / f"{n}.jsonl" for n in names])
    return summarise(state, make_params(rings, "cn", **kw)).to_dict()


def test_full_call_rings_on_ring_two_at_china_cadence(traces_dir: Path) -> None:
    ring = at("23:15:29.890") - at("23:15:22.884")  # Ringing -> Up of agent-1001
    assert ring == pytest.approx(7.006)
    out = kpis(traces_dir, ["full_call"], rings=2)
    agent = out["agents"]["1001"]
    assert agent["rings_histogram"] == {str(int(ring // 5) + 1): 1} == {"2": 1}
    assert agent["avg_ring_seconds"] == pytest.approx(ring)
    assert (agent["offers"], agent["presented"], agent["answered"]) == (1, 1, 1)
    assert agent["answered_within_rings"] == 1  # 7.006 < 2 × 5
    assert kpis(traces_dir, ["full_call"], rings=1)["agents"]["1001"][
        "answered_within_rings"] == 0  # 7.006 >= 1 × 5
    queue = out["queues"]["support"]
    wait = at("23:15:29.890") - at("23:15:22.871")  # caller StasisStart -> agent Up
    talk = at("23:15:35.902") - at("23:15:29.890")  # agent Up -> caller hang-up
    assert (queue["offered"], queue["answered"], queue["abandoned"]) == (1, 1, 0)
    assert queue["asa_seconds"] == pytest.approx(wait)
    assert queue["max_wait_seconds"] == pytest.approx(wait)
    assert queue["service_level"] == 1.0  # 7.019 <= T = 10
    assert queue["aht_seconds"] == pytest.approx(talk)
    assert kpis(traces_dir, ["full_call"], sl_seconds=7.0)["queues"]["support"][
        "service_level"] == 0.0


def test_caller_abandon_while_ringing(traces_dir: Path) -> None:
    out = kpis(traces_dir, ["caller_abandon_while_ringing"], rings=1)
    queue = out["queues"]["support"]
    wait = at("23:15:43.074") - at("23:15:38.063")
    assert (queue["offered"], queue["answered"], queue["abandoned"]) == (1, 0, 1)
    assert queue["short_abandoned"] == 0  # 5.011 s is not < 5 s
    assert queue["max_wait_seconds"] == pytest.approx(wait)
    assert queue["abandon_rate"] == 1.0
    agent = out["agents"]["1002"]
    # agent leg rang 38.077 -> 43.076 = 4.999 s < 1 × 5: cancelled by the caller, neither
    assert (agent["presented"], agent["answered"], agent["rona"]) == (1, 0, 0)
    assert kpis(traces_dir, ["caller_abandon_while_ringing"], short_abandon_seconds=6)[
        "queues"]["support"]["short_abandoned"] == 1


def test_agent_busy_is_counted_busy(traces_dir: Path) -> None:
    agent = kpis(traces_dir, ["agent_busy"])["agents"]["1003"]
    assert (agent["offers"], agent["presented"], agent["busy"], agent["rona"]) == (1, 0, 1, 0)
    assert agent["answer_timeliness"] is None


def test_agent_no_answer_is_rona_at_two_rings_not_three(traces_dir: Path) -> None:
    rang = at("23:15:19.367") - at("23:15:09.359")  # Ringing -> destroyed (timeout=10)
    assert rang >= 2 * 5
    assert rang < 3 * 5
    two = kpis(traces_dir, ["agent_no_answer"], rings=2)["agents"]["1002"]
    assert (two["rona"], two["answered"], two["answer_timeliness"]) == (1, 0, 0.0)
    three = kpis(traces_dir, ["agent_no_answer"], rings=3)["agents"]["1002"]
    assert (three["rona"], three["answered"], three["answer_timeliness"]) == (0, 0, None)


def test_agent_ring_answer_without_a_caller(traces_dir: Path) -> None:
    out = kpis(traces_dir, ["agent_ring_answer"], rings=2)
    assert out["queues"] == {}  # HOTLINE_CALL_ID names no caller leg
    agent = out["agents"]["1001"]
    ring = at("23:15:06.502") - at("23:15:00.498")
    assert agent["avg_ring_seconds"] == pytest.approx(ring)
    assert agent["rings_histogram"] == {"2": 1}


def test_blind_transfer_stops_the_first_agents_talk(traces_dir: Path) -> None:
    out = kpis(traces_dir, ["agent_phone_blind_transfer"])
    queue = out["queues"]["support"]  # the caller never got HOTLINE_QUEUE: the agent leg's
    assert queue["transferred"] == 1
    first = at("23:19:12.290") - at("23:19:09.285")  # agent1001 Up -> BridgeBlindTransfer
    second = at("23:19:21.298") - at("23:19:14.301")  # agent1002 Up -> caller hang-up
    assert queue["aht_seconds"] == pytest.approx(first + second)
    assert out["agents"]["1002"]["answered"] == 1
    assert out["agents"]["1001"]["answered"] == 1
    assert queue["answered"] == 1  # answered once, by its first agent leg


def test_ari_only_transfer(traces_dir: Path) -> None:
    out = kpis(traces_dir, ["agent_phone_transfer_ari_only"])
    queue = out["queues"]["support"]
    first = at("23:19:34.832") - at("23:19:29.810")  # Up -> ChannelTransfer channel_answered
    second = at("23:19:41.819") - at("23:19:34.826")
    assert queue["transferred"] == 1
    assert queue["aht_seconds"] == pytest.approx(first + second)


def test_supervisor_and_snoop_legs_are_not_agents(traces_dir: Path) -> None:
    out = kpis(traces_dir, ["supervisor_spy", "inbound_answer_playback_hangup", "rest_errors"])
    assert set(out["agents"]) == {"1001"}
    assert out["queues"]["support"]["offered"] == 1


def test_all_traces_together(traces_dir: Path) -> None:
    names = sorted(p.stem for p in traces_dir.glob("*.jsonl"))
    out = kpis(traces_dir, names, rings=2)
    q = out["queues"]["support"]
    # full_call, abandon, spy, blind and ari-only transfers
    assert (q["offered"], q["answered"], q["abandoned"], q["transferred"]) == (5, 4, 1, 2)
    assert out["agents"]["1001"]["answered"] == 5
    assert out["agents"]["1002"]["rona"] == 1


def test_event_type_table_matches_the_asterisk_spec(api_docs_dir: Path) -> None:
    from ari_app.ari.spec import load_spec
    from kpi.fold import ARI_EVENT_TYPES, RELEVANT_TYPES

    assert load_spec(api_docs_dir).event_types() == ARI_EVENT_TYPES
    assert RELEVANT_TYPES <= ARI_EVENT_TYPES


def test_pre_parse_filter_keeps_every_event_the_fold_uses(traces_dir: Path) -> None:
    import orjson

    from kpi.fold import RELEVANT_TYPES, keep_line

    lines = [ln for p in sorted(traces_dir.glob("*.jsonl")) for ln in p.read_bytes().splitlines()]
    dropped = [orjson.loads(ln) for ln in lines if not keep_line(ln)]
    assert len(dropped) > len(lines) / 2  # most of a journal is noise
    for event in dropped:
        assert event["type"] not in RELEVANT_TYPES or (
            event["type"] == "ChannelVarset" and not event["variable"].startswith("HOTLINE_"))
    compact = b'{"type":"ChannelVarset","variable":"HOTLINE_ROLE","value":"caller"}'
    assert keep_line(compact)
    assert not keep_line(b'{"type":"ChannelVarset","variable":"BRIDGEPEER","value":"x"}')
    assert not keep_line(b'{"type":"PlaybackStarted","timestamp":"x"}')
    assert keep_line(b'{"type":"ChannelFrobnicated"}')  # unknown: parsed and counted


def test_replay_hot_path_skips_exactly_what_keep_line_drops(traces_dir: Path) -> None:
    """The inlined filter of `replay_lines` makes the same decision as `keep_line` on every
    line: the traces' sorted keys, Asterisk's type-first order, odd spacing, torn lines."""
    from kpi.fold import KpiState, keep_line, replay_lines

    lines = [ln for p in sorted(traces_dir.glob("*.jsonl")) for ln in p.read_bytes().splitlines()]
    tricky = [
        b'{"type":"ChannelVarset","variable":"BRIDGEPEER","value":"x"}',
        b'{"type": "ChannelVarset", "variable": "HOTLINE_ROLE", "value": "caller"}',
        b'{"type" : "ChannelVarset", "variable" : "HOTLINE_QUEUE", "value": "q"}',
        b'{"type" : "ChannelVarset", "variable" : "RTPAUDIOQOS", "value": "q"}',
        b'{"value": "x", "type": "ChannelVarset"}',  # no variable: parsed
        b'{"value": "HOTLINE_ROLE", "type": "ChannelVarset", "variable": "BRIDGEPEER"}',
        b'{"variable": "HOTLINE_ROLE", "type": "ChannelVarset", "variable": "BRIDGEPEER"}',
        b'{"type":"StasisStart","x":{"type":"PlaybackStarted"}}',  # type-first wins
        b'{"a":{"type":"StasisStart"},"type":"PlaybackStarted"}',  # else the last one
        b'{"type":"PlaybackStarted"}', b'{"type": "PlaybackStarted"', b'{"type": "Playback',
        b'{"type":"ChannelVarset', b'{"type"', b'{"type": 5}', b'"type"', b"", b"{}",
        b'{"timestamp": "2026-11-22T23:15:22.871+0000", "type": "ChannelFrobnicated"}',
    ]
    for line in [*lines, *tricky]:
        _, skipped, _ = replay_lines(KpiState(), [line])
        assert skipped == (0 if keep_line(line) else 1), line
