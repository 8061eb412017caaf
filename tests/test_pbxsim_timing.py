"""The simulator's Asterisk asynchrony (pbxsim.timing): a created or originated channel
enters Stasis after the REST answer, operations meanwhile answer as Asterisk does
(races/create_dial_race, resource_channels.c's find_control), and the seeded modes
reproduce."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ari_app.domain.timestamps import parse_ari_timestamp
from pbxsim.config import ConfigError, EndpointBehaviour, SimConfig, load_config
from pbxsim.server import Simulator
from pbxsim.timing import ENV_VAR, Timing, TimingDraws, TimingError, parse_timing

AUTH = {"Authorization": "Basic aG90bGluZTpob3RsaW5l"}  # hotline:hotline
NOT_IN_STASIS = {"message": "Channel not in Stasis application"}
CREATE = {"endpoint": "PJSIP/agent1002", "app": "hotline", "appArgs": "agent"}
Event = dict[str, Any]


class Rig:
    def __init__(self, sim: Simulator, http: aiohttp.ClientSession,
                 ws: aiohttp.ClientWebSocketResponse) -> None:
        self.sim, self.http, self.ws = sim, http, ws
        self.events: list[Event] = []

    async def req(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(method, f"{self.sim.base_url}{path}", **kw) as resp:
            text = await resp.text()
            body = json.loads(text) if text and resp.content_type == "application/json" else text
            return resp.status, body

    async def create(self, channel_id: str, **extra: Any) -> Event:
        status, body = await self.req("POST", "/ari/channels/create",
                                      params={**CREATE, "channelId": channel_id, **extra})
        assert status == 200, body
        return dict(body)

    async def until(self, done: Callable[[Event], bool], within: float = 60.0) -> Event:
        async def read() -> Event:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                event: Event = json.loads(msg.data)
                self.events.append(event)
                if done(event):
                    return event
        return await asyncio.wait_for(read(), within)

    async def stasis_start(self, channel_id: str) -> Event:
        return await self.until(lambda e: e["type"] == "StasisStart"
                                and e["channel"]["id"] == channel_id)

    def types(self, channel_id: str) -> list[str]:
        return [e["type"] for e in self.events
                if e.get("channel", e.get("peer", {})).get("id") == channel_id]


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
    async for r in _rig(tmp_path, Timing(stasis_delay=0.05)):
        yield r


def _ts(event: Event) -> float:
    return parse_ari_timestamp(event["timestamp"])


@pytest.mark.looptime
async def test_dial_right_after_create_answers_409_until_stasis_start(rig: Rig) -> None:
    created = await rig.create("race-1")
    assert created["dialplan"]["app_name"] == ""
    assert await rig.req("POST", "/ari/channels/race-1/dial", params={"timeout": 5}) == (
        409, NOT_IN_STASIS)
    start = await rig.stasis_start("race-1")
    # As in the race trace: ChannelDialplan, STASISSTATUS, StasisStart, all after the answer.
    assert rig.types("race-1") == ["ChannelDialplan", "ChannelVarset", "StasisStart"]
    assert _ts(start) - parse_ari_timestamp(created["creationtime"]) == pytest.approx(
        0.05, abs=0.002)
    assert (await rig.req("POST", "/ari/channels/race-1/dial", params={"timeout": 5}))[0] == 204
    await rig.until(lambda e: e["type"] == "Dial" and e["dialstatus"] == "RINGING")


@pytest.mark.looptime
async def test_bridge_add_and_remove_channel_answer_422_before_stasis(rig: Rig) -> None:
    _, bridge = await rig.req("POST", "/ari/bridges", params={"type": "mixing"})
    await rig.create("race-2")
    path = f"/ari/bridges/{bridge['id']}"
    assert await rig.req("POST", f"{path}/addChannel", params={"channel": "race-2"}) == (
        422, NOT_IN_STASIS)
    assert await rig.req("POST", f"{path}/removeChannel", params={"channel": "race-2"}) == (
        422, NOT_IN_STASIS)
    await rig.stasis_start("race-2")
    assert (await rig.req("POST", f"{path}/addChannel", params={"channel": "race-2"}))[0] == 204


# Every operation that needs the app's control of the channel (find_control) answers 409.
NEEDS_STASIS = [
    ("POST", "answer", {}), ("POST", "ring", {}), ("DELETE", "ring", {}),
    ("POST", "progress", {}), ("POST", "hold", {}), ("DELETE", "hold", {}),
    ("POST", "moh", {}), ("POST", "silence", {}), ("POST", "mute", {}),
    ("POST", "dtmf", {"dtmf": "1"}), ("POST", "play", {"media": "sound:hello-world"}),
    ("POST", "record", {"name": "r1", "format": "wav"}),
    ("POST", "variable", {"variable": "HOTLINE_ROLE", "value": "agent"}),
    ("POST", "move", {"app": "hotline"}), ("POST", "continue", {}),
    ("POST", "redirect", {"endpoint": "PJSIP/agent1001"}),
]


@pytest.mark.looptime
@pytest.mark.parametrize(("method", "op", "params"), NEEDS_STASIS)
async def test_operations_needing_stasis_answer_409_before_stasis_start(
        rig: Rig, method: str, op: str, params: dict[str, str]) -> None:
    await rig.create("race-3")
    assert await rig.req(method, f"/ari/channels/race-3/{op}", params=params) == (
        409, NOT_IN_STASIS)
    await rig.stasis_start("race-3")


@pytest.mark.looptime
async def test_operations_without_stasis_work_before_stasis_start(rig: Rig) -> None:
    """GET, variable GET and snoop look the channel up by name (no 409 in the spec)."""
    await rig.create("race-4")
    assert (await rig.req("GET", "/ari/channels/race-4"))[0] == 200
    assert await rig.req("GET", "/ari/channels/race-4/variable",
                         params={"variable": "STASISSTATUS"}) == (404, {
                             "message": "Provided variable was not found"})
    status, snoop = await rig.req("POST", "/ari/channels/race-4/snoop",
                                  params={"app": "hotline", "spy": "both"})
    assert status == 200
    assert snoop["name"].startswith("Snoop/race-4-")


@pytest.mark.looptime
async def test_hangup_before_stasis_start_destroys_without_stasis_events(rig: Rig) -> None:
    await rig.create("race-5")
    assert (await rig.req("DELETE", "/ari/channels/race-5"))[0] == 204
    gone = await rig.until(lambda e: e["type"] == "ChannelDestroyed")
    assert rig.types("race-5") == ["ChannelHangupRequest", "ChannelDestroyed"]
    assert (gone["cause"], gone["tech_cause"]) == (16, 603)
    await asyncio.sleep(1.0)  # the cancelled Stasis entry never comes
    await rig.create("race-6")
    await rig.stasis_start("race-6")
    assert "StasisStart" not in rig.types("race-5")


@pytest.mark.looptime
async def test_hangup_of_created_channel_never_dialled_as_in_race_trace(rig: Rig) -> None:
    """races/create_dial_race, tries 7 and 38: the app hangs up a created channel that was
    never dialled; its thread hangs it up again after Stasis and PJSIP declines it (603)."""
    await rig.create("race-7")
    await rig.stasis_start("race-7")
    await rig.req("DELETE", "/ari/channels/race-7")
    await rig.until(lambda e: e["type"] == "ChannelDestroyed")
    tail = [e for e in rig.events if e["type"] != "ChannelDialplan"][-5:]
    assert [(e["type"], e.get("cause"), e.get("tech_cause"), e.get("soft")) for e in tail] == [
        ("ChannelHangupRequest", 32, None, True), ("StasisEnd", None, None, None),
        ("ChannelVarset", None, None, None), ("ChannelHangupRequest", 16, 603, None),
        ("ChannelDestroyed", 16, 603, None)]
    assert tail[2]["value"] == "SUCCESS"


@pytest.mark.looptime
async def test_originated_channel_enters_stasis_after_answer(rig: Rig) -> None:
    rig.sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(answer_after=3.0))
    status, _ = await rig.req("POST", "/ari/channels", params={
        "endpoint": "PJSIP/agent1001", "app": "hotline", "appArgs": "agent",
        "channelId": "orig-1"})
    assert status == 200
    answer = await rig.until(lambda e: e["type"] == "Dial" and e["dialstatus"] == "ANSWER")
    assert await rig.req("POST", "/ari/channels/orig-1/play",
                         params={"media": "sound:hello-world"}) == (409, NOT_IN_STASIS)
    start = await rig.stasis_start("orig-1")
    assert _ts(start) - _ts(answer) == pytest.approx(0.05, abs=0.002)
    assert (await rig.req("POST", "/ari/channels/orig-1/play",
                          params={"media": "sound:hello-world"}))[0] == 201


async def _stasis_order(tmp_path: Path, seed: int) -> tuple[list[str], list[float]]:
    """The order channels created back to back entered Stasis, and each one's delay."""
    timing = Timing(stasis_delay=0.2, random=True, seed=seed)
    async for r in _rig(tmp_path / str(seed), timing):
        created = {}
        for cid in (f"c{n}" for n in range(8)):
            created[cid] = parse_ari_timestamp((await r.create(cid))["creationtime"])
        for _ in created:
            await r.until(lambda e: e["type"] == "StasisStart")
        starts = [e for e in r.events if e["type"] == "StasisStart"]
        return ([e["channel"]["id"] for e in starts],
                [_ts(e) - created[e["channel"]["id"]] for e in starts])
    raise AssertionError("no rig")


