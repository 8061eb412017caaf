"""The pure call-flow core driven by recorded-shape ARI events: no sockets, no sleeps."""

from __future__ import annotations

import pytest

from ari_app.callflow.agents import AgentError
from ari_app.callflow.call import rings_heard
from ari_app.callflow.switchboard import Limits
from ari_app.config.settings import parse_config
from ari_app.domain.commands import (
    AddToBridge,
    Answer,
    AriRequest,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    Play,
    RecordChannel,
    RecordSnoop,
    Ring,
    SetVar,
    Snoop,
)
from ari_app.domain.events import (
    AgentState,
    AgentStateChanged,
    CallbackRequested,
    CallEnded,
    OfferResult,
    Outcome,
    RecordingReady,
)
from tests.callflow_rig import T0, Rig, channel, make_config


def logged_in(*agents: str, config=None) -> Rig:  # type: ignore[no-untyped-def]
    rig = Rig(config)
    for a in agents:
        rig.login(a)
    return rig


def state(rig: Rig, agent: str) -> AgentState:
    a = rig.core.agents.get(agent)
    assert a is not None
    return a.state


def ended(rig: Rig) -> list[CallEnded]:
    return rig.of_type(CallEnded)


def test_full_call_sends_the_traced_requests_in_order() -> None:
    rig = logged_in("1001")
    out = rig.arrive("c1")
    assert out == [
        SetVar("c1", "HOTLINE_ROLE", "caller"),
        SetVar("c1", "HOTLINE_QUEUE", "support"),
        SetVar("c1", "HOTLINE_CALL_ID", "c1"),
        Ring("c1"),
        CreateChannel(
            channel_id="agent-1001-c1",
            endpoint="PJSIP/agent1001",
            app="hotline",
            app_args="agent",
            originator="c1",
            variables={
                "HOTLINE_AGENT_ID": "1001",
                "HOTLINE_CALL_ID": "c1",
                "HOTLINE_QUEUE": "support",
                "HOTLINE_ROLE": "agent",
            },
        ),
        Dial("agent-1001-c1", caller="c1", timeout=20),
    ]
    create = out[4].request()
    assert create.path == "/channels/create"
    assert create.params["channelId"] == "agent-1001-c1"
    assert create.body == {
        "variables": {
            "HOTLINE_AGENT_ID": "1001",
            "HOTLINE_CALL_ID": "c1",
            "HOTLINE_QUEUE": "support",
            "HOTLINE_ROLE": "agent",
        }
    }
    assert out[5].request().params == {"caller": "c1", "timeout": 20}
    assert state(rig, "1001") is AgentState.RINGING
    assert rig.ringing("agent-1001-c1") == []
    rig.advance(7)
    out = rig.answer("agent-1001-c1")
    assert out == [
        Answer("c1"),
        Play("c1", "greet-c1", ("sound:hotline-welcome", "digits:1001", "sound:at-your-service")),
    ]
    assert state(rig, "1001") is AgentState.TALKING
    rig.advance(5)
    out = rig.playback_finished("greet-c1")
    # the recording: a snoop on the caller (spy=both) recorded, not a bridge recorder
    assert out == [
        CreateBridge("br-c1"),
        AddToBridge("br-c1", ("c1", "agent-1001-c1")),
        Snoop("c1", "rec-c1", "both", "none", "hotline", "recorder"),
        RecordSnoop("rec-c1", "call-c1", "wav"),
    ]
    assert out[2].request() == AriRequest("POST", "/channels/c1/snoop", {
        "app": "hotline", "appArgs": "recorder", "snoopId": "rec-c1", "spy": "both",
        "whisper": "none",
    })
    assert out[3].request() == AriRequest("POST", "/channels/rec-c1/record", {
        "name": "call-c1", "format": "wav", "ifExists": "overwrite",
    })
    assert out[2].owner == out[3].owner == "rec-c1"  # a lane of their own
    rig.advance(30)
    out = rig.hangup("c1")
    # no stop: the snoop ends with the caller's channel and its recording with it
    assert out == [Hangup("agent-1001-c1"), DestroyBridge("br-c1")]
    assert state(rig, "1001") is AgentState.WRAPUP
    rig.hangup("agent-1001-c1")
    assert rig.recording_finished("call-c1", 30) == []
    [ready] = rig.of_type(RecordingReady)
    assert ready.recording.duration_seconds == 30
    assert ready.recording.agent_id == "1001"
    assert ready.recording.caller == "****0001"
    assert ended(rig) == []  # the summary waits for the wrap-up
    rig.advance(10)
    assert state(rig, "1001") is AgentState.AVAILABLE
    [summary] = [e.summary for e in ended(rig)]
    assert summary.outcome is Outcome.ANSWERED
    assert summary.caller == "****0001"
    assert summary.caller_number == "13900001"
    assert "13900001" not in repr(summary)
    assert summary.wait_seconds == pytest.approx(7)
    assert summary.talk_seconds == pytest.approx(30)
    assert summary.wrapup_seconds == pytest.approx(10)
    assert summary.hangup_by == "caller"
    [offer] = summary.offers
    assert offer.result is OfferResult.ANSWERED
    assert offer.rings == 2
    assert summary.recording == "call-c1"
    assert rig.core.calls == {}
    assert rig.core.live_channels() == 0


