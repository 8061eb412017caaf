"""Transfers on the PBX simulator (fast-forwarded time): blind (queue, agent, department with
an outside number), attended (complete, cancel, declined, no answer), phone REFER (core and
ari-only), and hang-ups at each step. Each test checks the ARI requests sent, who ends up
bridged with whom, that no channel is left, and the records/transfer events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ari_app.config.settings import Config, Department
from ari_app.domain.events import (
    AgentStateChanged,
    CallStateChanged,
    DomainEvent,
    Outcome,
    TransferCompleted,
    TransferFailed,
    TransferStarted,
)
from ari_app.records.sink import records_for
from ari_app.records.types import CallRecord, TransferRecord
from pbxsim.config import EndpointBehaviour
from tests.callflow_rig import make_config
from tests.scenario_rig import Scenario, scenario

pytestmark = pytest.mark.looptime


def config(**queue: Any) -> Config:
    cfg = make_config(({"name": "billing", "numbers": ["12346"], "wrapup_seconds": 5.0},), **queue)
    return cfg.model_copy(
        update={
            "departments": (
                Department(
                    name="billing-dept", target="queue:billing", announce=("sound:xfer-billing",)
                ),
                Department(name="legal", target="PJSIP/legal", announce=("sound:xfer-legal",)),
            )
        }
    )


def in_bridge(s: Scenario, bridge_id: str) -> set[str]:
    """Who the simulator has in a bridge now (its recorder left out)."""
    br = s.sim.pbx.bridges.get(bridge_id)
    if br is None:
        return set()
    return {m for m in br.members if s.sim.pbx.channels[m].tech != "Recorder"}


def state_is(call_id: str, state: str, nth: int = 1) -> Any:
    seen = 0

    def match(e: DomainEvent) -> bool:
        nonlocal seen
        if isinstance(e, CallStateChanged) and e.call_id == call_id and e.state == state:
            seen += 1
            return seen == nth
        return False

    return match


async def talking(s: Scenario, call_id: str, nth: int = 1) -> None:
    await s.sink.wait_for(state_is(call_id, "bridged", nth))
    await s.engine.quiesce()


async def all_gone(s: Scenario) -> None:
    await s.engine.quiesce()
    await s.sim.drain()
    assert s.sim.stats()["channels"] == 0
    assert s.sim.stats()["bridges"] == 0
    assert s.engine.core.live_channels() == 0


def created_bridges(s: Scenario) -> list[Any]:
    return [r for r in s.requests if r.method == "POST" and r.path == "/bridges"]


def events(s: Scenario, kind: type) -> list[Any]:
    return [e for e in s.sink.events if isinstance(e, kind)]


def transfer_records(s: Scenario) -> list[TransferRecord]:
    return [
        r for e in s.sink.events for r in records_for(e, "demo") if isinstance(r, TransferRecord)
    ]


def call_record(s: Scenario, call_id: str) -> CallRecord:
    """The call's final record (those written while it was live say `in_progress`)."""
    [rec] = [
        r
        for e in s.sink.events
        for r in records_for(e, "demo")
        if isinstance(r, CallRecord)
        and r.call_id == call_id
        and r.outcome is not Outcome.IN_PROGRESS
    ]
    return rec


async def bridged_call(s: Scenario, talk: float = 300) -> str:
    s.login("1001")
    s.phone("1001", answer_after=1)
    cid = s.call(talk=talk)
    await talking(s, cid)
    return cid


# ------------------------------------------------------------------ blind