@pytest.mark.looptime
async def test_random_stasis_delays_reproduce_with_the_same_seed(tmp_path: Path) -> None:
    order, delays = await _stasis_order(tmp_path / "a", 3)
    order_again, delays_again = await _stasis_order(tmp_path / "b", 3)
    other_order, _ = await _stasis_order(tmp_path / "c", 4)
    assert order == order_again
    assert delays == pytest.approx(delays_again, abs=0.002)
    assert all(0.0 <= d <= 0.202 for d in delays)
    assert order != [f"c{n}" for n in range(8)]  # reordered at all
    assert order != other_order


def test_draws_reproduce_and_stay_in_bounds() -> None:
    timing = Timing(stasis_delay=0.1, random=True, seed=7, reorder=0.5)
    a, b = TimingDraws(timing), TimingDraws(timing)
    delays = [a.stasis_delay() for _ in range(50)]
    assert delays == [b.stasis_delay() for _ in range(50)]
    assert all(0.0 <= d <= 0.1 for d in delays)
    orders = [a.answer_first() for _ in range(50)]
    assert orders == [b.answer_first() for _ in range(50)]
    assert 0 < sum(orders) < 50
    assert TimingDraws(Timing(stasis_delay=0.1, seed=7)).stasis_delay() == 0.1
    assert not TimingDraws(Timing()).answer_first()


