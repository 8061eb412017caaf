"""Call-key routing over the real traces, and per-call ordered, concurrent dispatch."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

import orjson
import pytest

from tests.ari_support.callkey import NO_CALL, CallRouter, local_base, snooped_channel_id
from tests.ari_support.dispatcher import Dispatcher
from tests.ari_support.replay import load_trace
from tests.conftest import TRACES

Event = dict[str, Any]
CALL_TRACES = [
    "full_call", "caller_abandon_while_ringing", "supervisor_spy",
    "agent_phone_transfer_ari_only", "agent_phone_blind_transfer",
    "inbound_answer_playback_hangup",
]


def call_trace(name: str) -> tuple[str, list[Event], list[Event]]:
    events, probes = load_trace(TRACES / f"{name}.jsonl")
    call = next(e["channel"]["id"] for e in events if e["type"] == "StasisStart")
    return call, events, probes


def register_client_ids(router: CallRouter, probes: list[Event], call: str) -> None:
    """What the engine does before each request: register the ids it chose."""
    for p in probes:
        params = p["params"]
        for key in ("channelId", "snoopId"):
            if key in params:
                router.register_channel(params[key], call)
        if "bridgeId" in params:
            router.register_bridge(params["bridgeId"], call)
        if "playbackId" in params:
            router.register_playback(params["playbackId"], call)


def test_name_helpers() -> None:
    assert local_base("Local/1002@agents-00000003;2") == "Local/1002@agents-00000003"
    assert local_base("PJSIP/agent1001-0000001e") is None
    assert snooped_channel_id("Snoop/agent-1001-1795389344.28-00000001") == \
        "agent-1001-1795389344.28"
    assert snooped_channel_id("PJSIP/x-1") is None


@pytest.mark.parametrize("name", CALL_TRACES)
def test_every_event_of_a_trace_routes_to_its_call(name: str) -> None:
    call, events, probes = call_trace(name)
    router = CallRouter()
    register_client_ids(router, probes, call)
    keys = [router.key_for(e) for e in events]
    stray = [(e["type"], k) for e, k in zip(events, keys, strict=True) if k != call]
    if name == "agent_phone_blind_transfer":
        # the Local ;2 half enters Stasis before anything links it to the call (documented)
        assert stray == [("StasisStart", "1795389552.42")]
    else:
        assert stray == []


def test_snoop_and_local_channels_found_without_registration() -> None:
    call, events, _ = call_trace("supervisor_spy")
    router = CallRouter()
    router.register_channel("sup-" + call, call)  # supervisor leg has no HOTLINE_CALL_ID
    router.register_bridge("spy-" + call, call)
    keys = {e["channel"]["id"]: router.key_for(e) for e in events
            if e["type"] == "StasisStart"}
    assert keys["snoop-agent-1001-" + call] == call  # from its name Snoop/<spied>-n
    call, events, _ = call_trace("agent_phone_blind_transfer")
    router = CallRouter()
    keys = {}
    for e in events:
        key = router.key_for(e)
        if e["type"] == "ChannelLeftBridge":
            keys[e["channel"]["id"]] = key
    assert keys["1795389552.42"] == call  # the ;2 half, via its ;1 half's replace_channel


def test_router_drops_links_when_resources_end() -> None:
    for name in ("full_call", "caller_abandon_while_ringing", "agent_phone_transfer_ari_only"):
        call, events, probes = call_trace(name)
        router = CallRouter()
        register_client_ids(router, probes, call)
        for e in events:
            router.key_for(e)
        assert len(router) == 0, (name, router.channels, router.bridges)
    call, events, probes = call_trace("supervisor_spy")
    router = CallRouter()
    register_client_ids(router, probes, call)
    for e in events:
        router.key_for(e)
    assert router.channels == {"snoop-agent-1001-" + call: call}  # StasisEnd, no Destroyed
    assert router.forget_call(call) == 1
    assert len(router) == 0


def test_lingering_channels_are_bounded() -> None:
    router = CallRouter(linger_limit=100)
    for i in range(1000):
        snap = {"id": f"c{i}", "name": f"PJSIP/x-{i}", "channelvars": {"HOTLINE_CALL_ID": f"k{i}"}}
        router.key_for({"type": "StasisStart", "channel": snap})
        router.key_for({"type": "StasisEnd", "channel": snap})
    assert len(router) == 100
    assert "c999" in router.channels
    assert "c0" not in router.channels


def test_playback_and_recording_targets_route() -> None:
    router = CallRouter()
    router.register_bridge("br-1", "call-1")
    router.register_channel("chan-1", "call-1")
    pb = {"type": "PlaybackStarted", "playback": {"id": "p1", "target_uri": "channel:chan-1"}}
    rec = {"type": "RecordingStarted", "recording": {"name": "r1", "target_uri": "bridge:br-1"}}
    assert router.key_for(pb) == "call-1"
    assert router.key_for(rec) == "call-1"
    assert router.key_for({**pb, "type": "PlaybackFinished"}) == "call-1"
    assert "p1" not in router.playbacks
    unknown = {"type": "PlaybackStarted", "playback": {"id": "p9", "target_uri": "channel:zz"}}
    assert router.key_for(unknown) == "zz"
    assert router.key_for({"type": "EndpointStateChange", "endpoint": {}}) == NO_CALL


def interleave(streams: list[list[Event]], seed: int) -> list[Event]:
    """Merge several per-call streams in a random order that keeps each stream's order."""
    rng = random.Random(seed)
    cursors = [0] * len(streams)
    out: list[Event] = []
    live = [i for i, s in enumerate(streams) if s]
    while live:
        i = rng.choice(live)
        out.append(streams[i][cursors[i]])
        cursors[i] += 1
        if cursors[i] == len(streams[i]):
            live.remove(i)
    return out


