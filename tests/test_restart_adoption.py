"""An engine killed (SIGKILL, no clean-up) with calls queued, ringing and talking, and a
new one started on the same database and the same PBX: no call is hung up by the engine,
no record is lost, every agent is back in the state they were in, and the KPI report over
the journal agrees with the records.

The engines are real `hotline run` processes against the simulator (with Asterisk's
asynchrony on), so the kill is a real one; this runs in real time (about half a minute).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy import create_engine, text

from ari_app.domain.passwords import hash_secret
from ari_app.records.schema import make_engine, upgrade
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing
from tests.callflow_rig import PIN, PIN_HASH
from tests.test_wiring import free_port, toml

AGENTS = ("1001", "1002", "1003", "1004")
PW = "pw-restart"
PW_HASH = hash_secret(PW, iterations=1000)
TALK = 25.0  # the talking callers hang up themselves after this (from their answer)


def settings(tmp: Path, ari_url: str, port: int) -> dict[str, Any]:
    return {
        "engine": {"data_dir": str(tmp / "data")},
        "ari": {"url": ari_url},
        "database": {"url": f"sqlite:///{tmp / 'hotline.sqlite3'}"},
        "http": {"host": "127.0.0.1", "port": port},
        "recordings": {"dir": str(tmp / "rec")},
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
        "queues": [
            {"name": "support", "numbers": ["12345"], "wrapup_seconds": 1.0,
             "max_wait_seconds": 600.0}
        ],
        "agents": [
            {"id": a, "endpoint": f"PJSIP/agent{a}", "pin_hash": PIN_HASH} for a in AGENTS
        ],
        "users": [
            *({"name": f"u{a}", "password_hash": PW_HASH, "role": "agent", "agent_id": a}
              for a in AGENTS),
            {"name": "sup", "password_hash": PW_HASH, "role": "supervisor"},
        ],
    }


@asynccontextmanager
async def hotline_run(config: Path, log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on below
            [sys.executable, "-m", "ari_app.cli", "--log-level", "INFO", "run", "--config",
             str(config)],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:  # waited off the loop: the simulator must keep answering meanwhile
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def until(predicate: Any, within: float, what: str) -> None:
    """Wait on a condition of another process (an HTTP state) or of the PBX, polled:
    nothing here can signal it; fails with `what` after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while not await predicate():  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(what) from None


async def api(http: aiohttp.ClientSession, base: str, method: str, path: str,
              user: str, body: Any = None) -> Any:
    async with http.request(method, base + path, json=body,
                            auth=aiohttp.BasicAuth(user, PW)) as resp:
        data = await resp.read()
        assert resp.status < 300, (resp.status, data[:300])
        return orjson.loads(data) if data else None


def rows(db: Path, sql: str) -> list[Any]:
    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        eng.dispose()


