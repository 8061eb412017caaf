"""The simulator's REST surface, auth, control API, recordings and loop-clock timing."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.domain.timestamps import parse_ari_timestamp
from pbxsim.config import ConfigError, EndpointBehaviour, SimConfig, load_config
from pbxsim.server import Simulator
from pbxsim.timing import Timing

AUTH = {"Authorization": "Basic aG90bGluZTpob3RsaW5l"}  # hotline:hotline


class Rig:
    def __init__(self, sim: Simulator, http: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse) -> None:
        self.sim, self.http, self.ws = sim, http, ws
        self.events: list[dict[str, Any]] = []

    async def req(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.sim.base_url}{path}", **kw) as resp:
            text = await resp.text()
            body = json.loads(text) if text and resp.content_type == "application/json" else text
            return resp.status, body

    async def next_event(self, etype: str, within: float = 120.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                event: dict[str, Any] = json.loads(msg.data)
                self.events.append(event)
                if event["type"] == etype:
                    return event
        return await asyncio.wait_for(find(), within)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec", timing=Timing()))
    await sim.start()
    async with aiohttp.ClientSession(headers=AUTH) as http:
        ws = await http.ws_connect(f"{sim.base_url}/ari/events?app=hotline")
        yield Rig(sim, http, ws)
        await ws.close()
    await sim.stop()


def _ts(event: dict[str, Any]) -> float:
    return parse_ari_timestamp(event["timestamp"])


@pytest.mark.looptime
async def test_originate_timeout_destroys_with_cause_19_exactly_on_time(rig: Rig) -> None:
    rig.sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(answer_after=None))
    status, chan = await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1002", "app": "hotline", "appArgs": "agent", "timeout": "10",
        "channelId": "a2"}, json={"variables": {"HOTLINE_ROLE": "agent"}})
    assert status == 200
    assert chan["channelvars"]["HOTLINE_ROLE"] == "agent"
    ringing = await rig.next_event("ChannelStateChange")
    gone = await rig.next_event("ChannelDestroyed")
    assert (gone["cause"], gone["cause_txt"], gone["tech_cause"]) == (
        19, "User alerting, no answer", 480)
    assert _ts(gone) - _ts(ringing) == pytest.approx(10.0, abs=0.002)


@pytest.mark.looptime
async def test_inbound_call_answer_play_and_caller_hangs_up_after_talk(rig: Rig) -> None:
    status, body = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001234", "exten": "12345", "patience": 30, "talk": 4})
    assert status == 201
    start = await rig.next_event("StasisStart")
    assert start["channel"]["id"] == body["id"]
    assert start["args"] == ["support"]
    assert start["channel"]["dialplan"]["context"] == "hotline-in"
    assert start["channel"]["name"].startswith("PJSIP/pstn-")
    assert (await rig.req("POST", f"/ari/channels/{body['id']}/answer"))[0] == 204
    up = await rig.next_event("ChannelStateChange")
    status, pb = await rig.req("POST", f"/ari/channels/{body['id']}/play",
                               params={"media": "sound:hello-world,digits:12"})
    assert status == 201
    assert pb["next_media_uri"] == "digits:12"
    started = await rig.next_event("PlaybackStarted")
    finished = await rig.next_event("PlaybackFinished")
    assert _ts(finished) - _ts(started) == pytest.approx(1.402 + 2 * 0.891, abs=0.003)
    hangup = await rig.next_event("ChannelHangupRequest")
    assert "cause" not in hangup
    assert _ts(hangup) - _ts(up) == pytest.approx(4.0, abs=0.002)
    assert (await rig.next_event("ChannelDestroyed"))["cause"] == 16


@pytest.mark.looptime
async def test_caller_abandons_after_patience(rig: Rig) -> None:
    _, body = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001234", "exten": "12345", "patience": 7.5, "talk": 60})
    start = await rig.next_event("StasisStart")
    gone = await rig.next_event("ChannelDestroyed")
    assert gone["channel"]["id"] == body["id"]
    assert (gone["cause"], gone["tech_cause"]) == (127, 487)
    assert _ts(gone) - _ts(start) == pytest.approx(7.5, abs=0.002)


@pytest.mark.looptime
async def test_busy_and_unavailable_phones(rig: Rig) -> None:
    assert (await rig.req("PUT", "/sim/endpoints/PJSIP/agent1003", json={
        "answer_after": None, "busy": True}))[0] == 200
    await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1003", "app": "hotline", "channelId": "b3"})
    busy = await rig.next_event("ChannelDestroyed")
    assert (busy["cause"], busy["cause_txt"]) == (17, "User busy")
    assert [e["dialstatus"] for e in rig.events if e["type"] == "Dial"] == ["", "BUSY"]
    await rig.req("PUT", "/sim/endpoints/PJSIP/agent1004", json={"unavailable": True})
    await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1004", "app": "hotline", "channelId": "u4"})
    gone = await rig.next_event("ChannelDestroyed")
    assert gone["cause"] == 20
    _, endpoint = await rig.req("GET", "/ari/endpoints/PJSIP/agent1004")
    assert endpoint["state"] == "offline"


@pytest.mark.looptime
async def test_bridge_recording_writes_a_wav_of_the_right_length(rig: Rig, tmp_path: Path) -> None:
    rig.sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(answer_after=3))
    _, call = await rig.req("POST", "/sim/calls", json={"caller": "139", "exten": "12345"})
    await rig.req("POST", f"/ari/channels/{call['id']}/answer")
    await rig.req("POST", "/ari/channels/create", params={
        "endpoint": "PJSIP/agent1001", "app": "hotline", "channelId": "ag"})
    await rig.req("POST", "/ari/channels/ag/dial", params={"timeout": "20"})
    await rig.next_event("Dial")
    while (await rig.next_event("Dial"))["dialstatus"] != "ANSWER":
        pass
    assert (await rig.req("POST", "/ari/bridges", params={"bridgeId": "b1"}))[0] == 200
    assert (await rig.req("POST", "/ari/bridges/b1/addChannel",
                          params={"channel": f"{call['id']},ag"}))[0] == 204
    status, rec = await rig.req("POST", "/ari/bridges/b1/record",
                                params={"name": "r1", "format": "wav"})
    assert (status, rec["state"]) == (201, "queued")
    await rig.next_event("RecordingStarted")
    await asyncio.sleep(5)
    rig.sim.phone_hangup(call["id"])  # the agent is still there: recording goes on
    await asyncio.sleep(1)
    assert (await rig.req("DELETE", "/ari/channels/ag"))[0] == 204
    done = await rig.next_event("RecordingFinished")
    assert done["recording"]["duration"] == 6
    wav = (tmp_path / "rec" / "r1.wav").read_bytes()
    assert struct.unpack_from("<I", wav, 40)[0] == 6 * 8000 * 2
    status, stored = await rig.req("GET", "/ari/recordings/stored")
    assert stored == [{"format": "wav", "name": "r1"}]
    async with rig.http.get(f"{rig.sim.base_url}/ari/recordings/stored/r1/file") as resp:
        assert resp.content_type == "audio/wav"
        assert await resp.read() == wav
    assert (await rig.req("DELETE", "/ari/recordings/stored/r1"))[0] == 204
    assert (await rig.req("GET", "/ari/recordings/stored/r1"))[0] == 404


async def test_errors_like_asterisk(rig: Rig) -> None:
    assert await rig.req("POST", "/ari/channels/nope/answer") == (
        404, {"message": "Channel not found"})
    assert await rig.req("POST", "/ari/channels", params={"app": "hotline"}) == (
        400, {"message": "Endpoint must be specified"})
    assert await rig.req("POST", "/ari/channels", params={
        "app": "hotline", "endpoint": "PJSIP/nobody"}) == (500, {"error": "Allocation failed"})
    assert (await rig.req("GET", "/ari/no/such/thing"))[0] == 404
    status, body = await rig.req("DELETE", "/ari/channels/x", params={"reason": "bogus"})
    assert status == 400
    assert "reason" in body["message"]
    status, body = await rig.req("POST", "/ari/channels", data=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert status == 400
    assert "JSON" in body["message"]
    status, body = await rig.req("POST", "/ari/channels/x/variable", params={"value": "1"})
    assert (status, body) == (400, {"message": "Variable name is required"})
    assert (await rig.req("POST", "/sim/calls", data=b"[1,2"))[0] == 400
    assert (await rig.req("POST", "/sim/calls", json={"caller": 5}))[0] == 400
    assert (await rig.req("POST", "/sim/calls", json={"caller": "1", "exten": "999"}))[0] == 404
    assert rig.sim.stats()["bad_requests"] >= 7


async def test_auth_required(rig: Rig) -> None:
    async with aiohttp.ClientSession() as anon:
        async with anon.get(f"{rig.sim.base_url}/ari/channels") as resp:
            assert resp.status == 401
        async with anon.get(f"{rig.sim.base_url}/ari/channels",
                            params={"api_key": "hotline:wrong"}) as resp:
            assert resp.status == 401
        async with anon.get(f"{rig.sim.base_url}/ari/channels",
                            params={"api_key": "hotline:hotline"}) as resp:
            assert resp.status == 200
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await anon.ws_connect(f"{rig.sim.base_url}/ari/events?app=x")


@pytest.mark.looptime
async def test_reconcile_views_and_variables(rig: Rig) -> None:
    _, call = await rig.req("POST", "/sim/calls", json={"caller": "139", "exten": "12345"})
    await rig.req("POST", f"/ari/channels/{call['id']}/variable", json={
        "variable": "HOTLINE_ROLE", "value": "caller"})
    varset = await rig.next_event("ChannelVarset")
    assert varset["channel"]["channelvars"]["HOTLINE_ROLE"] == "caller"
    assert await rig.req("GET", f"/ari/channels/{call['id']}/variable",
                         params={"variable": "HOTLINE_ROLE"}) == (200, {"value": "caller"})
    await rig.req("POST", "/ari/bridges", params={"bridgeId": "bx", "type": "holding"})
    _, app = await rig.req("GET", "/ari/applications/hotline")
    assert app["channel_ids"] == [call["id"]]
    assert app["bridge_ids"] == ["bx"]
    _, chans = await rig.req("GET", "/ari/channels")
    assert [c["id"] for c in chans] == [call["id"]]
    _, bridges = await rig.req("GET", "/ari/bridges")
    assert bridges[0]["technology"] == "holding_bridge"
    _, info = await rig.req("GET", "/ari/asterisk/info")
    assert info["system"]["version"] == "22.10.1"


@pytest.mark.looptime
async def test_snoop_and_phone_dtmf(rig: Rig) -> None:
    _, call = await rig.req("POST", "/sim/calls", json={"caller": "139", "exten": "12345"})
    status, snoop = await rig.req("POST", f"/ari/channels/{call['id']}/snoop", params={
        "app": "hotline", "spy": "both", "snoopId": "s1"})
    assert (status, snoop["id"]) == (200, "s1")
    assert (await rig.req("POST", f"/ari/channels/{call['id']}/snoop",
                          params={"app": "hotline", "spy": "sideways"}))[0] == 400
    assert (await rig.req("POST", f"/sim/channels/{call['id']}/dtmf",
                          json={"digits": "12#"}))[0] == 204
    digits = [(await rig.next_event("ChannelDtmfReceived"))["digit"] for _ in range(3)]
    assert digits == ["1", "2", "#"]


async def test_dropped_websocket_is_cleaned_up_and_counted(rig: Rig) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as other:
        ws = await other.ws_connect(f"{rig.sim.base_url}/ari/events?app=other")
        assert "other" in rig.sim.pbx.apps
        ws._response.connection.transport.abort()  # type: ignore[union-attr]
        for _ in range(100):
            if "other" not in rig.sim.pbx.apps:
                break
            await asyncio.sleep(0.01)
    assert "other" not in rig.sim.pbx.apps
    assert rig.sim.stats()["ws_dropped"] >= 1
    assert rig.sim.stats()["ws_open"] == 1


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('channelvars = ["A"]\n[endpoints."PJSIP/x"]\nnever_answer = true\n'
                    '[dialplan.555]\napp = "other"\nargs = ["q"]\n')
    cfg = load_config(path)
    assert cfg.channelvars == ("A",)
    assert cfg.endpoints["PJSIP/x"].answer_after is None
    assert cfg.dialplan["555"].args == ("q",)
    path.write_text('[endpoints."nope"]\n')
    with pytest.raises(ConfigError):
        load_config(path)
