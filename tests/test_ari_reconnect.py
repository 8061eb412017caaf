"""Reconnect policy on the PBX simulator (fast-forwarded time): the event socket cut again
and again. The first attempt after a drop goes out at once, later ones back off (capped),
the count resets after a connection that stayed up `stable_after` seconds, and the gaps
(the app not registered: callers take the dialplan's fallback) are counted and exported."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from ari_app.ari.client import AriClient
from ari_app.ari.connection import (
    Backoff,
    ConnectionState,
    SupervisedConnection,
    register_metrics,
)
from ari_app.ari.reconcile import Snapshot
from pbxsim.server import Simulator

pytestmark = pytest.mark.looptime

BACKOFF = Backoff(initial=1.0, factor=2.0, cap=8.0, jitter=0.0)


class Seen:
    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []

    async def on_event(self, event: dict[str, Any]) -> None:
        pass

    async def on_reconcile(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)


async def connected(conn: SupervisedConnection) -> None:
    await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 60)


async def cut(sim: Simulator, conn: SupervisedConnection) -> float:
    """Cut the socket; the loop time it happened."""
    await conn.wait_for_state(ConnectionState.CONNECTED)
    at = asyncio.get_running_loop().time()
    assert await sim.cut_websockets() == 1
    while conn.stats.down_since is None:  # noqa: ASYNC110 - the client saw the close
        await asyncio.sleep(0)
    return at


async def test_first_retry_at_once_backoff_after_reset_after_a_stable_connection() -> None:
    sim = Simulator()
    await sim.start()
    seen = Seen()
    registry = CollectorRegistry()
    async with AriClient(sim.base_url, "hotline", "hotline", "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, seen.on_event, seen.on_reconcile,
                                    backoff=BACKOFF, stable_after=30.0)
        register_metrics(conn, registry)
        async with conn:
            await connected(conn)
            assert conn.stats.delays == type(conn.stats.delays)()  # first connect: no wait
            assert registry.get_sample_value("hotline_ari_connected") == 1.0

            # 1. a stable connection cut: reconnected at once, no gap to speak of
            await asyncio.sleep(40)
            await cut(sim, conn)
            await connected(conn)
            assert list(conn.stats.delays) == [0.0]
            assert conn.stats.last_downtime == pytest.approx(0.0, abs=0.01)

            # 2. cut while Asterisk refuses us: at once, then 1, 2, 4 s (from each attempt's
            # start) until it lets us in again
            await asyncio.sleep(40)
            users = dict(sim.config.users)
            sim.config.users = {}
            t0 = await cut(sim, conn)
            await asyncio.sleep(5)
            assert registry.get_sample_value("hotline_ari_connected") == 0.0
            assert registry.get_sample_value("hotline_ari_downtime_seconds_total") == (
                pytest.approx(5.0, abs=0.05))  # the open gap counts at scrape time
            sim.config.users = users
            await connected(conn)
            assert list(conn.stats.delays) == pytest.approx([0.0, 0.0, 1.0, 2.0, 4.0], abs=0.01)
            assert conn.stats.failed_attempts == 3
            assert conn.stats.last_downtime == pytest.approx(7.0, abs=0.05)
            assert asyncio.get_running_loop().time() - t0 == pytest.approx(7.0, abs=0.05)

            # 3. cut again 2 s later (not stable): no reset; the next wait is delay(3) = 8 s
            # counted from that connection's attempt, 2 s of which it spent connected
            await asyncio.sleep(2)
            await cut(sim, conn)
            await connected(conn)
            assert conn.stats.delays[-1] == pytest.approx(6.0, abs=0.05)
            assert conn.stats.last_downtime == pytest.approx(6.0, abs=0.05)

            # 4. stable again (≥ 30 s): the count is back to 0, the retry at once
            await asyncio.sleep(31)
            await cut(sim, conn)
            await connected(conn)
            assert conn.stats.delays[-1] == 0.0
            assert conn.stats.last_downtime == pytest.approx(0.0, abs=0.01)
        stats = conn.stats
    await sim.stop()
    assert stats.disconnects == 4
    assert stats.connects == 5
    assert stats.downtime_total == pytest.approx(13.0, abs=0.1)
    assert registry.get_sample_value("hotline_ari_disconnects_total") == 4
    assert registry.get_sample_value("hotline_ari_downtime_seconds_total") == (
        pytest.approx(13.0, abs=0.1))
    assert registry.get_sample_value("hotline_ari_last_downtime_seconds") == (
        pytest.approx(0.0, abs=0.01))
    assert registry.get_sample_value("hotline_ari_failed_attempts_total") == 3
    assert [s.reconnected for s in seen.snapshots] == [False, True, True, True, True]


async def test_twenty_cuts_of_a_stable_connection_each_reconnect_at_once() -> None:
    sim = Simulator()
    await sim.start()
    seen = Seen()
    async with AriClient(sim.base_url, "hotline", "hotline", "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, seen.on_event, seen.on_reconcile, stable_after=5.0)
        async with conn:
            await connected(conn)
            for _ in range(20):
                await asyncio.sleep(6)
                await cut(sim, conn)
                await connected(conn)
                assert conn.stats.last_downtime < 0.01
        stats = conn.stats
    await sim.stop()
    assert list(stats.delays) == [0.0] * 20
    assert stats.disconnects == 20
    assert stats.failed_attempts == 0
    assert sim.hub.ws_connected == 21


async def test_a_caller_arriving_in_the_gap_takes_the_fallback() -> None:
    """Stasis() fails while the app is not registered (the dialplan's fallback takes the
    caller, `STASISSTATUS=FAILED`); the gap is what the connection counts."""
    sim = Simulator()
    await sim.start()
    seen = Seen()
    async with AriClient(sim.base_url, "hotline", "hotline", "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, seen.on_event, seen.on_reconcile,
                                    backoff=BACKOFF, stable_after=30.0)
        async with conn:
            await connected(conn)
            sim.config.users = {}
            await cut(sim, conn)
            sim.place_call("13900001", "12345")
            sim.config.users = {"hotline": "hotline"}
            await connected(conn)
            sim.place_call("13900002", "12345")
    await sim.stop()
    assert sim.pbx.stats.inbound_rejected == 1
    assert sim.pbx.stats.inbound_calls == 2
    assert conn.stats.disconnects == 1
    assert conn.stats.last_downtime == pytest.approx(1.0, abs=0.05)  # one refused retry