async def test_blind_to_a_queue_keeps_arrival_bridge_and_recording(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=200)
        await asyncio.sleep(20)
        s.login("1002")
        s.phone("1002", answer_after=3)
        s.engine.transfer(cid, "blind", "queue", "billing")
        await talking(s, cid, nth=2)
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1002-{cid}"}
        summary = (await s.sink.ended(cid)).summary
        paths = s.paths()
        # the agent left, the caller was re-tagged and queued in billing, 1002 joined the
        # same bridge; no second bridge, no second recording
        assert f"DELETE /channels/agent-1001-{cid}" in paths
        assert s.sent("POST", f"/channels/{cid}/variable")[-1].params == {
            "variable": "HOTLINE_QUEUE",
            "value": "billing",
        }
        assert [r.params["channel"] for r in s.sent("POST", f"/bridges/br-{cid}/addChannel")] == [
            f"{cid},agent-1001-{cid}",
            f"agent-1002-{cid}",
        ]
        assert [r.params["bridgeId"] for r in created_bridges(s)] == [f"br-{cid}"]
        assert len(s.sent("POST", f"/channels/rec-{cid}/record")) == 1
        assert summary.queues_visited == ("support", "billing")
        assert summary.agent_id == "1001"
        assert summary.transferred
        [t] = summary.transfers
        assert (t.kind, t.target, t.result, t.from_agent) == (
            "blind",
            "queue:billing",
            "completed",
            "1001",
        )
        assert summary.outcome is Outcome.ANSWERED
        # waiting ended at the first answer; talk is both agents' talk, not the re-queue
        assert summary.answered_at is not None
        assert summary.wait_seconds == pytest.approx(summary.answered_at - summary.arrived_at)
        greeting = 1.5 + 4 * 0.891 + 1.5
        queued = 3 + greeting  # 1002 rings 3 s, then greets before joining
        assert summary.bridged_at is not None
        span = summary.ended_at - summary.bridged_at
        assert summary.talk_seconds == pytest.approx(span - queued, abs=0.5)
        rec = await s.sink.recording()
        assert rec.recording.name == f"call-{cid}"
        assert rec.recording.duration_seconds == pytest.approx(span, abs=1.0)
        states = s.sink.agent_states("1001")
        assert states[-2:] == [("wrap-up", ""), ("available", "")]
        kinds = [
            type(e) for e in s.sink.events if isinstance(e, TransferStarted | TransferCompleted)
        ]
        assert kinds == [TransferStarted, TransferCompleted]
        record = call_record(s, cid)
        assert record.transferred
        assert [(r.kind, r.target, r.result) for r in transfer_records(s)] == [
            ("blind", "queue:billing", "completed")
        ]
        await all_gone(s)


async def test_blind_to_an_agent_who_answers(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=120)
        s.login("1002")
        s.phone("1002", answer_after=4)
        await asyncio.sleep(10)
        s.engine.transfer(cid, "blind", "agent", "1002")
        await talking(s, cid, nth=2)
        leg = f"agent-1002-{cid}"
        assert in_bridge(s, f"br-{cid}") == {cid, leg}
        create = s.sent("POST", "/channels/create")[-1]
        assert create.params["channelId"] == leg
        assert create.params["originator"] == cid
        order = s.paths()
        # the agent leaves first; the caller hears music while 1002 rings; no greeting
        assert order.index(f"DELETE /channels/agent-1001-{cid}") < order.index(
            f"POST /channels/{leg}/dial"
        )
        assert f"POST /channels/{cid}/moh" in order
        assert order.index(f"DELETE /channels/{cid}/moh") > order.index(
            f"POST /channels/{leg}/dial"
        )
        summary = (await s.sink.ended(cid)).summary
        [t] = summary.transfers
        assert (t.kind, t.target, t.result, t.to_agent) == (
            "blind",
            "agent:1002",
            "completed",
            "1002",
        )
        assert [o.agent_id for o in summary.offers] == ["1001", "1002"]
        # talk runs from the first bridge to the end, minus the 4 s the caller waited
        assert summary.bridged_at is not None
        assert summary.talk_seconds == pytest.approx(
            summary.ended_at - summary.bridged_at - 4, abs=0.3
        )
        assert events(s, TransferCompleted)[0].to_agent == "1002"
        await all_gone(s)


