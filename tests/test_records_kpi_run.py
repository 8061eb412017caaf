"""Must show: a simulated run of 1,000 calls (the whole engine on the PBX simulator,
fast-forwarded time) writes 1,000 call rows whose counts match `hotline kpi report` over
the journal of the same run's ARI events. (About 30 s of real time: 1,000 calls of
real HTTP and WebSocket traffic between the engine and the simulator.)"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from ari_app.ari.client import AriClient
from ari_app.ari.connection import ConnectionState, SupervisedConnection
from ari_app.ari.events import Event
from ari_app.cli import main as hotline
from ari_app.domain.events import CallEnded
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import models, schema
from ari_app.records.sink import RecordsEventSink
from ari_app.records.writer import RecordWriter
from ari_app.shell.engine import Engine
from kpi.journal import FsyncPolicy, JournalWriter
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from tests.callflow_rig import make_config
from tests.scenario_rig import Collector

CALLS = 1000


@pytest.mark.looptime
async def test_1000_simulated_calls_match_the_kpi_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config()
    db = schema.make_engine(f"sqlite:///{tmp_path / 'hotline.sqlite3'}")
    schema.upgrade(db)
    journal = JournalWriter(tmp_path / "journal.jsonl", rotate_daily=False,
                            fsync=FsyncPolicy.ROTATE)
    rng = random.Random(5)
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec"))
    base = await sim.start()
    collector = Collector()
    async with (
        RecordWriter(db, tmp_path / "spool.jsonl", policy=CallerNumberPolicy("masked")) as w,
        AriClient(base, "hotline", "hotline", config.engine.app) as client,
    ):
        engine = Engine(config, client, sinks=[collector, RecordsEventSink(w, "demo")],
                        clock=sim.pbx.wall)

        async def on_event(event: Event) -> object:
            journal.append(event)
            return await engine.on_event(event)

        async with SupervisedConnection(client, on_event, engine.on_reconcile) as conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            for agent in ("1001", "1002", "1003", "1004"):
                sim.set_endpoint(f"PJSIP/agent{agent}",
                                 EndpointBehaviour(rng.choice((2.0, 4.0, 9.0)), False, False))
                engine.login(agent, "4321", f"PJSIP/agent{agent}")
            for i in range(CALLS):
                sim.place_call(f"1390{i:07d}", "12345", patience=rng.choice((3.0, 60.0, 600.0)),
                               talk=rng.uniform(5, 40))
                await asyncio.sleep(rng.uniform(2, 12))
            ended = itertools.count(1)  # the collector shows each event to the predicate once
            await collector.wait_for(
                lambda e: isinstance(e, CallEnded) and next(ended) >= CALLS, within=3600)
            await engine.close()
        await asyncio.wait_for(w.wait_idle(), 60)
    await sim.stop()
    journal.close()

    with db.connect() as c:
        rows = c.execute(select(models.Call.call_id, models.Call.outcome)).all()
    db.dispose()
    assert len(rows) == len({r.call_id for r in rows}) == CALLS
    outcomes = Counter(r.outcome for r in rows)

    assert hotline(["kpi", "report", "--journal", str(tmp_path / "journal.jsonl"),
                    "--format", "json"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    support = report["queues"]["support"]
    assert support["offered"] == CALLS
    assert support["answered"] == outcomes["answered"]
    assert support["abandoned"] == outcomes["abandoned"]
    assert outcomes["answered"] + outcomes["abandoned"] == CALLS
    assert outcomes["abandoned"] > 0
