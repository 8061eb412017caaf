"""The engine's edges wired together (`ari_app.shell.run.running`), on the in-process simulator.

- live and replay agree: `/metrics` scraped over HTTP from the engine equals
  `hotline kpi report` over the same run's journal;
- `hotline run --config FILE` comes up, serves /metrics and the API, stops on cancellation;
- the engine refuses a database whose schema it does not know, saying why;
- a finished call's recording is in the recordings index and the recordings table.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text

from ari_app.cli import main as hotline
from ari_app.config.settings import Config, load_config, parse_config
from ari_app.domain.events import CallEnded, RecordingReady
from ari_app.domain.passwords import hash_secret
from ari_app.records import models
from ari_app.records.schema import SchemaError, make_engine, upgrade
from ari_app.shell.run import Running, running, serve
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from tests.callflow_rig import PIN, PIN_HASH
from tests.scenario_rig import Collector
from tests.test_api_fakes import basic

AGENTS = ("1001", "1002", "1003", "1004")
ANN_HASH = hash_secret("ann-pw", iterations=1000)
SUE_HASH = hash_secret("sue-pw", iterations=1000)


def settings(tmp_path: Path, ari_url: str = "http://127.0.0.1:9", http_port: int = 0,
             retention_days: int = 180) -> dict[str, Any]:
    return {
        "engine": {"data_dir": str(tmp_path / "data")},
        "ari": {"url": ari_url},
        "database": {"url": f"sqlite:///{tmp_path / 'hotline.sqlite3'}"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "recordings": {"dir": str(tmp_path / "rec"), "retention_days": retention_days},
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 5.0}],
        "agents": [
            {"id": a, "endpoint": f"PJSIP/agent{a}", "pin_hash": PIN_HASH} for a in AGENTS
        ],
        "users": [
            {"name": "ann", "password_hash": ANN_HASH, "role": "agent", "agent_id": "1001"},
            {"name": "sue", "password_hash": SUE_HASH, "role": "supervisor"},
        ],
    }


def make(tmp_path: Path, **kw: Any) -> Config:
    return parse_config(settings(tmp_path, **kw))


def toml(data: dict[str, Any]) -> str:
    """Just enough TOML for `settings()`."""

    def value(v: Any) -> str:
        if isinstance(v, str):
            return orjson.dumps(v).decode()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines: list[str] = []
    for section, body in data.items():
        for table in body if isinstance(body, list) else [body]:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines += [f"{k} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def migrated(config: Config) -> None:
    db = make_engine(config.database.url)
    upgrade(db)
    db.dispose()


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        body = await resp.text()
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def metric(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.looptime
async def test_live_metrics_over_http_equal_the_report_over_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = 48
    config = make(tmp_path)
    migrated(config)
    sim = Simulator(SimConfig(recordings_dir=config.recordings.dir))
    sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(2.0))
    sim.set_endpoint("PJSIP/agent1002", EndpointBehaviour(11.0))  # on ring 3: within 3 rings
    sim.set_endpoint("PJSIP/agent1003", EndpointBehaviour(None))  # never: RONA
    sim.set_endpoint("PJSIP/agent1004", EndpointBehaviour(busy=True))
    base = await sim.start()
    collector = Collector()
    rng = random.Random(11)
    try:
        async with running(config, ari_url=base, extra_sinks=[collector],
                           clock=sim.pbx.wall) as r:
            for agent in AGENTS:
                r.engine.login(agent, PIN, f"PJSIP/agent{agent}")
            for i in range(calls):
                sim.place_call(f"1390000{i:04d}", "12345",
                               patience=rng.choice((3.0, 25.0, 600.0)), talk=rng.uniform(5, 30))
                await asyncio.sleep(rng.uniform(1, 9))
            ended = itertools.count(1)
            await collector.wait_for(
                lambda e: isinstance(e, CallEnded) and next(ended) >= calls, within=3600)
            await asyncio.wait_for(r.kpi.wait_settled(), 30)
            live = await scrape(f"{r.api_url}/metrics")
            journal = r.journal_path
            assert r.writer is not None
            await asyncio.wait_for(r.writer.wait_idle(), 60)
    finally:
        await sim.stop()

    assert journal is not None
    # caller_number_storage is "masked" by default: no caller's full number reaches the disk
    raw = b"".join(p.read_bytes() for p in journal.parent.iterdir())
    assert b"1390000" not in raw
    assert journal.stat().st_mode & 0o077 == 0
    capsys.readouterr()
    assert hotline(["kpi", "report", "--journal", str(journal), "--format", "json",
                    "--rings", "3", "--country", "cn"]) == 0
    report = orjson.loads(capsys.readouterr().out)
    queue = report["queues"]["support"]
    assert queue["offered"] == calls
    for key in ("offered", "answered", "abandoned", "short_abandoned",
                "answered_within_threshold"):
        assert metric(live, f"hotline_calls_{key}_total", queue="support") == queue[key], key
    assert queue["answered"] > 0
    assert queue["abandoned"] > 0
    agents = report["agents"]
    for agent, figures in agents.items():
        for key in ("offers", "presented", "answered", "answered_within_rings", "rona", "busy",
                    "unavailable"):
            assert metric(live, f"hotline_agent_{key}_total", agent=agent) == figures[key], (
                agent, key)
    assert agents["1003"]["rona"] > 0
    assert agents["1004"]["busy"] > 0
    assert agents["1002"]["answered_within_rings"] > 0
    assert metric(live, "hotline_records_written_total") > 0  # one registry for everything
    assert metric(live, "hotline_agents_logged_in") == 4
    assert metric(live, "hotline_calls_waiting", queue="support") == 0


@pytest.mark.looptime
async def test_hotline_run_serves_metrics_and_api_and_stops_on_cancel(tmp_path: Path) -> None:
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec"))
    base = await sim.start()
    port = free_port()
    path = tmp_path / "hotline.toml"
    path.write_text(toml(settings(tmp_path, ari_url=base, http_port=port)))
    assert hotline(["db", "upgrade", "--config", str(path)]) == 0
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(load_config(path), ready=ready.set_result))
    try:
        r = await asyncio.wait_for(asyncio.shield(ready), 30)
        assert r.api_url == f"http://127.0.0.1:{port}"
        samples = await scrape(f"{r.api_url}/metrics")
        assert metric(samples, "hotline_agents_logged_in") == 0
        assert ("hotline_records_backlog", ()) in samples
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"{r.api_url}/healthz")).status == 200
            refused = await http.get(f"{r.api_url}/agents")
            assert refused.status == 401  # the API is role-checked; /metrics is not
            login = await http.post(f"{r.api_url}/agents/1001/login",
                                    json={"pin": PIN, "device": "PJSIP/agent1001"},
                                    headers=basic("ann", "ann-pw"))
            assert login.status == 200, await login.text()
            assert (await login.json())["state"] == "available"
            mine = await (await http.get(f"{r.api_url}/agents",
                                         headers=basic("ann", "ann-pw"))).json()
            assert [a["agent_id"] for a in mine] == ["1001"]  # an agent sees itself
            every = await (await http.get(f"{r.api_url}/agents",
                                          headers=basic("sue", "sue-pw"))).json()
            assert [a["agent_id"] for a in every] == list(AGENTS)
            # the records' routes are mounted by `hotline run` too (surveys, QA)
            assert (await http.get(f"{r.api_url}/surveys")).status == 401
            forms = await http.get(f"{r.api_url}/qa/forms", headers=basic("sue", "sue-pw"))
            assert forms.status == 200, await forms.text()
        await asyncio.wait_for(r.kpi.wait_settled(), 30)
        samples = await scrape(f"{r.api_url}/metrics")  # the login reached the fold
        assert metric(samples, "hotline_agents_available") == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await sim.stop()
    with pytest.raises(OSError):  # the port is closed
        await asyncio.open_connection("127.0.0.1", port)
    assert r.writer is not None
    assert r.writer.backlog == 0
    lines = (tmp_path / "data" / "journal" / "events.jsonl").read_bytes().splitlines()
    assert any(b'"HotlineAgentState"' in line and b'"1001"' in line for line in lines)


@pytest.mark.parametrize("revision", [None, "9f9f9f9f"])
def test_engine_refuses_an_unknown_schema(
    tmp_path: Path, revision: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(toml(settings(tmp_path)))
    config = load_config(path)
    if revision is not None:
        db = make_engine(config.database.url)
        upgrade(db)
        with db.begin() as c:
            c.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
        db.dispose()

    assert hotline(["run", "--config", str(path)]) == 1

    out = capsys.readouterr().out.strip()
    assert out.startswith("error: refusing to start: sqlite:///")
    if revision is None:
        assert "has no hotline schema" in out
        assert "run `hotline db upgrade` first" in out
    else:
        assert f"at revision {revision}, which this code does not know" in out
    assert not (tmp_path / "data" / "journal").exists()  # nothing else was started


@pytest.mark.looptime
async def test_running_raises_schema_error_before_touching_ari(tmp_path: Path) -> None:
    config = make(tmp_path)  # ARI at a dead port: never contacted
    with pytest.raises(SchemaError, match="no hotline schema"):
        async with running(config):
            pytest.fail("started on an empty database")


@pytest.mark.looptime
async def test_a_finished_calls_recording_is_indexed_and_stored(tmp_path: Path) -> None:
    config = make(tmp_path, retention_days=30)
    migrated(config)
    sim = Simulator(SimConfig(recordings_dir=config.recordings.dir))
    sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(2.0))
    base = await sim.start()
    collector = Collector()
    try:
        async with running(config, ari_url=base, extra_sinks=[collector],
                           clock=sim.pbx.wall) as r:
            r.engine.login("1001", PIN, "PJSIP/agent1001")
            call_id = sim.place_call("13900001234", "12345", talk=42.0)
            ready: RecordingReady = await collector.wait_for(
                lambda e: isinstance(e, RecordingReady), within=600)
            summary = (await collector.ended(call_id)).summary
            assert r.recordings is not None
            assert r.writer is not None
            assert r.index is not None
            await asyncio.wait_for(r.recordings.wait_idle(), 30)
            await asyncio.wait_for(r.writer.wait_idle(), 30)
            indexed = r.index.get(ready.recording.name)
    finally:
        await sim.stop()

    assert ready.recording.call_id == call_id == summary.call_id
    path = config.recordings.dir / f"{ready.recording.name}.wav"
    assert indexed.path == str(path)
    assert indexed.call_id == call_id
    assert indexed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert indexed.size == path.stat().st_size
    assert summary.bridged_at is not None
    bridged_for = summary.ended_at - summary.bridged_at  # the caller hung up at ended_at
    assert abs(indexed.duration_seconds - bridged_for) < 1.0
    assert abs(indexed.duration_seconds - ready.recording.duration_seconds) < 1.0
    assert indexed.retention_until - indexed.created == timedelta(days=30)
    db = make_engine(config.database.url)
    with db.connect() as c:
        row = c.execute(select(models.Recording)).one()
    db.dispose()
    assert (row.name, row.call_id, row.sha256, row.size_bytes) == (
        indexed.name, call_id, indexed.sha256, indexed.size)
    assert row.duration_seconds == indexed.duration_seconds


@pytest.mark.mqtt
async def test_mqtt_queue_stats_come_from_the_switchboard(tmp_path: Path) -> None:
    """Real time, against the shared broker: the retained stats topic shows the waiting
    call and the agent ringing for it."""
    site = f"w{uuid.uuid4().hex[:10]}"
    data = settings(tmp_path)
    data["engine"]["site"] = site
    data["mqtt"] = {"enabled": True, "stats_interval_seconds": 0.2}
    config = parse_config(data)
    migrated(config)
    sim = Simulator(SimConfig(recordings_dir=config.recordings.dir))
    sim.set_endpoint("PJSIP/agent1001", EndpointBehaviour(None))  # rings on and on
    base = await sim.start()
    try:
        async with aiomqtt.Client("127.0.0.1", 1883) as mqtt:
            await mqtt.subscribe(f"hotline/{site}/queues/support/stats", qos=1)
            async with running(config, ari_url=base, api=False, clock=sim.pbx.wall) as r:
                r.engine.login("1001", PIN, "PJSIP/agent1001")
                sim.place_call("13900009999", "12345", patience=600)

                async def stats_with_the_call() -> dict[str, Any]:
                    async for message in mqtt.messages:
                        assert isinstance(message.payload, bytes)
                        body: dict[str, Any] = orjson.loads(message.payload)
                        if body["waiting"] == 1 and body["agents_ringing"] == 1:
                            return body
                    raise AssertionError("subscription ended")

                body = await asyncio.wait_for(stats_with_the_call(), 10)
                assert r.notifier is not None
    finally:
        await sim.stop()
    assert body["site"] == site
    assert body["queue"] == "support"
    assert body["agents_logged_in"] == 1
    assert body["agents_available"] == 0
    assert body["service_level"] is None  # nothing answered yet
    assert 0 <= body["longest_wait_seconds"] < 10