async def test_blind_to_an_agent_who_never_answers_goes_back_to_the_queue(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=200)
        s.login("1002", "1003")
        s.phone("1002", answer_after=None)
        s.phone("1003", answer_after=2)
        s.engine.transfer(cid, "blind", "agent", "1002")
        failed: TransferFailed = await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        assert (failed.result, failed.reason) == ("failed", "no_answer")
        assert s.sent("DELETE", f"/channels/agent-1002-{cid}")
        await talking(s, cid, nth=2)
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1003-{cid}"}
        agent = s.engine.core.agents.require("1002")
        assert agent.consecutive_ronas == 0  # a transfer nobody picked up is not a RONA
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        assert not summary.transferred
        assert [t.result for t in summary.transfers] == ["failed"]
        await all_gone(s)


async def test_caller_hangs_up_while_the_blind_target_rings(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=300)
        s.login("1002")
        s.phone("1002", answer_after=None)
        s.engine.transfer(cid, "blind", "agent", "1002")
        await s.sink.wait_for(
            lambda e: (
                isinstance(e, AgentStateChanged) and e.agent_id == "1002" and e.state == "ringing"
            )
        )
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.ANSWERED
        assert summary.hangup_by == "caller"
        [t] = summary.transfers
        assert (t.result, t.reason) == ("failed", "caller_hangup")
        assert s.sent("DELETE", f"/channels/agent-1002-{cid}")
        assert s.engine.core.agents.require("1002").state == "available"
        await all_gone(s)