def test_rona_offers_the_next_agent_and_auto_pauses_after_two() -> None:
    rig = logged_in("1001", "1002")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    out = rig.advance(15)  # 3 rings × 5 s
    assert Hangup("agent-1001-c1") in out
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1002-c1"]
    assert state(rig, "1001") is AgentState.AVAILABLE
    assert rig.core.waiting["support"].position("c1") == 1  # the caller keeps their place
    rig.ringing("agent-1002-c1")
    rig.advance(15)  # 1002 RONAs too: back to 1001 (everyone had a go)
    assert rig.sent[-2] == CreateChannel(
        channel_id="agent-1001-c1-3",
        endpoint="PJSIP/agent1001",
        app="hotline",
        app_args="agent",
        originator="c1",
        variables={
            "HOTLINE_AGENT_ID": "1001",
            "HOTLINE_CALL_ID": "c1",
            "HOTLINE_QUEUE": "support",
            "HOTLINE_ROLE": "agent",
        },
    )
    rig.ringing("agent-1001-c1-3")
    rig.advance(15)
    agent = rig.core.agents.get("1001")
    assert agent is not None
    assert agent.state is AgentState.PAUSED
    assert agent.reason == "rona"
    paused = [e for e in rig.of_type(AgentStateChanged) if e.state is AgentState.PAUSED]
    assert [(e.agent_id, e.reason) for e in paused] == [("1001", "rona")]


def test_rona_timer_starts_when_the_phone_rings_not_when_dialled() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.advance(3)  # setup time before the phone rings does not count
    rig.ringing("agent-1001-c1")
    assert not any(isinstance(c, Hangup) for c in rig.advance(14.9))
    assert Hangup("agent-1001-c1") in rig.advance(0.2)


def test_busy_goes_to_the_next_agent_at_once_without_penalty() -> None:
    rig = logged_in("1001", "1002")
    rig.arrive("c1")
    out = rig.event("Dial", dialstatus="BUSY", peer={"id": "agent-1001-c1", "state": "Down"})
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1002-c1"]
    agent = rig.core.agents.get("1001")
    assert agent is not None
    assert agent.consecutive_ronas == 0
    rig.ringing("agent-1002-c1")
    rig.answer("agent-1002-c1")
    rig.playback_finished("greet-c1")
    rig.hangup("c1")
    rig.hangup("agent-1002-c1")
    rig.recording_finished("call-c1", 1)
    rig.advance(10)
    [summary] = [e.summary for e in ended(rig)]
    assert [(o.agent_id, o.result) for o in summary.offers] == [
        ("1001", OfferResult.BUSY),
        ("1002", OfferResult.ANSWERED),
    ]


