"""A restart's adoption of live calls in the pure core: time and CPU per call, with the
same callers arriving normally as baseline, in one run.

    .venv/bin/python bench/bench_adoption.py [--calls 1000] [--rounds 5] [--scaling]

No I/O: the snapshot is built the way Asterisk lists the app's channels and bridges after
an engine was killed (`GET /channels`, `GET /bridges`, filtered to the app), with the
channel variables of `ari.conf` (`HOTLINE_ROLE`, `HOTLINE_CALL_ID`, `HOTLINE_QUEUE`,
`HOTLINE_AGENT_ID`), ARI's `creationtime`, `dialplan` Stasis(hotline,...) and caller numbers:

- 60 % talking: the caller (Up) and the agent's leg (Up, `agent-<agent>-<call>`) in
  `br-<call>`, the recording `call-<call>` still running, the record's facts (arrival,
  answer, agent);
- 15 % ringing: the agent's leg `Ringing`, no bridge (adoption hangs the leg up; the caller
  goes back in line);
- 25 % waiting: the caller alone (`Ring`, the queue's ringback).

Agents (1.2 per call, as bench/bench_engine.py's 1,200 for 1,000 calls) are restored from
their saved sessions with `restore_agents` first (not timed): talking and ringing ones as
saved, 20 % of all paused with a reason, the rest available (fewer than the callers in
line, so some stay queued). Then `Switchboard.reconcile(channels, bridges, now,
recordings=..., facts=...)` on that fresh switchboard is timed: wall (perf_counter) and
CPU (process_time), total and per call, and the commands it returns, by type. The result
is checked: every talking call BRIDGED with its agent TALKING on it, every ringing leg hung
up (once), every caller in line queued or offered, no caller hung up, paused agents still
paused, no new offer under the channel id of a leg being hung up. The same check runs on a
"busy centre": every agent neither talking nor ringing paused, so the agents whose ringing
offers are resolved are the only ones free for the callers going back in line.

Baseline, same run: the same callers arriving normally, one `StasisStart` each
(`Switchboard.on_event`), on a fresh switchboard with the same restored agents. Printed:
CPU per adopted call / CPU per normal arrival. Each is repeated `--rounds` times on a new
switchboard; best and median are printed. `--scaling` also runs 250 … 4,000 calls, to show
whether the cost per call stays flat as the snapshot grows.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_app.callflow.adoption import AgentSession, CallFacts  # noqa: E402
from ari_app.callflow.call import CallState  # noqa: E402
from ari_app.callflow.switchboard import Limits, Switchboard  # noqa: E402
from ari_app.config.hours import is_open  # noqa: E402
from ari_app.config.settings import Config, parse_config  # noqa: E402
from ari_app.domain.commands import Command, CreateChannel, Hangup  # noqa: E402
from ari_app.domain.events import AgentState  # noqa: E402
from ari_app.domain.timestamps import format_ari_timestamp  # noqa: E402

NOW = 1_795_389_322.0  # the traces' day
APP = "hotline"
QUEUE = "support"
VARS = ("HOTLINE_ROLE", "HOTLINE_CALL_ID", "HOTLINE_QUEUE", "HOTLINE_AGENT_ID")


def bench_config(agents: int) -> Config:
    """bench/bench_engine.py's config: one queue, `agents` agents serving it."""
    return parse_config({
        "queues": [{"name": QUEUE, "numbers": ["12345"], "wrapup_seconds": 0.5,
                    "max_wait_seconds": 3600, "greeting": ["sound:hello-world"]}],
        "agents": [{"id": f"{9000 + i}", "endpoint": f"PJSIP/a{9000 + i}"}
                   for i in range(agents)],
        "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 0},
    })


@dataclass
class Scene:
    """What a killed engine left: Asterisk's view, the records' view, the agents' sessions."""

    config: Config
    channels: list[dict[str, Any]]
    bridges: list[dict[str, Any]]
    recordings: list[str]
    facts: dict[str, CallFacts]
    sessions: list[AgentSession]
    talking: dict[str, str]  # call -> agent
    ringing: dict[str, str]  # call -> the ringing leg
    waiting: list[str]
    paused: dict[str, str]  # agent -> reason
    arrivals: list[dict[str, Any]]  # the baseline: one StasisStart per caller


