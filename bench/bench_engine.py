"""Engine under load against the PBX simulator, on a fast-forwarded loop clock (looptime).

    .venv/bin/python bench/bench_engine.py [--rate 100] [--minutes 10] [--agents 1200]
                                           [--edges]

Callers arrive at `--rate` per second for `--minutes` of simulated time; every agent's
phone answers after 1 s; callers talk `--talk` s after being answered (the default keeps
1,000 calls live at 100 calls/s). Printed:
- calls placed / ended / lost / stuck, peak concurrent calls;
- engine reaction time, event received → first command sent (real time), p50/p99;
- engine CPU per call (time inside the pure core + the shell's command handling);
- memory per live call (tracemalloc over 2,000 bridged calls in a bare core);
- a baseline measured in the same run: orjson parsing of the same event frames, the
  least any ARI app must spend per event, and the ratio core-per-event / parse-per-event.

`--edges` runs the engine as `hotline run` wires it (`ari_app.shell.run.running`): SQLite
records, recordings index, journal, live KPI fold, and MQTT to 127.0.0.1:1883; the edges'
own CPU (journal + fold, per event) is printed separately.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import looptime
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_app.ari.client import AriClient  # noqa: E402
from ari_app.ari.connection import ConnectionState, SupervisedConnection  # noqa: E402
from ari_app.callflow.switchboard import Limits, Switchboard  # noqa: E402
from ari_app.config.hours import is_open  # noqa: E402
from ari_app.config.settings import (  # noqa: E402
    Config,
    DatabaseSettings,
    EngineSettings,
    MqttSettings,
    RecordingsSettings,
    parse_config,
)
from ari_app.domain.events import CallEnded, DomainEvent  # noqa: E402
from ari_app.shell.engine import Engine  # noqa: E402
from pbxsim.config import EndpointBehaviour, SimConfig  # noqa: E402
from pbxsim.server import Simulator  # noqa: E402


def bench_config(agents: int) -> Config:
    return parse_config(
        {
            "queues": [
                {
                    "name": "support",
                    "numbers": ["12345"],
                    "wrapup_seconds": 0.5,
                    "max_wait_seconds": 300,
                    "greeting": ["sound:hello-world"],
                }
            ],
            "agents": [
                {"id": f"{9000 + i}", "endpoint": f"PJSIP/a{9000 + i}"} for i in range(agents)
            ],
        }
    )


FOLD_CPU = [0.0]  # the live KPI fold's CPU seconds (with --edges)


class Tally:
    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.done = asyncio.Event()
        self.expected = -1

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            self.outcomes[str(event.summary.outcome)] += 1
            if sum(self.outcomes.values()) == self.expected:
                self.done.set()


class CpuMeter:
    """Wraps the engine's entry points to add up the CPU they use."""

    def __init__(self, engine: Engine) -> None:
        self.seconds = 0.0
        self.events = 0
        for name in ("handle_event", "_fire", "_execute"):
            setattr(engine, name, self._wrap(getattr(engine, name), name == "handle_event"))

    def _wrap(self, fn: Any, count: bool) -> Any:
        def timed(*args: Any) -> Any:
            t0 = time.process_time()
            try:
                return fn(*args)
            finally:
                self.seconds += time.process_time() - t0
                if count:
                    self.events += 1

        return timed


def edges_config(agents: int, data: Path) -> Config:
    """`bench_config` plus what `hotline run` needs for its edges, under `data`."""
    return bench_config(agents).model_copy(update={
        "engine": EngineSettings(data_dir=data),
        "database": DatabaseSettings(url=f"sqlite:///{data / 'hotline.sqlite3'}"),
        "recordings": RecordingsSettings(dir=data / "rec"),
        "mqtt": MqttSettings(enabled=True, host="127.0.0.1", port=1883),
    })


