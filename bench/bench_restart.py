"""A real `hotline run` killed (SIGKILL) with 200 live calls, and a new one adopting them.

    .venv/bin/python bench/bench_restart.py [--talking 40] [--waiting 150] [--seed 7]

The PBX simulator runs in this process with Asterisk's asynchrony on
(`Timing(stasis_delay=0.05, seed=...)`: a created channel enters Stasis 50 ms after the
REST answer). The engines are real `hotline run` processes on a SQLite database, as
tests/test_restart_adoption.py, bigger: 60 agents logged in through the API (`--talking`
whose phones answer after 1 s, 10 paused with a reason, 10 whose phones ring and never
answer), then `--talking` callers who talk 40 s from their answer, then 160 more: 10 ring
at the agents who never answer, the rest wait in the queue (they talk 6 s once answered).
With all 200 live (the engine lists them), the engine is killed with SIGKILL: no clean-up
at all. A new one starts on the same database and simulator. Printed:

- start → API up → ARI connected (the app registered at the PBX) → adopted (its `/calls`,
  polled as a supervisor, lists every live call): real time;
- calls hung up by the new engine (`DELETE /channels/<caller>` in the simulator's
  request log; a caller hangs up on its own when done talking), ringing legs it resolved,
  channels it asked to hang up twice;
- agents whose state (or pause reason) differs before the kill and once adopted (`/agents`);
- once every call ended: records lost (SQL `calls` rows against calls placed), outcomes
  other than answered/abandoned, the talk time of the calls that talked across the restart;
- `hotline kpi report` over the journal against the records (offered, answered, abandoned).

Baseline, same run: a third engine started on the same database and simulator with 0 live
calls, start → serving (API up, app registered, `/calls` answered); the first engine's start
on an empty database is printed too. Ratio: start-to-adopted / start-to-serving.
Runs in real time, about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import orjson  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from ari_app.domain.passwords import hash_secret  # noqa: E402
from ari_app.records.schema import make_engine, upgrade  # noqa: E402
from pbxsim.config import EndpointBehaviour, SimConfig  # noqa: E402
from pbxsim.server import Simulator  # noqa: E402
from pbxsim.timing import Timing  # noqa: E402
from tests.test_wiring import free_port, toml  # noqa: E402

PIN = "4321"
PIN_HASH = hash_secret(PIN, iterations=1000)
PW = "pw-bench"
PW_HASH = hash_secret(PW, iterations=1000)
PAUSED = 10
NEVER = 10  # agents whose phones ring and never answer
TALK_LONG = 40.0  # the first callers talk across the restart
TALK_SHORT = 6.0  # the others, once answered
APP = "hotline"


def settings(tmp: Path, ari_url: str, port: int, agents: list[str]) -> dict[str, Any]:
    return {
        "engine": {"data_dir": str(tmp / "data")},
        "ari": {"url": ari_url},
        "database": {"url": f"sqlite:///{tmp / 'hotline.sqlite3'}"},
        "http": {"host": "127.0.0.1", "port": port},
        "recordings": {"dir": str(tmp / "rec")},
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
        "queues": [{"name": "support", "numbers": ["12345"], "wrapup_seconds": 1.0,
                    "max_wait_seconds": 900.0}],
        "agents": [{"id": a, "endpoint": f"PJSIP/agent{a}", "pin_hash": PIN_HASH}
                   for a in agents],
        "users": [
            *({"name": f"u{a}", "password_hash": PW_HASH, "role": "agent", "agent_id": a}
              for a in agents),
            {"name": "sup", "password_hash": PW_HASH, "role": "supervisor"},
        ],
    }




def start_engine(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ari_app.cli", "--log-level", "INFO", "run", "--config",
             str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )


async def stop_engine(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:  # waited off the loop: the simulator must keep answering meanwhile
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 10)


async def until(predicate: Callable[[], Awaitable[bool]], within: float, what: str,
                every: float = 0.1) -> None:
    """Poll a condition of another process (its API) or of the PBX."""
    try:
        async with asyncio.timeout(within):
            while not await predicate():  # noqa: ASYNC110 - polling another process
                await asyncio.sleep(every)
    except TimeoutError:
        raise SystemExit(f"timed out: {what}") from None


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def call(self, method: str, path: str, user: str, body: Any = None) -> Any:
        async with self.http.request(method, self.base + path, json=body,
                                     auth=aiohttp.BasicAuth(user, PW)) as resp:
            data = await resp.read()
            if resp.status >= 300:
                raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
            return orjson.loads(data) if data else None

    async def healthy(self) -> bool:
        try:
            async with self.http.get(self.base + "/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def agents(self) -> dict[str, dict[str, Any]]:
        return {a["agent_id"]: a for a in await self.call("GET", "/agents", "sup")}

    async def calls(self) -> dict[str, dict[str, Any]]:
        return {c["call_id"]: c for c in await self.call("GET", "/calls", "sup")}


class StartClock:
    """One engine's start: process started → API up → app registered at the PBX → `ready`
    (a condition on its API), each in real seconds from the start, polled every 20 ms."""

    def __init__(self, api: Api, sim: Simulator) -> None:
        self.api, self.sim = api, sim
        self.marks: dict[str, float] = {}

    async def run(self, proc: subprocess.Popen[bytes], t0: float,
                  ready: Callable[[], Awaitable[bool]], within: float = 60.0) -> dict[str, float]:
        async def step() -> bool:
            if proc.poll() is not None:
                raise SystemExit(f"the engine exited with {proc.returncode}")
            now = time.perf_counter() - t0
            if "api" not in self.marks and await self.api.healthy():
                self.marks["api"] = now
            if "connected" not in self.marks and APP in self.sim.pbx.apps:
                self.marks["connected"] = now
            if "api" in self.marks and "connected" in self.marks and await ready():
                self.marks["ready"] = time.perf_counter() - t0
                return True
            return False

        await until(step, within, "the engine gets ready", every=0.02)
        return self.marks


def rows(db: Path, sql: str) -> list[Any]:
    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        eng.dispose()


async def kpi_report(journal: Path) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ari_app.cli", "kpi", "report", "--journal", str(journal),
        "--format", "json", "--rings", "3", "--country", "cn",
        stdout=asyncio.subprocess.PIPE, env={**os.environ}, cwd=ROOT,
    )
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"hotline kpi report failed ({proc.returncode})")
    report: dict[str, Any] = orjson.loads(stdout)["queues"]["support"]
    return report


async def scenario(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    talkers = [f"{2001 + i}" for i in range(args.talking)]
    paused = [f"{3001 + i}" for i in range(PAUSED)]
    never = [f"{4001 + i}" for i in range(NEVER)]
    agents = [*talkers, *paused, *never]
    reasons = {a: ("lunch", "training")[i % 2] for i, a in enumerate(paused)}
    # the PBX's clock is the wall clock, as Asterisk's: the engines (other processes) use
    # theirs, and an adopted call's talk counts from its bridge's `creationtime`
    wall_base = time.time() - asyncio.get_running_loop().time()
    sim = Simulator(SimConfig(recordings_dir=tmp / "rec", wall_base=wall_base,
                              timing=Timing(stasis_delay=0.05, seed=args.seed)))
    sim.request_log = []
    ari = await sim.start()
    for a in [*talkers, *paused]:
        sim.set_endpoint(f"PJSIP/agent{a}", EndpointBehaviour(1.0))
    for a in never:
        sim.set_endpoint(f"PJSIP/agent{a}", EndpointBehaviour(None))
    port = free_port()
    cfg = tmp / "hotline.toml"
    cfg.write_text(toml(settings(tmp, ari, port, agents)))
    dbfile = tmp / "hotline.sqlite3"
    db = make_engine(f"sqlite:///{dbfile}")
    upgrade(db)
    db.dispose()
    log = tmp / "engines.log"
    out: dict[str, Any] = {"log": log}
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, f"http://127.0.0.1:{port}")

            async def answers() -> bool:
                await api.calls()
                return True

            # ------------------------------------------------------------ engine A
            t0 = time.perf_counter()
            first = start_engine(cfg, log)
            try:
                out["start_a"] = await StartClock(api, sim).run(first, t0, answers)
                for a in [*talkers, *paused]:
                    await api.call("POST", f"/agents/{a}/login", f"u{a}",
                                   {"pin": PIN, "device": f"PJSIP/agent{a}"})
                for a in paused:
                    await api.call("POST", f"/agents/{a}/pause", f"u{a}", {"reason": reasons[a]})
                talking = [sim.place_call(f"1390{i:07d}", "12345", talk=TALK_LONG)
                           for i in range(args.talking)]

                async def all_bridged() -> bool:
                    return sum(1 for b in sim.pbx.bridges if b.startswith("br-")) == len(talking)

                await until(all_bridged, 60, "the first callers all talk")
                for a in never:
                    await api.call("POST", f"/agents/{a}/login", f"u{a}",
                                   {"pin": PIN, "device": f"PJSIP/agent{a}"})
                rest = [sim.place_call(f"1391{i:07d}", "12345", talk=TALK_SHORT)
                        for i in range(NEVER + args.waiting)]
                calls = [*talking, *rest]

                async def all_live() -> bool:
                    ringing = sum(1 for c in sim.pbx.channels
                                  if c.startswith(tuple(f"agent-{a}-" for a in never)))
                    return ringing == NEVER and set(calls) <= (await api.calls()).keys()

                await until(all_live, 60, "all calls live in engine A, 10 ringing")
                before = await api.agents()
                before_calls = await api.calls()
                first.send_signal(signal.SIGKILL)  # no clean-up at all
                await asyncio.to_thread(first.wait, 10)
            finally:
                if first.poll() is None:
                    first.kill()
            killed_at = len(sim.request_log)
            live = set(sim.pbx.channels)
            out["kept_by_pbx"] = len(set(calls) & live)
            ringing_legs = [c for c in live if c.startswith(tuple(f"agent-{a}-" for a in never))]

            async def app_gone() -> bool:
                return APP not in sim.pbx.apps

            await until(app_gone, 10, "the PBX sees engine A's websocket closed")

            # ------------------------------------------------------------ engine B
            t0 = time.perf_counter()
            second = start_engine(cfg, log)
            try:
                async def adopted() -> bool:
                    held = await api.calls()
                    alive = {c for c in calls if c in sim.pbx.channels}
                    return alive <= held.keys()

                out["start_b"] = await StartClock(api, sim).run(second, t0, adopted)
                after = await api.agents()
                after_calls = await api.calls()
                out["adopted_calls"] = len(after_calls)
                t_all = time.perf_counter()

                async def all_over() -> bool:
                    left = sum(1 for c in calls if c in sim.pbx.channels)
                    if time.perf_counter() - t_all > out.setdefault("_next", 15.0):
                        out["_next"] += 15.0
                        print(f"  {time.perf_counter() - t_all:.0f} s after adoption: "
                              f"{left} calls still live", flush=True)
                    return left == 0

                await until(all_over, args.within, "every call ends", every=0.25)
                out["drain_seconds"] = time.perf_counter() - t_all
                await asyncio.sleep(2.0)  # the last wrap-ups and record batches (1 s)
                sent = sim.request_log[killed_at:]
            finally:
                await stop_engine(second)
            stopped_at = len(sim.request_log)

            # ------------------------------------------------------------ engine C, twice
            out["start_c"] = []
            for _ in range(2):
                t0 = time.perf_counter()
                third = start_engine(cfg, log)
                try:
                    out["start_c"].append(await StartClock(api, sim).run(third, t0, answers))
                finally:
                    await stop_engine(third)
    finally:
        await sim.stop()

    out.update(calls=calls, talking=talking, before=before, after=after, sent=sent,
               before_calls=before_calls, after_calls=after_calls, ringing_legs=ringing_legs,
               reasons=reasons, a_log=sim.request_log[:killed_at],
               c_log=sim.request_log[stopped_at:])
    out["records"] = rows(dbfile, "select call_id, outcome, talk_seconds, agent_id from calls")
    out["recordings"] = {r[0] for r in rows(dbfile, "select call_id from recordings")}
    out["kpi"] = await kpi_report(tmp / "data" / "journal" / "events.jsonl")
    return out


def _s(marks: dict[str, float], key: str) -> str:
    return f"{marks[key]:.2f} s" if key in marks else "-"


def report(args: argparse.Namespace, r: dict[str, Any]) -> int:
    calls: list[str] = r["calls"]
    talking: list[str] = r["talking"]
    a, b, cs = r["start_a"], r["start_b"], r["start_c"]
    failed: list[str] = []
    phases = Counter(x["state"] for x in r["before_calls"].values())
    print(
        f"scene: {len(calls)} live calls at the kill ({dict(phases)}), "
        f"{args.talking + PAUSED + NEVER} agents ({args.talking} answering, {PAUSED} paused, "
        f"{NEVER} never answering); PBX kept {r['kept_by_pbx']} of them; simulator timing "
        f"stasis_delay=0.05 s, seed {args.seed}"
    )
    print(
        f"new engine (SIGKILL, restart): API up {_s(b, 'api')}, ARI connected "
        f"{_s(b, 'connected')}, all {len(calls)} calls adopted {_s(b, 'ready')} after its start "
        f"(its /calls lists {r['adopted_calls']})"
    )
    serving = [c["ready"] for c in cs]
    print(
        "baseline, the same start with 0 live calls (same database), twice: serving "
        + ", ".join(f"{x:.2f} s" for x in serving)
        + " (API up " + ", ".join(_s(c, "api") for c in cs) + "); first engine on an empty "
        f"database: serving {_s(a, 'ready')}"
    )
    print(
        f"ratio start-to-adopted / start-to-serving: {b['ready'] / min(serving):.2f}x "
        f"(against the quicker baseline), {b['ready'] / max(serving):.2f}x (the slower)"
    )
    # the start is mostly Python's imports (noisy on a shared machine); from the app's
    # registration at the PBX on, it is the reconcile and the adoption
    after_b = b["ready"] - b["connected"]
    after_c = [c["ready"] - c["connected"] for c in cs]
    print(
        f"from ARI connected: all calls adopted +{after_b:.2f} s; baseline serving "
        + ", ".join(f"+{x:.2f} s" for x in after_c)
        + f" -> ratio {after_b / max(min(after_c), 0.02):.1f}x"
    )
    if r["adopted_calls"] < r["kept_by_pbx"]:
        failed.append("not every live call adopted")

    sent: list[str] = r["sent"]
    hung_callers = [cid for cid in calls if f"DELETE /channels/{cid}" in sent]
    deletes = Counter(x for x in sent if x.startswith("DELETE /channels/"))
    twice = {k: v for k, v in deletes.items() if v > 1}
    resolved = [leg for leg in r["ringing_legs"] if f"DELETE /channels/{leg}" in sent]
    reused = [leg for leg in resolved if f"POST /channels/{leg}/dial" in sent]
    a_hung = [cid for cid in calls if f"DELETE /channels/{cid}" in r["a_log"]]
    print(
        f"calls hung up by the new engine: {len(hung_callers)} (by the first: {len(a_hung)}); "
        f"ringing legs it resolved (hung up): {len(resolved)} of {len(r['ringing_legs'])}, "
        f"re-offered under the same channel id: {len(reused)}; channels it asked to hang up "
        f"more than once: {len(twice)}"
    )
    if hung_callers or a_hung:
        failed.append("callers hung up by an engine")
    if len(resolved) < len(r["ringing_legs"]):
        failed.append("ringing legs left ringing")
    if reused:
        failed.append("new offers reusing a resolved leg's channel id")
    if twice:
        failed.append("channels hung up twice")

    before, after = r["before"], r["after"]
    changed = {
        aid: (f"{before[aid]['state']}/{before[aid].get('reason') or ''}",
              f"{after[aid]['state']}/{after[aid].get('reason') or ''}")
        for aid in before
        if (before[aid]["state"], before[aid].get("reason")) !=
           (after[aid]["state"], after[aid].get("reason"))
    }
    states_before = Counter(x["state"] for x in before.values())
    states_after = Counter(x["state"] for x in after.values())
    on_call_same = sum(1 for aid in before if before[aid]["state"] == "on_call"
                       and after[aid].get("call_id") == before[aid].get("call_id"))
    print(
        f"agents: before {dict(states_before)}, once adopted {dict(states_after)}; "
        f"differing: {len(changed)}{' ' + str(changed) if changed else ''}; "
        f"on the same call as before: {on_call_same} of {states_before['on_call']}"
    )
    if changed or on_call_same < states_before["on_call"]:
        failed.append("agents not in the state they were in")

    records = r["records"]
    by_call = Counter(row[0] for row in records)
    outcome = {row[0]: row[1] for row in records}
    lost = [cid for cid in calls if cid not in by_call]
    extra = [cid for cid in by_call if cid not in set(calls)]
    dup = [cid for cid, n in by_call.items() if n > 1]
    odd = Counter(o for o in outcome.values() if o not in ("answered", "abandoned"))
    talk = {row[0]: row[2] for row in records}
    across = [talk[cid] or 0.0 for cid in talking if cid in talk]
    indexed = len(set(talking) & r["recordings"])
    print(
        f"records: {len(records)} rows for {len(calls)} calls placed: lost {len(lost)}, "
        f"extra {len(extra)}, duplicated {len(dup)}; outcomes "
        f"{dict(Counter(outcome.values()))}, other than answered/abandoned {sum(odd.values())}; "
        f"calls that talked across the restart: talk {min(across, default=0):.1f}-"
        f"{max(across, default=0):.1f} s recorded (the caller stayed {TALK_LONG:.0f} s from "
        f"its answer, greeting included), recordings indexed {indexed} of {len(talking)}; "
        f"all calls ended {r['drain_seconds']:.0f} s after adoption"
    )
    if lost or extra or dup or odd:
        failed.append("records lost, duplicated or not final")
    if not across or min(across) < TALK_LONG - 10 or max(across) > TALK_LONG:
        failed.append("talk across the restart not whole")
    if indexed < len(talking):
        failed.append("recordings across the restart not indexed")
    kpi = r["kpi"]
    want = {"offered": len(outcome),
            "answered": sum(1 for o in outcome.values() if o == "answered"),
            "abandoned": sum(1 for o in outcome.values() if o == "abandoned")}
    got = {k: kpi.get(k) for k in want}
    print(f"KPI report over the journal: {got}; records: {want} -> "
          + ("equal" if got == want else "DIFFERENT"))
    if got != want:
        failed.append("KPI report differs from the records")
    print("result: " + ("ok" if not failed else "FAILED: " + "; ".join(failed)
                        + f" (engine log: {r['log']})"))
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--talking", type=int, default=40,
                        help="agents who answer, and callers talking across the restart")
    parser.add_argument("--waiting", type=int, default=150, help="callers in the queue")
    parser.add_argument("--seed", type=int, default=7, help="the simulator's timing seed")
    parser.add_argument("--within", type=float, default=300.0,
                        help="seconds allowed for every call to end after adoption")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    try:
        r = asyncio.run(scenario(args, tmp))
        code = report(args, r)
    finally:
        if not args.keep and "code" in locals() and code == 0:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"work directory kept: {tmp}")
    return code


if __name__ == "__main__":
    sys.exit(main())
