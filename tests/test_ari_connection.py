"""Supervised connection: reconnect with backoff after drops, heartbeat, reconcile."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ari_app.ari.client import AriClient
from ari_app.ari.connection import Backoff, ConnectionState, SupervisedConnection
from ari_app.ari.reconcile import Snapshot
from tests.ari_support.dispatcher import Dispatcher
from tests.ari_support.reconcile_check import compare, seed_router
from tests.ari_support.replay import ReplayServer, load_trace
from tests.conftest import TRACES

USER, PASSWORD = "app", "pw-for-tests-1"
APP = {"name": "hotline", "channel_ids": ["c1", "agent-1001-c1"], "bridge_ids": ["br-c1"],
       "endpoint_ids": [], "device_names": [], "events_allowed": [], "events_disallowed": []}


def chan(cid: str, call: str = "") -> dict[str, Any]:
    return {"id": cid, "name": f"PJSIP/{cid}-1", "state": "Up",
            "channelvars": {"HOTLINE_CALL_ID": call}}


CHANNELS = [chan("c1"), chan("agent-1001-c1", "c1"), chan("dialplan-only")]
BRIDGES = [{"id": "br-c1", "channels": ["c1", "agent-1001-c1"], "bridge_class": "stasis"}]


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    srv = ReplayServer(username=USER, password=PASSWORD)
    srv.respond("GET", "/applications/hotline", 200, APP)
    srv.respond("GET", "/channels", 200, CHANNELS)
    srv.respond("GET", "/bridges", 200, BRIDGES)
    await srv.start()
    yield srv
    await srv.stop()


class Collector:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.snapshots: list[Snapshot] = []
        self.arrived = asyncio.Condition()

    async def on_event(self, event: dict[str, Any]) -> None:
        async with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    async def on_reconcile(self, snapshot: Snapshot) -> None:
        async with self.arrived:
            self.snapshots.append(snapshot)
            self.arrived.notify_all()

    async def until(self, events: int = 0, snapshots: int = 0) -> None:
        async with self.arrived:
            await self.arrived.wait_for(
                lambda: len(self.events) >= events and len(self.snapshots) >= snapshots)


def test_backoff_is_exponential_capped_and_jittered() -> None:
    b = Backoff(initial=0.5, factor=2.0, cap=30.0, jitter=0.5)
    assert [b.delay(n, 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert b.delay(50, 0.0) == 30.0
    assert b.delay(10_000, 0.0) == 30.0
    rng = random.Random(1)
    for n in range(20):
        d = b.delay(n, rng.random())
        top = min(30.0, 0.5 * 2**n)
        assert top * 0.5 <= d <= top


@pytest.mark.looptime
async def test_drop_mid_stream_reconnects_and_reconciles(server: ReplayServer) -> None:
    events, _ = load_trace(TRACES / "inbound_answer_playback_hangup.jsonl")
    got = Collector()
    async with AriClient(server.base_url, USER, PASSWORD, "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, got.on_event, got.on_reconcile,
                                    rng=random.Random(5))
        async with conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            for e in events[:5]:
                await server.send(e)
            await asyncio.wait_for(got.until(events=5, snapshots=1), 10)
            await server.drop(abrupt=True)  # TCP connection torn down mid-stream
            await asyncio.wait_for(server.wait_connections(2), 60)
            await asyncio.wait_for(got.until(snapshots=2), 10)
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            for e in events[5:]:
                await server.send(e)
            await asyncio.wait_for(got.until(events=len(events)), 10)
        assert conn.state is ConnectionState.STOPPED
    assert got.events == events
    first, second = got.snapshots
    assert not first.reconnected
    assert second.reconnected
    assert [c["id"] for c in second.app_channels()] == ["c1", "agent-1001-c1"]
    assert conn.stats.connects == 2
    assert conn.stats.disconnects == 1
    assert conn.stats.reconciles == 2
    assert conn.stats.events == len(events)
    reconcile_gets = [r.path for r in server.requests]
    assert reconcile_gets == ["/applications/hotline", "/channels", "/bridges"] * 2


@pytest.mark.looptime
async def test_refused_connects_back_off_exponentially(server: ReplayServer) -> None:
    server.refuse_ws = True
    backoff = Backoff(initial=1.0, factor=2.0, cap=8.0, jitter=0.5)
    async with AriClient(server.base_url, USER, PASSWORD, "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, Collector().on_event, backoff=backoff,
                                    rng=random.Random(42))
        async with conn:
            await asyncio.wait_for(server.wait_attempts(7), 120)
            server.refuse_ws = False
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 60)
    times = server.stats.ws_attempt_times
    gaps = [b - a for a, b in itertools.pairwise(times)][:6]
    rng = random.Random(42)
    expected = [backoff.delay(n, rng.random()) for n in range(6)]
    assert gaps == pytest.approx(expected, abs=0.05)
    assert max(gaps) <= 8.0 + 0.05
    assert conn.stats.failed_attempts >= 7
    assert "HTTP 401" in conn.stats.last_error
    assert PASSWORD not in conn.stats.last_error


@pytest.mark.looptime
async def test_heartbeat_detects_a_silent_peer(server: ReplayServer) -> None:
    got = Collector()
    async with AriClient(server.base_url, USER, PASSWORD, "hotline", heartbeat=2.0) as client:
        conn = SupervisedConnection(client, got.on_event, got.on_reconcile)
        async with conn:
            await asyncio.wait_for(got.until(snapshots=1), 10)
            server.freeze()  # the peer stops reading: pings go unanswered, no FIN
            await asyncio.wait_for(got.until(snapshots=2), 30)
            await server.send({"type": "StasisStart", "application": "hotline"})
            await asyncio.wait_for(got.until(events=1), 10)
    assert conn.stats.disconnects == 1
    assert server.stats.ws_connects == 2


@pytest.mark.looptime
async def test_reconcile_failure_retries(server: ReplayServer) -> None:
    server.respond("GET", "/bridges", 500, {"message": "Internal Server Error"})
    got = Collector()
    async with AriClient(server.base_url, USER, PASSWORD, "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, got.on_event, got.on_reconcile,
                                    backoff=Backoff(initial=1.0, cap=2.0))
        async with conn:
            await asyncio.wait_for(server.wait_connections(3), 30)
            assert conn.stats.reconcile_errors >= 2
            assert got.snapshots == []
            server.respond("GET", "/bridges", 200, BRIDGES)
            await asyncio.wait_for(got.until(snapshots=1), 30)
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)


@pytest.mark.looptime
async def test_connection_feeds_dispatcher_per_call(server: ReplayServer) -> None:
    """End to end: socket -> SupervisedConnection -> Dispatcher, router seeded by reconcile."""
    call_id = "1795389322.22"
    events, probes = load_trace(TRACES / "full_call.jsonl")
    seen: list[tuple[str, str]] = []

    async def handler(key: str, event: dict[str, Any]) -> None:
        seen.append((key, event["type"]))

    dispatcher = Dispatcher(handler)
    for p in probes:  # the engine registers ids it chooses before its requests
        for k in ("channelId", "bridgeId", "playbackId"):
            if k in p["params"]:
                {"channelId": dispatcher.router.register_channel,
                 "bridgeId": dispatcher.router.register_bridge,
                 "playbackId": dispatcher.router.register_playback}[k](p["params"][k], call_id)

    async def on_reconcile(snapshot: Snapshot) -> None:
        seed_router(dispatcher.router, snapshot)

    all_in = asyncio.Event()

    async def sink(event: dict[str, Any]) -> None:
        await dispatcher.put(event)
        if dispatcher.stats.dispatched == len(events):
            all_in.set()

    client = AriClient(server.base_url, USER, PASSWORD, "hotline", heartbeat=None)
    async with client, SupervisedConnection(client, sink, on_reconcile) as conn:
        await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        assert dispatcher.router.channels["agent-1001-c1"] == "c1"  # seeded
        assert dispatcher.router.bridges["br-c1"] == "c1"
        for e in events:
            await server.send(e)
        await asyncio.wait_for(all_in.wait(), 10)
        await asyncio.wait_for(dispatcher.drain(), 10)
    assert seen == [(call_id, e["type"]) for e in events]


def test_compare_and_seed_router() -> None:
    from tests.ari_support.callkey import CallRouter

    snap = Snapshot(APP, CHANNELS, BRIDGES, 2)  # type: ignore[arg-type]
    report = compare(snap, known_channels=["c1", "gone-9"], known_bridges=["br-old"])
    assert report.gone_channels == {"gone-9"}
    assert report.new_channels == {"agent-1001-c1"}
    assert report.gone_bridges == {"br-old"}
    assert report.new_bridges == {"br-c1"}
    assert not report.in_sync
    assert compare(snap, ["c1", "agent-1001-c1"], ["br-c1"]).in_sync
    router = CallRouter()
    assert seed_router(router, snap) == 2
    assert router.channels == {"agent-1001-c1": "c1"}
    assert router.bridges == {"br-c1": "c1"}