async def test_blind_to_a_department_announces_then_dials_the_outside_number(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        s.sim.set_endpoint("PJSIP/legal", EndpointBehaviour(answer_after=2))
        cid = await bridged_call(s, talk=60)
        s.engine.transfer(cid, "blind", "department", "legal")
        await talking(s, cid, nth=2)
        ext = f"ext-{cid}-1"
        assert in_bridge(s, f"br-{cid}") == {cid, ext}
        order = s.paths()
        play = [
            r for r in s.sent("POST", f"/channels/{cid}/play") if "xfer-" in r.params["playbackId"]
        ]
        assert play[0].params["media"] == "sound:xfer-legal"
        assert order.index(f"DELETE /channels/agent-1001-{cid}") < order.index(
            f"POST /channels/{cid}/play", order.index(f"DELETE /channels/agent-1001-{cid}")
        )
        create = s.sent("POST", "/channels/create")[-1]
        assert (create.params["channelId"], create.params["endpoint"]) == (ext, "PJSIP/legal")
        assert create.body == {"variables": {"HOTLINE_CALL_ID": cid, "HOTLINE_ROLE": "external"}}
        summary = (await s.sink.ended(cid)).summary
        assert summary.outcome is Outcome.TRANSFERRED
        assert s.sent("DELETE", f"/channels/{ext}")
        [t] = summary.transfers
        assert (t.target, t.label, t.result) == ("PJSIP/legal", "legal", "completed")
        assert call_record(s, cid).outcome == "transferred"
        await all_gone(s)


async def test_blind_to_a_department_queue_after_its_announcement(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=90)
        s.login("1002")
        s.engine.transfer(cid, "blind", "department", "billing-dept")
        await talking(s, cid, nth=2)
        order = s.paths()
        announce = [p for p in order if p == f"POST /channels/{cid}/play"]
        assert len(announce) == 3  # greeting, transfer announcement, 1002's greeting
        assert s.sent("POST", f"/channels/{cid}/play")[1].params["media"] == "sound:xfer-billing"
        summary = (await s.sink.ended(cid)).summary
        assert summary.queues_visited == ("support", "billing")
        assert summary.transfers[0].label == "billing-dept"
        await all_gone(s)


# ------------------------------------------------------------------ attended


async def consulting(s: Scenario, cid: str, answer_after: float | None = 2) -> str:
    """Start an attended transfer to 1002; returns 1002's leg once it is ringing."""
    s.login("1002")
    s.phone("1002", answer_after=answer_after)
    s.engine.transfer(cid, "attended", "agent", "1002")
    await s.engine.quiesce()
    return f"agent-1002-{cid}"


async def test_attended_complete_hands_the_caller_to_the_target(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        await asyncio.sleep(5)
        a1 = f"agent-1001-{cid}"
        leg = await consulting(s, cid)
        assert in_bridge(s, f"br-{cid}") == {cid}
        assert in_bridge(s, f"xfer-{cid}") == {a1}
        await s.sink.wait_for(state_is(cid, "consulting"))
        await s.engine.quiesce()
        assert in_bridge(s, f"xfer-{cid}") == {a1, leg}
        await asyncio.sleep(8)
        info = s.engine.core.calls[cid]
        assert info.hold_from is not None
        s.engine.complete_transfer(cid)
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, leg}
        start = s.paths().index(f"POST /bridges/br-{cid}/removeChannel")
        assert s.paths()[start:] == [
            f"POST /bridges/br-{cid}/removeChannel",
            "POST /bridges",
            f"POST /bridges/xfer-{cid}/addChannel",
            f"POST /channels/{cid}/moh",
            "POST /channels/create",
            f"POST /channels/{leg}/dial",
            f"POST /bridges/xfer-{cid}/addChannel",
            f"DELETE /channels/{cid}/moh",
            f"POST /bridges/xfer-{cid}/removeChannel",
            f"POST /bridges/br-{cid}/addChannel",
            f"DELETE /channels/{a1}",
            f"DELETE /bridges/xfer-{cid}",
        ]
        assert s.sent("POST", f"/bridges/br-{cid}/removeChannel")[0].params == {"channel": a1}
        await asyncio.sleep(10)
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        [t] = summary.transfers
        assert (t.kind, t.result, t.to_agent) == ("attended", "completed", "1002")
        # on hold from the start of the consultation until it was completed: ~2 s ring + 8 s
        assert summary.hold_seconds == pytest.approx(10, abs=0.5)
        assert summary.talk_seconds == pytest.approx(5 + 10, abs=0.5)
        assert s.sink.agent_states("1001")[-2:] == [("wrap-up", ""), ("available", "")]
        await all_gone(s)


async def test_attended_cancel_goes_back_to_the_caller(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        a1 = f"agent-1001-{cid}"
        leg = await consulting(s, cid)
        await s.sink.wait_for(state_is(cid, "consulting"))
        s.engine.cancel_transfer(cid)
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        assert f"xfer-{cid}" not in s.sim.pbx.bridges
        assert s.paths()[-5:] == [
            f"DELETE /channels/{leg}",
            f"POST /bridges/xfer-{cid}/removeChannel",
            f"POST /bridges/br-{cid}/addChannel",
            f"DELETE /bridges/xfer-{cid}",
            f"DELETE /channels/{cid}/moh",
        ]
        failed = events(s, TransferFailed)
        assert [(f.result, f.reason) for f in failed] == [("cancelled", "cancelled")]
        assert [r.result for r in transfer_records(s)] == ["cancelled"]
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        assert not summary.transferred
        assert summary.agent_id == "1001"
        assert s.sink.agent_states("1002")[-2:] == [("wrap-up", ""), ("available", "")]
        await all_gone(s)


async def test_attended_target_declines_while_ringing(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid, answer_after=None)
        await asyncio.sleep(3)
        s.sim.phone_hangup(leg)  # 486 from the ringing phone
        failed: TransferFailed = await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        assert (failed.result, failed.reason) == ("failed", "busy")
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1001-{cid}"}
        assert s.engine.core.agents.require("1002").state == "available"
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)


async def test_attended_target_hangs_up_during_the_consultation(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid)
        await s.sink.wait_for(state_is(cid, "consulting"))
        await asyncio.sleep(5)
        s.sim.phone_hangup(leg)
        failed: TransferFailed = await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        assert failed.reason == "target_hangup"
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1001-{cid}"}
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)


async def test_attended_target_never_answers(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid, answer_after=None)
        failed: TransferFailed = await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        assert failed.reason == "no_answer"
        assert failed.at - events(s, TransferStarted)[0].at == pytest.approx(15, abs=0.5)
        assert s.sent("DELETE", f"/channels/{leg}")
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1001-{cid}"}
        s.sim.phone_hangup(f"agent-1001-{cid}")
        summary = (await s.sink.ended(cid)).summary
        assert summary.hangup_by == "agent"
        await all_gone(s)


