"""Every recorded Asterisk trace, replayed against the simulator, event by event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim.config import SimConfig
from pbxsim.replay import ReplayReport, caused_run_start, load_trace, plan, replay
from pbxsim.server import Simulator
from tests.conftest import TRACES

EXACT = [
    "inbound_answer_playback_hangup",
    "agent_no_answer",
    "agent_busy",
    "full_call",
    "caller_abandon_while_ringing",
    "supervisor_spy",
    "rest_errors",
]


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[Simulator]:
    simulator = Simulator(SimConfig(recordings_dir=tmp_path / "rec"))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _run(sim: Simulator, name: str) -> ReplayReport:
    report = await replay(sim, TRACES / f"{name}.jsonl")
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
async def test_agent_ring_answer_differs_only_by_the_ringing_race(sim: Simulator) -> None:
    """Asterisk emits Dial("") and ChannelStateChange(Ringing) from two threads: this trace
    has the state change first, agent_no_answer the Dial first. The simulator follows
    agent_no_answer, so here exactly the first two events differ (in order and state)."""
    report = await _run(sim, "agent_ring_answer")
    assert report.matched == report.trace_events - 2
    assert [m.split()[:2] for m in report.mismatches] == [
        ["#0", "ChannelStateChange"], ["#1", "Dial"]]
    assert not (report.missing)
    assert not (report.timing)
    assert not (report.rest)
    assert not (report.extra)


@pytest.mark.looptime
@pytest.mark.xfail(strict=True, reason="phone-initiated (SIP REFER) transfer not simulated yet")
@pytest.mark.parametrize("name", ["agent_phone_blind_transfer", "agent_phone_transfer_ari_only"])
async def test_phone_transfer_traces(sim: Simulator, name: str) -> None:
    report = await _run(sim, name)
    assert report.exact


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