def test_unavailable_by_destroy_cause_goes_next() -> None:
    rig = logged_in("1001", "1002")
    rig.arrive("c1")
    out = rig.event(
        "ChannelDestroyed",
        channel={"id": "agent-1001-c1", "state": "Down"},
        cause=20,
        cause_txt="Subscriber absent",
    )
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1002-c1"]


def test_abandon_while_ringing_cancels_the_leg_and_does_not_penalise() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.advance(5)
    out = rig.hangup("c1", cause=127)
    assert out == [Hangup("agent-1001-c1")]
    agent = rig.core.agents.get("1001")
    assert agent is not None
    assert agent.state is AgentState.AVAILABLE
    assert agent.consecutive_ronas == 0
    [summary] = [e.summary for e in ended(rig)]
    assert summary.outcome is Outcome.ABANDONED
    assert summary.offers[0].result is OfferResult.CANCELLED
    assert summary.wait_seconds == pytest.approx(5)
    rig.hangup("agent-1001-c1")
    assert rig.core.counters["unknown_channel"] == 0


def test_abandon_in_queue_while_all_agents_busy() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.arrive("c2")
    assert rig.core.waiting["support"].position("c2") == 1
    rig.advance(20)
    assert rig.hangup("c2") == []
    [summary] = [e.summary for e in ended(rig)]
    assert summary.call_id == "c2"
    assert summary.outcome is Outcome.ABANDONED
    assert summary.offers == ()


def test_all_agents_busy_waits_then_overflows_at_max_wait() -> None:
    rig = logged_in(
        "1001", config=make_config(max_wait_seconds=60, overflow={"action": "voicemail"})
    )
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.arrive("c2")
    assert rig.advance(59.9) == []
    out = rig.advance(0.2)
    assert out == [Answer("c2"), Play("c2", "prompt-c2-1", ("sound:vm-intro",))]
    assert rig.playback_finished("prompt-c2-1") == [RecordChannel("c2", "vm-c2", "wav", 120)]
    assert rig.recording_finished("vm-c2", 12) == [Hangup("c2")]
    rig.hangup("c2")
    summary = next(e.summary for e in ended(rig) if e.summary.call_id == "c2")
    assert summary.outcome is Outcome.VOICEMAIL
    assert summary.overflow == "max_wait"
    assert summary.recording == "vm-c2"


def test_no_agents_logged_in_overflows_at_once() -> None:
    rig = Rig(make_config(overflow={"action": "callback", "media": ["sound:callback-noted"]}))
    out = rig.arrive("c1")
    assert out[3:] == [Answer("c1"), Play("c1", "prompt-c1-1", ("sound:callback-noted",))]
    [cb] = rig.of_type(CallbackRequested)
    assert cb.caller == "****0001"
    assert cb.caller_number == "13900001"
    assert rig.playback_finished("prompt-c1-1") == [Hangup("c1")]
    rig.hangup("c1")
    [summary] = [e.summary for e in ended(rig)]
    assert summary.outcome is Outcome.CALLBACK
    assert summary.overflow == "no_agents"


def test_overflow_to_another_queue_keeps_the_call() -> None:
    cfg = make_config(
        ({"name": "sales", "numbers": ["555"]},),
        max_wait_seconds=30,
        overflow={"action": "queue", "target": "sales"},
    )
    data = cfg.model_dump(mode="json")
    data["agents"][0]["queues"] = ["support"]
    data["agents"][1]["queues"] = ["sales"]
    rig = logged_in("1001", "1002", config=parse_config(data))
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.arrive("c2")
    out = rig.advance(30)
    assert SetVar("c2", "HOTLINE_QUEUE", "sales") in out
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1002-c2"]


