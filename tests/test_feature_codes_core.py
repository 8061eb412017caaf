"""Feature-code calls in the pure core (no sockets): failures, late PIN answers, reconcile."""

from __future__ import annotations

from typing import Any

from ari_app.domain.commands import Answer, CheckPin, Hangup, Play, SetVar
from tests.callflow_rig import Rig, channel

PHONE = "PJSIP/agent1001"


def phone_channel(cid: str, state: str = "Ring") -> dict[str, Any]:
    ch = channel(cid, "1001", state)
    ch["name"] = f"{PHONE}-0000002a"
    ch["dialplan"] = {
        "context": "agent-features",
        "exten": "*21",
        "priority": 1,
        "app_name": "Stasis",
        "app_data": "hotline,agent,login",
    }
    return ch


def dial(rig: Rig, cid: str, *args: str) -> list[Any]:
    return rig.event("StasisStart", args=list(args), channel=phone_channel(cid))


def press(rig: Rig, cid: str, keys: str) -> list[Any]:
    out: list[Any] = []
    for digit in keys:
        ch = phone_channel(cid)
        out += rig.event("ChannelDtmfReceived", digit=digit, duration_ms=100, channel=ch)
    return out


def test_login_asks_the_pin_and_checks_it_off_the_core() -> None:
    rig = Rig()
    out = dial(rig, "f1", "agent", "login")
    assert out[:2] == [SetVar("f1", "HOTLINE_ROLE", "feature"), Answer("f1")]
    [play] = [c for c in out if isinstance(c, Play)]
    assert play.media == ("sound:agent-pass",)
    rig.playback_finished(play.playback_id)
    assert ("digits", "f1") in rig.timers
    out = press(rig, "f1", "4321#")
    [check] = [c for c in out if isinstance(c, CheckPin)]
    assert (check.channel_id, check.agent_id, check.pin) == ("f1", "1001", "4321")
    assert "4321" not in repr(check)
    assert ("digits", "f1") not in rig.timers  # no timeout while the PIN is checked
    assert not rig.core.calls
    assert rig.core.counters["calls"] == 0


def test_a_pin_answer_after_the_phone_hung_up_is_counted_and_ignored() -> None:
    rig = Rig()
    dial(rig, "f1", "agent", "login")
    press(rig, "f1", "4321#")
    rig.hangup("f1")
    assert rig.core.counters["feature_abandoned"] == 1
    assert rig.core.counters["unknown_channel"] == 0
    assert rig.act(rig.core.pin_checked("f1", True, rig.now)) == []
    assert rig.core.counters["feature_late_pin_check"] == 1
    agent = rig.core.agents.get("1001")
    assert agent is not None
    assert not agent.logged_in
    assert not rig.timers


def test_a_failed_prompt_still_ends_in_a_hang_up() -> None:
    rig = Rig()
    out = dial(rig, "f1", "agent", "dance")
    [play] = [c for c in out if isinstance(c, Play)]
    assert play.media == ("sound:an-error-has-occurred",)
    assert rig.fail(play, 500) == [Hangup("f1")]
    assert rig.core.counters["feature_bad_request"] == 1


def test_the_whole_feature_call_is_bounded_in_time() -> None:
    rig = Rig()
    dial(rig, "f1", "agent", "login")  # the prompt never reports its end
    out = rig.advance(rig.core.limits.feature_seconds + 1)
    assert Hangup("f1") in out
    assert rig.core.counters["feature_timeout"] == 1


def test_reconcile_keeps_a_live_feature_call_and_forgets_a_vanished_one() -> None:
    rig = Rig()
    dial(rig, "f1", "agent", "login")
    dial(rig, "f2", "agent", "login")
    live = phone_channel("f1", "Up")
    out = rig.act(rig.core.reconcile([live], [], rig.now))
    assert Hangup("f1") not in out
    assert rig.core.counters["adopted"] == 0
    assert rig.core.counters["feature_abandoned"] == 1  # f2 is gone
    assert ("feature", "f2") not in rig.timers
    assert ("feature", "f1") in rig.timers
