"""The call's state machine: one transition table, illegal moves refused, flags derived."""

from __future__ import annotations

import itertools

import pytest

from ari_app.callflow.call import (
    TRANSITIONS,
    BridgeState,
    Call,
    CallState,
    IllegalMove,
    Leg,
    RecordingState,
)
from tests.callflow_rig import Rig


def new_call() -> Call:
    return Call(call_id="c1", caller_channel="c1", queue="support", vip=False, arrived_at=0, seq=1)


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(CallState, CallState)))
def test_every_move_is_allowed_exactly_when_the_table_says_so(
    src: CallState, dst: CallState
) -> None:
    call = new_call()
    call.state = src  # set up the source state directly: only the move itself is under test
    if dst in TRANSITIONS[src]:
        call.move(dst)
        assert call.state is dst
    else:
        with pytest.raises(IllegalMove, match=f"{src} -> {dst}"):
            call.move(dst)
        assert call.state is src


def test_the_table_has_no_way_back_from_the_end() -> None:
    assert TRANSITIONS[CallState.FINISHED] == frozenset()
    assert TRANSITIONS[CallState.ENDING] == frozenset({CallState.FINISHED})
    reachable = {CallState.QUEUED}
    frontier = [CallState.QUEUED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(CallState)  # every state can be reached from arrival


def test_flags_derive_from_the_leg_bridge_and_recording_states() -> None:
    call = new_call()
    assert call.caller_up
    assert not call.agent_up
    assert call.recording_done
    assert not call.bridge_up
    call.agent_joined("agent-1001-c1")
    call.bridged("br-c1")
    call.recording_started("call-c1", "wav")
    assert call.agent_up
    assert call.bridge_up
    assert not call.recording_done
    assert call.recording_state is RecordingState.RUNNING
    assert call.unbridged() is True
    assert call.unbridged() is False  # destroyed once only
    assert call.bridge is BridgeState.DESTROYED
    call.caller_left()
    call.agent_left()
    call.recording_ended()
    assert call.caller_leg is Leg.GONE
    assert call.agent_leg is Leg.GONE
    assert call.legs_down
    assert call.recording_done


def test_a_call_through_the_core_passes_only_legal_states() -> None:
    rig = Rig()
    rig.login("1001")
    seen: list[CallState] = []
    original = Call.move

    def spy(self: Call, to: CallState) -> None:
        seen.append(to)
        original(self, to)

    Call.move = spy  # type: ignore[method-assign]
    try:
        rig.arrive("c1")
        rig.ringing("agent-1001-c1")
        rig.answer("agent-1001-c1")
        rig.playback_finished("greet-c1")
        rig.hangup("c1")
        rig.hangup("agent-1001-c1")
        assert seen[-1] is CallState.ENDING  # the recording is not confirmed yet
        rig.recording_finished("call-c1", 10)
    finally:
        Call.move = original  # type: ignore[method-assign]
    assert seen == [
        CallState.QUEUED,
        CallState.GREETING,
        CallState.BRIDGED,
        CallState.ENDING,
        CallState.FINISHED,
    ]