def test_vip_goes_ahead_of_earlier_callers() -> None:
    rig = logged_in("1001", config=make_config(vip_numbers=["13800000888"]))
    rig.arrive("c0")
    rig.ringing("agent-1001-c0")
    rig.answer("agent-1001-c0")
    rig.arrive("c1", number="13900000001")
    rig.arrive("c2", number="13900000002")
    rig.arrive("vip", number="13800000888")
    assert rig.core.waiting["support"].position("vip") == 1
    assert rig.core.waiting["support"].position("c1") == 2
    rig.playback_finished("greet-c0")
    rig.hangup("c0")
    out = rig.advance(10)  # wrap-up ends: the VIP is offered first
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1001-vip"]


def test_closed_hours_play_the_closed_message() -> None:
    hours = {"timezone": "Asia/Shanghai", "weekly": {"mon": ["09:00-17:00"]}}
    rig = logged_in("1001", config=make_config(hours=hours, closed_media=["sound:closed-now"]))
    out = rig.arrive("c1")  # Monday 07:15 in Shanghai
    assert out[3:] == [Answer("c1"), Play("c1", "prompt-c1-1", ("sound:closed-now",))]
    assert not any(isinstance(c, CreateChannel) for c in rig.sent)
    rig.playback_finished("prompt-c1-1")
    rig.hangup("c1")
    [summary] = [e.summary for e in ended(rig)]
    assert summary.outcome is Outcome.CLOSED
    assert summary.overflow == "closed_hours"


def test_open_hours_queue_the_call() -> None:
    hours = {"timezone": "Asia/Shanghai", "weekly": {"mon": ["07:00-17:00"]}}
    rig = logged_in("1001", config=make_config(hours=hours))
    out = rig.arrive("c1")
    assert Ring("c1") in out


def test_caller_hangs_up_during_greeting() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    out = rig.hangup("c1")
    assert out == [Hangup("agent-1001-c1")]
    assert not any(isinstance(c, CreateBridge) for c in rig.sent)
    assert rig.playback_finished("greet-c1") == []  # a late PlaybackFinished bridges nothing
    assert state(rig, "1001") is AgentState.WRAPUP
    rig.hangup("agent-1001-c1")
    rig.advance(10)
    [summary] = [e.summary for e in ended(rig)]
    assert summary.hangup_by == "caller"
    assert summary.talk_seconds == 0
    assert summary.bridged_at is None


def test_agent_hangs_up_first() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    rig.advance(12)
    out = rig.hangup("agent-1001-c1")
    # the caller hung up ends the recorder snoop, and the recording with it: no stop
    assert out == [Hangup("c1"), DestroyBridge("br-c1")]
    rig.hangup("c1")
    rig.recording_finished("call-c1", 12)
    rig.advance(10)
    [summary] = [e.summary for e in ended(rig)]
    assert summary.hangup_by == "agent"
    assert summary.talk_seconds == pytest.approx(12)


def test_greeting_with_whisper_waits_for_both_and_fills_placeholders() -> None:
    cfg = make_config(
        greeting=["sound:hotline-welcome", "digits:{agent_id}"],
        recording_notice=["sound:call-recorded"],
        whisper=["sound:queue-{queue}"],
    )
    rig = logged_in("1001", config=cfg)
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    out = rig.answer("agent-1001-c1")
    assert out == [
        Answer("c1"),
        Play("c1", "greet-c1", ("sound:hotline-welcome", "digits:1001", "sound:call-recorded")),
        Play("agent-1001-c1", "whisper-c1", ("sound:queue-support",)),
    ]
    assert rig.playback_finished("greet-c1") == []
    assert isinstance(rig.playback_finished("whisper-c1")[0], CreateBridge)