def tagged_calls(n: int, router: CallRouter | None = None) -> list[list[Event]]:
    """n copies of full_call with every id made unique per copy (call key `c<i>`).

    Like the engine, registers the ids the app chose on `router` before "sending"."""
    call, events, probes = call_trace("full_call")
    streams = []
    for c in range(n):
        if router is not None:
            renamed = orjson.loads(orjson.dumps(probes).replace(call.encode(), f"c{c}".encode()))
            register_client_ids(router, renamed, f"c{c}")
        stream = []
        for seq, e in enumerate(events):
            copy = orjson.loads(orjson.dumps(e).replace(call.encode(), f"c{c}".encode()))
            copy["_seq"] = seq
            copy["_call"] = f"c{c}"
            stream.append(copy)
        streams.append(stream)
    return streams


@pytest.mark.looptime
async def test_order_per_call_under_concurrency() -> None:
    streams = tagged_calls(30)
    seen: dict[str, list[int]] = defaultdict(list)
    running = 0
    max_running = 0
    rng = random.Random(7)

    async def handler(key: str, event: Event) -> None:
        nonlocal running, max_running
        running += 1
        max_running = max(max_running, running)
        await asyncio.sleep(rng.random() * 0.05)
        seen[key].append(event["_seq"])
        assert key == event["_call"]
        running -= 1

    dispatcher = Dispatcher(handler)
    streams = tagged_calls(30, dispatcher.router)
    for event in interleave(streams, seed=3):
        assert dispatcher.submit(event)
    await asyncio.wait_for(dispatcher.drain(), 60)
    assert set(seen) == {f"c{c}" for c in range(30)}
    for key, order in seen.items():
        assert order == list(range(len(streams[0]))), key
    assert max_running > 1  # calls really ran concurrently
    assert dispatcher.stats.handler_errors == 0
    assert dispatcher.stats.handled == dispatcher.stats.dispatched == 30 * len(streams[0])
    assert dispatcher.active_calls == 0  # lanes are gone once drained: no leak


