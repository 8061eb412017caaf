"""Every recorded Asterisk trace, replayed against the simulator, event by event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim.config import SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing
from tests.conftest import TRACES
from tests.trace_replay import (
    ReplayReport,
    caused_run_start,
    compare,
    load_trace,
    plan,
    replay,
    ringing_orders,
)

EXACT = [
    "inbound_answer_playback_hangup",
    "agent_ring_answer",
    "agent_no_answer",
    "agent_busy",
    "full_call",
    "caller_abandon_while_ringing",
    "supervisor_spy",
    "agent_phone_blind_transfer",
    "agent_phone_transfer_ari_only",
    "rest_errors",
]


TRACE_CHANNELVARS = ("HOTLINE_ROLE", "HOTLINE_CALL_ID", "HOTLINE_QUEUE", "HOTLINE_AGENT_ID")


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Simulator]:
    # the traces' Asterisk listed four channelvars (tests/data/ari/traces/README.md)
    simulator = Simulator(SimConfig(recordings_dir=tmp_path / "rec", timing=Timing(),
                                    channelvars=TRACE_CHANNELVARS))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _run(sim: Simulator, name: str, ringing_from_trace: bool = True) -> ReplayReport:
    report = await replay(sim, TRACES / f"{name}.jsonl", ringing_from_trace=ringing_from_trace)
    print(report.summary())
    return report


@pytest.mark.looptime
@pytest.mark.parametrize("name", EXACT)
async def test_trace_replays_exactly(sim: Simulator, name: str) -> None:
    report = await _run(sim, name)
    assert report.exact, report.summary()
    assert report.matched == report.trace_events
    if name == "inbound_answer_playback_hangup":
        # The recording stops at StasisEnd; Asterisk goes on as full_call shows.
        assert [e.split()[0] for e in report.extra] == [
            "ChannelVarset", "ChannelHangupRequest", "ChannelDestroyed"]
    else:
        assert report.extra == []


@pytest.mark.looptime
async def test_agent_ring_answer_under_the_simulators_own_ringing_race(sim: Simulator) -> None:
    """Unpinned, the simulator resolves Asterisk's Dial("") / ChannelStateChange(Ringing)
    race Dial-first (agent_no_answer); this trace has the state change first. The two
    events are not merely swapped: Dial("")'s peer snapshot says Down instead of Ringing, so
    exactly those two positions differ; everything else matches in order."""
    report = await _run(sim, "agent_ring_answer", ringing_from_trace=False)
    assert report.matched == report.trace_events - 2
    assert [m.split()[:2] for m in report.mismatches] == [
        ["#0", "ChannelStateChange"], ["#1", "Dial"]]
    assert not report.missing
    assert not report.timing
    assert not report.rest
    assert not report.extra


def _ev(etype: str, instant: str, **fields: object) -> dict[str, object]:
    return {"type": etype, "timestamp": f"2026-11-22T23:15:{instant}+0000", **fields}


def test_compare_accepts_any_order_within_an_instant_and_none_across() -> None:
    a = _ev("Dial", "00.498", dialstatus="")
    b = _ev("ChannelStateChange", "00.498", channel={"id": "c1", "state": "Ringing"})
    c = _ev("Dial", "00.499", dialstatus="RINGING")
    same_instant = compare("t", [a, b, c], [b, a, c])
    assert (same_instant.exact, same_instant.matched, same_instant.reordered) == (True, 3, 1)
    across = compare("t", [a, b, c], [a, c, b])
    assert not across.exact
    assert [m.split()[0] for m in across.mismatches] == ["#1", "#2"]
    changed = compare("t", [a, b], [b, {**a, "dialstatus": "RINGING"}])
    assert (changed.matched, len(changed.mismatches)) == (1, 1)  # a set, not a looser match


def test_ringing_race_and_refers_are_read_off_the_traces() -> None:
    assert ringing_orders(e for e in load_trace(TRACES / "agent_ring_answer.jsonl")
                          if "probe" not in e) == {"agent-1001-a": "state_first"}
    assert ringing_orders(e for e in load_trace(TRACES / "agent_no_answer.jsonl")
                          if "probe" not in e) == {"agent-1002-a": "dial_first"}
    ari_only = load_trace(TRACES / "agent_phone_transfer_ari_only.jsonl")
    assert set(ringing_orders(e for e in ari_only if "probe" not in e).values()) == {
        "ringing_first"}
    for name, first in (("agent_phone_blind_transfer", "ChannelUnhold"),
                        ("agent_phone_transfer_ari_only", "ChannelTransfer")):
        actions = plan(load_trace(TRACES / f"{name}.jsonl"))
        refers = [a for a in actions if a.kind == "refer"]
        assert len(refers) == 1
        refer = refers[0]
        assert refer.item["type"] == first
        assert refer.target == "1002"
        assert refer.trace_channel.startswith("agent-1001-")
        assert 2.9 < refer.delay < 3.1  # the agent talked ~3 s before transferring
        # The app's requests that follow wait for the REFER's first event.
        later = actions[actions.index(refer) + 1:]
        assert later
        assert all(a.needed > refer.needed for a in later)


def test_events_a_request_causes_are_found_before_its_line() -> None:
    items = load_trace(TRACES / "full_call.jsonl")
    answer = next(i for i, it in enumerate(items)
                  if it.get("probe") and str(it["path"]).endswith("/answer"))
    start = caused_run_start(items, answer)
    assert items[start]["type"] == "ChannelStateChange"  # caller goes Up: caused by answer
    assert items[start - 1]["type"] == "Dial"  # the agent's ANSWER is what triggered it


def test_plan_reads_callers_and_think_time_off_the_trace() -> None:
    actions = plan(load_trace(TRACES / "caller_abandon_while_ringing.jsonl"))
    call = actions[0]
    assert call.kind == "call"
    assert call.talk is None
    assert call.patience == pytest.approx(5.011, abs=0.002)
    requests = [a for a in actions if a.kind == "request"]
    assert requests[-1].item["method"] == "DELETE"
    assert all(a.delay < 0.1 for a in requests)
