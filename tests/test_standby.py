"""Hot standby on a real PostgreSQL (a fresh database per test): the advisory lock, the
holder letting go when its lock connection dies, and two real `hotline run` processes on
the simulator where the holder is killed (SIGKILL) with calls talking and queued and the
standby takes the app over and adopts every call within 5 s."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from sqlalchemy import create_engine, text

from ari_app.config.settings import ConfigError, StandbySettings, parse_config
from ari_app.records.schema import make_engine, upgrade
from ari_app.shell.standby import AdvisoryLock, hold_or_wait, keepalives, lock_key
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing
from tests.callflow_rig import PIN
from tests.test_records_db import PG_ADMIN, pg_database
from tests.test_restart_adoption import api, hotline_run, settings, until
from tests.test_wiring import free_port, toml

pytestmark = pytest.mark.postgres

TALK = 14.0
FAST = StandbySettings(enabled=True, poll_seconds=0.2, check_seconds=0.3, dead_peer_seconds=3)


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_database()


def test_the_config_refuses_standby_on_sqlite() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"standby": {"enabled": True}})
    assert any(e.startswith("standby.enabled: ") for e in err.value.errors)
    with pytest.raises(ConfigError) as err:
        parse_config({"database": {"url": "postgresql://h/db"},
                      "standby": {"enabled": True, "check_seconds": 5, "dead_peer_seconds": 10}})
    assert any(e.startswith("standby.dead_peer_seconds: ") for e in err.value.errors)
    parse_config({"database": {"url": "postgresql://h/db"}, "standby": {"enabled": True}})


def test_the_key_is_per_site_and_app_and_the_keepalives_add_up() -> None:
    keys = {lock_key("a", "hotline"), lock_key("b", "hotline"), lock_key("a", "other")}
    assert len(keys) == 3
    assert all(-(2**63) <= k < 2**63 for k in keys)
    idle, interval, count = keepalives(StandbySettings(dead_peer_seconds=10))
    assert abs(idle + interval * count - 10) <= 1


async def test_one_holder_per_key_and_the_lock_freed_with_its_connection(pg_url: str) -> None:
    key = lock_key("site", "hotline")
    first, second = AdvisoryLock(pg_url, key, FAST), AdvisoryLock(pg_url, key, FAST)
    other_site = AdvisoryLock(pg_url, lock_key("other", "hotline"), FAST)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await other_site.try_acquire()  # two sites on one database: no blocking
        assert await first.check()
        assert not await second.check()
        await first.abandon()  # the holder's connection gone: the lock with it
        assert await second.try_acquire()
    finally:
        for lock in (first, second, other_site):
            await lock.release()


def _terminate_lock_sessions(url: str) -> int:
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'hotline-standby-lock'", (dbname,),
        ).fetchall()
    return len(rows)


async def test_the_holder_lets_go_when_its_lock_connection_dies(pg_url: str) -> None:
    """A database restart or a network cut: the holder's lock session ends; it must stop
    holding the ARI app (leave the engine) and wait for the lock again."""
    config = parse_config({"database": {"url": pg_url}, "http": {"port": 0},
                           "standby": FAST.model_dump()})
    stop = asyncio.Event()
    holds: list[float] = []
    left: list[float] = []
    held = [asyncio.Event(), asyncio.Event()]

    async def hold(leave: asyncio.Event) -> None:
        holds.append(time.monotonic())
        held[min(len(holds), 2) - 1].set()
        await leave.wait()
        left.append(time.monotonic())

    task = asyncio.create_task(hold_or_wait(config, stop, hold))
    try:
        await asyncio.wait_for(held[0].wait(), 10)
        killed = time.monotonic()
        assert await asyncio.to_thread(_terminate_lock_sessions, pg_url) == 1
        # let go, then the lock taken again on a new session
        await asyncio.wait_for(held[1].wait(), 10)
        assert left[0] - killed <= 2 * FAST.check_seconds + 0.5
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert len(left) == 2


def _rows(url: str, sql: str) -> list[Any]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        eng.dispose()


async def test_the_standby_takes_over_and_adopts_every_call(
    tmp_path: Path, pg_url: str
) -> None:
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec",
                              timing=Timing(stasis_delay=0.05, seed=5)))
    sim.request_log = []
    ari = await sim.start()
    db = make_engine(pg_url)
    upgrade(db)
    db.dispose()
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    cfgs = []
    for name, port in zip("ab", ports, strict=True):
        s = settings(tmp_path / name, ari, port)
        s["database"] = {"url": pg_url}
        s["recordings"] = {"dir": str(tmp_path / "rec")}
        s["standby"] = {"enabled": True}
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(toml(s))
        cfgs.append(cfg)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    for a in ("1001", "1002"):
        sim.set_endpoint(f"PJSIP/agent{a}", EndpointBehaviour(1.0))
    try:
        async with aiohttp.ClientSession() as http:

            async def role(base: str) -> str:
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status != 200:
                            return "down"
                        return str((await resp.json()).get("role", "holder"))
                except aiohttp.ClientError:
                    return "down"

            def is_role(base: str, want: str) -> Any:
                async def check() -> bool:
                    return await role(base) == want
                return check

            async with hotline_run(cfgs[0], logs[0]) as first:
                await until(is_role(bases[0], "holder"), 30, "engine A holds the app")
                async with hotline_run(cfgs[1], logs[1]):
                    await until(is_role(bases[1], "standby"), 30, "engine B waits")
                    assert sim.pbx.apps == {"hotline": 1}  # one websocket on the app

                    async def b_waits() -> bool:
                        return "waiting for the lock held by another engine" in logs[1].read_text()

                    await until(b_waits, 10, "engine B says it waits for the lock")
                    for a in ("1001", "1002"):
                        await api(http, bases[0], "POST", f"/agents/{a}/login", f"u{a}",
                                  {"pin": PIN, "device": f"PJSIP/agent{a}"})
                    talking = [sim.place_call(f"139000{i:05d}", "12345", talk=TALK)
                               for i in (1, 2)]

                    async def two_bridged() -> bool:
                        return sum(1 for b in sim.pbx.bridges if b.startswith("br-")) == 2

                    await until(two_bridged, 30, "two calls talking")
                    waiting = [sim.place_call(f"139000{i:05d}", "12345", talk=2.0)
                               for i in (3, 4)]
                    calls = [*talking, *waiting]

                    async def all_known_to_a() -> bool:
                        listed = await api(http, bases[0], "GET", "/calls", "sup")
                        return {c["call_id"] for c in listed} == set(calls)

                    await until(all_known_to_a, 10, "engine A has the four calls")
                    await asyncio.sleep(1.5)  # the records batch (1 s) on disk
                    killed_at = len(sim.request_log)
                    first.send_signal(signal.SIGKILL)
                    t0 = time.monotonic()
                    await asyncio.to_thread(first.wait, 10)

                    async def adopted() -> bool:
                        if await role(bases[1]) != "holder":
                            return False
                        listed = await api(http, bases[1], "GET", "/calls", "sup")
                        by_id = {c["call_id"]: c for c in listed}
                        agents = {a["agent_id"]: a for a in
                                  await api(http, bases[1], "GET", "/agents", "sup")}
                        return (set(by_id) == set(calls)
                                and {by_id[c]["agent_id"] for c in talking} == {"1001", "1002"}
                                and agents["1001"]["state"] == agents["1002"]["state"]
                                == "on_call")

                    await until(adopted, 5, "engine B holds the app and adopted every call")
                    took = time.monotonic() - t0
                    print(f"takeover: {took:.2f} s from the kill to every call adopted")
                    assert sim.pbx.apps == {"hotline": 1}
                    for cid in calls:  # Asterisk kept every caller
                        assert cid in sim.pbx.channels

                    # a restarted A is now the standby
                    async with hotline_run(cfgs[0], logs[0]):
                        await until(is_role(bases[0], "standby"), 30, "engine A waits")
                        assert sim.pbx.apps == {"hotline": 1}

                    async def all_over() -> bool:
                        return not any(c in sim.pbx.channels for c in calls)

                    await until(all_over, 60, "every call ends")
                    await asyncio.sleep(1.5)  # the last wrap-ups and record batches
                    sent = sim.request_log[killed_at:]
    finally:
        await sim.stop()
    for cid in calls:  # no caller hung up by an engine: each hung up when done
        assert f"DELETE /channels/{cid}" not in sent, cid
    summary = {r[0]: r for r in _rows(
        pg_url, "select call_id, outcome, talk_seconds, agent_id from calls")}
    assert set(summary) == set(calls), "one record per call, none lost"
    assert {r[1] for r in summary.values()} == {"answered"}, summary
    for cid in talking:  # talked across the takeover: one record, the whole talk
        assert summary[cid][2] >= TALK - 3, summary[cid]
        assert summary[cid][3] in ("1001", "1002")
