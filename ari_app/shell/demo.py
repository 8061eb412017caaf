"""`hotline demo`: the real engine on the embedded PBX simulator, live in the terminal.

Four agents with different habits (1001 quick, 1002 slow, 1003 never answers, 1004 busy
phone). The first minute is scripted (`OPENING`, `TRANSFER`) so that a newcomer sees what
the engine is for within it: an agent who lets the phone ring out (RONA), a busy phone, a
caller who gives up, the greeting with the agent's ID as the caller hears it, and a transfer
an agent makes through the engine's own control API. Then callers arrive at random with
random patience and talk time (`--every`, `--seed`).

Records go to SQLite under `--data-dir` (`--no-records` to skip), live events over MQTT only
with `--mqtt`, `/metrics` and the API (supervisor `demo`) on a free local port. Log lines go
to a file (`--log-file`, default `<data-dir>/demo.log`) so the terminal shows only the view;
`--verbose` or `--log-file -` puts them on stderr. Runs until Ctrl-C or for `--duration`
seconds of demo time; `--speed 10` runs the clock ten times faster (the whole event loop, so
ring cadence, timers and HTTP timeouts all scale together).
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.config.settings import Config, ConfigError, parse_config
from ari_app.domain.commands import AriRequest
from ari_app.domain.events import (
    AgentState,
    AgentStateChanged,
    CallEnded,
    CallStateChanged,
    DomainEvent,
    SurveyFinished,
    TransferCompleted,
    TransferFailed,
    TransferStarted,
)
from ari_app.domain.passwords import hash_secret
from ari_app.domain.privacy import mask
from ari_app.shell.live_kpi import LiveKpi

log = logging.getLogger(__name__)

DEMO_PIN = "1234"
DEMO_PASSWORD = "demo"  # noqa: S105 - the API supervisor of a local demo, on 127.0.0.1
DEMO_AGENT_USER = "li"  # agent 1001's own user (the console's agent panel), same password
SUPERVISOR_PHONE = "PJSIP/supervisor"  # where the demo supervisor's listen / whisper rings
HOTLINE_NUMBER = "12345"
HABITS: dict[str, dict[str, Any]] = {
    "1001": {"name": "Quick Li", "answer_after": 2.0, "habit": "answers in 2 s"},
    "1002": {"name": "Slow Wang", "answer_after": 11.0, "habit": "answers in 11 s"},
    "1003": {"name": "Absent Zhang", "answer_after": None, "habit": "never answers"},
    "1004": {"name": "Busy Chen", "busy": True, "habit": "phone busy"},
}
# Logged in in this order, so the longest idle (offered first) are the two who never take a
# call: the first caller meets 1003's unanswered phone (RONA after 3 rings of 5 s), then
# 1004's busy line, then is answered.
LOGIN_ORDER = ("1003", "1004", "1001", "1002")
RING_SECONDS = 15.0  # 3 rings at China's cadence (1 s on, 4 s off): the demo's RONA time


@dataclass(frozen=True)
class ScriptedCaller:
    """One caller of the scripted opening: when (demo seconds after the hotline opens),
    how long they wait unanswered before hanging up, how long they talk once answered."""

    at: float
    number: str
    patience: float
    talk: float
    plan: str


OPENING: tuple[ScriptedCaller, ...] = (
    ScriptedCaller(2.0, "13900000001", 120.0, 10.0,
                   "1003 will let it ring out (RONA), 1004's phone is busy"),
    ScriptedCaller(4.0, "13900000002", 120.0, 45.0,
                   "1001 answers, then hands the caller on to 1002 (a transfer)"),
    ScriptedCaller(19.0, "13900000003", 120.0, 15.0, "keeps 1001 busy for a while"),
    ScriptedCaller(24.0, "13900000004", 8.0, 20.0,
                   "impatient: hangs up after 8 s unanswered (abandon)"),
)


@dataclass(frozen=True)
class ScriptedTransfer:
    """`from_agent` hands the first call it talks on to agent `to_agent`, `after` seconds
    into the talk, as a blind transfer through the engine's control API."""

    from_agent: str
    to_agent: str
    after: float


