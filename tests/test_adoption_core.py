"""Adoption in the pure core: what a new engine makes of the channels and bridges
Asterisk lists after a restart (the end-to-end kill is tests/test_restart_adoption.py)."""

from __future__ import annotations

from typing import Any

from ari_app.callflow.adoption import AgentSession, CallFacts
from ari_app.callflow.call import CallState
from ari_app.domain.commands import CreateChannel, Hangup
from ari_app.domain.events import AgentState
from ari_app.domain.timestamps import format_ari_timestamp
from tests.callflow_rig import T0, Rig, channel


def caller(cid: str, *, at: float, state: str = "Up") -> dict[str, Any]:
    return channel(
        cid,
        state=state,
        creationtime=format_ari_timestamp(at),
        channelvars={"HOTLINE_ROLE": "caller", "HOTLINE_QUEUE": "support",
                     "HOTLINE_CALL_ID": cid, "HOTLINE_AGENT_ID": ""},
    )


def agent_leg(agent: str, cid: str, *, state: str, at: float, suffix: str = "") -> dict[str, Any]:
    return {
        **channel(f"agent-{agent}-{cid}{suffix}", state=state,
                  creationtime=format_ari_timestamp(at)),
        "name": f"PJSIP/agent{agent}-0000001",
        "dialplan": {"app_name": "Stasis", "app_data": "hotline,agent"},
        "channelvars": {"HOTLINE_ROLE": "agent", "HOTLINE_QUEUE": "support",
                        "HOTLINE_CALL_ID": cid, "HOTLINE_AGENT_ID": agent},
    }


def bridge(cid: str, *members: str, at: float) -> dict[str, Any]:
    return {"id": f"br-{cid}", "channels": list(members),
            "creationtime": format_ari_timestamp(at)}


def restarted(*sessions: AgentSession) -> Rig:
    rig = Rig()
    rig.now = T0 + 600
    rig.act(rig.core.restore_agents(sessions, rig.now))
    return rig


def saved(agent: str, state: str = "available", reason: str = "") -> AgentSession:
    return AgentSession(agent, state, reason, f"PJSIP/agent{agent}", T0)


def test_a_talking_call_goes_on_with_its_agent_bridge_and_recording() -> None:
    rig = restarted(saved("1001", "talking"), saved("1002", "paused", "lunch"))
    c1, leg = caller("c1", at=T0 + 100), agent_leg("1001", "c1", state="Up", at=T0 + 110)
    out = rig.act(rig.core.reconcile(
        [c1, leg], [bridge("c1", "c1", leg["id"], at=T0 + 120)], rig.now,
        recordings=["call-c1"],
        facts={"c1": CallFacts(arrived_at=T0 + 100, answered_at=T0 + 115, agent_id="1001")},
    ))
    call = rig.core.calls["c1"]
    assert call.state is CallState.BRIDGED
    assert call.agent_up
    assert call.bridge_up
    assert not call.recording_done  # the recording goes on
    assert (call.arrived_at, call.answered_at, call.bridged_at) == (T0 + 100, T0 + 115, T0 + 120)
    assert call.talk_from == T0 + 120  # the talk began before the restart
    assert not [c for c in out if isinstance(c, Hangup)]
    agents = rig.core.agents
    assert agents.require("1001").state is AgentState.TALKING
    assert agents.require("1001").call_id == "c1"
    assert agents.require("1002").state is AgentState.PAUSED
    assert agents.require("1002").reason == "lunch"


def test_a_ringing_offer_is_resolved_and_the_re_offer_gets_a_new_leg_id() -> None:
    rig = restarted(saved("1001"))
    c1, leg = caller("c1", at=T0 + 100, state="Ring"), agent_leg(
        "1001", "c1", state="Ringing", at=T0 + 101)
    out = rig.act(rig.core.reconcile([c1, leg], [], rig.now))
    assert Hangup(leg["id"]) in out  # resolved, not counted against the agent
    created = [c.channel_id for c in out if isinstance(c, CreateChannel)]
    assert created == [f"{leg['id']}-1"]  # never the id of the leg being hung up
    assert rig.core.counters["offers_resolved"] == 1
    assert rig.core.counters["rona"] == 0


def test_waiting_callers_queue_again_in_their_arrival_order() -> None:
    rig = restarted()  # nobody logged in yet: nobody is offered, the order shows
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    late, early = caller("c2", at=T0 + 300), caller("c1", at=T0 + 200)
    rig.act(rig.core.reconcile([late, early], [], rig.now))
    line = rig.core.waiting["support"]
    assert (line.position("c1"), line.position("c2")) == (1, 2)
    assert rig.core.calls["c1"].arrived_at == T0 + 200


def test_a_skewed_pbx_clock_cannot_make_hours_of_talk() -> None:
    rig = restarted(saved("1001"))
    c1, leg = caller("c1", at=T0 - 86_400), agent_leg("1001", "c1", state="Up", at=T0 - 86_400)
    rig.act(rig.core.reconcile(
        [c1, leg], [bridge("c1", "c1", leg["id"], at=T0 - 86_400)], rig.now,
        facts={"c1": CallFacts(arrived_at=T0 + 500, answered_at=T0 + 550, agent_id="1001")},
    ))
    call = rig.core.calls["c1"]
    assert call.bridged_at is not None
    assert T0 + 550 <= call.bridged_at <= rig.now