def test_greeting_that_never_finishes_is_bounded() -> None:
    rig = Rig(limits=Limits(greeting_seconds=30))
    rig.login("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    out = rig.advance(30)
    assert CreateBridge("br-c1") in out
    assert rig.core.counters["greeting_timeout"] == 1


def test_wrapup_is_respected_and_can_end_early() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    rig.hangup("c1")
    rig.arrive("c2")
    assert not any(isinstance(c, CreateChannel) and "c2" in c.channel_id for c in rig.sent)
    rig.advance(5)
    assert state(rig, "1001") is AgentState.WRAPUP
    out = rig.act(rig.core.end_wrapup("1001", rig.now))
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1001-c2"]
    with pytest.raises(AgentError) as err:
        rig.core.end_wrapup("1001", rig.now)
    assert err.value.code == "not_in_wrapup"


def test_double_login_and_shared_device_are_refused() -> None:
    rig = Rig()
    rig.login("1001")
    with pytest.raises(AgentError) as err:
        rig.core.login("1001", "4321", "PJSIP/agent1003", rig.now)
    assert err.value.code == "already_logged_in"
    assert "already logged in on PJSIP/agent1001" in err.value.message
    with pytest.raises(AgentError) as err:
        rig.core.login("1002", "4321", "PJSIP/agent1001", rig.now)
    assert err.value.code == "device_in_use"
    assert "agent 1001" in err.value.message
    with pytest.raises(AgentError) as err:
        rig.core.login("1002", "0000", "PJSIP/agent1002", rig.now)
    assert err.value.code == "bad_credentials"
    with pytest.raises(AgentError) as err:
        rig.core.login("9999", "4321", "PJSIP/agent1009", rig.now)
    assert err.value.code == "bad_credentials"
    rig.act(rig.core.logout("1001", rig.now))
    rig.login("1002", "PJSIP/agent1001")  # the device is free again
    a = rig.core.agents.get("1002")
    assert a is not None
    assert a.device == "PJSIP/agent1001"


def test_logout_refused_on_a_call_and_pause_applies_after_it() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    with pytest.raises(AgentError) as err:
        rig.core.logout("1001", rig.now)
    assert err.value.code == "on_call"
    assert rig.act(rig.core.pause("1001", "lunch", rig.now)) == []
    assert state(rig, "1001") is AgentState.TALKING
    rig.playback_finished("greet-c1")
    rig.hangup("c1")
    rig.advance(10)
    agent = rig.core.agents.get("1001")
    assert agent is not None
    assert agent.state is AgentState.PAUSED
    assert agent.reason == "lunch"
    rig.arrive("c2")
    assert not any(isinstance(c, CreateChannel) and "c2" in c.channel_id for c in rig.sent)
    out = rig.act(rig.core.unpause("1001", rig.now))
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1001-c2"]


def test_last_agent_logging_out_overflows_waiting_callers() -> None:
    rig = logged_in("1001")
    rig.act(rig.core.pause("1001", "meeting", rig.now))
    rig.arrive("c1")
    assert rig.core.waiting["support"].position("c1") == 1
    out = rig.act(rig.core.logout("1001", rig.now))
    assert Answer("c1") in out
    assert rig.core.waiting["support"].position("c1") == 0


def test_malformed_and_unknown_events_are_counted_not_fatal() -> None:
    rig = logged_in("1001")
    assert rig.raw({"type": "StasisStart"}) == []
    assert rig.raw({"type": "Dial", "peer": "nonsense"}) == []
    assert rig.raw({"nope": 1}) == []
    assert rig.core.counters["malformed"] == 3
    # the core does no I/O: it asks the shell to log each rejection
    assert [n.level for n in rig.notes] == ["warning"] * 3
    assert "StasisStart" in rig.notes[0].message
    rig.event("ChannelDestroyed", channel={"id": "stranger"}, cause=16, cause_txt="x")
    assert rig.core.counters["unknown_channel"] == 1
    assert rig.event("PlaybackFinished", playback={"id": "who"}) == []
    rig.arrive("c1")  # the engine still works
    assert rig.sent[-1] == Dial("agent-1001-c1", caller="c1", timeout=20)


def test_out_of_order_answer_before_ringing_still_answers() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    out = rig.answer("agent-1001-c1")
    assert out[0] == Answer("c1")
    assert rig.ringing("agent-1001-c1") == []


def test_channel_gone_404_ends_the_call_cleanly() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    out = rig.answer("agent-1001-c1")
    assert out[0] == Answer("c1")
    out = rig.fail(out[0], 404)  # the caller vanished between events
    assert out == [Hangup("agent-1001-c1")]
    rig.fail(Hangup("agent-1001-c1", call_id="c1"), 404)
    rig.advance(10)
    assert rig.core.calls == {}
    assert rig.core.live_channels() == 0
    assert ended(rig)[0].summary.hangup_by == "caller"


def test_create_failure_is_unavailable_and_goes_next() -> None:
    rig = logged_in("1001", "1002")
    out = rig.arrive("c1")
    create = next(c for c in out if isinstance(c, CreateChannel))
    out = rig.fail(create, 500)
    assert [c.channel_id for c in out if isinstance(c, CreateChannel)] == ["agent-1002-c1"]


def test_legs_that_never_confirm_are_forgotten_by_the_cleanup_timer() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    rig.event("StasisEnd", channel={"id": "c1"})
    assert rig.core.calls  # the agent leg and the recording are still open
    rig.advance(10)
    assert rig.core.calls == {}
    assert rig.core.counters["cleanup_forced"] == 1
    assert rig.core.live_channels() == 0


def test_every_state_is_bounded_by_a_timer() -> None:
    rig = Rig(limits=Limits(talk_seconds=60))
    rig.login("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    out = rig.advance(60)
    assert Hangup("c1") in out
    assert Hangup("agent-1001-c1") in out
    rig.advance(3600)
    assert rig.core.calls == {}
    assert state(rig, "1001") is AgentState.AVAILABLE


def test_reconcile_requeues_waiting_callers_and_hangs_up_orphans() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    waiting = {
        **channel("c9"),
        "channelvars": {"HOTLINE_ROLE": "caller", "HOTLINE_QUEUE": "support"},
    }
    orphan = {
        "id": "x1",
        "state": "Up",
        "dialplan": {"app_name": "Stasis", "app_data": "hotline,agent"},
    }
    foreign = {"id": "x2", "state": "Up", "dialplan": {"app_name": "Dial", "app_data": ""}}
    out = rig.act(rig.core.reconcile([waiting, orphan, foreign], ["br-old"], rig.now))
    assert Hangup("x1") in out
    assert Hangup("x2") not in out
    assert DestroyBridge("br-old") in out
    # c9 was tagged a caller already; only the tags it lacks are set
    assert SetVar("c9", "HOTLINE_CALL_ID", "c9") in out
    assert SetVar("c9", "HOTLINE_ROLE", "caller") not in out
    assert "c1" not in rig.core.calls  # c1 was not in Asterisk's list: gone
    assert rig.core.waiting["support"].position("c9") == 1


def test_rings_heard_follows_the_cadence() -> None:
    assert rings_heard(None, 10, 5) == 0
    assert rings_heard(0, 0, 5) == 1
    assert rings_heard(0, 4.99, 5) == 1
    assert rings_heard(0, 5, 5) == 2
    assert rings_heard(0, 15, 5) == 4


def test_agent_states_are_published_in_order() -> None:
    rig = logged_in("1001")
    rig.arrive("c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    rig.hangup("c1")
    rig.advance(10)
    states = [e.state for e in rig.of_type(AgentStateChanged)]
    assert states == [
        AgentState.AVAILABLE,
        AgentState.RINGING,
        AgentState.TALKING,
        AgentState.WRAPUP,
        AgentState.AVAILABLE,
    ]
    assert rig.of_type(AgentStateChanged)[-1].at > T0
