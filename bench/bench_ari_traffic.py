"""What one call costs in ARI traffic, and the engine's whole CPU for it, in real time.

    .venv/bin/python bench/bench_ari_traffic.py [--calls 300] [--rate 15] [--agents 100]
                                               [--talk 4] [--filters none,run]

The simulator runs in a child process (so this process is only the engine: websocket,
JSON parsing, REST client, the call flow), with Asterisk's own event stream: every event a
real call produces, full channel snapshots with the `channelvars`, a ChannelVarset per
variable set, BRIDGEPEER passes, RTPAUDIOQOS, connected-line updates, the Dial steps (the
simulator replays the recorded traces event for event, docs/pbxsim.md). Callers arrive at
`--rate` per second, agents answer after 1 s, callers hang up `--talk` s after the answer;
each call is greeted and recorded.

Printed for each event filter, per call: REST requests (and which), events received (and
which), bytes received on the websocket, the engine process's CPU and the pure core's
share of it. `--filters`: `none` (every event: the engine before the filter), `engine`
(only what the call flow reads), `run` (what `hotline run` asks for: the call flow's and
the KPI fold's types). The first one listed is the baseline of the printed ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_app.ari.client import AriClient  # noqa: E402
from ari_app.ari.connection import ConnectionState, SupervisedConnection  # noqa: E402
from ari_app.config.settings import Config, parse_config  # noqa: E402
from ari_app.domain.events import CallEnded, DomainEvent  # noqa: E402
from ari_app.shell.engine import Engine, ari_event_types  # noqa: E402

SIM = r"""
import asyncio, sys, time
from pathlib import Path
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing

agents, calls, rate, talk, rec = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), \
    float(sys.argv[4]), Path(sys.argv[5])