TRANSFER = ScriptedTransfer("1001", "1002", 1.0)


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
                    "numbers": [HOTLINE_NUMBER],
                    "sl_seconds": 20,
                    "max_wait_seconds": 120,
                    "wrapup_seconds": 5,
                    "vip_numbers": ["13800000888"],
                    "overflow": {"action": "voicemail"},
                    "survey": {"enabled": True, "timeout_seconds": 4},
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
                {"name": "demo", "role": "supervisor", "device": SUPERVISOR_PHONE,
                 "password_hash": hash_secret(DEMO_PASSWORD, iterations=20_000)},
                {"name": DEMO_AGENT_USER, "role": "agent", "agent_id": "1001",
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


def spoken(media: str) -> str:
    """A playback's media list as the caller hears it: `sound:hotline-welcome,digits:1001`
    -> `[hotline-welcome] 1-0-0-1`."""
    parts = []
    for uri in media.split(","):
        scheme, _, rest = uri.partition(":")
        parts.append("-".join(rest) if scheme in ("digits", "number") else f"[{rest}]")
    return " ".join(parts)


class View:
    """The terminal's live view: an EventSink of the engine's domain events, plus the
    greetings the engine plays (`GreetingTap`). Lines are stamped with demo seconds."""

    def __init__(self, clock: Callable[[], float], organisation: str, ring_seconds: float,
                 say: Callable[[str], None] | None = None) -> None:
        self.clock = clock
        self.organisation = organisation
        self.ring_seconds = ring_seconds
        self._say = say or (lambda line: print(line, flush=True))
        self.outcomes: Counter[str] = Counter()
        self.offers: Counter[str] = Counter()  # offer results of finished calls
        self.greetings = 0
        self.transfers = 0
        self.labels: dict[str, str] = {}  # call id -> "#n"
        self.plans: dict[str, tuple[str, str]] = {}  # caller channel -> (number, plan)
        self.agent_of: dict[str, str] = {}  # call id -> agent talking on it
        self.ringing: dict[str, tuple[str, float]] = {}  # call id -> (agent, since)
        self.bridged: list[Callable[[str, str], None]] = []  # told (call id, agent id)
        self.quiet = False

    def say(self, text: str) -> None:
        if not self.quiet:
            self._say(f"[{self.clock():5.0f}s] {text}")

    def expect(self, channel_id: str, number: str, plan: str) -> None:
        """A caller the demo placed: named with its plan when the engine queues it."""
        self.plans[channel_id] = (number, plan)

    def label(self, call_id: str) -> str:
        return self.labels.get(call_id, "a call")

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            self._call_state(event)
        elif isinstance(event, AgentStateChanged):
            if event.state is AgentState.PAUSED and event.reason == "rona":
                self.say(f"agent {event.agent_id} paused by the engine: it let calls ring "
                         "out (RONA) twice in a row")
        elif isinstance(event, TransferStarted):
            to = (event.label or event.target).replace(":", " ", 1)  # "agent:1002"
            self.say(f"{self.label(event.call_id)}: agent {event.from_agent} transfers the "
                     f"caller ({event.kind}) to {to}")
        elif isinstance(event, TransferCompleted):
            self.transfers += 1
            to = f" agent {event.to_agent}" if event.to_agent else f" {event.label}"
            self.say(f"{self.label(event.call_id)}: transfer done, the caller is with{to}")
        elif isinstance(event, TransferFailed):
            self.say(f"{self.label(event.call_id)}: transfer to "
                     f"{event.label.replace(':', ' ', 1)} failed "
                     f"({event.result}{': ' + event.reason if event.reason else ''})")
        elif isinstance(event, CallEnded):
            self._ended(event)
        elif isinstance(event, SurveyFinished):
            score = f", score {event.score:g} of 5" if event.score is not None else ""
            self.say(f"{self.label(event.call_id)}: survey {event.outcome}{score}"
                     f" (credited to agent {event.agent_id})")

    def _call_state(self, event: CallStateChanged) -> None:
        cid = event.call_id
        if event.state == "queued" and cid not in self.labels:
            self.labels[cid] = f"#{len(self.labels) + 1}"
            number, plan = self.plans.pop(cid, ("", ""))
            who = f" from {mask(number)}" if number else ""
            self.say(f"call {self.labels[cid]}{who} waits in {event.queue}"
                     + (f" — {plan}" if plan else ""))
        elif event.state == "offered":
            self.say(f"{self.label(cid)} rings agent {event.agent_id}{self._moved_on(cid)}")
            self.ringing[cid] = (event.agent_id, self.clock())
        elif (event.state == "bridged" and event.agent_id
              and self.agent_of.get(cid) != event.agent_id):
            self.agent_of[cid] = event.agent_id
            for told in self.bridged:
                told(cid, event.agent_id)

    def _moved_on(self, call_id: str) -> str:
        """Why the call rings someone else: told from how long the last agent rang (the
        offers' results themselves are in the call's summary when it ends)."""
        agent, since = self.ringing.pop(call_id, ("", 0.0))
        if not agent:
            return ""
        if self.clock() - since >= self.ring_seconds - 0.5:
            return (f" ({agent} did not answer within {self.ring_seconds:.0f} s: RONA,"
                    " the engine moves on)")
        return f" ({agent} could not take it: phone busy or unreachable)"

    def _ended(self, event: CallEnded) -> None:
        s = event.summary
        self.ringing.pop(s.call_id, None)
        self.outcomes[str(s.outcome)] += 1
        self.offers.update(str(o.result) for o in s.offers)
        offers = ", ".join(f"{o.agent_id}:{o.result}" for o in s.offers) or "none"
        took = [o.agent_id for o in s.offers if o.result == "answered"]
        talk = f", talked {s.talk_seconds:.0f}s with {' then '.join(took)}" if took else ""
        self.say(f"{self.label(s.call_id)} ended: {s.outcome} after waiting "
                 f"{s.wait_seconds:.0f}s{talk}; offers [{offers}]")

    def greeting(self, request: AriRequest) -> None:
        """A playback the engine asked for: the greeting is `greet-<call id>`."""
        pid = str(request.params.get("playbackId", ""))
        if not pid.startswith("greet-"):
            return
        self.greetings += 1
        cid = pid.removeprefix("greet-")
        self.say(f"{self.label(cid)} hears the greeting ({self.organisation}): "
                 f"{spoken(str(request.params.get('media', '')))}")

    def seen(self) -> str:
        """What the run showed of the cases the demo is about."""
        cases = {
            "RONA": self.offers["rona"], "busy": self.offers["busy"],
            "abandoned": self.outcomes["abandoned"], "transfers": self.transfers,
            "greetings": self.greetings,
        }
        return ", ".join(f"{name} {n}" for name, n in cases.items())


class GreetingTap(list[AriRequest]):
    """The engine's `request_log`, keeping nothing: it shows the View every playback the
    engine sends, so the greeting is printed from the media actually requested."""

    def __init__(self, view: View) -> None:
        super().__init__()
        self.view = view

    def append(self, request: AriRequest) -> None:
        if request.path.endswith("/play"):
            self.view.greeting(request)


def console_line(api_url: str) -> str:
    """Where the web console is and who may log in (localhost: the browser sends the
    console's Secure cookie over plain HTTP only there)."""
    port = api_url.rsplit(":", 1)[-1]
    return (f"console: http://localhost:{port}/console (wallboard: user demo, password"
            f" {DEMO_PASSWORD}; agent panel: user {DEMO_AGENT_USER}, password {DEMO_PASSWORD},"
            f" agent 1001, PIN {DEMO_PIN})")


def service_level(kpi: LiveKpi) -> str:
    """SL so far as the live KPI fold computes it (the figure /metrics exports): answered
    within the threshold / answered; "—" until a call has been answered."""
    answered = sum(t.answered for t in kpi.tallies.values())
    within = sum(t.within_threshold for t in kpi.tallies.values())
    return "—" if answered == 0 else f"{100.0 * within / answered:.0f}%"


def status(engine: Any, view: View, kpi: LiveKpi) -> str:
    """The every-10-seconds line: queue, calls, service level so far, each agent's state."""
    calls = Counter(str(c.state) for c in engine.core.calls.values())
    agents = ", ".join(
        f"{a.id} {a.state}{' (' + a.reason + ')' if a.state is AgentState.PAUSED else ''}"
        for a in engine.core.agents
    )
    answered = sum(t.answered for t in kpi.tallies.values())
    return (
        f"[{view.clock():5.0f}s] ── waiting {calls['queued']} · talking "
        f"{calls['greeting'] + calls['bridged']} · ended {sum(view.outcomes.values())} · "
        f"SL {service_level(kpi)} ({answered} answered) · {agents}"
    )


class LogCount(logging.Handler):
    """Counts warnings and errors logged, to say at the end whether the log is worth a look."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def setup_logging(args: argparse.Namespace) -> str:
    """Log lines to a file, or to stderr with `--verbose` / `--log-file -`; returns where."""
    level = getattr(logging, str(getattr(args, "log_level", "INFO")).upper(), logging.INFO)
    target = getattr(args, "log_file", None)
    if getattr(args, "verbose", False) or str(target) == "-":
        logging.basicConfig(level=level, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return "stderr"
    path = Path(target) if target else args.data_dir / "demo.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=level, force=True, filename=str(path), encoding="utf-8",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return str(path)


async def _demo(args: argparse.Namespace) -> int:
    from ari_app.api.control import ControlError, TransferTarget
    from ari_app.shell.control import SwitchboardControl
    from ari_app.shell.run import running
    from pbxsim.config import EndpointBehaviour, SimConfig
    from pbxsim.dtmf import DtmfPress
    from pbxsim.server import Simulator

    data_dir: Path = args.data_dir
    try:
        config = demo_config(data_dir, getattr(args, "mqtt", "") or "",
                             getattr(args, "http_port", 0))
    except ConfigError as exc:
        exc.print_errors()
        return 2
    problems = LogCount()
    logging.getLogger().addHandler(problems)
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
    sim.set_endpoint(SUPERVISOR_PHONE, EndpointBehaviour(2.0))
    base = await sim.start()
    loop = asyncio.get_running_loop()
    opened = loop.time()
    view = View(lambda: loop.time() - opened, config.engine.organisation, RING_SECONDS)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    rng = random.Random(args.seed)  # noqa: S311 - traffic, not security
    tasks: list[asyncio.Task[None]] = []
    try:
        async with running(
            config, ari_url=base, records=records, extra_sinks=[view], clock=sim.pbx.wall,
        ) as r:
            engine = r.engine
            engine.request_log = GreetingTap(view)
            control = SwitchboardControl(engine, r.index)
            print(f"metrics: {r.api_url}/metrics, API: {r.api_url} (user demo, password"
                  f" {DEMO_PASSWORD})"
                  + (f", MQTT to {config.mqtt.host}:{config.mqtt.port}"
                     if config.mqtt.enabled else ""), flush=True)
            print(console_line(r.api_url), flush=True)
            for aid in LOGIN_ORDER:
                await engine.login_checked(aid, DEMO_PIN, f"PJSIP/agent{aid}")
                await asyncio.sleep(0.1)  # distinct idle times, whatever the clock
            print("agents: " + ", ".join(f"{aid} {HABITS[aid]['habit']}" for aid in HABITS)
                  + f"; a call rings an agent 3 times ({RING_SECONDS:.0f} s), SL counts answers"
                  " within 20 s."
                  f"\nthe first minute is scripted; then a caller every ~{args.every:g} s"
                  " at random.", flush=True)
            opened = loop.time()

            def place(number: str, patience: float, talk: float, plan: str = "",
                      survey: str = "") -> None:
                """`survey`: the caller's key for the survey after the agent hangs up
                ("" : the caller hangs up first, no survey; "-": stays silent)."""
                keys = [DtmfPress(talk + 3.0, survey)] if survey not in ("", "-") else []
                channel = sim.place_call(number, HOTLINE_NUMBER, patience=patience, talk=talk,
                                         hangup_by="agent" if survey else "caller", dtmf=keys)
                view.expect(channel, number, plan)

            async def opening() -> None:
                for caller in OPENING:
                    await asyncio.sleep(max(0.0, opened + caller.at - loop.time()))
                    place(caller.number, caller.patience, caller.talk, caller.plan)

            async def callers() -> None:
                await asyncio.sleep(max(0.0, opened + 60.0 - loop.time()))
                while True:
                    await asyncio.sleep(rng.expovariate(1 / args.every))
                    vip = rng.random() < 0.1
                    number = "13800000888" if vip else f"139{rng.randrange(10**8):08d}"
                    survey = rng.choice(("", "", "5", "5", "4", "4", "3", "2", "1", "-"))
                    place(number, rng.uniform(15, 90), rng.uniform(10, 45), survey=survey)

            handed: asyncio.Queue[str] = asyncio.Queue(1)

            def on_bridged(call_id: str, agent_id: str) -> None:
                if agent_id == TRANSFER.from_agent and handed.empty() and not view.transfers:
                    handed.put_nowait(call_id)

            async def transfer() -> None:
                call_id = await handed.get()
                view.bridged.remove(on_bridged)
                await asyncio.sleep(TRANSFER.after)
                try:
                    await control.transfer(call_id, "blind",
                                           TransferTarget("agent", TRANSFER.to_agent))
                except ControlError as exc:
                    view.say(f"{view.label(call_id)}: the transfer was refused: {exc}")

            view.bridged.append(on_bridged)
            tasks = [asyncio.create_task(t) for t in (opening(), callers(), transfer())]
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 10.0)
                print(status(engine, view, r.kpi), flush=True)
                if args.duration and view.clock() >= args.duration:
                    break
            for task in tasks:
                task.cancel()
            view.quiet = True  # calls cut short by the stop are not news
            r.kpi.drain()
            print(f"demo over after {view.clock():.0f} s: "
                  + (", ".join(f"{n} {o}" for o, n in view.outcomes.items()) or "no call ended")
                  + f"; SL {service_level(r.kpi)}. Seen: {view.seen()}.")
            if r.journal_path is not None:
                print("KPIs of this run (the demo's SL threshold is 20 s): .venv/bin/hotline kpi"
                      f" report --journal {r.journal_path} --sl-seconds 20")
    finally:
        for task in tasks:
            task.cancel()
        await sim.stop()
        logging.getLogger().removeHandler(problems)
    if problems.count:
        print(f"{problems.count} warning(s) or error(s) were logged: see the log")
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="run the engine on the embedded PBX simulator")
    parser.add_argument("--duration", type=float, default=0.0, help="stop after N demo seconds")
    parser.add_argument("--speed", type=float, default=1.0, help="clock speed factor (e.g. 10)")
    parser.add_argument("--every", type=float, default=20.0,
                        help="mean seconds between calls after the scripted first minute")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--no-records", action="store_true", help="do not write SQLite records")
    parser.add_argument("--mqtt", nargs="?", const="127.0.0.1:1883", default="",
                        metavar="HOST:PORT", help="publish live events to this MQTT broker")
    parser.add_argument("--http-port", type=int, default=0,
                        help="port for /metrics and the API (default: any free port)")
    parser.add_argument("--log-file", default=None, metavar="FILE",
                        help="where log lines go (default <data-dir>/demo.log; - for stderr)")
    parser.add_argument("--verbose", action="store_true", help="log lines on stderr")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("error: --speed must be > 0")
        return 2
    where = setup_logging(args)
    print("hotline demo: the engine on the embedded PBX simulator, SQLite records in "
          f"{args.data_dir}/; log lines: {where}. Ctrl-C stops.", flush=True)
    loop = FastLoop(args.speed) if args.speed != 1.0 else asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_demo(args))
    except KeyboardInterrupt:
        return 0
    finally:
        loop.close()
        sys.stdout.flush()
