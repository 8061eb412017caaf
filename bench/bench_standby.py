"""Hot standby takeover under live calls: the holder killed, the standby taking the ARI app
and adopting every call; baseline: the plain restart (a fresh engine started at the kill).

    .venv/bin/python bench/bench_standby.py [--calls 200] [--agents 130] [--rounds 4]
                                            [--baseline-rounds 2] [--pg HOST:PORT]

Two real `hotline run` processes (as on two hosts) with `[standby] enabled`, the same
config and a fresh PostgreSQL database (created on `--pg`, user postgres, trust auth, and
dropped at the end), against the PBX simulator in this process, on the real clock.
`--agents` agents log in and talk with the first callers (the talk lasts the whole bench),
the other callers wait in the queue: `--calls` live calls. Then, `--rounds` times: the
holder is killed (SIGKILL), and the time is taken from the kill to
- `lock+ws`: the standby took the lock and its ARI websocket is subscribed to the app
  (the simulator sees the app registered again);
- `adopted`: the standby's API lists every call, each talking call with its agent, and
  every talking agent `on_call` (its /calls and /agents, polled every 50 ms).
The killed engine is started again and becomes the standby for the next round. After
each round, every caller must still be on the line and no engine may have hung up one.

Baseline, same run, same calls: `--baseline-rounds` plain restarts without a standby
(the other engine stopped first): the holder killed and a fresh `hotline run` started at
the same instant, as a supervisor restarting it at once would (the new process's start-up,
imports included, is in the time). The ratio printed is baseline mean / standby mean
(kill → every call adopted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
import psycopg  # noqa: E402

from ari_app.domain.passwords import hash_secret  # noqa: E402
from ari_app.records.schema import make_engine, upgrade  # noqa: E402
from pbxsim.config import EndpointBehaviour, SimConfig  # noqa: E402
from pbxsim.server import Simulator  # noqa: E402
from tests.test_wiring import free_port, toml  # noqa: E402

PIN = "4321"
PW = "bench-pw"
FIRST_AGENT = 7000




def config(tmp: Path, name: str, ari: str, db: str, port: int, agents: list[str]) -> Path:
    pin_hash = hash_secret(PIN, iterations=1000)
    pw_hash = hash_secret(PW, iterations=1000)
    data = {
        "engine": {"data_dir": str(tmp / name)},
        "ari": {"url": ari},
        "database": {"url": db},
        "http": {"host": "127.0.0.1", "port": port},
        "recordings": {"dir": str(tmp / "rec")},
        "standby": {"enabled": True},
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 0.5,
                    "max_wait_seconds": 3600.0, "greeting": ["sound:hello-world"]}],
        "agents": [{"id": a, "endpoint": f"PJSIP/a{a}", "pin_hash": pin_hash} for a in agents],
        "users": [
            *({"name": f"u{a}", "password_hash": pw_hash, "role": "agent", "agent_id": a}
              for a in agents),
            {"name": "sup", "password_hash": pw_hash, "role": "supervisor"},
        ],
    }
    path = tmp / f"{name}.toml"
    path.write_text(toml(data))
    return path


class Engines:
    """`hotline run` processes, started and killed by the bench."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cfg: Path) -> subprocess.Popen[bytes]:
        with (self.tmp / f"{cfg.stem}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ari_app.cli", "--log-level", "INFO", "run",
                 "--config", str(cfg)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        self.procs.append(proc)
        return proc

    async def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()


async def role(http: aiohttp.ClientSession, base: str) -> str:
    try:
        async with http.get(base + "/healthz") as resp:
            if resp.status != 200:
                return "down"
            return str((await resp.json()).get("role", "holder"))
    except aiohttp.ClientError:
        return "down"


async def wait_role(http: aiohttp.ClientSession, base: str, want: str, within: float) -> None:
    deadline = time.monotonic() + within
    while await role(http, base) != want:
        if time.monotonic() > deadline:
            raise SystemExit(f"{base} did not become {want} within {within} s")
        await asyncio.sleep(0.1)


async def get(http: aiohttp.ClientSession, base: str, path: str) -> Any:
    async with http.get(base + path, auth=aiohttp.BasicAuth("sup", PW)) as resp:
        if resp.status != 200:
            return None
        return orjson.loads(await resp.read())


async def all_adopted(http: aiohttp.ClientSession, base: str, calls: set[str],
                      talking: set[str]) -> bool:
    try:
        listed = await get(http, base, "/calls")
        agents = await get(http, base, "/agents")
    except aiohttp.ClientError:
        return False
    if listed is None or agents is None:
        return False
    by_id = {c["call_id"]: c for c in listed}
    if set(by_id) != calls or any(not by_id[c].get("agent_id") for c in talking):
        return False
    return sum(1 for a in agents if a["state"] == "on_call") == len(talking)


async def takeover(sim: Simulator, http: aiohttp.ClientSession, victim: subprocess.Popen[bytes],
                   base: str, calls: set[str], talking: set[str],
                   start: Engines | None = None, cfg: Path | None = None,
                   ) -> tuple[float, float]:
    """Kill `victim`; (kill → app registered again, kill → every call adopted at `base`)."""
    sockets = sim.hub.ws_connected
    victim.send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    if start is not None and cfg is not None:
        start.start(cfg)
    await asyncio.to_thread(victim.wait, 10)
    registered = None
    while True:
        now = time.monotonic()
        if now - t0 > 60:
            raise SystemExit("no takeover within 60 s")
        if registered is None and sim.hub.ws_connected > sockets and sim.pbx.apps.get("hotline"):
            registered = now - t0  # a new event websocket, subscribed to the app
        if await all_adopted(http, base, calls, talking):
            adopted = time.monotonic() - t0
            return registered if registered is not None else adopted, adopted
        await asyncio.sleep(0.05)


def check_calls(sim: Simulator, calls: set[str], since: int) -> None:
    gone = [c for c in calls if c not in sim.pbx.channels]
    assert sim.request_log is not None
    hung = [c for c in calls if f"DELETE /channels/{c}" in sim.request_log[since:]]
    if gone or hung:
        raise SystemExit(f"calls lost: {len(gone)} gone, {len(hung)} hung up by an engine")


def summary(label: str, values: list[float]) -> str:
    return (f"{label}: mean {statistics.mean(values):.2f} s, "
            f"min {min(values):.2f} s, max {max(values):.2f} s")


async def main(args: argparse.Namespace) -> int:
    host, _, port = args.pg.partition(":")
    admin = f"host={host} port={port or 5432} user=postgres dbname=test"
    dbname = f"hotline_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    db_url = f"postgresql+psycopg://postgres@{host}:{port or 5432}/{dbname}"
    eng = make_engine(db_url)
    upgrade(eng)
    eng.dispose()
    tmp = Path(tempfile.mkdtemp(prefix="bench-standby-"))
    sim = Simulator(SimConfig(recordings_dir=tmp / "rec"))
    sim.request_log = []
    ari = await sim.start()
    agents = [str(FIRST_AGENT + i) for i in range(args.agents)]
    for a in agents:
        sim.set_endpoint(f"PJSIP/a{a}", EndpointBehaviour(0.5))
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    cfgs = [config(tmp, n, ari, db_url, p, agents) for n, p in zip("ab", ports, strict=True)]
    engines = Engines(tmp)
    calls: list[str] = []
    rc = 0
    try:
        async with aiohttp.ClientSession() as http:
            procs = [engines.start(cfgs[0])]
            await wait_role(http, bases[0], "holder", 60)
            procs.append(engines.start(cfgs[1]))
            await wait_role(http, bases[1], "standby", 60)

            async def login(a: str) -> None:
                async with http.post(f"{bases[0]}/agents/{a}/login",
                                     auth=aiohttp.BasicAuth(f"u{a}", PW),
                                     json={"pin": PIN, "device": f"PJSIP/a{a}"}) as resp:
                    if resp.status >= 300:
                        raise SystemExit(f"login {a}: {resp.status} {await resp.text()}")

            for i in range(0, len(agents), 20):
                await asyncio.gather(*(login(a) for a in agents[i:i + 20]))
            for i in range(args.calls):
                calls.append(sim.place_call(f"1390{i:07d}", "12345", talk=3600.0))
                if i % 20 == 19:
                    await asyncio.sleep(0.2)
            call_set = set(calls)
            talking_n = min(args.agents, args.calls)
            deadline = time.monotonic() + 120
            while sum(1 for b in sim.pbx.bridges if b.startswith("br-")) < talking_n:
                if time.monotonic() > deadline:
                    raise SystemExit("the calls did not all reach their agents")
                await asyncio.sleep(0.2)
            talking = {b.removeprefix("br-") for b in sim.pbx.bridges if b.startswith("br-")}
            talking &= call_set
            await asyncio.sleep(2.0)  # the records batch (1 s) on disk
            if not await all_adopted(http, bases[0], call_set, talking):
                raise SystemExit("the first engine does not list every call")
            print(f"{len(calls)} live calls: {len(talking)} talking, "
                  f"{len(calls) - len(talking)} queued; two engines, one PostgreSQL")

            holder, standby = 0, 1
            figures: list[tuple[float, float]] = []
            for n in range(args.rounds):
                since = len(sim.request_log)
                ws, adopted = await takeover(sim, http, procs[holder], bases[standby],
                                             call_set, talking)
                check_calls(sim, call_set, since)
                figures.append((ws, adopted))
                print(f"  standby round {n + 1}: kill → lock+ws {ws:.2f} s,"
                      f" kill → all {len(calls)} adopted {adopted:.2f} s")
                procs[holder] = engines.start(cfgs[holder])  # the new standby
                await wait_role(http, bases[holder], "standby", 60)
                holder, standby = standby, holder

            # baseline: no standby; the holder killed and a fresh engine started at once
            procs[standby].send_signal(signal.SIGTERM)
            await asyncio.to_thread(procs[standby].wait, 20)
            base_figures: list[tuple[float, float]] = []
            for n in range(args.baseline_rounds):
                since = len(sim.request_log)
                before = len(engines.procs)
                ws, adopted = await takeover(sim, http, procs[holder], bases[standby],
                                             call_set, talking, engines, cfgs[standby])
                check_calls(sim, call_set, since)
                base_figures.append((ws, adopted))
                print(f"  restart round {n + 1}: kill → lock+ws {ws:.2f} s,"
                      f" kill → all {len(calls)} adopted {adopted:.2f} s")
                procs[standby] = engines.procs[before]
                holder, standby = standby, holder

            print(summary("standby takeover, kill → app registered", [f[0] for f in figures]))
            print(summary("standby takeover, kill → every call adopted",
                          [f[1] for f in figures]))
            print(summary("baseline (fresh engine started at the kill), kill → adopted",
                          [f[1] for f in base_figures]))
            s_mean = statistics.mean(f[1] for f in figures)
            b_mean = statistics.mean(f[1] for f in base_figures)
            print(f"ratio baseline / standby (kill → every call adopted): {b_mean / s_mean:.2f}")
            worst = max(f[1] for f in figures)
            print(f"target: every call adopted within 5 s of the kill: "
                  f"{'met' if worst <= 5.0 else 'NOT met'} (worst {worst:.2f} s)")
            rc = 0 if worst <= 5.0 else 1
            for c in calls:
                sim.phone_hangup(c)
            await asyncio.sleep(2.0)
    finally:
        await engines.stop_all()
        await sim.stop()
        with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    if os.environ.get("BENCH_KEEP_LOGS"):
        print(f"logs: {tmp}")
    return rc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--agents", type=int, default=130)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--baseline-rounds", type=int, default=2)
    parser.add_argument("--pg", default="127.0.0.1:5432")
    sys.exit(asyncio.run(main(parser.parse_args())))