def _channel(cid: str, name: str, state: str, created: float, number: str, app_data: str,
             cvars: Mapping[str, str], exten: str = "12345") -> dict[str, Any]:
    """A channel as `GET /channels` lists it (pbxsim.model.channel_snapshot's shape)."""
    return {
        "accountcode": "",
        "caller": {"name": "", "number": number},
        "connected": {"name": "", "number": ""},
        "creationtime": format_ari_timestamp(created),
        "dialplan": {"app_data": app_data, "app_name": "Stasis", "context": "hotline-in",
                     "exten": exten, "priority": 2},
        "id": cid,
        "language": "en",
        "name": name,
        "protocol_id": "",
        "state": state,
        "channelvars": {v: cvars.get(v, "") for v in VARS},
    }


def build(calls: int, *, busy: bool = False) -> Scene:
    """`busy`: every agent neither talking nor ringing is paused, so the ringing agents are
    the only ones free once their offers are resolved."""
    n_talk = calls * 60 // 100
    n_ring = calls * 15 // 100
    agents = calls * 6 // 5
    n_paused = agents - n_talk - n_ring if busy else agents // 5
    config = bench_config(agents)
    ids = [a.id for a in config.agents]
    talk_agents, ring_agents = ids[:n_talk], ids[n_talk:n_talk + n_ring]
    paused = {a: ("lunch", "training")[i % 2] for i, a in enumerate(ids[-n_paused:])}
    scene = Scene(config, [], [], [], {}, [], {}, {}, [], paused, [])
    for i in range(calls):
        cid = f"{int(NOW) - 600}.{1000 + i}"
        number = f"139{i:08d}"
        arrived = NOW - 600 + i * 0.5
        caller_vars = {"HOTLINE_ROLE": "caller", "HOTLINE_CALL_ID": cid, "HOTLINE_QUEUE": QUEUE}
        if i < n_talk:
            aid = talk_agents[i]
            leg = f"agent-{aid}-{cid}"
            answered = arrived + 8.0
            scene.channels.append(_channel(cid, f"PJSIP/pstn-{i:08x}", "Up", arrived, number,
                                           f"{APP},{QUEUE}", caller_vars))
            scene.channels.append(_channel(
                leg, f"PJSIP/a{aid}-{i:08x}", "Up", arrived + 0.1, "", f"{APP},agent",
                {**caller_vars, "HOTLINE_ROLE": "agent", "HOTLINE_AGENT_ID": aid}, exten="s"))
            scene.bridges.append({
                "bridge_class": "stasis", "bridge_type": "mixing", "channels": [cid, leg],
                "creationtime": format_ari_timestamp(answered + 4.0), "creator": "Stasis",
                "id": f"br-{cid}", "name": "", "technology": "simple_bridge",
                "video_mode": "talker",
            })
            scene.recordings.append(f"call-{cid}")
            scene.facts[cid] = CallFacts(arrived, answered, aid)
            scene.talking[cid] = aid
        elif i < n_talk + n_ring:
            aid = ring_agents[i - n_talk]
            leg = f"agent-{aid}-{cid}"
            scene.channels.append(_channel(cid, f"PJSIP/pstn-{i:08x}", "Ring", arrived, number,
                                           f"{APP},{QUEUE}", caller_vars))
            scene.channels.append(_channel(
                leg, f"PJSIP/a{aid}-{i:08x}", "Ringing", NOW - 3.0, "", f"{APP},agent",
                {**caller_vars, "HOTLINE_ROLE": "agent", "HOTLINE_AGENT_ID": aid}, exten="s"))
            scene.facts[cid] = CallFacts(arrived, None, "")
            scene.ringing[cid] = leg
        else:
            scene.channels.append(_channel(cid, f"PJSIP/pstn-{i:08x}", "Ring", arrived, number,
                                           f"{APP},{QUEUE}", caller_vars))
            scene.facts[cid] = CallFacts(arrived, None, "")
            scene.waiting.append(cid)
        fresh = _channel(cid, f"PJSIP/pstn-{i:08x}", "Ring", NOW, number, f"{APP},{QUEUE}", {})
        scene.arrivals.append({"type": "StasisStart", "application": APP,
                               "timestamp": format_ari_timestamp(NOW), "args": [QUEUE],
                               "channel": fresh})
    for a in config.agents:
        state, reason = AgentState.AVAILABLE, ""
        if a.id in talk_agents[:n_talk]:
            state = AgentState.TALKING
        elif a.id in ring_agents:
            state = AgentState.RINGING
        elif a.id in paused:
            state, reason = AgentState.PAUSED, paused[a.id]
        scene.sessions.append(AgentSession(a.id, str(state), reason, a.endpoint, NOW - 900))
    return scene


