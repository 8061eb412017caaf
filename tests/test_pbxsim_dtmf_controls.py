"""The simulator's controls for the post-call survey: a caller's scripted keys (`dtmf`),
who ends the talk (`hangup_by`), a phone that hangs up by itself (`hangup_after`) — their
events over the websocket, on the loop's clock, and their refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari_app.ari.spec import load_spec
from ari_app.domain.timestamps import parse_ari_timestamp
from pbxsim.config import ConfigError, SimConfig, load_config
from pbxsim.dtmf import DtmfPress
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

    async def until(self, etype: str, channel: str | None = None,
                    within: float = 300.0) -> dict[str, Any]:
        """Read events (kept in `events`) until one of `etype` (on `channel`)."""
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                event: dict[str, Any] = json.loads(msg.data)
                self.events.append(event)
                if event["type"] == etype and (
                        channel is None or event.get("channel", {}).get("id") == channel):
                    return event
        return await asyncio.wait_for(find(), within)

    async def barrier(self) -> list[dict[str, Any]]:
        """Every event sent so far: a fresh call's StasisStart comes after all of them."""
        start = len(self.events)
        _, marker = await self.req("POST", "/sim/calls", json={"caller": "1", "exten": "12345"})
        await self.until("StasisStart", marker["id"])
        return self.events[start:]

    def of(self, etype: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == etype
                and (channel is None or e.get("channel", {}).get("id") == channel)]

    async def answer_agent(self, endpoint: str, channel_id: str) -> None:
        """Create and dial an agent phone; returns once it answered."""
        assert (await self.req("POST", "/ari/channels/create", params={
            "endpoint": endpoint, "app": "hotline", "channelId": channel_id}))[0] == 200
        await self.until("StasisStart", channel_id)
        assert (await self.req("POST", f"/ari/channels/{channel_id}/dial",
                               params={"timeout": "30"}))[0] == 204
        while (await self.until("Dial"))["dialstatus"] != "ANSWER":
            pass

    async def bridge(self, bridge_id: str, *channels: str) -> None:
        assert (await self.req("POST", "/ari/bridges", params={"bridgeId": bridge_id}))[0] == 200
        assert (await self.req("POST", f"/ari/bridges/{bridge_id}/addChannel",
                               params={"channel": ",".join(channels)}))[0] == 204


async def _rig(tmp_path: Path, timing: Timing) -> AsyncIterator[Rig]:
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec", timing=timing))
    await sim.start()
    async with aiohttp.ClientSession(headers=AUTH) as http:
        ws = await http.ws_connect(f"{sim.base_url}/ari/events?app=hotline")
        yield Rig(sim, http, ws)
        await ws.close()
    await sim.stop()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async for r in _rig(tmp_path, Timing()):
        yield r


@pytest.fixture
async def racy(tmp_path: Path) -> AsyncIterator[Rig]:
    """Asterisk's asynchrony on: late StasisStart, REST answers before their events."""
    async for r in _rig(tmp_path, Timing(stasis_delay=0.05, random=True, seed=3, reorder=0.5)):
        yield r


def _t(event: dict[str, Any]) -> float:
    return parse_ari_timestamp(event["timestamp"])


async def _answered_call(rig: Rig, body: dict[str, Any], wait: float = 0.0) -> tuple[str, float]:
    """Place a call, let it wait `wait` s unanswered, answer it: (id, when it went Up)."""
    status, call = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001234", "exten": "12345", **body})
    assert status == 201, call
    await rig.until("StasisStart", call["id"])
    if wait:
        await asyncio.sleep(wait)  # the caller hears ringing that long (loop time)
    assert (await rig.req("POST", f"/ari/channels/{call['id']}/answer"))[0] == 204
    while (up := await rig.until("ChannelStateChange", call["id"]))["channel"]["state"] != "Up":
        pass
    return call["id"], _t(up)


