"""The post-call survey in the pure call-flow core: who gets it, what the caller hears,
each outcome, the agent it is credited to, and the record it leaves."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.config.survey import SurveySettings
from ari_app.domain.commands import (
    CreateChannel,
    DestroyBridge,
    Hangup,
    Play,
    SetVar,
    StopPlayback,
)
from ari_app.domain.events import AgentState, CallEnded, SurveyFinished, SurveyOutcome
from ari_app.survey.machine import Survey, satisfied, score
from tests.callflow_rig import Rig, channel, make_config

SURVEY: dict[str, Any] = {
    "enabled": True,
    "intro": ["sound:survey-intro"],
    "questions": [
        {"prompt": ["sound:rate-agent"], "keys": "12345"},
        {"prompt": ["sound:rate-solved"], "keys": "12"},
    ],
    "timeout_seconds": 5,
    "retries": 1,
}


def talking(survey: dict[str, Any] | None = None, *agents: str) -> Rig:
    rig = Rig(make_config(survey=survey if survey is not None else SURVEY))
    for a in agents or ("1001",):
        rig.login(a)
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    rig.advance(30)
    return rig


def dtmf(rig: Rig, digit: str, cid: str = "c1") -> list[Any]:
    return rig.event(
        "ChannelDtmfReceived", digit=digit, duration_ms=120, channel=channel(cid, state="Up")
    )


def finished(rig: Rig) -> SurveyFinished:
    [done] = rig.of_type(SurveyFinished)
    return done


def summary_after(rig: Rig) -> Any:
    rig.recording_finished("call-c1", 30)
    rig.advance(10)
    [ended] = rig.of_type(CallEnded)
    return ended.summary


def test_the_agent_hanging_up_first_keeps_the_caller_for_the_survey() -> None:
    rig = talking()
    out = rig.hangup("agent-1001-c1")
    assert Hangup("c1") not in out
    assert DestroyBridge("br-c1") in out
    assert Hangup("rec-c1") in out  # the talk's recording ends with its snoop
    assert out[-2:] == [
        SetVar("c1", "HOTLINE_SURVEY_QUESTION", "1/2/12345"),
        Play("c1", "survey-c1-2", ("sound:survey-intro", "sound:rate-agent")),
    ]
    assert SetVar("c1", "HOTLINE_SURVEY", "1001") in out
    a = rig.core.agents.get("1001")
    assert a is not None
    assert a.state is AgentState.WRAPUP


def test_completed_survey_and_its_record() -> None:
    rig = talking()
    rig.hangup("agent-1001-c1")
    rig.playback_finished("survey-c1-2")
    out = dtmf(rig, "4")
    assert out == [
        SetVar("c1", "HOTLINE_SURVEY_QUESTION", "2/2/12"),
        Play("c1", "survey-c1-3", ("sound:rate-solved",)),
    ]
    out = dtmf(rig, "1")  # pressed during the prompt: it counts and cuts the prompt
    assert out == [
        StopPlayback("survey-c1-3"),
        SetVar("c1", "HOTLINE_SURVEY_RESULT", "completed"),
        Play("c1", "survey-end-c1-4", ("sound:survey-thanks",)),
    ]
    assert rig.playback_finished("survey-end-c1-4") == [Hangup("c1")]
    done = finished(rig)
    assert (done.outcome, done.answers, done.score, done.agent_id) == (
        SurveyOutcome.COMPLETED, (4, 1), 2.5, "1001"
    )
    rig.hangup("c1")
    summary = summary_after(rig)
    assert summary.survey is SurveyOutcome.COMPLETED
    assert summary.hangup_by == "agent"
    assert summary.talk_seconds == pytest.approx(30)  # the survey is not talk


def test_wrong_key_is_asked_again_then_invalid() -> None:
    rig = talking()
    rig.hangup("agent-1001-c1")
    rig.playback_finished("survey-c1-2")
    out = dtmf(rig, "9")
    assert out == [
        SetVar("c1", "HOTLINE_SURVEY_QUESTION", "1/2/12345"),
        Play("c1", "survey-c1-3", ("sound:survey-invalid", "sound:rate-agent")),
    ]
    rig.playback_finished("survey-c1-3")
    out = dtmf(rig, "0")
    assert SetVar("c1", "HOTLINE_SURVEY_RESULT", "invalid") in out
    assert finished(rig).outcome is SurveyOutcome.INVALID
    assert finished(rig).score is None


def test_silence_is_asked_again_then_no_input() -> None:
    rig = talking()
    rig.hangup("agent-1001-c1")
    rig.playback_finished("survey-c1-2")
    out = rig.advance(5)
    assert out == [
        SetVar("c1", "HOTLINE_SURVEY_QUESTION", "1/2/12345"),
        Play("c1", "survey-c1-3", ("sound:rate-agent",)),
    ]
    rig.playback_finished("survey-c1-3")
    out = rig.advance(5)
    assert SetVar("c1", "HOTLINE_SURVEY_RESULT", "no_input") in out
    assert finished(rig).outcome is SurveyOutcome.NO_INPUT
    assert rig.playback_finished("survey-end-c1-4") == [Hangup("c1")]


def test_a_retry_then_an_answer_goes_on() -> None:
    rig = talking()
    rig.hangup("agent-1001-c1")
    rig.playback_finished("survey-c1-2")
    rig.advance(5)  # silence: asked again
    rig.playback_finished("survey-c1-3")
    dtmf(rig, "5")
    rig.playback_finished("survey-c1-4")
    rig.advance(5)
    rig.playback_finished("survey-c1-5")
    rig.advance(5)  # the second question: silence twice
    done = finished(rig)
    assert (done.outcome, done.answers, done.score) == (SurveyOutcome.PARTIAL, (5, None), 5.0)


def test_caller_hanging_up_declines_or_leaves_it_partial() -> None:
    rig = talking()
    rig.hangup("agent-1001-c1")
    rig.hangup("c1")
    assert finished(rig).outcome is SurveyOutcome.DECLINED
    assert summary_after(rig).survey is SurveyOutcome.DECLINED

    rig = talking()
    rig.hangup("agent-1001-c1")
    dtmf(rig, "3")
    rig.hangup("c1")
    done = finished(rig)
    assert (done.outcome, done.answers) == (SurveyOutcome.PARTIAL, (3, None))
    assert "survey" not in {k for k, _ in rig.timers}


def test_not_offered_when_the_caller_hangs_up_first_or_the_survey_is_off() -> None:
    rig = talking()
    out = rig.hangup("c1")
    assert Hangup("agent-1001-c1") in out
    assert not rig.of_type(SurveyFinished)
    rig.hangup("agent-1001-c1")
    assert summary_after(rig).survey is SurveyOutcome.NOT_OFFERED

    rig = talking(survey={})
    assert Hangup("c1") in rig.hangup("agent-1001-c1")
    assert not rig.of_type(SurveyFinished)


def test_after_a_blind_transfer_the_survey_is_credited_to_the_second_agent() -> None:
    rig = talking(None, "1001", "1002")
    target = rig.core.resolve_target("agent", "1002")
    out = rig.act(rig.core.transfer("c1", "blind", target, rig.now))
    [leg] = [c.channel_id for c in out if isinstance(c, CreateChannel)]
    rig.ringing(leg)
    rig.answer(leg)
    rig.advance(20)
    out = rig.hangup(leg)
    assert SetVar("c1", "HOTLINE_SURVEY", "1002") in out
    rig.playback_finished("survey-c1-2")
    dtmf(rig, "5")
    dtmf(rig, "2")
    done = finished(rig)
    assert (done.agent_id, done.outcome, done.score) == ("1002", SurveyOutcome.COMPLETED, 3.5)


def test_digits_during_the_talk_are_not_answers() -> None:
    rig = talking()
    assert dtmf(rig, "5") == []
    rig.hangup("agent-1001-c1")
    assert finished_or_none(rig) is None


def finished_or_none(rig: Rig) -> SurveyFinished | None:
    done = rig.of_type(SurveyFinished)
    return done[0] if done else None


def test_the_machine_scores_and_satisfaction() -> None:
    s = Survey(SurveySettings.model_validate(SURVEY))
    s.start()
    s.digit("4")
    s.digit("2")
    assert s.outcome is SurveyOutcome.COMPLETED
    assert s.score == 3.0
    assert not satisfied(SurveyOutcome.COMPLETED, s.score)
    assert satisfied(SurveyOutcome.COMPLETED, score([5, 4]))
    assert not satisfied(SurveyOutcome.PARTIAL, 5.0)
    assert s.digit("1") == []  # over: keys change nothing


def test_after_a_restart_a_caller_in_the_survey_hears_it_again() -> None:
    from ari_app.callflow.adoption import CallFacts
    from ari_app.domain.timestamps import format_ari_timestamp
    from tests.callflow_rig import T0

    rig = Rig(make_config(survey=SURVEY))
    rig.login("1001")
    rig.now = T0 + 600
    c1 = channel(
        "c1", state="Up", creationtime=format_ari_timestamp(T0 + 100),
        channelvars={"HOTLINE_ROLE": "caller", "HOTLINE_QUEUE": "support",
                     "HOTLINE_CALL_ID": "c1", "HOTLINE_AGENT_ID": "", "HOTLINE_SURVEY": "1002"},
    )
    out = rig.act(rig.core.reconcile(
        [c1], [], rig.now,
        facts={"c1": CallFacts(arrived_at=T0 + 100, answered_at=T0 + 110, agent_id="1001")},
    ))
    assert not any(isinstance(c, CreateChannel) for c in out)  # not queued again
    assert Hangup("c1") not in out
    assert next(c for c in out if isinstance(c, Play)).media[-1] == "sound:rate-agent"
    assert rig.core.counters["adopted_survey"] == 1
    [pid] = rig.core.calls["c1"].playbacks
    rig.playback_finished(pid)
    dtmf(rig, "5")
    dtmf(rig, "1")
    done = finished(rig)
    assert (done.agent_id, done.outcome) == ("1002", SurveyOutcome.COMPLETED)
    rig.hangup("c1")
    rig.advance(10)
    [ended] = rig.of_type(CallEnded)
    assert (ended.summary.agent_id, ended.summary.survey) == ("1001", SurveyOutcome.COMPLETED)
