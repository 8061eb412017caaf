"""The ARI connection cut again and again under live calls: reconnect downtime, lost and
stuck calls, and the old reconnect policy as baseline, in one run.

    .venv/bin/python bench/bench_reconnect.py [--calls 200] [--cuts 20] [--every 2.0]
                                              [--baseline-cuts 5]

The engine (`Engine` + `SupervisedConnection`, as `hotline run` wires them) on the PBX
simulator, in one process, on the **real clock** (no looptime: a reconnect's TCP handshake,
WebSocket upgrade and snapshot requests take the time they take). `--calls` callers stay
live throughout: agents answering after 1 s talk with them, 10 agents answer after 12 s
and 20 never do (ring-no-answer at 15 s, the call goes to the next: phones ring all the
time), and the rest wait in the queue. Then
the simulator cuts the event websocket `--cuts` times, `--every` s apart; right after each
cut a new caller dials in (the app is not registered: `Stasis()` fails, the dialplan's
fallback takes it; the simulator counts it as rejected). Printed per cut: downtime from the
cut to the app registered again (the new websocket open) and to reconciled (snapshot
handled, events flowing), then p50/p99/max; after the cuts, lost calls (a caller still on
the line the engine no longer knows, or a call the engine ended) and stuck calls (a call
the engine holds whose caller is gone, or an agent leg up while the engine still waits for
the answer); finally every caller hangs up and every call must end.

Baseline, same run, same engine and calls: the connection policy before this change (wait
`Backoff().delay(attempt)` after every drop, the attempt count reset only after 30 s up),
cut `--baseline-cuts` times at the same spacing (the issue's scenario: the delay grows cut
after cut; 20 such cuts would take minutes). The new policy runs with
`stable_after=--every/2`: each connection between cuts stayed up long enough to count as
good. The ratio printed is baseline mean downtime / new mean downtime (first cuts alike).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_app.ari.client import AriClient, EventSocket  # noqa: E402
from ari_app.ari.connection import ConnectionState, SupervisedConnection  # noqa: E402
from ari_app.ari.errors import AriError  # noqa: E402
from ari_app.callflow.call import CallState  # noqa: E402
from ari_app.config.settings import Config, parse_config  # noqa: E402
from ari_app.domain.events import CallEnded, DomainEvent  # noqa: E402
from ari_app.shell.engine import Engine  # noqa: E402
from pbxsim.config import EndpointBehaviour, SimConfig  # noqa: E402
from pbxsim.server import Simulator  # noqa: E402

TALKING_AGENTS = 90
RINGING_AGENTS = 30


def bench_config() -> Config:
    agents = [{"id": f"{7000 + i}", "endpoint": f"PJSIP/a{7000 + i}"}
              for i in range(TALKING_AGENTS + RINGING_AGENTS)]
    return parse_config({
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 0.5,
                    "max_wait_seconds": 3600, "greeting": ["sound:hello-world"]}],
        "agents": agents,
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
    })


class OldPolicy(SupervisedConnection):
    """The reconnect loop as it was (git e02916b^): `backoff.delay(attempt)` after every
    drop, the first one included; attempt back to 0 only after `stable_after` s up."""

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        attempt = 0
        try:
            while not self._stop.is_set():
                await self._set_state(ConnectionState.CONNECTING)
                try:
                    socket = await self.client.connect_events()
                except AriError:
                    self.stats.failed_attempts += 1
                    await self._old_pause(attempt)
                    attempt += 1
                    continue
                self._socket = socket
                self.stats.connects += 1
                connected_at = loop.time()
                try:
                    if await self._reconcile():
                        await self._set_state(ConnectionState.CONNECTED)
                        await self._pump(socket)
                finally:
                    self._socket = None
                    await socket.close()
                if self._stop.is_set():
                    break
                self.stats.disconnects += 1
                if loop.time() - connected_at >= self.stable_after:
                    attempt = 0
                await self._old_pause(attempt)
                attempt += 1
        finally:
            await self._set_state(ConnectionState.STOPPED)

    async def _old_pause(self, attempt: int) -> None:
        delay = self.backoff.delay(attempt, self._rng.random())
        self.stats.delays.append(delay)
        await self._set_state(ConnectionState.BACKOFF)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)


class Ends:
    def __init__(self) -> None:
        self.ended: Counter[str] = Counter()
        self.ids: set[str] = set()

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            self.ended[str(event.summary.outcome)] += 1
            self.ids.add(event.summary.call_id)


class Registered:
    """Wraps the client's connect_events: the loop time each event socket opened."""

    def __init__(self, client: AriClient) -> None:
        self.times: list[float] = []
        self._connect = client.connect_events
        client.connect_events = self.connect  # type: ignore[method-assign]

    async def connect(self) -> EventSocket:
        socket = await self._connect()
        self.times.append(asyncio.get_running_loop().time())
        return socket


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def cut_series(sim: Simulator, conn: SupervisedConnection, reg: Registered,
                     cuts: int, every: float, callers: list[str], label: str,
                     gaps: list[tuple[float, float]] | None = None,
                     ) -> tuple[list[float], list[float]]:
    loop = asyncio.get_running_loop()
    to_registered: list[float] = []
    to_reconciled: list[float] = []
    for i in range(cuts):
        await asyncio.sleep(every)
        await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 120)
        opened = len(reg.times)
        t0 = loop.time()
        await sim.cut_websockets()
        callers.append(sim.place_call(f"1391{len(callers):07d}", "12345"))  # in the gap
        while len(reg.times) == opened or conn.state is not ConnectionState.CONNECTED:  # noqa: ASYNC110 - polled: 0.5 ms resolution
            await asyncio.sleep(0.0005)
        t2 = loop.time()
        to_registered.append(reg.times[opened] - t0)
        if gaps is not None:
            gaps.append((t0, reg.times[opened]))
        to_reconciled.append(t2 - t0)
        print(f"  {label} cut {i + 1:2d}: registered again after {to_registered[-1] * 1000:7.1f}"
              f" ms, reconciled after {to_reconciled[-1] * 1000:7.1f} ms"
              f" (wait chosen {conn.stats.delays[-1] * 1000:6.1f} ms)", flush=True)
    return to_registered, to_reconciled