async def test_caller_hangs_up_during_the_consultation(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid)
        await s.sink.wait_for(state_is(cid, "consulting"))
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        [t] = summary.transfers
        assert (t.result, t.reason) == ("failed", "caller_hangup")
        assert s.sent("DELETE", f"/channels/{leg}")
        assert s.sent("DELETE", f"/channels/agent-1001-{cid}")
        assert s.sent("DELETE", f"/bridges/xfer-{cid}")
        await all_gone(s)


async def test_agent_hangs_up_during_the_consultation_completes_it(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid)
        await s.sink.wait_for(state_is(cid, "consulting"))
        s.sim.phone_hangup(f"agent-1001-{cid}")
        done: TransferCompleted = await s.sink.wait_for(lambda e: isinstance(e, TransferCompleted))
        assert done.to_agent == "1002"
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, leg}
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        assert summary.transfers[0].reason == "agent_hangup"
        await all_gone(s)


async def test_agent_hangs_up_while_the_target_rings_goes_on_blind(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s)
        leg = await consulting(s, cid, answer_after=6)
        await asyncio.sleep(2)
        s.sim.phone_hangup(f"agent-1001-{cid}")
        await s.sink.wait_for(lambda e: isinstance(e, TransferCompleted))
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, leg}
        assert s.sent("DELETE", f"/channels/{cid}/moh")
        s.sim.phone_hangup(leg)
        summary = (await s.sink.ended(cid)).summary
        assert summary.hangup_by == "agent"
        await all_gone(s)


# ------------------------------------------------------------------ the phone's own transfer key


async def test_phone_refer_core_dials_the_agent_and_bridges_the_local_half(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=60)
        s.login("1002")
        s.phone("1002", answer_after=2)
        await asyncio.sleep(3)
        one, two = s.sim.phone_refer(f"agent-1001-{cid}", "1002")
        await talking(s, cid, nth=2)
        leg = f"agent-1002-{cid}"
        # Asterisk swapped ;1 in for the agent; the engine bridged ;2 with 1002 (trace shape)
        assert in_bridge(s, f"br-{cid}") == {cid, one}
        assert in_bridge(s, f"xfer-{cid}") == {two, leg}
        create = s.sent("POST", "/channels/create")[-1]
        assert (create.params["channelId"], create.params["originator"]) == (leg, two)
        assert s.sent("POST", f"/bridges/xfer-{cid}/addChannel")[0].params == {
            "channel": f"{two},{leg}"
        }
        assert s.sent("DELETE", f"/channels/agent-1001-{cid}")
        summary = (await s.sink.ended(cid)).summary
        assert s.sent("DELETE", f"/channels/{two}")
        assert s.sent("DELETE", f"/bridges/xfer-{cid}")
        [t] = summary.transfers
        assert (t.kind, t.target, t.result, t.to_agent) == (
            "phone",
            "agent:1002",
            "completed",
            "1002",
        )
        # talk: both agents' segments; the 2 s of ringing do not count
        assert summary.bridged_at is not None
        assert summary.talk_seconds == pytest.approx(
            summary.ended_at - summary.bridged_at - 2, abs=0.3
        )
        assert call_record(s, cid).transferred
        assert [(r.kind, r.result) for r in transfer_records(s)] == [("phone", "completed")]
        await all_gone(s)


async def test_phone_refer_core_to_a_phone_nobody_answers_requeues_the_caller(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=120)
        s.login("1002", "1003")
        s.phone("1002", answer_after=None)
        s.phone("1003", answer_after=1)
        s.sim.phone_refer(f"agent-1001-{cid}", "1002")
        failed: TransferFailed = await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        assert (failed.kind, failed.reason) == ("phone", "no_answer")
        await talking(s, cid, nth=2)
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1003-{cid}"}
        summary = (await s.sink.ended(cid)).summary
        assert summary.agent_id == "1001"
        await all_gone(s)


