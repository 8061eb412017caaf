"""The monitoring session machine on its own: the commands each step returns."""

from __future__ import annotations

import pytest

from ari_app.callflow.supervision.machine import Mode, Monitor, MonitorError, Phase
from ari_app.domain.commands import (
    AddToBridge,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    RemoveFromBridge,
    SetVar,
    Snoop,
)

CALL = "1795389344.28"
AGENT_LEG = f"agent-1001-{CALL}"


def session(mode: Mode = Mode.LISTEN, suffix: str = "") -> Monitor:
    return Monitor(
        session_id=f"sup-{CALL}{suffix}",
        call_id=CALL,
        agent_id="1001",
        agent_channel=AGENT_LEG,
        call_bridge=f"br-{CALL}",
        device="PJSIP/agent1004",
        started_by="sue",
        started_at=0.0,
        mode=mode,
        app="hotline",
        suffix=suffix,
    )


def test_listen_start_is_the_trace_sequence() -> None:
    m = session()
    snoop, sup, spy = f"snoop-{AGENT_LEG}", f"sup-{CALL}", f"spy-{CALL}"
    assert m.start() == [
        Snoop(AGENT_LEG, snoop, "both", "none", "hotline"),
        CreateChannel(
            sup,
            "PJSIP/agent1004",
            "hotline",
            "supervisor",
            "",
            {"HOTLINE_CALL_ID": CALL, "HOTLINE_ROLE": "supervisor"},
        ),
        CreateBridge(spy),
        AddToBridge(spy, (snoop, sup)),
        Dial(sup, "", 10),
    ]
    assert m.answered(1.0) == [SetVar(snoop, "HOTLINE_ROLE", "snoop")]
    assert m.phase is Phase.ACTIVE
    assert m.answered(2.0) == []


def test_whisper_goes_out_to_the_agent_only() -> None:
    [snoop, *_] = session(Mode.WHISPER).start()
    assert isinstance(snoop, Snoop)
    assert (snoop.spy, snoop.whisper) == ("both", "out")


def test_barge_joins_the_call_bridge_without_a_snoop() -> None:
    m = session(Mode.BARGE)
    out = m.start()
    assert not any(isinstance(c, Snoop | CreateBridge) for c in out)
    assert AddToBridge(f"br-{CALL}", (f"sup-{CALL}",)) in out
    assert m.answered(1.0) == []
    assert m.end("stopped", 5.0) == [Hangup(f"sup-{CALL}")]


def test_second_session_ids_get_a_suffix() -> None:
    m = session(suffix="-2")
    m.start()
    assert (m.supervisor_channel, m.spy_bridge, m.snoop_channel) == (
        f"sup-{CALL}-2",
        f"spy-{CALL}-2",
        f"snoop-{AGENT_LEG}-2",
    )


def test_mode_changes_resnoop_or_move_the_phone() -> None:
    m = session()
    m.start()
    m.answered(1.0)
    first, sup, spy = f"snoop-{AGENT_LEG}", f"sup-{CALL}", f"spy-{CALL}"
    second = f"{first}-2"
    assert m.change(Mode.WHISPER) == [
        Snoop(AGENT_LEG, second, "both", "out", "hotline"),
        AddToBridge(spy, (second,)),
        SetVar(second, "HOTLINE_ROLE", "snoop"),
        Hangup(first),
    ]
    assert m.change(Mode.WHISPER) == []
    assert m.change(Mode.BARGE) == [
        RemoveFromBridge(spy, sup),
        AddToBridge(f"br-{CALL}", (sup,)),
        Hangup(second),
    ]
    third = f"{first}-3"
    assert m.change(Mode.LISTEN) == [
        Snoop(AGENT_LEG, third, "both", "none", "hotline"),
        RemoveFromBridge(f"br-{CALL}", sup),
        AddToBridge(spy, (third, sup)),
        SetVar(third, "HOTLINE_ROLE", "snoop"),
    ]
    assert set(m.channels()) == {sup, first, second, third}


def test_end_cleans_up_once() -> None:
    m = session()
    m.start()
    out = m.end("stopped", 3.0)
    assert out == [
        Hangup(f"sup-{CALL}"),
        Hangup(f"snoop-{AGENT_LEG}"),
        DestroyBridge(f"spy-{CALL}"),
    ]
    assert (m.phase, m.end_reason) == (Phase.ENDED, "stopped")
    assert m.end("call_ended", 4.0) == []
    with pytest.raises(MonitorError, match="has ended"):
        m.change(Mode.BARGE)


@pytest.mark.parametrize(
    ("answered", "reason"), [(False, "no_answer"), (True, "supervisor_hangup")]
)
def test_supervisor_phone_gone(answered: bool, reason: str) -> None:
    m = session()
    m.start()
    if answered:
        m.answered(1.0)
    out = m.channel_gone(f"sup-{CALL}", 9.0)
    assert out == [Hangup(f"snoop-{AGENT_LEG}"), DestroyBridge(f"spy-{CALL}")]
    assert m.end_reason == reason


def test_snoop_gone_ends_the_session_and_unknown_channels_do_not() -> None:
    m = session()
    m.start()
    assert m.channel_gone("something-else", 1.0) == []
    assert m.live
    assert m.channel_gone(f"snoop-{AGENT_LEG}", 2.0) == [
        Hangup(f"sup-{CALL}"),
        DestroyBridge(f"spy-{CALL}"),
    ]
    assert m.end_reason == "snoop_gone"