async def test_a_killed_engine_is_replaced_without_dropping_a_call(tmp_path: Path) -> None:
    # the PBX's clock is the engines' (both on this host): Asterisk's creation times and the
    # engine's own times then agree, as they do on a site with NTP
    wall_base = time.time() - asyncio.get_running_loop().time()
    sim = Simulator(SimConfig(recordings_dir=tmp_path / "rec", wall_base=wall_base,
                              timing=Timing(stasis_delay=0.05, seed=3)))
    sim.request_log = []
    ari = await sim.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = tmp_path / "hotline.toml"
    cfg.write_text(toml(settings(tmp_path, ari, port)))
    db = make_engine(f"sqlite:///{tmp_path / 'hotline.sqlite3'}")
    upgrade(db)
    db.dispose()
    log = tmp_path / "engines.log"
    for a in ("1001", "1002"):
        sim.set_endpoint(f"PJSIP/agent{a}", EndpointBehaviour(1.0))
    sim.set_endpoint("PJSIP/agent1003", EndpointBehaviour(None))  # rings, never answers
    sim.set_endpoint("PJSIP/agent1004", EndpointBehaviour(1.0))
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                try:
                    async with http.get(base + "/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            async def agents() -> dict[str, dict[str, Any]]:
                listing = await api(http, base, "GET", "/agents", "sup")
                return {a["agent_id"]: a for a in listing}

            # ---------------------------------------------------------- engine A
            async with hotline_run(cfg, log) as first:
                await until(healthy, 30, "engine A serves")
                await api(http, base, "POST", "/agents/1004/login", "u1004",
                          {"pin": PIN, "device": "PJSIP/agent1004"})
                await api(http, base, "POST", "/agents/1004/pause", "u1004",
                          {"reason": "lunch"})
                for a in ("1001", "1002"):
                    await api(http, base, "POST", f"/agents/{a}/login", f"u{a}",
                              {"pin": PIN, "device": f"PJSIP/agent{a}"})
                talking = [sim.place_call(f"139000{i:05d}", "12345", talk=TALK) for i in (1, 2)]

                async def two_bridged() -> bool:
                    return sum(1 for b in sim.pbx.bridges if b.startswith("br-")) == 2

                await until(two_bridged, 30, "two calls talking")
                await api(http, base, "POST", "/agents/1003/login", "u1003",
                          {"pin": PIN, "device": "PJSIP/agent1003"})
                ringing = sim.place_call("13900000003", "12345", talk=3.0)
                waiting = [sim.place_call(f"139000{i:05d}", "12345", talk=3.0) for i in (4, 5)]

                async def offered_to_1003() -> bool:
                    return any(c.startswith("agent-1003-") for c in sim.pbx.channels)

                await until(offered_to_1003, 30, "the third call rings at 1003")
                before = await agents()
                assert before["1004"]["state"] == "paused"
                assert before["1001"]["state"] == before["1002"]["state"] == "on_call"
                first.send_signal(signal.SIGKILL)  # no clean-up at all
                await asyncio.to_thread(first.wait, 10)
            killed_at = len(sim.request_log)
            live = set(sim.pbx.channels)
            assert {*talking, ringing, *waiting} <= live  # Asterisk keeps the calls

            # ---------------------------------------------------------- engine B
            async with hotline_run(cfg, log):
                await until(healthy, 30, "engine B serves")

                async def adopted() -> bool:
                    state = await agents()
                    return state["1001"]["state"] == state["1002"]["state"] == "on_call"

                await until(adopted, 15, "engine B adopted the talking calls")
                after = await agents()
                assert after["1004"]["state"] == "paused"
                assert after["1004"]["reason"] == "lunch"
                assert after["1001"]["state"] == after["1002"]["state"] == "on_call"
                assert after["1003"]["state"] in ("available", "ringing")
                calls = [*talking, ringing, *waiting]

                async def all_over() -> bool:
                    return not any(c in sim.pbx.channels for c in calls)

                await until(all_over, 120, "every call ends")
                await asyncio.sleep(1.5)  # the last wrap-ups and record batches (1 s)
                sent = sim.request_log[killed_at:]
            # the new engine hung up none of the callers (each hung up when done talking);
            # the only legs it hung up are the unanswered offer it resolved and the agents'
            # legs after their callers left
            for cid in calls:
                assert f"DELETE /channels/{cid}" not in sent, cid
            talking_legs = [c for c in live if c.startswith(("agent-1001-", "agent-1002-"))]
            for leg in talking_legs:
                call = leg.split("-", 2)[2]
                if f"DELETE /channels/{leg}" in sent:
                    assert call not in sim.pbx.channels
    finally:
        await sim.stop()

    dbfile = tmp_path / "hotline.sqlite3"
    outcome = dict(rows(dbfile, "select call_id, outcome from calls"))
    assert set(outcome) == set(calls), "one record per call, none lost"
    assert set(outcome.values()) == {"answered"}, outcome
    summary = {r[0]: r for r in rows(
        dbfile, "select call_id, talk_seconds, agent_id, wait_seconds from calls")}
    for cid in talking:  # talked across the restart: one record, the whole talk
        assert TALK - 8 <= summary[cid][1] <= TALK, summary[cid]
        assert summary[cid][2] in ("1001", "1002")
    recordings = {r[0] for r in rows(dbfile, "select call_id from recordings")}
    assert set(talking) <= recordings  # the recording went on and was indexed

    journal = tmp_path / "data" / "journal" / "events.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ari_app.cli", "kpi", "report", "--journal", str(journal),
        "--format", "json", "--rings", "3", "--country", "cn",
        stdout=asyncio.subprocess.PIPE, env={**os.environ},
    )
    stdout, _ = await proc.communicate()
    assert proc.returncode == 0
    report = orjson.loads(stdout)["queues"]["support"]
    assert report["offered"] == len(calls)
    assert report["answered"] == sum(1 for o in outcome.values() if o == "answered")
    assert report["abandoned"] == 0