@pytest.mark.looptime
async def test_failing_and_slow_handlers_do_not_block_others() -> None:
    release = asyncio.Event()
    handled: dict[str, list[int]] = defaultdict(list)

    async def handler(key: str, event: Event) -> None:
        if key == "c0" and event["_seq"] == 2:
            await release.wait()  # call-0 is stuck
        if key == "c1" and event["_seq"] % 3 == 0:
            raise RuntimeError("handler bug")
        handled[key].append(event["_seq"])
        if all(len(handled[f"c{c}"]) == len(streams[c]) for c in range(2, 5)):
            others_done.set()

    others_done = asyncio.Event()
    dispatcher = Dispatcher(handler)
    streams = tagged_calls(5, dispatcher.router)
    for event in interleave(streams, seed=1):
        dispatcher.submit(event)

    await asyncio.wait_for(others_done.wait(), 10)
    assert handled["c0"] == [0, 1]
    assert dispatcher.active_calls == 1
    release.set()
    await asyncio.wait_for(dispatcher.drain(), 10)
    n = len(streams[0])
    assert handled["c0"] == list(range(n))
    assert handled["c1"] == [s for s in range(n) if s % 3]
    assert dispatcher.stats.handler_errors == len(range(0, n, 3))
    assert dispatcher.active_calls == 0


async def test_lanes_do_not_leak_over_many_calls() -> None:
    async def handler(key: str, event: Event) -> None:
        await asyncio.sleep(0)

    dispatcher = Dispatcher(handler)
    _, events, _ = call_trace("agent_ring_answer")
    for wave in range(20):
        for c in range(50):
            for e in events:
                copy = dict(e)
                copy["channel" if "channel" in e else "peer"] = {
                    **e.get("channel", e.get("peer")), "id": f"w{wave}-c{c}",
                    "channelvars": {}}
                dispatcher.submit(copy)
        await asyncio.wait_for(dispatcher.drain(), 10)
        assert dispatcher.active_calls == 0
    assert len(dispatcher._tasks) == 0
    assert dispatcher.stats.calls_started >= 1000
    assert len(dispatcher.router) == 0


async def test_rejections_and_unknown_types_are_counted() -> None:
    got: list[tuple[str, Event]] = []

    async def handler(key: str, event: Event) -> None:
        got.append((key, event))

    def picky_key(event: Event) -> str:
        if event.get("boom"):
            raise KeyError("no key")
        return "k"

    dispatcher = Dispatcher(handler, call_key=picky_key)
    assert not dispatcher.submit_frame(b"{oops")
    assert not dispatcher.submit_frame(b"[1]")
    assert not dispatcher.submit({"no": "type"})
    assert not dispatcher.submit("text")
    assert not dispatcher.submit({"type": "Dial", "boom": True})
    assert dispatcher.submit_frame(b'{"type": "Teleported"}')
    assert dispatcher.submit({"type": "StasisStart"})
    await asyncio.wait_for(dispatcher.drain(), 5)
    assert [e["type"] for _, e in got] == ["Teleported", "StasisStart"]
    s = dispatcher.stats
    assert (s.rejected, s.unknown_types, s.dispatched, s.handled) == (5, 1, 2, 2)


@pytest.mark.looptime
async def test_put_applies_backpressure() -> None:
    gate = asyncio.Event()

    async def handler(key: str, event: Event) -> None:
        await gate.wait()

    dispatcher = Dispatcher(handler, call_key=lambda e: e["k"], high_water=10)
    for i in range(10):
        dispatcher.submit({"type": "X", "k": str(i)})
    blocked = asyncio.create_task(dispatcher.put({"type": "X", "k": "late"}))
    await asyncio.sleep(1)
    assert not blocked.done()
    gate.set()
    await asyncio.wait_for(blocked, 5)
    await asyncio.wait_for(dispatcher.drain(), 5)
    assert dispatcher.stats.handled == 11


async def test_aclose_cancels_stuck_lanes() -> None:
    async def handler(key: str, event: Event) -> None:
        await asyncio.Event().wait()

    dispatcher = Dispatcher(handler, call_key=lambda e: "one")
    dispatcher.submit({"type": "A"})
    dispatcher.submit({"type": "B"})
    await asyncio.sleep(0)
    await asyncio.wait_for(dispatcher.aclose(), 5)
    assert dispatcher.active_calls == 0
    with pytest.raises(RuntimeError):
        dispatcher.submit({"type": "C"})
