"""The ARI client stack against the PBX simulator (pbxsim): real HTTP + WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ari_app.ari.client import AriClient
from ari_app.ari.connection import ConnectionState, SupervisedConnection
from ari_app.ari.errors import AriBadRequest, AriNotFound, AriServerError
from ari_app.domain.timestamps import parse_ari_timestamp
from tests.ari_support.dispatcher import Dispatcher
from tests.ari_support.resources import typed

pbxsim = pytest.importorskip("pbxsim.server")
config = pytest.importorskip("pbxsim.config")

Event = dict[str, Any]


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    simulator = pbxsim.Simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


class CallLog:
    def __init__(self) -> None:
        self.by_call: dict[str, list[Event]] = {}
        self.changed = asyncio.Condition()

    async def add(self, key: str, event: Event) -> None:
        async with self.changed:
            self.by_call.setdefault(key, []).append(event)
            self.changed.notify_all()

    async def until(self, key: str, event_type: str, count: int = 1) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: sum(
                1 for e in self.by_call.get(key, ()) if e["type"] == event_type) >= count)


@pytest.mark.looptime
async def test_originate_agent_leg_events_in_order(sim: Any) -> None:
    sim.set_endpoint("PJSIP/agent1001", config.EndpointBehaviour(answer_after=6.0))
    log = CallLog()
    dispatcher = Dispatcher(log.add)
    client = AriClient(sim.base_url, "hotline", "hotline", "hotline", heartbeat=None)
    async with client, SupervisedConnection(client, dispatcher.put) as conn:
        await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        dispatcher.router.register_channel("agent-1001-call7", "call7")  # before the request
        channel = await typed(client).channels.originate(
            "PJSIP/agent1001", app="hotline", app_args="agent", channel_id="agent-1001-call7",
            timeout=10, variables={"HOTLINE_ROLE": "agent", "HOTLINE_AGENT_ID": "1001"})
        assert channel["id"] == "agent-1001-call7"
        await asyncio.wait_for(log.until("call7", "StasisStart"), 30)
        await typed(client).channels.hangup("agent-1001-call7", reason="normal")
        await asyncio.wait_for(log.until("call7", "ChannelDestroyed"), 30)
        await asyncio.wait_for(dispatcher.drain(), 10)
    events = log.by_call["call7"]
    assert set(log.by_call) == {"call7"}
    kinds = [(e["type"], e.get("dialstatus")) for e in events]
    ringing = kinds.index(("Dial", "RINGING"))
    answered = kinds.index(("Dial", "ANSWER"))
    assert ringing < answered < kinds.index(("StasisStart", None))
    assert kinds[-1] == ("ChannelDestroyed", None)
    ring_time = (parse_ari_timestamp(events[answered]["timestamp"])
                 - parse_ari_timestamp(events[ringing]["timestamp"]))
    assert ring_time == pytest.approx(6.0, abs=0.01)
    stamps = [parse_ari_timestamp(e["timestamp"]) for e in events]
    assert stamps == sorted(stamps)
    assert dispatcher.stats.handler_errors == dispatcher.stats.rejected == 0
    assert dispatcher.active_calls == 0
    assert len(dispatcher.router) == 0


async def test_errors_are_typed_against_the_simulator(sim: Any) -> None:
    async with AriClient(sim.base_url, "hotline", "hotline", "hotline") as client:
        with pytest.raises(AriNotFound) as nf:
            await typed(client).channels.answer("nope")
        assert nf.value.message == "Channel not found"
        with pytest.raises(AriServerError) as se:
            await typed(client).channels.originate("PJSIP/nobody", app="hotline")
        assert se.value.message == "Allocation failed"
        with pytest.raises(AriBadRequest):
            await client.request("POST", "/channels", params={"app": "hotline"})
        with pytest.raises(AriNotFound):
            await typed(client).recordings.get_stored("nope")
        with pytest.raises(AriNotFound):
            await typed(client).bridges.add_channel("nope", ["a", "b"])
        with pytest.raises(AriNotFound):  # no event socket yet: app not registered
            await typed(client).applications.get("hotline")
        socket = await client.connect_events()
        app = await typed(client).applications.get("hotline")
        assert app["name"] == "hotline"
        await socket.close()


@pytest.mark.looptime
async def test_inbound_call_flow_through_dispatcher(sim: Any) -> None:
    """A minimal call flow written the way the engine will: per-call handler, ids
    registered before requests, typed methods; caller hangs up, all cleaned up."""
    sim.set_endpoint("PJSIP/agent1002", config.EndpointBehaviour(answer_after=3.0))
    log = CallLog()
    client = AriClient(sim.base_url, "hotline", "hotline", "hotline", heartbeat=None)
    router_ref: list[Dispatcher] = []

    async def handler(key: str, event: Event) -> None:
        await log.add(key, event)
        router = router_ref[0].router
        etype = event["type"]
        if etype == "StasisStart" and event["args"] == ["support"]:
            caller = event["channel"]["id"]
            agent = f"agent-1002-{caller}"
            await typed(client).channels.ring(caller)
            router.register_channel(agent, key)
            await typed(client).channels.create(
                "PJSIP/agent1002", "hotline", app_args="agent", channel_id=agent,
                originator=caller, variables={"HOTLINE_CALL_ID": key, "HOTLINE_ROLE": "agent"})
            await typed(client).channels.dial(agent, caller=caller, timeout=20)
        elif etype == "Dial" and event["dialstatus"] == "ANSWER":
            caller, agent = key, event["peer"]["id"]
            await typed(client).channels.answer(caller)
            router.register_bridge(f"br-{key}", key)
            await typed(client).bridges.create(type="mixing", bridge_id=f"br-{key}")
            await typed(client).bridges.add_channel(f"br-{key}", [caller, agent])
        elif etype == "StasisEnd" and event["channel"]["id"] == key:
            await typed(client).channels.hangup(f"agent-1002-{key}")
            await typed(client).bridges.destroy(f"br-{key}")

    dispatcher = Dispatcher(handler)
    router_ref.append(dispatcher)
    async with client, SupervisedConnection(client, dispatcher.put) as conn:
        await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        caller = sim.place_call("13900001234", "12345", talk=5.0)
        await asyncio.wait_for(log.until(caller, "BridgeDestroyed"), 60)
        await asyncio.wait_for(dispatcher.drain(), 10)
    assert set(log.by_call) == {caller}
    types = [e["type"] for e in log.by_call[caller]]
    assert types[0] == "StasisStart"
    assert types.count("ChannelEnteredBridge") == 2
    assert types.index("ChannelEnteredBridge") < types.index("StasisEnd")
    assert dispatcher.stats.handler_errors == 0
    assert dispatcher.active_calls == 0
    assert conn.stats.events == dispatcher.stats.dispatched
    assert client.parser.stats.rejected == 0