@contextlib.asynccontextmanager
async def bare_engine(
    config: Config, base: str, sinks: list[Any], clock: Any, on_event: Any
) -> AsyncIterator[Engine]:
    """The engine and its event connection only (no records, journal, KPIs or MQTT)."""
    async with AriClient(base, "hotline", "hotline", "hotline", timeout=600) as client:
        engine = Engine(config, client, sinks=sinks, clock=clock, ring_period=lambda c: 5.0)

        async def feed(event: dict[str, Any]) -> None:
            on_event(event)
            engine.handle_event(event)

        async with SupervisedConnection(client, feed, engine.on_reconcile) as conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            yield engine
        await engine.close()


@contextlib.asynccontextmanager
async def wired_engine(
    config: Config, base: str, sinks: list[Any], clock: Any, on_event: Any
) -> AsyncIterator[Engine]:
    """The engine as `hotline run` wires it, edges and all (no HTTP server)."""
    from ari_app.records.schema import make_engine, upgrade
    from ari_app.shell.run import running

    db = make_engine(config.database.url)
    upgrade(db)
    db.dispose()
    async with running(config, ari_url=base, api=False, extra_sinks=sinks, clock=clock) as r:
        inner = r.kpi.append

        def fold(event: Any) -> None:
            on_event(event)
            t0 = time.process_time()
            inner(event)
            FOLD_CPU[0] += time.process_time() - t0

        r.kpi.append = fold  # type: ignore[method-assign]
        yield r.engine


async def load(args: argparse.Namespace, recordings: Path) -> dict[str, Any]:
    config = bench_config(args.agents)
    if args.edges:
        config = edges_config(args.agents, recordings / "edges")
        recordings = config.recordings.dir
    endpoints = {a.endpoint: EndpointBehaviour(1.0) for a in config.agents}
    sim = Simulator(SimConfig(endpoints=endpoints, recordings_dir=recordings))
    base = await sim.start()
    tally = Tally()
    frames: list[bytes] = []

    def on_event(event: dict[str, Any]) -> None:
        if len(frames) < 20_000:
            frames.append(orjson.dumps(event))

    start = wired_engine if args.edges else bare_engine
    async with start(config, base, [tally], sim.pbx.wall, on_event) as engine:
        meter = CpuMeter(engine)
        now = engine.now()
        for a in config.agents:
            engine._execute(engine.core.login(a.id, "", a.endpoint, now, verified=True), 0.0)
        total = int(args.rate * args.minutes * 60)
        tally.expected = total
        peak = 0
        loop = asyncio.get_running_loop()
        t_real, t_cpu, t_loop = time.perf_counter(), time.process_time(), loop.time()
        for i in range(total):
            sim.place_call(f"139{i:08d}", "12345", talk=args.talk)
            if i % 100 == 0:
                peak = max(peak, engine.live_calls())
                if i % (int(args.rate) * 60) == 0:
                    print(
                        f"  {i // int(args.rate)} s simulated, {engine.live_calls()} live,"
                        f" {time.perf_counter() - t_real:.0f} s real",
                        flush=True,
                    )
            await asyncio.sleep(1 / args.rate)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), 600)
        await engine.quiesce()
        real = time.perf_counter() - t_real
        cpu = time.process_time() - t_cpu
        simulated = loop.time() - t_loop
        ended = sum(tally.outcomes.values())
        result = {
            "placed": total,
            "ended": ended,
            "lost": total - ended,
            "stuck": engine.live_calls(),
            "sim_channels_left": sim.stats()["channels"],
            "outcomes": dict(tally.outcomes),
            "peak_live_calls": peak,
            "reaction": list(engine.stats.reaction_seconds),
            "engine_cpu": meter.seconds,
            "engine_events": meter.events,
            "process_cpu": cpu,
            "real": real,
            "simulated": simulated,
            "requests": engine.stats.requests,
            "request_errors": engine.stats.request_errors,
            "counters": dict(engine.core.counters),
            "frames": frames,
            "fold_cpu": FOLD_CPU[0],
        }
    await sim.stop()
    return result


