"""`hotline demo`: the real engine on the embedded PBX simulator, live in the terminal.

Four agents with different habits (1001 quick, 1002 slow, 1003 never answers, 1004 busy
phone), callers arriving at random with random patience and talk time, records in SQLite
under `--data-dir` (`--no-records` to skip), live events over MQTT only with `--mqtt`,
`/metrics` and the API (supervisor `demo`) on a free local port. Shows calls, agents' states and the
service level so far until Ctrl-C, or for `--duration` seconds of demo time; `--speed 10`
runs the clock ten times faster (the whole event loop, so ring cadence, timers and HTTP
timeouts all scale together).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import selectors
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ari_app.config.settings import Config, ConfigError, parse_config
from ari_app.domain.events import AgentState, CallEnded, DomainEvent
from ari_app.domain.passwords import hash_secret
from ari_app.shell.live_kpi import LiveKpi

log = logging.getLogger(__name__)

DEMO_PIN = "1234"
DEMO_PASSWORD = "demo"  # noqa: S105 - the API supervisor of a local demo, on 127.0.0.1
HABITS: dict[str, dict[str, Any]] = {
    "1001": {"name": "Quick Li", "answer_after": 2.0},
    "1002": {"name": "Slow Wang", "answer_after": 11.0},
    "1003": {"name": "Absent Zhang", "answer_after": None},
    "1004": {"name": "Busy Chen", "busy": True},
}


def demo_config(data_dir: Path, mqtt: str = "", http_port: int = 0) -> Config:
    """The demo's configuration; `mqtt` = "HOST:PORT" of a broker to publish to, or ""."""
    pin_hash = hash_secret(DEMO_PIN, iterations=20_000)
    host, _, port = mqtt.rpartition(":") if mqtt else ("", "", "")
    return parse_config(
        {
            "engine": {"organisation": "Demo Hotline", "data_dir": str(data_dir)},
            "database": {"url": f"sqlite:///{data_dir / 'hotline.sqlite3'}"},
            "http": {"host": "127.0.0.1", "port": http_port},
            "recordings": {"dir": str(data_dir / "recordings")},
            "mqtt": {"enabled": bool(mqtt), "host": host or "127.0.0.1",
                     "port": int(port) if port.isdigit() else 1883},
            "ringing": {"rings": 3, "country": "cn", "rona_pause_after": 2},
            "queues": [
                {
                    "name": "support",
                    "numbers": ["12345"],
                    "sl_seconds": 20,
                    "max_wait_seconds": 120,
                    "wrapup_seconds": 5,
                    "vip_numbers": ["13800000888"],
                    "overflow": {"action": "voicemail"},
                }
            ],
            "agents": [
                {
                    "id": aid,
                    "name": habit["name"],
                    "endpoint": f"PJSIP/agent{aid}",
                    "pin_hash": pin_hash,
                }
                for aid, habit in HABITS.items()
            ],
            "users": [
                {"name": "demo", "role": "supervisor",
                 "password_hash": hash_secret(DEMO_PASSWORD, iterations=20_000)},
            ],
        }
    )


class _ScaledSelector(selectors.BaseSelector):
    """Waits `timeout / speed` real seconds, to match the loop's scaled clock."""

    def __init__(self, speed: float) -> None:
        self._inner = selectors.DefaultSelector()
        self._speed = speed

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return self._inner.select(None if timeout is None else timeout / self._speed)

    def get_map(self) -> Any:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


class FastLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock runs `speed` times faster than the wall clock."""

    def __init__(self, speed: float) -> None:
        super().__init__(_ScaledSelector(speed))
        self._speed = speed
        self._origin = time.monotonic()

    def time(self) -> float:
        return self._origin + (time.monotonic() - self._origin) * self._speed


class Board:
    """An EventSink that keeps the finished calls' lines the terminal shows."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.lines: list[str] = []

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            s = event.summary
            self.outcomes[str(s.outcome)] += 1
            rings = ",".join(f"{o.agent_id}:{o.result}" for o in s.offers) or "-"
            self.lines.append(
                f"call {s.caller} {s.outcome} wait {s.wait_seconds:.0f}s"
                f" talk {s.talk_seconds:.0f}s agent {s.agent_id or '-'} offers [{rings}]"
            )


def _service_level(kpi: LiveKpi) -> str:
    """SL so far as the live KPI fold computes it (the same figure /metrics exports)."""
    answered = sum(t.answered for t in kpi.tallies.values())
    within = sum(t.within_threshold for t in kpi.tallies.values())
    return "n/a" if answered == 0 else f"{100.0 * within / answered:.0f}%"


