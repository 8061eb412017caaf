"""Asterisk's asynchrony: a channel made by /channels/create enters Stasis a moment after
the REST answer. The engine waits for StasisStart before it dials, bridges or tags a
channel it created, so the race never shows as an error and never counts against an agent.
Runs under looptime: the simulator's delays are on the loop's clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ari_app.callflow.call import CallState
from ari_app.domain.events import CallEnded, MonitorEnded, OfferResult
from pbxsim.timing import Timing
from tests.callflow_rig import make_config
from tests.scenario_rig import Scenario, scenario
from tests.test_transfer_scenarios import talking

pytestmark = pytest.mark.looptime

RACE = Timing(stasis_delay=0.3, seed=5)
NOT_IN_STASIS = ("rest_409", "rest_422")


def no_stasis_errors(s: Scenario) -> None:
    counters = s.engine.core.counters
    assert [counters[k] for k in NOT_IN_STASIS] == [0, 0]
    assert s.engine.gate.timeouts == 0


async def test_agent_legs_are_dialled_only_after_stasis_start(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path, timing=RACE) as s:
        s.login("1001")
        s.phone("1001", answer_after=2)
        cid = s.call(talk=5)
        summary = (await s.sink.ended(cid)).summary
        assert [o.result for o in summary.offers] == [OfferResult.ANSWERED]
        assert s.engine.gate.waits >= 1  # the dial really had to wait
        no_stasis_errors(s)


async def test_many_calls_with_random_delays_have_no_stasis_errors(tmp_path: Path) -> None:
    timing = Timing(stasis_delay=0.5, random=True, seed=11, reorder=0.5)
    async with scenario(make_config(), tmp_path, timing=timing) as s:
        s.login("1001", "1002")
        s.phone("1001", answer_after=1)
        s.phone("1002", answer_after=2)
        calls = [s.call(f"1390000{i:04d}", talk=3) for i in range(6)]
        await asyncio.sleep(0.2 * len(calls))
        ended = [(await s.sink.ended(cid)).summary for cid in calls]
        assert all(e.answered_at is not None for e in ended)
        assert not [o for e in ended for o in e.offers if o.result is OfferResult.UNAVAILABLE]
        no_stasis_errors(s)


async def test_monitoring_stopped_at_once_never_hangs_up_the_call(tmp_path: Path) -> None:
    """Hardening finding 1: POST monitor then DELETE within milliseconds, while the
    supervisor's leg and the snoop are not in Stasis yet."""
    async with scenario(make_config(), tmp_path, timing=RACE) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        cid = s.call(talk=60)
        await talking(s, cid)
        for _ in range(3):
            session = s.engine.monitor(cid, "listen", "PJSIP/agent1004", "sue")
            s.engine.stop_monitor(session.session_id)
            end = await s.sink.wait_for(
                lambda e, sid=session.session_id: isinstance(e, MonitorEnded)
                and e.session_id == sid
            )
            assert end.reason == "stopped"
            await s.engine.quiesce()
            assert s.engine.core.calls[cid].state is CallState.BRIDGED
        ended: CallEnded = await s.sink.ended(cid)
        assert ended.summary.hangup_by == "caller"  # the caller's own 60 s, not the engine
        assert ended.summary.talk_seconds > 50  # the talk after the greeting, uncut
        assert s.engine.core.counters["bridge_failed"] == 0


async def test_a_monitor_leg_waits_for_stasis_then_joins(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path, timing=RACE) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        cid = s.call(talk=30)
        await talking(s, cid)
        s.phone("1004", answer_after=1)
        session = s.engine.monitor(cid, "listen", "PJSIP/agent1004", "sue")
        await asyncio.sleep(5)
        assert session.session_id in s.engine.core.monitors
        no_stasis_errors(s)
        end = await s.sink.wait_for(lambda e: isinstance(e, MonitorEnded))
        assert end.reason == "call_ended"
