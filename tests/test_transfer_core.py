"""A phone REFER's Local pair in the pure core: its two halves may come in either order
(the ;2 half's StasisStart names no call), and a half nobody claims is hung up."""

from __future__ import annotations

from typing import Any

from ari_app.domain.commands import CreateChannel, Dial, Hangup
from ari_app.domain.events import TransferStarted
from tests.callflow_rig import Rig, channel

BASE = "Local/1002@agents-00000003"


def bridged_rig() -> Rig:
    rig = Rig()
    rig.login("1001")
    rig.login("1002", "PJSIP/agent1002")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    return rig


def half(n: int, cid: str) -> dict[str, Any]:
    return channel(cid, "", "Ring" if n == 2 else "Down", name=f"{BASE};{n}")


def two_enters(rig: Rig) -> list[Any]:
    return rig.event("StasisStart", args=["transfer", "1002"], channel=half(2, "L2"))


def one_enters(rig: Rig) -> list[Any]:
    agent_leg = channel("agent-1001-c1", "", "Up")
    return rig.event("StasisStart", args=[], channel=half(1, "L1"), replace_channel=agent_leg)


def dialled_target(out: list[Any]) -> tuple[str, str]:
    [create] = [c for c in out if isinstance(c, CreateChannel)]
    [dial] = [c for c in out if isinstance(c, Dial)]
    assert dial.caller == "L2"
    return create.channel_id, create.originator


def test_two_then_one_as_in_the_trace() -> None:
    rig = bridged_rig()
    assert two_enters(rig) == []  # parked: nothing links it to a call yet
    out = one_enters(rig)
    assert Hangup("agent-1001-c1") in out
    assert dialled_target(out) == ("agent-1002-c1", "L2")
    [started] = rig.of_type(TransferStarted)
    assert (started.kind, started.target, started.from_agent) == ("phone", "agent:1002", "1001")


def test_one_then_two_works_too() -> None:
    rig = bridged_rig()
    assert one_enters(rig) == []
    out = two_enters(rig)
    assert dialled_target(out) == ("agent-1002-c1", "L2")


def test_an_unclaimed_local_half_is_hung_up() -> None:
    rig = bridged_rig()
    two_enters(rig)
    out = rig.advance(6)
    assert Hangup("L2") in out
    assert rig.core.counters["unclaimed_local"] == 1
    assert not rig.of_type(TransferStarted)