def memory_per_call(n: int = 2000) -> float:
    """Bytes the core holds per bridged call (plus two loop timer handles per call)."""
    from tests.callflow_rig import channel

    config = bench_config(n)
    core = Switchboard(config, ring_period=lambda c: 5.0, is_open=is_open, limits=Limits())
    for a in config.agents:
        core.login(a.id, "", a.endpoint, 0.0, verified=True)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    keep = []
    for i in range(n):
        cid = f"17953{i:05d}.{i}"
        keep += core.on_event(
            {"type": "StasisStart", "args": ["support"], "channel": channel(cid, f"139{i:08d}")},
            1.0,
        )
        leg = next(c for c in keep[-4:] if hasattr(c, "endpoint")).channel_id  # type: ignore[attr-defined]
        keep += core.on_event(
            {"type": "ChannelStateChange", "channel": {"id": leg, "state": "Up"}}, 2.0
        )
        keep += core.on_event({"type": "PlaybackFinished", "playback": {"id": f"greet-{cid}"}}, 3.0)
        keep = [c for c in keep if type(c).__name__ not in ("Publish",)][-8:]
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(core.calls) == n
    used = sum(s.size_diff for s in after.compare_to(before, "filename"))
    timer_handles = 2 * 200  # the shell's asyncio.TimerHandle objects, ~200 B each (generous)
    return used / n + timer_handles


def baseline_parse(frames: list[bytes]) -> float:
    t0 = time.process_time()
    for _ in range(5):
        for f in frames:
            orjson.loads(f)
    return (time.process_time() - t0) / (5 * max(1, len(frames)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="new calls per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    parser.add_argument("--agents", type=int, default=1200)
    parser.add_argument("--talk", type=float, default=9.5,
                        help="seconds talked after answer (9.5: 1,000 calls live at 100/s)")
    parser.add_argument("--edges", action="store_true",
                        help="records, recordings index, journal, live KPIs and MQTT on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        loop = looptime.new_event_loop()
        try:
            r = loop.run_until_complete(load(args, Path(tmp)))
        finally:
            loop.close()
    reaction = sorted(r["reaction"])
    p50 = statistics.quantiles(reaction, n=100)[49] if len(reaction) > 100 else float("nan")
    p99 = statistics.quantiles(reaction, n=100)[98] if len(reaction) > 100 else float("nan")
    per_event_core = r["engine_cpu"] / max(1, r["engine_events"])
    parse = baseline_parse(r["frames"])
    mem = memory_per_call()
    print(
        f"load: {args.rate:.0f} calls/s for {args.minutes:g} simulated min "
        f"({r['simulated']:.0f} s simulated in {r['real']:.0f} s real), {args.agents} agents, "
        + ("edges on (SQLite records, recordings index, journal, live KPIs, MQTT)"
           if args.edges else "edges off")
    )
    print(
        f"calls: placed {r['placed']}, ended {r['ended']}, lost {r['lost']}, "
        f"stuck {r['stuck']}, simulator channels left {r['sim_channels_left']}, "
        f"peak live {r['peak_live_calls']}"
    )
    print(
        f"outcomes: {r['outcomes']}; requests {r['requests']} ({r['request_errors']} errors); "
        f"core counters {r['counters']}"
    )
    print(
        f"reaction (event in -> first command sent): p50 {p50 * 1e3:.2f} ms, "
        f"p99 {p99 * 1e3:.2f} ms over {len(reaction)} samples (target p99 <= 10 ms)"
    )
    print(
        f"engine CPU: {r['engine_cpu'] / max(1, r['ended']) * 1e3:.3f} ms per call, "
        f"{per_event_core * 1e6:.1f} us per event; whole process (simulator, HTTP, WS) "
        f"{r['process_cpu'] / max(1, r['ended']) * 1e3:.2f} ms per call"
    )
    if args.edges:
        print(f"live KPI fold: {r['fold_cpu'] / max(1, r['engine_events']) * 1e6:.1f} us per event")
    print(
        f"baseline: orjson parse {parse * 1e6:.1f} us per event -> engine/baseline "
        f"ratio {per_event_core / parse:.1f}x"
    )
    print(f"memory per live call: {mem / 1024:.1f} KB (target <= 20 KB)")
    return 0 if r["lost"] == 0 and r["stuck"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
