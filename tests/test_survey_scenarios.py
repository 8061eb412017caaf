"""The post-call survey on the PBX simulator (fast-forwarded time): the caller's keys come
as Asterisk sends them (`ChannelDtmfReceived`, one event per digit), scripted through the
simulator's `dtmf` list; the agent ends the talk (`hangup_by="agent"`, or the phone's
`hangup_after`). One test per outcome, the credit after a blind transfer, and the call's
record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ari_app.config.settings import Config
from ari_app.domain.events import CallStateChanged, SurveyFinished, SurveyOutcome
from pbxsim.config import EndpointBehaviour
from pbxsim.dtmf import DtmfPress
from tests.callflow_rig import make_config
from tests.scenario_rig import Scenario, scenario

pytestmark = pytest.mark.looptime

TALK = 30.0


def config(timeout: float = 30.0) -> Config:
    return make_config(
        survey={
            "enabled": True,
            "questions": [
                {"prompt": ["sound:rate-agent"], "keys": "12345"},
                {"prompt": ["sound:rate-solved"], "keys": "12"},
            ],
            "timeout_seconds": timeout,
            "retries": 1,
        }
    )


def keys(*presses: tuple[float, str]) -> list[DtmfPress]:
    return [DtmfPress(after, digits) for after, digits in presses]


async def survey_of(s: Scenario, call_id: str) -> SurveyFinished:
    done: SurveyFinished = await s.sink.wait_for(
        lambda e: isinstance(e, SurveyFinished) and e.call_id == call_id
    )
    return done


async def no_channel_left(s: Scenario, call_id: str) -> None:
    await s.sink.ended(call_id)  # the thanks played, the engine hung up
    await s.engine.quiesce()
    await s.sim.drain()
    assert s.sim.stats()["channels"] == 0
    assert s.engine.core.live_channels() == 0


def dtmf_events(s: Scenario, channel_id: str) -> list[dict[str, Any]]:
    return [
        e for e in s.events
        if e["type"] == "ChannelDtmfReceived" and e["channel"]["id"] == channel_id
    ]


async def test_completed_survey_after_the_agent_hangs_up(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.login("1001")
        # a key during the talk (10 s) is no answer; then 4 and 2 after the agent has gone
        cid = s.sim.place_call(
            "13900001", "12345", talk=TALK, hangup_by="agent",
            dtmf=keys((10, "5"), (60, "4"), (64, "2")),
        )
        done = await survey_of(s, cid)
        assert (done.outcome, done.answers, done.score, done.agent_id) == (
            SurveyOutcome.COMPLETED, (4, 2), 3.0, "1001"
        )
        summary = (await s.sink.ended(cid)).summary
        assert summary.survey is SurveyOutcome.COMPLETED
        assert summary.hangup_by == "agent"
        # `talk` runs from the caller's answer (then the greeting); the survey is not talk
        assert summary.bridged_at is not None
        assert summary.answered_at is not None
        greeting = summary.bridged_at - summary.answered_at
        assert summary.talk_seconds == pytest.approx(TALK - greeting, abs=0.5)
        assert summary.ended_at - summary.bridged_at > TALK  # the caller stayed for it
        assert s.sent("POST", f"/channels/{cid}/variable")
        results = [r.params["value"] for r in s.sent("POST", f"/channels/{cid}/variable")
                   if r.params["variable"] == "HOTLINE_SURVEY_RESULT"]
        assert results == ["completed"]
        assert [r.path for r in s.sent("DELETE", f"/channels/{cid}")] == [f"/channels/{cid}"]
        await no_channel_left(s, cid)


async def test_no_input_after_the_retry_and_the_engine_hangs_up(tmp_path: Path) -> None:
    async with scenario(config(timeout=5.0), tmp_path) as s:
        s.login("1001")
        cid = s.sim.place_call("13900001", "12345", talk=TALK, hangup_by="agent")
        done = await survey_of(s, cid)
        assert done.outcome is SurveyOutcome.NO_INPUT
        assert done.score is None
        marks = [r.params["value"] for r in s.sent("POST", f"/channels/{cid}/variable")
                 if r.params["variable"] == "HOTLINE_SURVEY_QUESTION"]
        assert marks == ["1/2/12345", "1/2/12345"]  # asked, then asked again
        assert (await s.sink.ended(cid)).summary.survey is SurveyOutcome.NO_INPUT
        await no_channel_left(s, cid)


async def test_wrong_keys_end_invalid(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.login("1001")
        cid = s.sim.place_call(
            "13900001", "12345", talk=TALK, hangup_by="agent",
            dtmf=keys((60, "9"), (66, "0")),
        )
        done = await survey_of(s, cid)
        assert done.outcome is SurveyOutcome.INVALID
        assert [e["digit"] for e in dtmf_events(s, cid)] == ["9", "0"]
        assert all(e["duration_ms"] == 100 for e in dtmf_events(s, cid))
        await no_channel_left(s, cid)


async def test_partial_when_the_second_question_gets_silence(tmp_path: Path) -> None:
    async with scenario(config(timeout=5.0), tmp_path) as s:
        s.login("1001")
        cid = s.sim.place_call(
            "13900001", "12345", talk=TALK, hangup_by="agent", dtmf=keys((TALK + 8, "5"))
        )
        done = await survey_of(s, cid)
        assert (done.outcome, done.answers) == (SurveyOutcome.PARTIAL, (5, None))
        await no_channel_left(s, cid)


async def test_caller_hanging_up_in_the_survey_declines_it(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.login("1001")
        cid = s.sim.place_call("13900001", "12345", talk=TALK, hangup_by="agent")
        await s.sink.wait_for(
            lambda e: isinstance(e, CallStateChanged) and e.call_id == cid
            and e.state == "survey"
        )
        await s.engine.quiesce()
        s.sim.phone_hangup(cid)
        done = await survey_of(s, cid)
        assert done.outcome is SurveyOutcome.DECLINED
        summary = (await s.sink.ended(cid)).summary
        assert (summary.survey, summary.outcome) == (SurveyOutcome.DECLINED, "answered")
        await no_channel_left(s, cid)


async def test_not_offered_when_the_caller_hangs_up_first(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.login("1001")
        cid = s.sim.place_call("13900001", "12345", talk=TALK)  # hangup_by caller
        summary = (await s.sink.ended(cid)).summary
        assert (summary.survey, summary.hangup_by) == (SurveyOutcome.NOT_OFFERED, "caller")
        assert not [e for e in s.sink.events if isinstance(e, SurveyFinished)]
        assert not [r for r in s.sent("POST", f"/channels/{cid}/variable")
                    if r.params["variable"].startswith("HOTLINE_SURVEY")]
        await no_channel_left(s, cid)


async def test_after_a_blind_transfer_the_second_agent_gets_the_credit(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.login("1001", "1002")
        s.sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(2.0, hangup_after=10.0))
        s.phone("1001", answer_after=2.0)
        cid = s.sim.place_call("13900001", "12345", dtmf=keys((60, "5"), (64, "1")))
        await s.sink.wait_for(
            lambda e: isinstance(e, CallStateChanged) and e.call_id == cid
            and e.state == "bridged"
        )
        await s.engine.quiesce()
        s.engine.transfer(cid, "blind", "agent", "1002")
        done = await survey_of(s, cid)
        assert (done.agent_id, done.outcome, done.answers) == (
            "1002", SurveyOutcome.COMPLETED, (5, 1)
        )
        summary = (await s.sink.ended(cid)).summary
        assert summary.agent_id == "1001"  # the record's agent: who took the call
        assert summary.survey is SurveyOutcome.COMPLETED
        await no_channel_left(s, cid)