# ------------------------------------------------------------------ dtmf


@pytest.mark.looptime
async def test_scripted_keys_arrive_one_event_per_digit_timed_from_the_answer(rig: Rig) -> None:
    caller, up = await _answered_call(rig, {"talk": 60, "dtmf": [
        {"after": 5, "digits": "12#", "duration_ms": 250},
        {"after": 2, "digits": "4"},
    ]}, wait=10.0)
    received = []
    for _ in range(4):
        received.append(await rig.until("ChannelDtmfReceived", caller))
    spec_fields = load_spec().event_fields("ChannelDtmfReceived")
    for event in received:
        assert set(event) == spec_fields  # type, timestamp, digit, duration_ms, channel, ...
        assert event["application"] == "hotline"
        assert event["asterisk_id"] == rig.sim.config.asterisk_id
        assert event["channel"]["id"] == caller
        assert event["channel"]["state"] == "Up"
    assert [(e["digit"], e["duration_ms"]) for e in received] == [
        ("4", 100), ("1", 250), ("2", 250), ("#", 250)]
    # Counted from the answer, not from the arrival 10 s earlier; each digit is reported at
    # its end (DTMF_END), the next one starts 0.1 s later.
    offsets = [_t(e) - up for e in received]
    assert offsets == pytest.approx([2.1, 5.25, 5.6, 5.95], abs=0.002)


@pytest.mark.looptime
async def test_nothing_is_keyed_before_the_answer_or_after_the_caller_is_gone(rig: Rig) -> None:
    status, call = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001234", "exten": "12345", "patience": 30,
        "dtmf": [{"after": 0, "digits": "9"}]})
    assert status == 201
    await rig.until("ChannelDestroyed", call["id"])  # abandoned unanswered after 30 s
    caller, up = await _answered_call(rig, {"talk": 3, "dtmf": [
        {"after": 1, "digits": "5"}, {"after": 4, "digits": "6"}]})
    gone = await rig.until("ChannelDestroyed", caller)
    assert _t(gone) - up == pytest.approx(3.0, abs=0.002)
    await asyncio.sleep(10)  # past every scripted key (loop time)
    seen = await rig.barrier()
    assert [e["digit"] for e in rig.of("ChannelDtmfReceived")] == ["5"]
    assert not [e for e in seen if e["type"] == "ChannelDtmfReceived"]


@pytest.mark.looptime
async def test_scripted_keys_keep_their_timing_with_asterisks_asynchrony_on(racy: Rig) -> None:
    caller, up = await _answered_call(racy, {"dtmf": [{"after": 3, "digits": "3*"}]})
    first = await racy.until("ChannelDtmfReceived", caller)
    second = await racy.until("ChannelDtmfReceived", caller)
    assert (first["digit"], second["digit"]) == ("3", "*")
    assert (_t(first) - up, _t(second) - up) == pytest.approx((3.1, 3.3), abs=0.002)


@pytest.mark.looptime
async def test_python_api_takes_the_same_script(rig: Rig) -> None:
    cid = rig.sim.place_call("13900001234", "12345", dtmf=[DtmfPress(1.5, "0", 80)])
    await rig.until("StasisStart", cid)
    assert (await rig.req("POST", f"/ari/channels/{cid}/answer"))[0] == 204
    up = await rig.until("ChannelStateChange", cid)
    key = await rig.until("ChannelDtmfReceived", cid)
    assert (key["digit"], key["duration_ms"]) == ("0", 80)
    assert _t(key) - _t(up) == pytest.approx(1.58, abs=0.002)


# ------------------------------------------------------------------ hangup_by


