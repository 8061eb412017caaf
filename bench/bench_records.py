"""Records persistence speed: the batch writer into SQLite and PostgreSQL, and submit().

Run: `.venv/bin/python bench/bench_records.py [--records N]`

Each backend gets a fresh database (SQLite file in a temp dir; a throw-away database on
the PostgreSQL at 127.0.0.1:5432). Figures: records/s through `RecordWriter` (batches of
500, idempotent inserts), against a baseline of one transaction per record measured in the
same run; and the latency of `submit()` (the only cost call control pays) against a bare
`deque.append`, so the ratio shows what protection + bounding add. Last, the engine's
reaction time (event in -> first ARI request out, as the engine measures it) on the PBX
simulator in real time, with the records and MQTT sinks off, on, and off again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_app.ari.client import AriClient  # noqa: E402
from ari_app.ari.connection import ConnectionState, SupervisedConnection  # noqa: E402
from ari_app.config.settings import Config, MqttSettings, parse_config  # noqa: E402
from ari_app.domain.events import CallEnded  # noqa: E402
from ari_app.domain.passwords import hash_secret  # noqa: E402
from ari_app.domain.privacy import CallerNumberPolicy  # noqa: E402
from ari_app.mqtt.notifier import MqttNotifier  # noqa: E402
from ari_app.mqtt.sink import MqttEventSink  # noqa: E402
from ari_app.records import schema  # noqa: E402
from ari_app.records.sink import RecordsEventSink  # noqa: E402
from ari_app.records.store import write_batch  # noqa: E402
from ari_app.records.types import CallRecord, OfferRecord, Record  # noqa: E402
from ari_app.records.writer import RecordWriter  # noqa: E402
from ari_app.shell.engine import Engine  # noqa: E402
from pbxsim.config import EndpointBehaviour, SimConfig  # noqa: E402
from pbxsim.server import Simulator  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def make_records(n: int, tag: str) -> list[Record]:
    out: list[Record] = []
    for i in range(n // 2):
        at = T0 + timedelta(seconds=i)
        out.append(CallRecord(f"{tag}-{i}", "demo", "support", f"138{i:08d}", at, at, at,
                              "answered", 8.0, 92.0, 0.0, 10.0, "1001"))
        out.append(OfferRecord(f"{tag}-{i}", 1, "1001", f"ch{i}", at, at, at, at, 4.0, 1,
                               "answered"))
    return out


async def writer_rate(url: str, n: int, spool: Path) -> float:
    engine = schema.make_engine(url)
    schema.upgrade(engine)
    records = make_records(n, "w")
    async with RecordWriter(engine, spool, policy=CallerNumberPolicy("masked"),
                            queue_size=n + 1) as w:
        t0 = time.perf_counter()
        for r in records:
            w.submit(r)
        await w.wait_idle()
        elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(records) / elapsed


def row_by_row_rate(url: str, n: int) -> float:
    engine = schema.make_engine(url)
    records = make_records(n, "b")
    t0 = time.perf_counter()
    for r in records:
        with engine.begin() as conn:
            write_batch(conn, [r], "masked")
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return len(records) / elapsed


def latency_ns(op: Callable[[Record], None], records: list[Record]) -> list[int]:
    out = []
    clock = time.perf_counter_ns
    for r in records:
        t0 = clock()
        op(r)
        out.append(clock() - t0)
    return out


async def submit_latency(tmp: Path, n: int) -> tuple[list[int], list[int]]:
    engine = schema.make_engine(f"sqlite:///{tmp / 'lat.sqlite3'}")
    schema.upgrade(engine)
    records = make_records(n, "l")
    w = RecordWriter(engine, tmp / "lat.spool", policy=CallerNumberPolicy("masked"),
                     queue_size=n + 1)
    await w.start()
    ours = latency_ns(w.submit, records)
    await w.wait_idle()
    await w.stop()
    engine.dispose()
    base: deque[Record] = deque()
    baseline = latency_ns(base.append, records)
    return ours, baseline


def engine_config(agents: int) -> Config:
    pin = hash_secret("4321", iterations=1000)
    return parse_config({
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 0.0,
                    "greeting": ["sound:beep"]}],
        "agents": [{"id": f"{2000 + i}", "endpoint": f"PJSIP/agent{2000 + i}", "pin_hash": pin}
                   for i in range(agents)],
    })


async def engine_reaction(
    calls: int, tmp: Path, tag: str, *, records: bool, mqtt: bool
) -> list[float]:
    """Real time: the engine on the PBX simulator; per-event reaction (event in -> first
    request out, measured by the engine itself) with or without records + MQTT sinks."""
    config = engine_config(40)
    sim = Simulator(SimConfig(recordings_dir=tmp / f"rec-{tag}", sound_durations={"beep": 0.05},
                              endpoints={}))
    base = await sim.start()
    for a in config.agents:
        sim.set_endpoint(a.endpoint, EndpointBehaviour(0.1, False, False))
    db = schema.make_engine(f"sqlite:///{tmp / f'engine-{tag}.sqlite3'}")
    schema.upgrade(db)
    writer = RecordWriter(db, tmp / f"engine-{tag}.spool", policy=CallerNumberPolicy("masked"))
    notifier = MqttNotifier(MqttSettings(), site=f"bench{tag}")
    ended = 0
    done = asyncio.Event()

    class Counting:
        def publish(self, event: object) -> None:
            nonlocal ended
            if isinstance(event, CallEnded):
                ended += 1
                if ended >= calls:
                    done.set()

    sinks: list[Any] = [Counting()]
    if records:
        sinks.append(RecordsEventSink(writer, "demo"))
        await writer.start()
    if mqtt:
        sinks.append(MqttEventSink(notifier))
        await notifier.start()
    async with AriClient(base, "hotline", "hotline", config.engine.app) as client:
        engine = Engine(config, client, sinks=sinks, clock=sim.pbx.wall)
        async with SupervisedConnection(client, engine.on_event, engine.on_reconcile) as conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            for a in config.agents:
                engine.login(a.id, "4321", a.endpoint)
            engine.stats.reaction_seconds.clear()
            for i in range(calls):
                sim.place_call(f"1390{i:07d}", "12345", talk=0.3)
                await asyncio.sleep(0.02)
            await asyncio.wait_for(done.wait(), 300)
            await engine.close()
        reactions = list(engine.stats.reaction_seconds)
    if records:
        await asyncio.wait_for(writer.wait_idle(), 60)
        await writer.stop()
    if mqtt:
        await notifier.stop()
    await sim.stop()
    db.dispose()
    return reactions


def pct(xs: list[int], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] / 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--baseline-records", type=int, default=2_000)
    ap.add_argument("--calls", type=int, default=300, help="calls per engine run")
    args = ap.parse_args()
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            sqlite_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
            lite = await writer_rate(sqlite_url, args.records, tmp / "s1.spool")
            pg = await writer_rate(pg_url, args.records, tmp / "s2.spool")
            lite_1 = row_by_row_rate(sqlite_url, args.baseline_records)
            pg_1 = row_by_row_rate(pg_url, args.baseline_records)
            ours, base = await submit_latency(tmp, args.records)
            logging.disable(logging.WARNING)
            off = await engine_reaction(args.calls, tmp, "off", records=False, mqtt=False)
            rec = await engine_reaction(args.calls, tmp, "rec", records=True, mqtt=False)
            mq = await engine_reaction(args.calls, tmp, "mqtt", records=False, mqtt=True)
            on = await engine_reaction(args.calls, tmp, "on", records=True, mqtt=True)
            off2 = await engine_reaction(args.calls, tmp, "off2", records=False, mqtt=False)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"records (calls + offers): {args.records}; baseline: one transaction per record,"
          f" {args.baseline_records} records")
    print(f"SQLite      batch writer {lite:10.0f} rec/s   row-by-row {lite_1:8.0f} rec/s"
          f"   ratio {lite / lite_1:5.1f}x")
    print(f"PostgreSQL  batch writer {pg:10.0f} rec/s   row-by-row {pg_1:8.0f} rec/s"
          f"   ratio {pg / pg_1:5.1f}x")
    print(f"PostgreSQL / SQLite (batch writer): {pg / lite:.2f}")
    print(f"submit(): median {statistics.median(ours) / 1000:.2f} us, p99 {pct(ours, 0.99):.2f}"
          f" us, max {max(ours) / 1000:.1f} us;  deque.append: median"
          f" {statistics.median(base) / 1000:.2f} us, p99 {pct(base, 0.99):.2f} us;"
          f"  ratio (median) {statistics.median(ours) / statistics.median(base):.1f}x")
    off_all = off + off2
    m_off, m_on = statistics.median(off_all), statistics.median(on)
    p_off, p_on = pctf(off_all, 0.99), pctf(on, 0.99)
    print(f"engine reaction (event in -> first ARI request out), {args.calls} calls per run,"
          f" real time on pbxsim:")
    print(f"  sinks off (2 runs, {len(off_all)} reactions): median {m_off * 1e6:.0f} us,"
          f" p99 {p_off * 1e6:.0f} us")
    for label, xs in (("records only", rec), ("MQTT only", mq), ("records + MQTT", on)):
        print(f"  {label:15s} ({len(xs)} reactions): median {statistics.median(xs) * 1e6:.0f}"
              f" us, p99 {pctf(xs, 0.99) * 1e6:.0f} us")
    print(f"  ratio on/off: median {m_on / m_off:.2f}, p99 {p_on / p_off:.2f}")


def pctf(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]


if __name__ == "__main__":
    asyncio.run(main())