async def main():
    endpoints = {f"PJSIP/a{9000 + i}": EndpointBehaviour(1.0) for i in range(agents)}
    sim = Simulator(SimConfig(endpoints=endpoints, recordings_dir=rec, timing=Timing()))
    sim.config.wall_base = time.time() - asyncio.get_running_loop().time()
    url = await sim.start()
    print(url, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    t0 = loop.time()
    for i in range(calls):
        await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
        sim.place_call(f"139{i:08d}", "12345", talk=talk)
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    stats = sim.stats()
    print(stats["rest_requests"], stats["events"], stats.get("events_filtered", 0), flush=True)
    await sim.stop()

asyncio.run(main())
"""


def bench_config(agents: int) -> Config:
    return parse_config({
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 0.2,
                    "max_wait_seconds": 300, "greeting": ["sound:hello-world"],
                    "record": True}],
        "agents": [{"id": f"{9000 + i}", "endpoint": f"PJSIP/a{9000 + i}"}
                   for i in range(agents)],
    })


class Tally:
    def __init__(self, expected: int) -> None:
        self.outcomes: Counter[str] = Counter()
        self.expected = expected
        self.done = asyncio.Event()

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            self.outcomes[str(event.summary.outcome)] += 1
            if sum(self.outcomes.values()) >= self.expected:
                self.done.set()


def template(path: str) -> str:
    """`/channels/agent-9001-1795.3/dial` -> `/channels/{id}/dial` (ids hold digits)."""
    return "/".join("{id}" if any(c.isdigit() for c in p) else p for p in path.split("/"))


async def one_run(args: argparse.Namespace, mode: str, tmp: Path) -> dict[str, Any]:
    config = bench_config(args.agents)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HOTLINE_SIM_TIMING", None)
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before any call
        [sys.executable, "-c", SIM, str(args.agents), str(args.calls), str(args.rate),
         str(args.talk), str(tmp / mode)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    tally = Tally(args.calls)
    received: Counter[str] = Counter()
    nbytes = [0]
    async with AriClient(base, "hotline", "hotline", "hotline", timeout=60) as client:
        parse = client.parser.parse

        def counting(frame: str | bytes) -> Any:
            nbytes[0] += len(frame)
            event = parse(frame)
            if event is not None:
                received[event["type"]] += 1
            return event

        client.parser.parse = counting  # type: ignore[method-assign]
        requests: list[Any] = []
        engine = Engine(config, client, sinks=[tally], ring_period=lambda c: 5.0,
                        request_log=requests)
        types = None if mode == "none" else (
            engine.event_types if mode == "engine" else ari_event_types(engine))
        core_cpu = [0.0]
        inner = engine.core.on_event

        def timed(event: Any, now: float) -> Any:
            t = time.process_time()
            try:
                return inner(event, now)
            finally:
                core_cpu[0] += time.process_time() - t

        engine.core.on_event = timed  # type: ignore[method-assign]
        conn = SupervisedConnection(client, engine.on_event, engine.on_reconcile,
                                    event_types=types)
        async with conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 30)
            now = engine.now()
            for a in config.agents:
                engine._execute(engine.core.login(a.id, "", a.endpoint, now, verified=True), 0.0)
            await engine.quiesce()
            received.clear()
            nbytes[0] = 0
            requests.clear()
            engine.stats.requests = 0
            t_real, t_cpu = time.perf_counter(), time.process_time()
            proc.stdin.write("go\n")
            proc.stdin.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.done.wait(), args.calls / args.rate + 120)
            await engine.quiesce()
            await asyncio.sleep(0.5)  # the last events (a call's ChannelDestroyed...) arrive
            cpu = time.process_time() - t_cpu
            real = time.perf_counter() - t_real
        await engine.close()
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    sim_line = proc.stdout.readline().split()
    proc.wait(30)
    ended = sum(tally.outcomes.values())
    kinds = Counter(f"{r.method} {template(r.path)}" for r in requests)
    return {
        "mode": mode, "ended": ended, "outcomes": dict(tally.outcomes),
        "requests": len(requests), "request_kinds": kinds, "events": sum(received.values()),
        "event_kinds": received, "bytes": nbytes[0], "cpu": cpu, "core_cpu": core_cpu[0],
        "real": real, "filters_set": conn.stats.filters_set,
        "sim": sim_line,
    }


def report(r: dict[str, Any], base: dict[str, Any] | None) -> None:
    n = max(1, r["ended"])
    per = {
        "REST requests": r["requests"] / n,
        "events received": r["events"] / n,
        "KiB received": r["bytes"] / n / 1024,
        "engine CPU ms": r["cpu"] / n * 1e3,
    }
    print(f"\n== event filter: {r['mode']} ({r['ended']} calls ended {r['outcomes']}, "
          f"{r['real']:.0f} s real, filter set {r['filters_set']}x)")
    for name, value in per.items():
        line = f"  {name:16s} per call: {value:8.2f}"
        if base is not None:
            ref = {"REST requests": base["requests"], "events received": base["events"],
                   "KiB received": base["bytes"] / 1024, "engine CPU ms": base["cpu"] * 1e3}
            ref_per = ref[name] / max(1, base["ended"])
            line += f"   ({value / ref_per:.2f}x the {base['mode']} baseline)" if ref_per else ""
        print(line)
    print(f"  pure core: {r['core_cpu'] / n * 1e3:.2f} ms per call "
          f"({100 * r['core_cpu'] / max(r['cpu'], 1e-9):.1f} % of the engine's CPU)")
    print("  requests per call: " + ", ".join(
        f"{k} {v / n:.2f}" for k, v in sorted(r["request_kinds"].items())))
    print("  events per call: " + ", ".join(
        f"{k} {v / n:.1f}" for k, v in r["event_kinds"].most_common()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=15.0, help="new calls per second")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--talk", type=float, default=4.0, help="seconds talked after answer")
    parser.add_argument("--filters", default="none,run",
                        help="comma list of none, engine, run (the first is the baseline)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.filters.split(","):
            results.append(asyncio.run(one_run(args, mode, Path(tmp))))
    print(f"{args.calls} calls at {args.rate:g}/s, {args.agents} agents, talk {args.talk:g} s, "
          "recorded; the simulator in its own process")
    for r in results:
        report(r, results[0] if r is not results[0] else None)
    if args.json:
        args.json.write_text(json.dumps(
            [{k: (dict(v) if isinstance(v, Counter) else v) for k, v in r.items()}
             for r in results], indent=1))
    return 0 if all(r["ended"] == args.calls for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
