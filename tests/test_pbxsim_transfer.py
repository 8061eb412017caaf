"""Phone-initiated transfers (SIP REFER) in the simulator: Asterisk's own blind transfer,
PJSIP_TRANSFER_HANDLING=ari-only, Local channel pairs, the ringing race and the control API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pbxsim.config import ConfigError, EndpointBehaviour, SimConfig, load_config
from pbxsim.dialplan import PatternError, exten_matches
from pbxsim.server import Simulator
from pbxsim.timing import Timing

AUTH = {"Authorization": "Basic aG90bGluZTpob3RsaW5l"}  # hotline:hotline
Event = dict[str, Any]


class Rig:
    def __init__(self, sim: Simulator, http: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse) -> None:
        self.sim, self.http, self.ws = sim, http, ws

    async def req(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.sim.base_url}{path}", **kw) as resp:
            text = await resp.text()
            body = json.loads(text) if text and resp.content_type == "application/json" else text
            return resp.status, body

    async def until(self, done: Callable[[Event], bool], within: float = 60.0) -> list[Event]:
        """Events up to and including the first one `done` accepts."""
        seen: list[Event] = []

        async def read() -> list[Event]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                event: Event = json.loads(msg.data)
                seen.append(event)
                if done(event):
                    return seen
        return await asyncio.wait_for(read(), within)

    async def marker(self, channel_id: str) -> list[Event]:
        """Everything the simulator sent before a variable set now (proves absences)."""
        assert (await self.req("POST", f"/ari/channels/{channel_id}/variable",
                               params={"variable": "MARK", "value": "x"}))[0] == 204
        events = await self.until(lambda e: e.get("variable") == "MARK")
        return events[:-1]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec", timing=Timing()))
    await sim.start()
    async with aiohttp.ClientSession(headers=AUTH) as http:
        ws = await http.ws_connect(f"{sim.base_url}/ari/events?app=hotline")
        yield Rig(sim, http, ws)
        await ws.close()
    await sim.stop()


def _is(etype: str, channel: str | None = None) -> Callable[[Event], bool]:
    return lambda e: e["type"] == etype and (
        channel is None or e.get("channel", {}).get("id") == channel)


async def _bridged_call(rig: Rig) -> str:
    """Caller 13900001 in bridge `br` with agent1001 on channel `agent-1`, as in the traces."""
    status, body = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001", "exten": "12345", "caller_name": "Caller"})
    assert status == 201
    caller = str(body["id"])
    await rig.until(_is("StasisStart", caller))
    assert (await rig.req("POST", "/ari/channels/create", params={
        "endpoint": "PJSIP/agent1001", "app": "hotline", "appArgs": "agent",
        "channelId": "agent-1", "originator": caller}))[0] == 200
    assert (await rig.req("POST", "/ari/channels/agent-1/dial",
                          params={"caller": caller, "timeout": "20"}))[0] == 204
    await rig.until(lambda e: e["type"] == "Dial" and e["dialstatus"] == "ANSWER")
    assert (await rig.req("POST", f"/ari/channels/{caller}/answer"))[0] == 204
    assert (await rig.req("POST", "/ari/bridges",
                          params={"bridgeId": "br", "type": "mixing"}))[0] == 200
    assert (await rig.req("POST", "/ari/bridges/br/addChannel",
                          params={"channel": f"{caller},agent-1"}))[0] == 204
    await rig.marker(caller)
    return caller


@pytest.mark.looptime
async def test_core_blind_transfer_swaps_a_local_pair_into_the_bridge(rig: Rig) -> None:
    caller = await _bridged_call(rig)
    status, body = await rig.req("POST", "/sim/endpoints/PJSIP/agent1001/refer",
                                 json={"to": "1002"})
    assert status == 202
    assert (body["channel"], body["handling"]) == ("agent-1", "core")
    one, two = body["local_channels"]
    events = await rig.until(_is("BridgeBlindTransfer"))
    assert events[0]["type"] == "ChannelUnhold"
    assert events[0]["channel"]["id"] == "agent-1"
    names = {e["channel"]["id"]: e["channel"]["name"] for e in events if "channel" in e}
    assert [(e["channel"]["id"], e["value"]) for e in events
            if e.get("variable") == "BLINDTRANSFER"][:2] == [
        ("agent-1", names[caller]), (caller, names["agent-1"])]
    starts = {e["channel"]["id"]: e for e in events if e["type"] == "StasisStart"}
    assert starts[two]["args"] == ["transfer", "1002"]
    assert starts[two]["channel"]["state"] == "Ring"
    assert starts[two]["channel"]["dialplan"] == {
        "app_data": "hotline,transfer,1002", "app_name": "Stasis", "context": "agents",
        "exten": "1002", "priority": 1}
    assert starts[two]["channel"]["name"].endswith(";2")
    assert starts[one]["args"] == []
    assert starts[one]["replace_channel"]["id"] == "agent-1"
    transfer = events[-1]
    assert transfer["transferee"]["id"] == caller
    assert transfer["replace_channel"]["id"] == one
    assert transfer["replace_channel"]["dialplan"]["app_name"] == ""  # snapshot at creation
    assert transfer["bridge"]["channels"] == [caller, "agent-1"]  # the bridge before the swap
    assert (transfer["context"], transfer["exten"], transfer["is_external"],
            transfer["result"]) == ("agents", "1002", True, "Success")
    status, bridge = await rig.req("GET", "/ari/bridges/br")
    assert (bridge["channels"], bridge["technology"]) == ([caller, one], "simple_bridge")
    status, agent = await rig.req("GET", "/ari/channels/agent-1")
    assert status == 200
    assert agent["state"] == "Up"
    # The app dials the target with the ;2 half as originator: it gets the caller's identity.
    status, target = await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1002", "app": "hotline", "appArgs": "agent",
        "channelId": "agent-2", "originator": two})
    assert status == 200
    assert target["connected"] == {"name": "Caller", "number": "13900001"}
    await rig.until(_is("StasisStart", "agent-2"))
    assert (await rig.req("POST", "/ari/bridges",
                          params={"bridgeId": "xfer", "type": "mixing"}))[0] == 200
    assert (await rig.req("POST", "/ari/bridges/xfer/addChannel",
                          params={"channel": f"{two},agent-2"}))[0] == 204
    joined = await rig.marker(caller)
    assert [e["type"] for e in joined[:3]] == [
        "ChannelCallerId", "ChannelEnteredBridge", "ChannelVarset"]
    assert joined[0]["channel"]["caller"]["number"] == "13900001"
    assert (joined[2]["variable"], joined[2]["value"]) == ("BLINDTRANSFER", "")


@pytest.mark.looptime
async def test_hanging_up_one_local_half_hangs_up_the_other(rig: Rig) -> None:
    caller = await _bridged_call(rig)
    status, body = await rig.req("POST", "/sim/channels/agent-1/refer", json={"to": "1003"})
    assert status == 202
    one, two = body["local_channels"]
    await rig.marker(caller)
    assert (await rig.req("POST", f"/ari/channels/{two}/answer"))[0] == 204
    answered = await rig.marker(caller)
    assert [(e["channel"]["id"], e["channel"]["state"]) for e in answered
            if e["type"] == "ChannelStateChange"] == [(two, "Up"), (one, "Up")]
    assert (await rig.req("DELETE", f"/ari/channels/{two}"))[0] == 204
    events = await rig.marker(caller)
    about = [(e["type"], e["channel"]["id"], e.get("cause"), e.get("soft")) for e in events
             if e["type"] in ("ChannelHangupRequest", "StasisEnd", "ChannelDestroyed")]
    assert about == [("ChannelHangupRequest", two, 32, True), ("StasisEnd", two, None, None),
                     ("ChannelHangupRequest", one, 16, None), ("StasisEnd", one, None, None)]
    left = [e for e in events if e["type"] == "ChannelLeftBridge"]
    assert [e["channel"]["id"] for e in left] == [one]
    assert left[0]["bridge"]["channels"] == [caller]
    for half in (one, two):
        assert (await rig.req("GET", f"/ari/channels/{half}"))[0] == 404


@pytest.mark.looptime
async def test_ari_only_refer_is_reported_and_progress_is_up_to_the_app(rig: Rig) -> None:
    caller = await _bridged_call(rig)
    assert (await rig.req("POST", "/ari/channels/agent-1/variable", params={
        "variable": "PJSIP_TRANSFER_HANDLING()", "value": "ari-only"}))[0] == 204
    assert (await rig.req("GET", "/ari/channels/agent-1/variable", params={
        "variable": "PJSIP_TRANSFER_HANDLING()"}))[1] == {"value": "ari-only"}
    status, body = await rig.req("POST", "/sim/channels/agent-1/refer", json={"to": "1002"})
    assert (status, body["handling"], body["local_channels"]) == (202, "ari-only", [])
    events = await rig.marker(caller)
    first = events[0]
    assert first["type"] == "ChannelTransfer"
    assert "state" not in first
    assert first["refer_to"] == {"requested_destination": {"destination": "1002"}}
    by = first["referred_by"]
    assert (by["source_channel"]["id"], by["connected_channel"]["id"]) == ("agent-1", caller)
    assert by["bridge"]["technology"] == "native_rtp"
    assert all(e["type"] == "ChannelVarset" for e in events[1:])  # the bridge reconfigures
    assert (await rig.req("GET", "/ari/bridges/br"))[1]["technology"] == "simple_bridge"
    assert [e["type"] for e in events].count("StasisStart") == 0  # Asterisk does nothing else

    for state in ("channel_progress", "channel_declined"):
        assert (await rig.req("POST", "/ari/channels/agent-1/transfer_progress",
                              params={"states": state}))[0] == 204
        reported = await rig.marker(caller)
        assert [(e["type"], e["state"]) for e in reported] == [("ChannelTransfer", state)]
        assert reported[0]["referred_by"]["bridge"]["technology"] == "simple_bridge"
    # The REFER is over: later progress reports go nowhere.
    assert (await rig.req("POST", "/ari/channels/agent-1/transfer_progress",
                          params={"states": "channel_answered"}))[0] == 204
    assert await rig.marker(caller) == []
    assert (await rig.req("POST", "/ari/channels/agent-1/transfer_progress",
                          params={"states": "bogus"}))[0] == 400


@pytest.mark.looptime
async def test_refer_errors_are_clear_and_change_nothing(rig: Rig) -> None:
    caller = await _bridged_call(rig)
    checks = [
        ("/sim/channels/agent-1/refer", {}, 400),
        ("/sim/channels/agent-1/refer", {"to": 1002}, 400),
        ("/sim/channels/nope/refer", {"to": "1002"}, 404),
        ("/sim/endpoints/PJSIP/agent1003/refer", {"to": "1002"}, 404),  # no call
        ("/sim/endpoints/PJSIP/nobody/refer", {"to": "1002"}, 404),
        ("/sim/channels/agent-1/refer", {"to": "99"}, 404),  # not in [agents] _1XXX
    ]
    for path, payload, want in checks:
        status, body = await rig.req("POST", path, json=payload)
        assert (path, payload, status) == (path, payload, want)
        assert body["message"]
    status, _ = await rig.req("POST", "/sim/channels/agent-1/refer", data=b"{not json")
    assert status == 400
    assert await rig.marker(caller) == []
    # Out of the bridge, Asterisk's own handling has nothing to transfer.
    assert (await rig.req("POST", "/ari/bridges/br/removeChannel",
                          params={"channel": "agent-1"}))[0] == 204
    await rig.marker(caller)
    status, body = await rig.req("POST", "/sim/channels/agent-1/refer", json={"to": "1002"})
    assert status == 409
    assert "bridge" in body["message"]
    assert await rig.marker(caller) == []


@pytest.mark.looptime
async def test_refer_needs_an_answered_call(rig: Rig) -> None:
    rig.sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(answer_after=None))
    assert (await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1002", "app": "hotline", "channelId": "ringing"}))[0] == 200
    await rig.until(_is("ChannelStateChange", "ringing"))
    status, body = await rig.req("POST", "/sim/channels/ringing/refer", json={"to": "1003"})
    assert status == 409
    assert "answered" in body["message"]


@pytest.mark.looptime
@pytest.mark.parametrize(("order", "expected"), [
    ("dial_first", [("Dial", "", "Down"), ("ChannelStateChange", None, "Ringing"),
                    ("Dial", "RINGING", "Ringing")]),
    ("state_first", [("ChannelStateChange", None, "Ringing"), ("Dial", "", "Ringing"),
                     ("Dial", "RINGING", "Ringing")]),
    ("ringing_first", [("Dial", "", "Down"), ("Dial", "RINGING", "Down"),
                       ("ChannelStateChange", None, "Ringing")]),
])
async def test_phone_pins_the_ringing_race(rig: Rig, order: str,
                                           expected: list[tuple[str, str | None, str]]) -> None:
    status, body = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1002", json={
        "answer_after": 5, "ringing_order": order})
    assert (status, body["ringing_order"]) == (200, order)
    assert (await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1002", "app": "hotline", "channelId": "a2"}))[0] == 200
    events = await rig.until(lambda e: e["type"] == "Dial" and e["dialstatus"] == "RINGING")
    events += await rig.until(_is("ChannelStateChange"))
    got = [(e["type"], e.get("dialstatus"), (e.get("peer") or e["channel"])["state"])
           for e in events[:3]]
    assert got == expected


@pytest.mark.looptime
async def test_bad_ringing_order_is_refused(rig: Rig) -> None:
    status, body = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1002",
                                 json={"ringing_order": "sideways"})
    assert status == 400
    assert "ringing_order" in body["message"]


def test_ringing_order_and_transfer_pattern_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('transfer_pattern = "_2XX"\n'
                    '[endpoints."PJSIP/a"]\nringing_order = "state_first"\n')
    cfg = load_config(path)
    assert cfg.endpoints["PJSIP/a"].ringing_order == "state_first"
    assert cfg.transfer_pattern == "_2XX"
    path.write_text('[endpoints."PJSIP/a"]\nringing_order = "late"\n')
    with pytest.raises(ConfigError, match="ringing_order"):
        load_config(path)


def test_extension_patterns_as_asterisk_reads_them() -> None:
    assert exten_matches("_1XXX", "1002")
    assert not exten_matches("_1XXX", "2002")
    assert not exten_matches("_1XXX", "10021")
    assert exten_matches("_NXX", "299")
    assert not exten_matches("_NXX", "199")
    assert exten_matches("_Z!", "7")
    assert not exten_matches("_Z!", "0")
    assert exten_matches("_[13-5]X.", "4123")
    assert not exten_matches("_[13-5]X.", "41")
    assert exten_matches("12345", "12345")
    assert not exten_matches("12345", "1234")
    assert not exten_matches("_1X", "1*")
    with pytest.raises(PatternError):
        exten_matches("_1[23", "12")
    with pytest.raises(PatternError):
        exten_matches("_[5-1]", "3")
