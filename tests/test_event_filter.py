"""The app's event filter (`PUT /applications/{app}/eventFilter`): the simulator honours it
as Asterisk does (res/stasis/app.c), and the engine sets it on every (re)connect, before
the reconcile, to the event types its call flow, its Stasis gate and the KPI fold read."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.ari.client import AriClient
from ari_app.ari.connection import ConnectionState, SupervisedConnection
from ari_app.domain.events import Outcome
from ari_app.shell.engine import Engine, ari_event_types
from kpi.event_filter import RELEVANT_TYPES
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing
from tests.callflow_rig import make_config
from tests.scenario_rig import Collector

pytestmark = pytest.mark.looptime

AUTH = {"Authorization": aiohttp.encode_basic_auth("hotline", "hotline")}


async def _ari(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession(headers=AUTH) as http, http.request(
        method, f"{base}/ari{path}", json=body
    ) as resp:
        return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_the_simulator_filters_as_asterisk_does(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(recordings_dir=tmp_path, timing=Timing()))
    base = await sim.start()
    got: list[dict[str, Any]] = []

    async def on_event(event: dict[str, Any]) -> None:
        got.append(event)

    client = AriClient(base, "hotline", "hotline", "hotline", heartbeat=None)
    async with client, SupervisedConnection(client, on_event) as conn:
        await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
        # 404 for an app nobody registered; 400 for a malformed list, nothing changed
        assert (await _ari(base, "PUT", "/applications/other/eventFilter", {}))[0] == 404
        for bad in ({"allowed": {"type": "StasisStart"}}, {"allowed": [{"kind": "x"}]},
                    {"disallowed": [{"type": ""}]}):
            status, body = await _ari(base, "PUT", "/applications/hotline/eventFilter", bad)
            assert (status, body) == (400, {"message": "Invalid format definition"})
        # allowed StasisStart + ChannelVarset, but ChannelVarset also disallowed: refused
        status, app = await _ari(base, "PUT", "/applications/hotline/eventFilter", {
            "allowed": [{"type": "StasisStart"}, {"type": "ChannelVarset"}],
            "disallowed": [{"type": "ChannelVarset"}],
        })
        assert status == 200
        assert app["events_allowed"] == [{"type": "StasisStart"}, {"type": "ChannelVarset"}]
        assert app["events_disallowed"] == [{"type": "ChannelVarset"}]
        cid = sim.place_call("13900001", "12345")
        await _ari(base, "POST", f"/channels/{cid}/variable?variable=X&value=1")
        await _ari(base, "DELETE", f"/channels/{cid}")
        await sim.drain()
        await asyncio.sleep(0.1)
        assert [e["type"] for e in got] == ["StasisStart"]
        # a list left out keeps its value; an empty body empties both
        _, app = await _ari(base, "PUT", "/applications/hotline/eventFilter",
                            {"allowed": []})
        assert app["events_allowed"] == []
        assert app["events_disallowed"] != []
        _, app = await _ari(base, "PUT", "/applications/hotline/eventFilter")
        assert app["events_allowed"] == []
        assert app["events_disallowed"] == []
    assert sim.pbx.stats.events_filtered > 0
    await sim.stop()


async def test_the_engine_sets_its_filter_on_every_connect(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(recordings_dir=tmp_path))
    base = await sim.start()
    config = make_config()
    sink = Collector()
    received: Counter[str] = Counter()
    async with AriClient(base, "hotline", "hotline", "hotline", heartbeat=None) as client:
        engine = Engine(config, client, sinks=[sink], clock=sim.pbx.wall)
        wanted = ari_event_types(engine)
        assert engine.event_types <= wanted
        assert wanted >= RELEVANT_TYPES
        # what the engine reads and the KPI fold reads, nothing it never looks at
        assert {"StasisStart", "StasisEnd", "ChannelDestroyed", "Dial", "PlaybackFinished",
                "RecordingFinished", "ChannelVarset", "ChannelHold"} <= wanted
        assert not wanted & {"ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId",
                             "ChannelEnteredBridge", "ChannelLeftBridge", "PlaybackStarted",
                             "PlaybackContinuing", "RecordingStarted", "BridgeDestroyed"}
        order: list[str] = []
        put = sim.pbx.set_event_filter

        def spy_filter(name: str, body: object) -> Any:
            order.append("filter")
            return put(name, body)

        sim.pbx.set_event_filter = spy_filter  # type: ignore[method-assign]

        async def on_event(event: dict[str, Any]) -> None:
            received[event["type"]] += 1
            await engine.on_event(event)

        async def on_reconcile(snapshot: Any) -> None:
            order.append("reconcile")
            await engine.on_reconcile(snapshot)

        conn = SupervisedConnection(client, on_event, on_reconcile, event_types=wanted)
        async with conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            _, app = await _ari(base, "GET", "/applications/hotline")
            assert {r["type"] for r in app["events_allowed"]} == wanted
            engine.login("1001", "4321", "PJSIP/agent1001")
            sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(2.0))
            cid = sim.place_call("13900001", "12345", talk=10)
            assert (await sink.ended(cid)).summary.outcome is Outcome.ANSWERED
            assert set(received) <= wanted
            # a cut: the app is unregistered (the simulator forgets its filter, as Asterisk
            # may); the engine sets it again before its reconcile
            assert await sim.cut_websockets() == 1
            while conn.stats.down_since is None:  # noqa: ASYNC110
                await asyncio.sleep(0)
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            _, app = await _ari(base, "GET", "/applications/hotline")
            assert {r["type"] for r in app["events_allowed"]} == wanted
            before = sum(received.values())
            cid = sim.place_call("13900002", "12345", talk=10)
            assert (await sink.ended(cid)).summary.outcome is Outcome.ANSWERED
            assert sum(received.values()) > before
            assert set(received) <= wanted
        await engine.close()
    assert conn.stats.filters_set == 2
    assert conn.stats.filter_errors == 0
    assert order == ["filter", "reconcile", "filter", "reconcile"]
    assert sim.pbx.stats.events_filtered > 0
    await sim.stop()


async def test_a_refused_filter_is_logged_and_the_events_come_unfiltered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An Asterisk older than 13.26/16.3 has no eventFilter: the engine runs on."""
    sim = Simulator(SimConfig(recordings_dir=tmp_path))
    base = await sim.start()

    def refuse(name: str, body: object) -> Any:
        from pbxsim.core import AriError

        raise AriError(404, "Resource not found")

    sim.pbx.set_event_filter = refuse  # type: ignore[method-assign]
    got: list[str] = []

    async def on_event(event: dict[str, Any]) -> None:
        got.append(event["type"])

    async with AriClient(base, "hotline", "hotline", "hotline", heartbeat=None) as client:
        conn = SupervisedConnection(client, on_event, event_types={"StasisStart"})
        async with conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            cid = sim.place_call("13900001", "12345")
            await _ari(base, "POST", f"/channels/{cid}/variable?variable=X&value=1")
            await sim.drain()
            await asyncio.sleep(0.1)
    assert conn.stats.filter_errors == 1
    assert conn.stats.filters_set == 0
    assert "ChannelVarset" in got
    assert "event filter not set" in caplog.text
    await sim.stop()
