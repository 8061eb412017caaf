"""pbxsim throughput and capacity: `.venv/bin/python bench/bench_pbxsim.py`.

Baseline (same run): bare authenticated ARI round trips (GET /ari/asterisk/ping).
Measured: channel set-ups (POST /channels/create + /dial + DELETE, events streamed to a
websocket client) per second, and >= 1,000 simulated calls held at once (peak, memory).
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing

AUTH = {"Authorization": "Basic aG90bGluZTpob3RsaW5l"}
PINGS = 600
SETUPS = 300
HELD = 1200


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # Timing pinned off: the set-ups dial at once, which HOTLINE_SIM_TIMING could refuse.
        sim = Simulator(SimConfig(recordings_dir=Path(tmp), timing=Timing()))
        sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(answer_after=None))
        base = await sim.start()
        events = 0

        async with aiohttp.ClientSession(headers=AUTH) as http:
            ws = await http.ws_connect(f"{base}/ari/events?app=hotline")

            async def read() -> None:
                nonlocal events
                async for _ in ws:
                    events += 1

            reader = asyncio.create_task(read())

            t0 = time.perf_counter()
            for _ in range(PINGS):
                async with http.get(f"{base}/ari/asterisk/ping") as resp:
                    await resp.read()
            ping_rate = PINGS / (time.perf_counter() - t0)

            t0 = time.perf_counter()
            for n in range(SETUPS):
                async with http.post(f"{base}/ari/channels/create", params={
                        "endpoint": "PJSIP/agent1001", "app": "hotline", "channelId": f"c{n}"},
                        json={"variables": {"HOTLINE_ROLE": "agent"}}) as resp:
                    assert resp.status == 200, await resp.text()
                async with http.post(f"{base}/ari/channels/c{n}/dial") as resp:
                    assert resp.status == 204
                async with http.delete(f"{base}/ari/channels/c{n}") as resp:
                    assert resp.status == 204
            setup_rate = SETUPS / (time.perf_counter() - t0)

            tracemalloc.start()
            rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t0 = time.perf_counter()
            ids = []
            for _ in range(HELD):
                async with http.post(f"{base}/sim/calls", json={
                        "caller": "13900001234", "exten": "12345"}) as resp:
                    ids.append((await resp.json())["id"])
            place_rate = HELD / (time.perf_counter() - t0)
            async with http.get(f"{base}/ari/channels") as resp:
                listed = len(await resp.json())
            traced, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for cid in ids:
                async with http.post(f"{base}/sim/channels/{cid}/hangup") as resp:
                    assert resp.status == 204
            stats = sim.stats()
            await ws.close()
            reader.cancel()
        await sim.stop()

    print(f"baseline  ARI ping round trips      {ping_rate:9.0f} /s")
    print(f"measured  channel set-ups (3 req)   {setup_rate:9.0f} /s"
          f"   ratio to baseline {setup_rate / ping_rate:.3f} (ideal ~0.333)")
    print(f"measured  inbound calls placed      {place_rate:9.0f} /s"
          f"   ratio to baseline {place_rate / ping_rate:.3f}")
    print(f"held at once: {listed} channels listed by GET /ari/channels, "
          f"peak {stats['peak_channels']}, events streamed {events}")
    print(f"memory for {HELD} held calls: {traced / 1024:.0f} KiB traced "
          f"({traced / HELD / 1024:.1f} KiB/call), max RSS {rss0} -> {rss1} KiB")
    assert listed >= 1000, listed


if __name__ == "__main__":
    asyncio.run(main())