def check_calls(sim: Simulator, engine: Engine, ends: Ends) -> tuple[list[str], list[str]]:
    """Lost: a caller on the line the engine forgot or ended. Stuck: a call the engine
    holds whose caller is gone, or an agent leg up while the engine waits for it."""
    alive = {c.id for c in sim.pbx.channels.values() if c.inbound and not c.gone}
    calls = engine.core.calls
    lost = sorted((alive - set(calls)) | ends.ids)
    stuck = sorted(cid for cid in calls if cid not in alive)
    for ch in sim.pbx.channels.values():
        if ch.gone or ch.state != "Up" or ch.variables.get("HOTLINE_ROLE") != "agent":
            continue
        call = calls.get(ch.variables.get("HOTLINE_CALL_ID", ""))
        if call is not None and call.state is CallState.QUEUED:
            stuck.append(call.call_id)
    return lost, stuck


async def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    config = bench_config()
    tmp = Path(tempfile.mkdtemp(prefix="bench-reconnect-"))
    sim = Simulator(SimConfig(recordings_dir=tmp / "rec"))
    base = await sim.start()
    for i in range(TALKING_AGENTS + RINGING_AGENTS):
        # talking; ringing then answering (12 s, before RONA at 15 s); never answering
        answer = 1.0 if i < TALKING_AGENTS else 12.0 if i < TALKING_AGENTS + 10 else None
        sim.set_endpoint(f"PJSIP/a{7000 + i}", EndpointBehaviour(answer, False, False))
    ends = Ends()
    callers: list[str] = []
    async with AriClient(base, "hotline", "hotline", "hotline", timeout=60) as client:
        reg = Registered(client)
        engine = Engine(config, client, sinks=[ends], clock=sim.pbx.wall)
        for i in range(TALKING_AGENTS + RINGING_AGENTS):
            agent = f"{7000 + i}"
            engine._execute(engine.core.login(agent, "", f"PJSIP/a{agent}", engine.now(),
                                              verified=True), 0.0)
        t_start = time.perf_counter()
        new = SupervisedConnection(client, engine.on_event, engine.on_reconcile,
                                   stable_after=args.every / 2)
        await new.__aenter__()
        await asyncio.wait_for(new.wait_for_state(ConnectionState.CONNECTED), 30)
        for i in range(args.calls):
            callers.append(sim.place_call(f"1390{i:07d}", "12345"))
            await asyncio.sleep(0.01)
        await asyncio.sleep(3)
        await engine.quiesce()
        states = Counter(str(c.state) for c in engine.core.calls.values())
        ringing = sum(1 for c in sim.pbx.channels.values() if not c.gone and c.state == "Ringing")
        print(f"live calls before the cuts: {len(engine.core.calls)} {dict(states)};"
              f" agent phones ringing: {ringing}")

        print(f"new policy: {args.cuts} cuts, {args.every} s apart"
              f" (stable_after {args.every / 2} s)")
        reg_new, rec_new = await cut_series(sim, new, reg, args.cuts, args.every, callers, "new")
        await asyncio.sleep(3)
        await engine.quiesce()
        lost, stuck = check_calls(sim, engine, ends)
        stats_new = new.stats
        await new.__aexit__(None, None, None)

        old = OldPolicy(client, engine.on_event, engine.on_reconcile)
        await old.__aenter__()
        print(f"baseline (old policy): {args.baseline_cuts} cuts, {args.every} s apart")
        gaps: list[tuple[float, float]] = []
        reg_old, _ = await cut_series(sim, old, reg, args.baseline_cuts, args.every,
                                            callers, "old", gaps)
        answered_in_gaps = sum(
            1 for c in sim.pbx.channels.values()
            if c.variables.get("HOTLINE_ROLE") == "agent" and c.answered_at is not None
            and any(a <= c.answered_at <= b for a, b in gaps))
        await asyncio.sleep(3)
        await engine.quiesce()
        lost_b, stuck_b = check_calls(sim, engine, ends)

        live = [c for c in callers if c in sim.pbx.channels and not sim.pbx.channels[c].gone]
        for cid in live:
            sim.phone_hangup(cid)
        deadline = time.monotonic() + 30
        wrapping = engine.core.flow.ending.wrapping  # summaries wait for the wrap-up
        while (engine.core.calls or wrapping or sim.pbx.live_channel_count()) and (  # noqa: ASYNC110
                time.monotonic() < deadline):
            await asyncio.sleep(0.1)
        await engine.quiesce()
        left_engine, left_sim = len(engine.core.calls), sim.pbx.live_channel_count()
        await old.__aexit__(None, None, None)
        await engine.close()
        elapsed = time.perf_counter() - t_start
    await sim.stop()

    rejected = sim.pbx.stats.inbound_rejected
    n = len(reg_new)
    print()
    print(f"downtime per cut, new policy ({n} cuts), real clock:")
    print(f"  cut -> registered: p50 {statistics.median(reg_new) * 1000:.1f} ms,"
          f" p99 {pct(reg_new, 0.99) * 1000:.1f} ms, max {max(reg_new) * 1000:.1f} ms")
    print(f"  cut -> reconciled: p50 {statistics.median(rec_new) * 1000:.1f} ms,"
          f" p99 {pct(rec_new, 0.99) * 1000:.1f} ms, max {max(rec_new) * 1000:.1f} ms")
    print(f"  connection counters: disconnects {stats_new.disconnects},"
          f" downtime total {stats_new.downtime_total * 1000:.1f} ms,"
          f" failed attempts {stats_new.failed_attempts}")
    print(f"baseline, old policy ({len(reg_old)} cuts): cut -> registered "
          + ", ".join(f"{x * 1000:.0f}" for x in reg_old) + " ms;"
          f" mean {statistics.mean(reg_old) * 1000:.0f} ms")
    first = reg_new[:len(reg_old)]
    ratio = statistics.mean(reg_old) / max(statistics.mean(first), 1e-9)
    print(f"ratio old/new mean downtime over the first {len(reg_old)} cuts: {ratio:.0f}x")
    print(f"agent answers inside the baseline's gaps (events lost, recovered by reconcile):"
          f" {answered_in_gaps}")
    print(f"callers arriving in a gap (took the dialplan's fallback): {rejected}")
    print(f"lost calls: {len(lost)} after the new policy's cuts, {len(lost_b)} after the"
          f" baseline's; stuck calls: {len(stuck)}, {len(stuck_b)}"
          + (f" (lost {lost[:5]}, stuck {stuck[:5]})" if lost or stuck else ""))
    print(f"after every caller hung up: engine calls left {left_engine},"
          f" simulator channels left {left_sim}; calls ended {sum(ends.ended.values())}"
          f" of {len(callers) - rejected} that reached the engine"
          f" {dict(ends.ended)}")
    print(f"bench wall time {elapsed:.0f} s")
    ok = (pct(reg_new, 0.99) < 0.5 and not lost and not stuck and not lost_b and not stuck_b
          and left_engine == 0 and left_sim == 0
          and sum(ends.ended.values()) == len(callers) - rejected)
    print("PASS" if ok else "FAIL", "(p99 < 0.5 s, 0 lost, 0 stuck, all calls ended)")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--baseline-cuts", type=int, default=5)
    sys.exit(asyncio.run(main(parser.parse_args())))
