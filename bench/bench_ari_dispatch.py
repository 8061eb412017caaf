"""ARI event dispatch throughput: parse + call-key routing + per-call ordered dispatch.

Builds a large interleaved stream of real event frames (the traces, ids varied per copy
so thousands of calls are in flight), pushes it through `Dispatcher.submit_frame` to a
trivial handler, and compares with plain `orjson.loads` of the same frames (baseline).
Run: .venv/bin/python bench/bench_ari_dispatch.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ari_support.dispatcher import Dispatcher  # noqa: E402
from tests.ari_support.replay import load_trace  # noqa: E402

TRACES = ROOT / "tests" / "data" / "ari" / "traces"
IDS = re.compile(rb"\d{10}\.\d+|agent-100\d-a|call-a")
TARGET = 20_000


def build(calls: int, batch: int = 8) -> tuple[list[bytes], list[tuple[str, str, str]]]:
    """Frames of `calls` calls interleaved a few events at a time, and the ids the app
    would register before its requests (kind, id, call key)."""
    scenarios = []
    for path in sorted(TRACES.glob("*.jsonl")):
        events, probes = load_trace(path)
        if events:
            params = [{"params": p["params"]} for p in probes]
            scenarios.append(([orjson.dumps(e) for e in events], orjson.dumps(params)))
    streams: list[list[bytes]] = []
    registrations: list[tuple[str, str, str]] = []
    for c in range(calls):
        frames, probes_raw = scenarios[c % len(scenarios)]
        suffix = f"-{c}".encode()

        def vary(raw: bytes, suffix: bytes = suffix) -> bytes:
            return IDS.sub(lambda m: m.group() + suffix, raw)

        stream = [vary(f) for f in frames]
        first = orjson.loads(stream[0])
        call_key = (first.get("channel") or first.get("peer") or {}).get("id", f"call-{c}")
        for p in orjson.loads(vary(probes_raw)):
            params = p["params"]
            for k, kind in (("channelId", "channel"), ("snoopId", "channel"),
                            ("bridgeId", "bridge"), ("playbackId", "playback")):
                if k in params:
                    registrations.append((kind, params[k], call_key))
        streams.append(stream)
    out: list[bytes] = []
    cursors = [0] * len(streams)
    live = list(range(len(streams)))
    while live:
        still = []
        for i in live:
            chunk = streams[i][cursors[i]:cursors[i] + batch]
            out.extend(chunk)
            cursors[i] += len(chunk)
            if cursors[i] < len(streams[i]):
                still.append(i)
        live = still
    return out, registrations


def bench_parse(frames: list[bytes]) -> float:
    loads = orjson.loads
    t0 = time.perf_counter()
    for f in frames:
        loads(f)
    return time.perf_counter() - t0


async def bench_dispatch(
    frames: list[bytes], registrations: list[tuple[str, str, str]], read_batch: int
) -> tuple[float, Dispatcher]:
    async def handler(key: str, event: Any) -> None:
        return None

    dispatcher = Dispatcher(handler)
    router = dispatcher.router
    register = {"channel": router.register_channel, "bridge": router.register_bridge,
                "playback": router.register_playback}
    for kind, ident, key in registrations:
        register[kind](ident, key)
    submit = dispatcher.submit_frame
    t0 = time.perf_counter()
    for start in range(0, len(frames), read_batch):
        for f in frames[start:start + read_batch]:
            submit(f)
        await asyncio.sleep(0)  # a socket reader yields between reads
    await dispatcher.drain()
    return time.perf_counter() - t0, dispatcher


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--read-batch", type=int, default=64,
                    help="frames handled per event-loop turn (a WebSocket read)")
    args = ap.parse_args()
    frames, registrations = build(args.calls)
    print(f"{len(frames)} frames, {args.calls} calls, {len(registrations)} registered ids")
    best_parse = min(bench_parse(frames) for _ in range(args.rounds))
    best_dispatch = float("inf")
    last: Dispatcher | None = None
    for _ in range(args.rounds):
        gc.collect()
        elapsed, last = asyncio.run(bench_dispatch(frames, registrations, args.read_batch))
        best_dispatch = min(best_dispatch, elapsed)
    assert last is not None
    s = last.stats
    if s.handled != len(frames) or s.rejected or s.handler_errors:
        print(f"dispatch lost or rejected events: {s}")
        return 1
    assert last.active_calls == 0
    parse_rate = len(frames) / best_parse
    dispatch_rate = len(frames) / best_dispatch
    print(f"baseline orjson.loads only : {parse_rate:12,.0f} events/s")
    print(f"parse+route+ordered dispatch: {dispatch_rate:12,.0f} events/s "
          f"(lanes started {s.calls_started}, max pending {s.max_pending})")
    print(f"ratio dispatch/baseline     : {dispatch_rate / parse_rate:.3f} "
          f"(baseline is {parse_rate / dispatch_rate:.1f}x faster)")
    verdict = "OK" if dispatch_rate >= TARGET else "BELOW"
    print(f"target >= {TARGET:,} events/s on one core: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