def fresh(scene: Scene) -> Switchboard:
    core = Switchboard(scene.config, ring_period=lambda country: 5.0, is_open=is_open,
                       limits=Limits())
    core.restore_agents(scene.sessions, NOW)
    return core


@dataclass
class Run:
    wall: float
    cpu: float
    commands: list[Command]
    core: Switchboard


def adopt_once(scene: Scene) -> Run:
    core = fresh(scene)
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = core.reconcile(scene.channels, scene.bridges, NOW, recordings=scene.recordings,
                         facts=scene.facts)
    c1, w1 = time.process_time(), time.perf_counter()
    return Run(w1 - w0, c1 - c0, out, core)


def arrive_once(scene: Scene) -> Run:
    core = fresh(scene)
    gc.collect()
    out: list[Command] = []
    w0, c0 = time.perf_counter(), time.process_time()
    for event in scene.arrivals:
        out += core.on_event(event, NOW)
    c1, w1 = time.process_time(), time.perf_counter()
    return Run(w1 - w0, c1 - c0, out, core)


def check(scene: Scene, run: Run) -> list[str]:
    """What a restart must leave; one line per kind of failure (empty: all good)."""
    core, bad = run.core, Counter[str]()
    hung = {c.channel_id for c in run.commands if isinstance(c, Hangup)}
    for cid, aid in scene.talking.items():
        call = core.calls.get(cid)
        agent = core.agents.get(aid)
        if call is None or call.state is not CallState.BRIDGED or call.agent_id != aid:
            bad["talking call not bridged with its agent"] += 1
        if agent is None or agent.state is not AgentState.TALKING or agent.call_id != cid:
            bad["talking agent not talking on its call"] += 1
    for leg in scene.ringing.values():
        if leg not in hung:
            bad["ringing leg not hung up"] += 1
    line = core.waiting[QUEUE]
    for cid in [*scene.ringing, *scene.waiting]:
        call = core.calls.get(cid)
        if call is None or call.state is not CallState.QUEUED or (
                cid not in line and call.offer is None):
            bad["caller in line neither queued nor offered"] += 1
    created = {c.channel_id for c in run.commands if isinstance(c, CreateChannel)}
    bad["new offer under the id of a leg being hung up"] += len(created & hung)
    callers = {ch["id"] for ch in scene.channels if ch["channelvars"]["HOTLINE_ROLE"] == "caller"}
    bad["caller hung up"] += len(hung & callers)
    for aid, reason in scene.paused.items():
        agent = core.agents.get(aid)
        if agent is None or agent.state is not AgentState.PAUSED or agent.reason != reason:
            bad["paused agent not paused with its reason"] += 1
    for counter in ("errors", "unattributed_hung_up", "orphan_bridges"):
        bad[counter] += core.counters[counter]
    return [f"{what}: {n}" for what, n in bad.items() if n]


