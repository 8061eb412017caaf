"""A monitoring session's failed request concerns that session only: its answer, however
late, never ends the customer's call (hardening finding 1)."""

from __future__ import annotations

from ari_app.callflow.call import CallState
from ari_app.domain.commands import AddToBridge, CreateChannel, Dial, Hangup, Snoop
from ari_app.domain.events import MonitorEnded
from tests.callflow_rig import Rig


def talking() -> Rig:
    rig = Rig()
    rig.login("1001")
    rig.arrive("c1")
    rig.ringing("agent-1001-c1")
    rig.answer("agent-1001-c1")
    rig.playback_finished("greet-c1")
    assert rig.core.calls["c1"].state is CallState.BRIDGED
    return rig


def test_every_request_of_a_session_names_the_session_as_its_owner() -> None:
    rig = talking()
    session, commands = rig.core.monitor("c1", "listen", "PJSIP/sup1", "sue", rig.now)
    sent = rig.act(commands)
    kinds = {type(c) for c in sent}
    assert {Snoop, CreateChannel, AddToBridge, Dial} <= kinds
    assert all(c.owner == session.session_id for c in sent)
    assert all(c.call_id == "c1" for c in sent)  # still in the call's lane, in order


def test_a_failure_answered_after_the_session_stopped_leaves_the_call_alone() -> None:
    rig = talking()
    session, commands = rig.core.monitor("c1", "listen", "PJSIP/sup1", "sue", rig.now)
    sent = rig.act(commands)
    add = next(c for c in sent if isinstance(c, AddToBridge))
    rig.act(rig.core.stop_monitor(session.session_id, rig.now))
    # Asterisk answers the session's addChannel only now: 422, not in Stasis
    after = rig.fail(add, 422)
    call = rig.core.calls["c1"]
    assert call.state is CallState.BRIDGED
    assert call.caller_up
    assert call.agent_up
    assert not [c for c in after if isinstance(c, Hangup)]
    assert rig.core.counters["stale_failures"] == 1
    assert rig.core.counters["bridge_failed"] == 0


def test_a_failure_while_the_session_lives_ends_the_session_not_the_call() -> None:
    rig = talking()
    session, commands = rig.core.monitor("c1", "listen", "PJSIP/sup1", "sue", rig.now)
    sent = rig.act(commands)
    add = next(c for c in sent if isinstance(c, AddToBridge))
    after = rig.fail(add, 422)
    assert rig.core.calls["c1"].state is CallState.BRIDGED
    assert session.session_id not in rig.core.monitors
    ended = [e for e in rig.published if isinstance(e, MonitorEnded)]
    assert [(e.session_id, e.reason) for e in ended] == [(session.session_id, "failed")]
    hung_up = {c.channel_id for c in after if isinstance(c, Hangup)}
    assert "c1" not in hung_up
    assert "agent-1001-c1" not in hung_up
    assert rig.core.counters["monitor_failed"] == 1


def test_the_calls_own_bridge_failure_still_ends_the_talk() -> None:
    rig = talking()
    own = AddToBridge("br-c1", ("c1", "agent-1001-c1"), call_id="c1")
    rig.fail(own, 422)
    assert rig.core.calls["c1"].state is CallState.ENDING
    assert rig.core.counters["bridge_failed"] == 1