async def test_reordered_answer_goes_out_before_its_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log: list[str] = []
    write_eof = web.Response.write_eof

    async def logged_write_eof(self: web.Response, data: bytes = b"") -> None:
        if "answer" not in log:
            log.append("answer")
        await write_eof(self, data)

    monkeypatch.setattr(web.Response, "write_eof", logged_write_eof)
    sequences = []
    for reorder in (0.0, 1.0):
        async for r in _rig(tmp_path / str(reorder), Timing(reorder=reorder)):
            client = r.sim._clients[0]
            put = client.queue.put_nowait

            def spy(event: Event | None, put: Callable[[Event | None], None] = put) -> None:
                log.append(event["type"] if event else "end")
                put(event)

            monkeypatch.setattr(client.queue, "put_nowait", spy)
            log.clear()
            await r.create("ro-1")
            await r.stasis_start("ro-1")
            sequences.append(list(log))
    in_order, answer_first = sequences
    assert in_order == ["ChannelDialplan", "ChannelVarset", "StasisStart", "answer"]
    assert answer_first == ["answer", "ChannelDialplan", "ChannelVarset", "StasisStart"]


def test_timing_from_env_config_file_and_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_timing("seed=3,stasis_delay=0.05,random=1") == Timing(0.05, True, 3, 0.0)
    assert parse_timing(" reorder=0.5 , seed=none ") == Timing(reorder=0.5)
    for bad in ("stasis_delay=-1", "random=maybe", "reorder=2", "speed=3", "seed"):
        with pytest.raises(TimingError):
            parse_timing(bad)
    monkeypatch.setenv(ENV_VAR, "seed=3,stasis_delay=0.05,random=1")
    assert SimConfig().timing == Timing(0.05, True, 3)
    assert SimConfig(timing=Timing()).timing == Timing()  # explicit wins
    path = tmp_path / "sim.toml"
    path.write_text("[timing]\nstasis_delay = 0.2\nseed = 9\n", encoding="utf-8")
    assert load_config(path).timing == Timing(0.2, False, 9)  # the file wins over the env
    path.write_text("[timing]\nstasis_delay = 'soon'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"timing\.stasis_delay"):
        load_config(path)
    monkeypatch.setenv(ENV_VAR, "stasis_delay=x")
    with pytest.raises(ConfigError, match=ENV_VAR):
        load_config(None)
    monkeypatch.delenv(ENV_VAR)
    assert SimConfig().timing == Timing()


@pytest.mark.looptime
async def test_control_api_sets_timing(tmp_path: Path) -> None:
    async for r in _rig(tmp_path, Timing()):
        assert await r.req("GET", "/sim/timing") == (200, Timing().as_json())
        await r.create("now-1")  # off: in Stasis before the answer
        assert (await r.req("POST", "/ari/channels/now-1/dial"))[0] == 204
        status, body = await r.req("PUT", "/sim/timing", json={"stasis_delay": 0.5, "seed": 1})
        assert (status, body) == (200, Timing(0.5, seed=1).as_json())
        assert r.sim.config.timing == Timing(0.5, seed=1)
        await r.create("late-1")
        assert (await r.req("POST", "/ari/channels/late-1/dial"))[0] == 409
        assert (await r.req("PUT", "/sim/timing", json={"stasis_delay": -1}))[0] == 400
        assert (await r.req("PUT", "/sim/timing", json={"jitter": 1}))[0] == 400