@pytest.mark.looptime
async def test_hangup_by_agent_ends_the_talk_on_the_agents_side_and_the_caller_stays(
        rig: Rig) -> None:
    caller, up = await _answered_call(rig, {"talk": 20, "hangup_by": "agent", "dtmf": [
        {"after": 25, "digits": "4"}]})
    await rig.answer_agent("PJSIP/agent1001", "ag1")
    await rig.bridge("b1", caller, "ag1")
    bye = await rig.until("ChannelHangupRequest")
    assert bye["channel"]["id"] == "ag1"
    assert "cause" not in bye  # the phone's BYE, as any far-end hangup
    assert _t(bye) - up == pytest.approx(20.0, abs=0.002)
    await rig.until("ChannelDestroyed", "ag1")
    key = await rig.until("ChannelDtmfReceived", caller)  # the caller is still there, keying
    assert _t(key) - up == pytest.approx(25.1, abs=0.002)
    assert not rig.of("ChannelHangupRequest", caller)
    status, chan = await rig.req("GET", f"/ari/channels/{caller}")
    assert (status, chan["state"]) == (200, "Up")
    _, bridge = await rig.req("GET", "/ari/bridges/b1")
    assert bridge["channels"] == [caller]
    assert (await rig.req("DELETE", f"/ari/channels/{caller}"))[0] == 204  # the app ends it
    assert (await rig.until("ChannelDestroyed", caller))["cause"] == 16


@pytest.mark.looptime
async def test_hangup_by_agent_without_a_bridged_phone_is_the_callers_hangup(rig: Rig) -> None:
    caller, up = await _answered_call(rig, {"talk": 8, "hangup_by": "agent"})
    bye = await rig.until("ChannelHangupRequest", caller)  # still queued: nobody to hang up
    assert "cause" not in bye
    assert _t(bye) - up == pytest.approx(8.0, abs=0.002)


@pytest.mark.looptime
async def test_hangup_by_caller_is_the_default_and_the_agent_stays(rig: Rig) -> None:
    caller, up = await _answered_call(rig, {"talk": 6})
    await rig.answer_agent("PJSIP/agent1002", "ag2")
    await rig.bridge("b2", caller, "ag2")
    gone = await rig.until("ChannelDestroyed", caller)
    assert _t(gone) - up == pytest.approx(6.0, abs=0.002)
    seen = await rig.barrier()
    assert not [e for e in rig.of("ChannelHangupRequest", "ag2") + seen
                if e["type"] == "ChannelHangupRequest" and e["channel"]["id"] == "ag2"]
    assert (await rig.req("GET", "/ari/channels/ag2"))[0] == 200


# ------------------------------------------------------------------ hangup_after


@pytest.mark.looptime
async def test_phone_with_hangup_after_hangs_up_that_long_after_answering(rig: Rig) -> None:
    status, behaviour = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1003", json={
        "answer_after": 3, "hangup_after": 7})
    assert (status, behaviour) == (200, {"answer_after": 3.0, "busy": False,
                                         "unavailable": False, "ringing_order": None,
                                         "hangup_after": 7.0})
    caller, _ = await _answered_call(rig, {})
    await rig.answer_agent("PJSIP/agent1003", "ag3")
    answered = rig.of("ChannelStateChange", "ag3")[-1]
    assert answered["channel"]["state"] == "Up"
    await rig.bridge("b3", caller, "ag3")
    bye = await rig.until("ChannelHangupRequest", "ag3")
    assert "cause" not in bye
    assert _t(bye) - _t(answered) == pytest.approx(7.0, abs=0.002)
    gone = await rig.until("ChannelDestroyed", "ag3")
    assert (gone["cause"], gone["cause_txt"]) == (16, "Normal Clearing")
    assert (await rig.req("GET", f"/ari/channels/{caller}"))[1]["state"] == "Up"


@pytest.mark.looptime
async def test_hangup_after_null_or_absent_never_hangs_up(rig: Rig) -> None:
    status, behaviour = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1004", json={
        "answer_after": 1, "hangup_after": None})
    assert (status, behaviour["hangup_after"]) == (200, None)
    _, behaviour = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1001", json={})
    assert behaviour["hangup_after"] is None
    await rig.answer_agent("PJSIP/agent1004", "ag4")
    await asyncio.sleep(3600)  # an hour of loop time
    seen = await rig.barrier()
    assert not [e for e in seen if e.get("channel", {}).get("id") == "ag4"
                and e["type"] in ("ChannelHangupRequest", "ChannelDestroyed")]