async def test_phone_refer_ari_only_swaps_agents_in_the_call_bridge(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.engine.core.phone_transfers = "ari-only"
        cid = await bridged_call(s, talk=60)
        a1, a2 = f"agent-1001-{cid}", f"agent-1002-{cid}"
        assert s.sent("POST", f"/channels/{a1}/variable")[0].params == {
            "variable": "PJSIP_TRANSFER_HANDLING()",
            "value": "ari-only",
        }
        s.login("1002")
        s.phone("1002", answer_after=2)
        assert s.sim.phone_refer(a1, "1002") == []
        await talking(s, cid, nth=2)
        assert in_bridge(s, f"br-{cid}") == {cid, a2}
        start = s.paths().index(f"POST /channels/{a1}/transfer_progress")
        assert s.paths()[start:] == [
            f"POST /channels/{a1}/transfer_progress",
            "POST /channels/create",
            f"POST /channels/{a2}/variable",
            f"POST /channels/{a2}/dial",
            f"POST /bridges/br-{cid}/addChannel",
            f"POST /channels/{a1}/transfer_progress",
            f"POST /bridges/br-{cid}/removeChannel",
            f"DELETE /channels/{a1}",
        ]
        progress = [r.params["states"] for r in s.sent("POST", "/transfer_progress")]
        assert progress == ["channel_progress", "channel_answered"]
        summary = (await s.sink.ended(cid)).summary
        assert summary.transfers[0].to_agent == "1002"
        await all_gone(s)


async def test_phone_refer_ari_only_declined_keeps_the_agent(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.engine.core.phone_transfers = "ari-only"
        cid = await bridged_call(s, talk=60)
        a1 = f"agent-1001-{cid}"
        s.login("1002")
        s.phone("1002", busy=True)
        s.sim.phone_refer(a1, "1002")
        await s.sink.wait_for(lambda e: isinstance(e, TransferFailed))
        await s.engine.quiesce()
        progress = [r.params["states"] for r in s.sent("POST", "/transfer_progress")]
        assert progress == ["channel_progress", "channel_declined"]
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        summary = (await s.sink.ended(cid)).summary
        assert not summary.transferred
        await all_gone(s)


async def test_phone_refer_ari_only_caller_hangs_up_while_target_rings(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        s.engine.core.phone_transfers = "ari-only"
        cid = await bridged_call(s, talk=300)
        s.login("1002")
        s.phone("1002", answer_after=None)
        s.sim.phone_refer(f"agent-1001-{cid}", "1002")
        await asyncio.sleep(3)
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        assert summary.transfers[0].reason == "caller_hangup"
        assert s.sent("DELETE", f"/channels/agent-1002-{cid}")
        await all_gone(s)


async def test_caller_hangs_up_while_queued_after_a_transfer(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=300)
        s.login("1002")
        s.phone("1002", answer_after=None)
        s.engine.transfer(cid, "blind", "queue", "billing")
        await s.sink.wait_for(state_is(cid, "queued"))
        await asyncio.sleep(4)
        s.sim.phone_hangup(cid)
        summary = (await s.sink.ended(cid)).summary
        # it was answered (by 1001) and moved: not an abandoned call
        assert summary.outcome is Outcome.ANSWERED
        assert summary.transferred
        await s.engine.quiesce()
        # the recording ends with the caller's channel (its snoop ends): no stop request
        assert not s.sent("POST", f"/recordings/live/call-{cid}/stop")
        assert s.sent("DELETE", f"/bridges/br-{cid}")
        assert s.sent("DELETE", f"/channels/agent-1002-{cid}")  # its offer was cancelled
        rec = await s.sink.recording()
        assert rec.recording.name == f"call-{cid}"
        await all_gone(s)


async def test_monitor_survives_a_reconnect(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        cid = await bridged_call(s, talk=300)
        s.phone("1004", answer_after=1)
        session = s.engine.monitor(cid, "listen", "PJSIP/agent1004", "sue")
        await asyncio.sleep(3)
        await s.engine.quiesce()
        channels = s.sim.pbx.visible_channels()
        s.engine.reconcile(channels, list(s.sim.pbx.bridges))
        await s.engine.quiesce()
        assert not s.sent("DELETE", f"/channels/{session.session_id}")
        assert s.engine.core.monitors
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)