def measure(calls: int, rounds: int) -> dict[str, Any]:
    scene = build(calls)
    adopted = [adopt_once(scene) for _ in range(rounds)]
    arrived = [arrive_once(scene) for _ in range(rounds)]
    return {"scene": scene, "adopted": adopted, "arrived": arrived}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scaling", action="store_true",
                        help="also 250, 500, 2000 and 4000 calls (3 rounds each)")
    args = parser.parse_args()
    r = measure(args.calls, args.rounds)
    scene: Scene = r["scene"]
    n = args.calls
    adopted: list[Run] = r["adopted"]
    arrived: list[Run] = r["arrived"]
    print(
        f"snapshot: {n} live calls ({len(scene.talking)} talking, {len(scene.ringing)} "
        f"ringing, {len(scene.waiting)} waiting), {len(scene.channels)} channels, "
        f"{len(scene.bridges)} bridges, {len(scene.recordings)} live recordings; "
        f"{len(scene.config.agents)} agents ({len(scene.paused)} paused); {args.rounds} rounds"
    )
    a_cpu = sorted(x.cpu for x in adopted)
    a_wall = sorted(x.wall for x in adopted)
    b_cpu = sorted(x.cpu for x in arrived)
    b_wall = sorted(x.wall for x in arrived)
    print(
        f"adoption (Switchboard.reconcile): wall best {_ms(a_wall[0])}, median "
        f"{_ms(statistics.median(a_wall))}; CPU best {_ms(a_cpu[0])}, median "
        f"{_ms(statistics.median(a_cpu))} -> {_us(a_cpu[0] / n)} per call (best), "
        f"{_us(statistics.median(a_cpu) / n)} (median)"
    )
    kinds = Counter(type(c).__name__ for c in adopted[0].commands)
    print(f"  commands: {len(adopted[0].commands)} -> "
          + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    counters = {k: v for k, v in adopted[0].core.counters.items() if v}
    print(f"  core counters: {counters}")
    problems = check(scene, adopted[0])
    on_call = sum(1 for c in adopted[0].core.calls.values() if c.offer is not None)
    queued = len(adopted[0].core.waiting[QUEUE])
    print(
        "  check: " + ("ok: " if not problems else "FAILED: " + "; ".join(problems) + "; ")
        + f"{len(scene.talking)} talking calls bridged with their agents talking, "
        f"{len(scene.ringing)} ringing legs hung up, {len(scene.ringing) + len(scene.waiting)} "
        f"callers back in line ({queued} in the queue, {on_call} of them offered at once), "
        f"0 callers hung up, {len(scene.paused)} agents still paused"
    )
    print(
        f"baseline (the same {n} callers arriving, one StasisStart each): wall best "
        f"{_ms(b_wall[0])}, median {_ms(statistics.median(b_wall))}; CPU best "
        f"{_ms(b_cpu[0])}, median {_ms(statistics.median(b_cpu))} -> {_us(b_cpu[0] / n)} per "
        f"call (best); {len(arrived[0].commands)} commands"
    )
    print(
        f"ratio adoption / arrival, CPU per call: {a_cpu[0] / b_cpu[0]:.2f}x (best), "
        f"{statistics.median(a_cpu) / statistics.median(b_cpu):.2f}x (median)"
    )
    busy = build(n, busy=True)
    run = adopt_once(busy)
    bad = check(busy, run)
    print(
        f"busy centre (the same calls, every other agent paused: the {len(busy.ringing)} "
        f"agents whose offers are resolved are the only ones free): {_ms(run.cpu)} CPU; check: "
        + ("ok" if not bad else "FAILED: " + "; ".join(bad))
    )
    failed = bool(problems) or bool(bad)
    if args.scaling:
        print("scaling (3 rounds each, best CPU per call):")
        for calls in (250, 500, 1000, 2000, 4000):
            s = measure(calls, 3)
            best_a = min(x.cpu for x in s["adopted"]) / calls
            best_b = min(x.cpu for x in s["arrived"]) / calls
            bad = check(s["scene"], s["adopted"][0])
            failed = failed or bool(bad)
            print(f"  {calls:5d} calls: adoption {_us(best_a)}, arrival {_us(best_b)}, "
                  f"ratio {best_a / best_b:.2f}x{'' if not bad else ', FAILED: ' + '; '.join(bad)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
