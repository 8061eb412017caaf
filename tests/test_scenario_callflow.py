"""Scenarios on the PBX simulator (fast-forwarded time): the ARI requests sent and the outcome."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from ari_app.callflow.agents import AgentError
from ari_app.domain.events import AgentState, AgentStateChanged, OfferResult, Outcome
from tests.callflow_rig import make_config
from tests.scenario_rig import scenario

pytestmark = pytest.mark.looptime


async def test_answered_within_three_rings_greeting_then_bridge_and_recording(
    tmp_path: Path,
) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=7)
        cid = s.call(talk=20)
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.ANSWERED
        [offer] = summary.offers
        assert offer.result is OfferResult.ANSWERED
        assert offer.rings == 2  # 7 s at China's 5 s cadence: inside 3 rings
        assert offer.ring_seconds == pytest.approx(7, abs=0.1)
        create = s.sent("POST", "/channels/create")[0]
        assert create.params["channelId"] == f"agent-1001-{cid}"
        assert create.body == {
            "variables": {
                "HOTLINE_AGENT_ID": "1001",
                "HOTLINE_CALL_ID": cid,
                "HOTLINE_QUEUE": "support",
                "HOTLINE_ROLE": "agent",
            }
        }
        assert s.sent("POST", f"/channels/agent-1001-{cid}/dial")[0].params == {
            "caller": cid,
            "timeout": 20,
        }
        order = s.paths()
        assert order.index(f"POST /channels/{cid}/ring") < order.index("POST /channels/create")
        assert order.index(f"POST /channels/{cid}/answer") < order.index(
            f"POST /channels/{cid}/play"
        )
        play = s.sent("POST", f"/channels/{cid}/play")[0]
        assert play.params["media"] == "sound:hotline-welcome,digits:1001,sound:at-your-service"
        assert order.index(f"POST /channels/{cid}/play") < order.index("POST /bridges")
        rec = await s.sink.recording()
        path = tmp_path / f"{rec.recording.name}.wav"
        assert path.exists()
        with wave.open(str(path)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert seconds == pytest.approx(summary.talk_seconds, abs=0.6)
        assert rec.recording.duration_seconds == pytest.approx(summary.talk_seconds, abs=1.0)
        assert summary.talk_seconds > 0


async def test_greeting_finishes_before_the_bridge_and_says_the_agent_id(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1002")
        s.phone("1002", answer_after=1)
        cid = s.call(talk=30)
        summary = (await s.sink.ended(cid)).summary
        assert "digits:1002" in s.sent("POST", f"/channels/{cid}/play")[0].params["media"]
        # the sim plays hotline-welcome 1.5 s + 4 digits × 0.891 s + at-your-service 1.5 s
        assert summary.bridged_at is not None
        assert summary.answered_at is not None
        assert summary.bridged_at - summary.answered_at == pytest.approx(
            1.5 + 4 * 0.891 + 1.5, abs=0.2
        )


async def test_rona_goes_to_the_next_agent_and_auto_pauses(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001", "1002")
        s.phone("1001", answer_after=None)
        s.phone("1002", answer_after=None)
        first = s.call(talk=5)
        await s.sink.wait_for(
            lambda e: isinstance(e, AgentStateChanged) and e.reason == "rona", within=120
        )
        assert s.sent("DELETE", f"/channels/agent-1001-{first}")
        states = s.sink.agent_states("1001") + s.sink.agent_states("1002")
        assert ("paused", "rona") in states
        offers = [r.params["channelId"] for r in s.sent("POST", "/channels/create")]
        assert offers[:2] == [f"agent-1001-{first}", f"agent-1002-{first}"]
        s.phone("1001", answer_after=1)
        s.phone("1002", answer_after=1)
        for a in ("1001", "1002"):
            agent = s.engine.core.agents.get(a)
            assert agent is not None
            if agent.state is AgentState.PAUSED:
                s.engine.unpause(a)
        summary = (await s.sink.ended(first)).summary
        assert [o.result for o in summary.offers][:2] == [OfferResult.RONA, OfferResult.RONA]
        assert summary.offers[0].rings == 4  # 15 s of ringing: the 4th ring just began
        assert summary.outcome is Outcome.ANSWERED


async def test_busy_phone_goes_to_the_next_agent_at_once(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1003", "1004")
        s.phone("1003", busy=True)
        s.phone("1004", answer_after=1)
        cid = s.call(talk=5)
        summary = (await s.sink.ended(cid)).summary
        assert [(o.agent_id, o.result) for o in summary.offers] == [
            ("1003", OfferResult.BUSY),
            ("1004", OfferResult.ANSWERED),
        ]
        assert summary.offers[1].started_at - summary.offers[0].started_at < 0.5


async def test_all_agents_busy_waits_then_overflows(tmp_path: Path) -> None:
    cfg = make_config(max_wait_seconds=30, overflow={"action": "voicemail"})
    async with scenario(cfg, tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        first = s.call(talk=120)
        await asyncio.sleep(5)
        second = s.call("13900002", talk=20)
        summary = (await s.sink.ended(second)).summary
        assert summary.outcome is Outcome.VOICEMAIL
        assert summary.overflow == "max_wait"
        assert summary.wait_seconds == pytest.approx(30, abs=0.5)
        assert s.sent("POST", f"/channels/{second}/record")
        assert not [
            r for r in s.sent("POST", "/channels/create") if second in r.params["channelId"]
        ]
        assert (await s.sink.ended(first)).summary.outcome is Outcome.ANSWERED


async def test_abandon_in_queue(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        s.call(talk=60)
        await asyncio.sleep(3)
        second = s.call("13900002", patience=10)
        summary = (await s.sink.ended(second)).summary
        assert summary.outcome is Outcome.ABANDONED
        assert summary.offers == ()
        assert summary.wait_seconds == pytest.approx(10, abs=0.5)


async def test_abandon_while_ringing_cancels_the_leg_without_penalty(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1002")
        s.phone("1002", answer_after=None)
        cid = s.call(patience=5)
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.ABANDONED
        assert summary.offers[0].result is OfferResult.CANCELLED
        assert s.sent("DELETE", f"/channels/agent-1002-{cid}")
        agent = s.engine.core.agents.get("1002")
        assert agent is not None
        assert agent.state is AgentState.AVAILABLE
        assert agent.consecutive_ronas == 0
        await s.engine.quiesce()
        assert s.sim.stats()["channels"] == 0


async def test_agent_hangs_up_first(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        cid = s.call()
        await s.sink.wait_for(lambda e: getattr(e, "state", "") == "bridged")
        await asyncio.sleep(10)
        s.sim.phone_hangup(f"agent-1001-{cid}")
        summary = (await s.sink.ended(cid)).summary
        assert summary.hangup_by == "agent"
        assert summary.talk_seconds == pytest.approx(10, abs=0.5)
        assert s.sent("DELETE", f"/channels/{cid}")
        await s.engine.quiesce()
        assert s.sim.stats()["channels"] == 0


async def test_caller_hangs_up_during_the_greeting(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        cid = s.call(talk=2)  # the greeting takes ~6.5 s
        summary = (await s.sink.ended(cid)).summary
        assert summary.hangup_by == "caller"
        assert summary.bridged_at is None
        assert not s.sent("POST", "/bridges")
        assert s.sent("DELETE", f"/channels/agent-1001-{cid}")
        await s.engine.quiesce()
        assert s.sim.stats()["channels"] == 0


async def test_wrapup_is_respected(tmp_path: Path) -> None:
    async with scenario(make_config(wrapup_seconds=20), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        first = s.call(talk=10)
        await asyncio.sleep(1)
        second = s.call("13900002", talk=10)
        end1 = (await s.sink.ended(first)).summary
        end2 = (await s.sink.ended(second)).summary
        assert end1.wrapup_seconds == pytest.approx(20, abs=0.1)
        assert end2.offers[0].started_at >= end1.ended_at + 20 - 0.1


async def test_no_agents_logged_in_overflows_at_once(tmp_path: Path) -> None:
    cfg = make_config(overflow={"action": "closed", "media": ["sound:all-busy"]})
    async with scenario(cfg, tmp_path) as s:
        cid = s.call()
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.CLOSED
        assert summary.overflow == "no_agents"
        assert s.sent("POST", f"/channels/{cid}/play")[0].params["media"] == "sound:all-busy"
        assert s.sent("DELETE", f"/channels/{cid}")
        assert not s.sent("POST", "/channels/create")


async def test_vip_goes_first(tmp_path: Path) -> None:
    async with scenario(make_config(vip_numbers=["13800000888"]), tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=1)
        s.call("13900000001", talk=30)
        await asyncio.sleep(1)
        normal = s.call("13900000002", talk=5)
        await asyncio.sleep(1)
        vip = s.call("13800000888", talk=5)
        end_vip = (await s.sink.ended(vip)).summary
        end_normal = (await s.sink.ended(normal)).summary
        assert end_vip.vip
        assert end_vip.answered_at is not None
        assert end_normal.answered_at is not None
        assert end_vip.answered_at < end_normal.answered_at


async def test_closed_hours_play_the_closed_message(tmp_path: Path) -> None:
    hours = {"timezone": "Asia/Shanghai", "weekly": {"mon": ["09:00-17:00"]}}
    async with scenario(make_config(hours=hours), tmp_path) as s:
        s.login("1001")
        cid = s.call()  # the simulator's clock says Monday 07:14 in Shanghai
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.CLOSED
        assert summary.overflow == "closed_hours"
        assert s.sent("POST", f"/channels/{cid}/play")[0].params["media"] == "sound:hotline-closed"
        assert not s.sent("POST", "/channels/create")


async def test_double_login_is_refused(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1001")
        with pytest.raises(AgentError, match="already logged in"):
            s.engine.login("1001", "4321", "PJSIP/agent1002")
        with pytest.raises(AgentError, match="in use by agent 1001"):
            s.engine.login("1002", "4321", "PJSIP/agent1001")