async def _demo(args: argparse.Namespace) -> int:
    from ari_app.shell.run import running
    from pbxsim.config import EndpointBehaviour, SimConfig
    from pbxsim.server import Simulator

    data_dir: Path = args.data_dir
    try:
        config = demo_config(data_dir, getattr(args, "mqtt", "") or "",
                             getattr(args, "http_port", 0))
    except ConfigError as exc:
        exc.print_errors()
        return 2
    records = not args.no_records
    if records:
        try:
            from ari_app.records.schema import make_engine, upgrade

            upgrade(make_engine(config.database.url))
        except Exception as exc:
            print(f"note: records disabled ({type(exc).__name__}: {exc})")
            records = False
    sim = Simulator(SimConfig(recordings_dir=config.recordings.dir))
    for aid, habit in HABITS.items():
        sim.set_endpoint(
            f"PJSIP/agent{aid}",
            EndpointBehaviour(habit.get("answer_after"), bool(habit.get("busy", False))),
        )
    base = await sim.start()
    board = Board()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    rng = random.Random(args.seed)  # noqa: S311 - traffic, not security
    started = loop.time()
    try:
        async with running(
            config,
            ari_url=base,
            records=records,
            extra_sinks=[board],
            clock=sim.pbx.wall,
        ) as r:
            engine = r.engine
            print(f"metrics: {r.api_url}/metrics, API: {r.api_url} (user demo, password"
                  f" {DEMO_PASSWORD})"
                  + (f", MQTT to {config.mqtt.host}:{config.mqtt.port}"
                     if config.mqtt.enabled else ""), flush=True)
            for aid in HABITS:
                await engine.login_checked(aid, DEMO_PIN, f"PJSIP/agent{aid}")

            async def callers() -> None:
                while True:
                    await asyncio.sleep(rng.expovariate(1 / args.every))
                    vip = rng.random() < 0.1
                    number = "13800000888" if vip else f"139{rng.randrange(10**8):08d}"
                    sim.place_call(
                        number, "12345", patience=rng.uniform(15, 90), talk=rng.uniform(10, 45)
                    )

            traffic = asyncio.create_task(callers())
            shown = 0
            try:
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 5.0)
                    elapsed = loop.time() - started
                    for line in board.lines[shown:]:
                        print(f"  {line}")
                    shown = len(board.lines)
                    print(_status(engine, board, r.kpi, elapsed), flush=True)
                    if args.duration and elapsed >= args.duration:
                        break
            finally:
                traffic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await traffic
            r.kpi.drain()
            print(
                f"demo over after {loop.time() - started:.0f} s: {dict(board.outcomes)},"
                f" SL {_service_level(r.kpi)}, engine counters {dict(engine.core.counters)}"
            )
    finally:
        await sim.stop()
    return 0


def _status(engine: Any, board: Board, kpi: LiveKpi, elapsed: float) -> str:
    calls = Counter(str(c.state) for c in engine.core.calls.values())
    ringing = sum(1 for c in engine.core.calls.values() if c.offer is not None)
    agents = " ".join(
        f"{a.id}:{a.state}{'(' + a.reason + ')' if a.state is AgentState.PAUSED else ''}"
        for a in engine.core.agents
    )
    return (
        f"[{elapsed:6.0f}s] calls queued {calls['queued']} (ringing {ringing}) "
        f"talking {calls['greeting'] + calls['bridged']} | agents {agents} | "
        f"done {sum(board.outcomes.values())} SL {_service_level(kpi)}"
    )


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="run the engine on the embedded PBX simulator")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after N demo seconds")
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed factor (e.g. 10)")
    parser.add_argument("--every", type=float, default=25.0, help="mean seconds between calls")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--no-records", action="store_true", help="do not write SQLite records")
    parser.add_argument("--mqtt", nargs="?", const="127.0.0.1:1883", default="",
                        metavar="HOST:PORT", help="publish live events to this MQTT broker")
    parser.add_argument("--http-port", type=int, default=0,
                        help="port for /metrics and the API (default: any free port)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("error: --speed must be > 0")
        return 2
    loop = FastLoop(args.speed) if args.speed != 1.0 else asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_demo(args))
    except KeyboardInterrupt:
        return 0
    finally:
        loop.close()
        sys.stdout.flush()