def test_hangup_after_in_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('[endpoints."PJSIP/agent1001"]\nhangup_after = 12.5\n')
    assert load_config(path).endpoints["PJSIP/agent1001"].hangup_after == 12.5
    path.write_text('[endpoints."PJSIP/agent1001"]\nhangup_after = -1\n')
    with pytest.raises(ConfigError, match="hangup_after"):
        load_config(path)


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("body", "message"), [
    ({"dtmf": "4"}, "dtmf must be a list"),
    ({"dtmf": {"after": 1, "digits": "4"}}, "dtmf must be a list"),
    ({"dtmf": [4]}, "dtmf[0]: expected"),
    ({"dtmf": [{"after": 1, "digits": "4"}, {"after": -1, "digits": "4"}]},
     "dtmf[1].after must be seconds >= 0"),
    ({"dtmf": [{"after": "1", "digits": "4"}]}, "dtmf[0].after: expected seconds"),
    ({"dtmf": [{"after": True, "digits": "4"}]}, "dtmf[0].after: expected seconds"),
    ({"dtmf": [{"digits": "4"}]}, "dtmf[0].after: expected seconds"),
    ({"dtmf": [{"after": 1, "digits": "12x"}]}, "'x' not DTMF"),
    ({"dtmf": [{"after": 1, "digits": "E"}]}, "'E' not DTMF"),
    ({"dtmf": [{"after": 1, "digits": ""}]}, "dtmf[0].digits must be a non-empty string"),
    ({"dtmf": [{"after": 1, "digits": 4}]}, "dtmf[0].digits must be a non-empty string"),
    ({"dtmf": [{"after": 1, "digits": "4", "duration_ms": 0}]}, "duration_ms must be"),
    ({"dtmf": [{"after": 1, "digits": "4", "when": 2}]}, "unknown key(s) when"),
    ({"hangup_by": "nobody"}, "hangup_by must be one of caller, agent"),
    ({"hangup_by": None}, "hangup_by must be one of caller, agent"),
])
async def test_bad_call_controls_are_refused_and_place_no_call(
        rig: Rig, body: dict[str, Any], message: str) -> None:
    status, answer = await rig.req("POST", "/sim/calls", json={
        "caller": "13900001234", "exten": "12345", **body})
    assert status == 400
    assert message in answer["message"]
    assert rig.sim.stats()["inbound_calls"] == 0
    assert rig.sim.stats()["channels"] == 0


@pytest.mark.parametrize("value", [-1, "5", True, [1]])
async def test_bad_hangup_after_is_refused(rig: Rig, value: Any) -> None:
    status, answer = await rig.req("PUT", "/sim/endpoints/PJSIP/agent1001",
                                   json={"hangup_after": value})
    assert (status, answer) == (400, {"message": "hangup_after must be seconds >= 0 or null"})
    assert rig.sim.pbx.endpoints["PJSIP/agent1001"].hangup_after is None


@pytest.mark.looptime
async def test_bad_phone_dtmf_sends_none_of_its_digits(rig: Rig) -> None:
    caller, _ = await _answered_call(rig, {})
    for body, message in (({"digits": "12x"}, "'x' not DTMF"),
                          ({"digits": "1", "duration_ms": "long"}, "duration_ms must be")):
        status, answer = await rig.req("POST", f"/sim/channels/{caller}/dtmf", json=body)
        assert status == 400
        assert message in answer["message"]
    await asyncio.sleep(5)
    seen = await rig.barrier()
    assert not [e for e in seen if e["type"] == "ChannelDtmfReceived"]
