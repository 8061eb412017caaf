"""The asyncio shell around the call-flow core: events in, requests out, timers on the loop.

`Engine.on_event` feeds one ARI event to `Switchboard` and executes what comes back:
ARI commands go to a per-call lane (one call's requests stay in order — create before
dial, answer before play — while calls run concurrently; a lane and its task exist only
while it has work), timers become `loop.call_later` handles, domain events go to the sinks
(which must not block; a sink that raises is logged and counted, never fatal). A failed
request is fed back to the core (`on_failure`) with its HTTP status (0: no answer).

Time comes from the event loop (`loop.time()` plus a wall-clock base), so tests and the
bench fast-forward it with looptime.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ari_app.ari.errors import AriConnectionError, AriHttpError
from ari_app.calendar import YearNotCovered
from ari_app.callbacks import Callback
from ari_app.callflow.adoption import AgentSession, CallFacts
from ari_app.callflow.supervision.machine import Monitor
from ari_app.callflow.switchboard import Limits, RingPeriod, Switchboard
from ari_app.config.hours import opening_hours
from ari_app.config.settings import Config
from ari_app.config.site_calendar import site_calendar
from ari_app.domain.commands import (
    AriCommand,
    AriRequest,
    CancelTimer,
    CheckPin,
    Command,
    Note,
    Publish,
    StartTimer,
    TimerKey,
    call_key,
)
from ari_app.domain.events import EventSink
from ari_app.domain.variables import ROLE
from ari_app.shell.stasis_gate import RELEASING, StasisGate

log = logging.getLogger(__name__)


class AriTransport(Protocol):
    """What the engine needs from the ARI client (`ari_app.ari.client.AriClient` fits)."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any: ...


@dataclass
class EngineStats:
    events: int = 0
    requests: int = 0
    request_errors: int = 0
    sink_errors: int = 0
    timers_fired: int = 0
    reaction_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))


def ari_event_types(engine: Engine, *, kpi: bool = True) -> frozenset[str]:
    """The event filter to ask Asterisk for: the engine's types, plus the KPI fold's (the
    live fold and the journal read the same stream; `kpi.event_filter.RELEVANT_TYPES`)."""
    types = engine.event_types
    if kpi:
        from kpi.event_filter import RELEVANT_TYPES

        types |= RELEVANT_TYPES
    return types


def ring_period_from_config(config: Config) -> RingPeriod:
    """Ring cadence period per country, from the configured indications.conf (or shipped)."""
    from kpi.cadence import ring_period_seconds

    path = config.ringing.indications_file

    def period(country: str) -> float:
        return ring_period_seconds(country, path)

    return period


_calendar_gaps: set[int] = set()


def _calendar_gap(gap: YearNotCovered) -> None:
    """A queue's hours met a year the site calendar has no data for: say so, once a year."""
    if gap.year not in _calendar_gaps:
        _calendar_gaps.add(gap.year)
        log.error("%s; until then queues' working_days apply Monday-Friday", gap)


class Engine:
    def __init__(
        self,
        config: Config,
        ari: AriTransport,
        *,
        sinks: Sequence[EventSink] = (),
        clock: Callable[[], float] | None = None,
        ring_period: RingPeriod | None = None,
        limits: Limits | None = None,
        request_log: list[AriRequest] | None = None,
        phone_transfers: str = "core",
    ) -> None:
        self.config = config
        self.core = Switchboard(
            config,
            ring_period=ring_period or ring_period_from_config(config),
            is_open=opening_hours(site_calendar(config), on_gap=_calendar_gap),
            limits=limits or Limits(),
            phone_transfers=phone_transfers,
        )
        self.ari = ari
        self.gate = StasisGate(timeout=(limits or Limits()).setup_seconds)
        self.sinks = list(sinks)
        self.stats = EngineStats()
        self.request_log = request_log
        self._clock = clock
        self._wall_base: float | None = None
        self._timers: dict[TimerKey, asyncio.TimerHandle] = {}
        self._lanes: dict[str, deque[tuple[AriCommand, float]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.adoption_facts: Mapping[str, CallFacts] = {}  # for the first reconcile
        self.reconciled = asyncio.Event()  # set after each reconcile with Asterisk

    # ------------------------------------------------------------------ clock

    def now(self) -> float:
        """Epoch seconds on the loop's clock (fast-forwarded under looptime)."""
        if self._clock is not None:
            return self._clock()
        loop = asyncio.get_running_loop()
        if self._wall_base is None:
            self._wall_base = time.time() - loop.time()
        return self._wall_base + loop.time()

    @property
    def event_types(self) -> frozenset[str]:
        """The ARI event types the engine reads: the call flow's and the Stasis gate's.
        What else the process reads (the KPI fold, the journal) is added by whoever
        wires it (`ari_event_types`)."""
        return self.core.event_types | RELEASING

    # ------------------------------------------------------------------ inputs

    async def on_event(self, event: Mapping[str, Any]) -> None:
        """For `SupervisedConnection(on_event=...)`."""
        self.handle_event(event)

    def handle_event(self, event: Mapping[str, Any]) -> None:
        t0 = time.perf_counter()
        self.stats.events += 1
        self.gate.seen(event)
        self._execute(self.core.on_event(event, self.now()), t0)

    async def on_reconcile(self, snapshot: Any) -> None:
        """For `SupervisedConnection(on_reconcile=...)`: catch up after a (re)connect, and
        after a restart adopt what Asterisk holds (see ari_app.callflow.adoption)."""
        channels = snapshot.app_channels()
        bridges = snapshot.app_bridges()
        recordings = await self._live_recordings(channels, bridges)
        facts, self.adoption_facts = self.adoption_facts, {}
        self.reconcile(channels, bridges, recordings=recordings, facts=facts)
        self.reconciled.set()

    def reconcile(
        self,
        channels: Iterable[Mapping[str, Any]],
        bridges: Iterable[Mapping[str, Any] | str],
        *,
        recordings: Iterable[str] = (),
        facts: Mapping[str, CallFacts] | None = None,
    ) -> None:
        commands = self.core.reconcile(
            channels, bridges, self.now(), recordings=recordings, facts=facts
        )
        self._execute(commands, time.perf_counter())

    def restore_agents(self, sessions: Iterable[AgentSession]) -> None:
        """Before the first connect: the agents' saved sessions."""
        self._execute(self.core.restore_agents(sessions, self.now()), time.perf_counter())

    def restore_callbacks(self, callbacks: Iterable[Callback]) -> None:
        """At start: the pending callbacks from the records."""
        self._execute(self.core.restore_callbacks(callbacks, self.now()), time.perf_counter())

    def schedule_callback(self, callback: Callback, within_days: int | None) -> Callback:
        """A scheduled callback (the API, a work order's follow-up); ValueError: no queue."""
        cb, commands = self.core.schedule_callback(callback, within_days, self.now())
        self._execute(commands, time.perf_counter())
        return cb

    def cancel_callback(self, callback_id: str, by: str) -> Callback:
        """KeyError: no pending callback with that id."""
        cb, commands = self.core.cancel_callback(callback_id, by, self.now())
        self._execute(commands, time.perf_counter())
        return cb

    async def _live_recordings(
        self, channels: Sequence[Mapping[str, Any]], bridges: Sequence[Mapping[str, Any]]
    ) -> list[str]:
        """Which recordings of calls the core does not hold are still running: ARI lists
        none, so each candidate (`call-<id>` of a recorder snoop `rec-<id>` or of a call
        bridge, `vm-<id>` of an answered caller outside any bridge) is asked for by name."""
        core = self.core
        bridged = {c for b in bridges for c in b.get("channels") or ()}
        names = [
            f"call-{ch['id'][4:]}"
            for ch in channels
            if str(ch.get("id", "")).startswith("rec-") and ch["id"][4:] not in core.calls
        ]
        names += [
            f"call-{b['id'][3:]}"
            for b in bridges
            if str(b.get("id", "")).startswith("br-") and b["id"][3:] not in core.calls
            and f"call-{b['id'][3:]}" not in names
        ]
        names += [
            f"vm-{ch['id']}"
            for ch in channels
            if ch.get("state") == "Up" and ch["id"] not in bridged and ch["id"] not in core.calls
            and (ch.get("channelvars") or {}).get(ROLE) == "caller"
        ]
        running: list[str] = []
        for name in names:
            try:
                rec = await self.ari.request("GET", f"/recordings/live/{name}")
            except (AriHttpError, AriConnectionError):
                continue
            if isinstance(rec, Mapping) and rec.get("state") in ("queued", "recording", "paused"):
                running.append(name)
        return running

    # agent actions: raise ari_app.callflow.agents.AgentError when refused
    def login(self, agent_id: str, pin: str, device: str) -> None:
        self._execute(self.core.login(agent_id, pin, device, self.now()), time.perf_counter())

    async def check_pin(self, agent_id: str, pin: str) -> bool:
        """PBKDF2 takes ~0.1 s of CPU: never on the loop that runs call control."""
        return await asyncio.to_thread(self.core.agents.check_pin, agent_id, pin)

    async def login_checked(self, agent_id: str, pin: str, device: str) -> None:
        ok = await self.check_pin(agent_id, pin)
        commands = self.core.login(agent_id, "", device, self.now(), verified=ok)
        self._execute(commands, time.perf_counter())

    def logout(self, agent_id: str) -> None:
        self._execute(self.core.logout(agent_id, self.now()), time.perf_counter())

    def pause(self, agent_id: str, reason: str) -> None:
        self._execute(self.core.pause(agent_id, reason, self.now()), time.perf_counter())

    def unpause(self, agent_id: str) -> None:
        self._execute(self.core.unpause(agent_id, self.now()), time.perf_counter())

    def end_wrapup(self, agent_id: str) -> None:
        self._execute(self.core.end_wrapup(agent_id, self.now()), time.perf_counter())

    # transfers: raise ari_app.callflow.transfer.machine.TransferError when refused
    def transfer(self, call_id: str, kind: str, target_kind: str, name: str) -> None:
        """`target_kind`: department, queue or agent (`name` from the configuration)."""
        target = self.core.resolve_target(target_kind, name)
        commands = self.core.transfer(call_id, kind, target, self.now())
        self._execute(commands, time.perf_counter())

    def complete_transfer(self, call_id: str) -> None:
        self._execute(self.core.complete_transfer(call_id, self.now()), time.perf_counter())

    def cancel_transfer(self, call_id: str) -> None:
        self._execute(self.core.cancel_transfer(call_id, self.now()), time.perf_counter())

    # supervision: raise ari_app.callflow.supervision.machine.MonitorError when refused
    def monitor(self, call_id: str, mode: str, device: str, by: str) -> Monitor:
        session, commands = self.core.monitor(call_id, mode, device, by, self.now())
        self._execute(commands, time.perf_counter())
        return session

    def change_monitor(self, session_id: str, mode: str) -> None:
        self._execute(self.core.change_monitor(session_id, mode, self.now()), time.perf_counter())

    def stop_monitor(self, session_id: str) -> None:
        self._execute(self.core.stop_monitor(session_id, self.now()), time.perf_counter())

    # ------------------------------------------------------------------ outputs

    def _execute(self, commands: list[Command], t0: float) -> None:
        first = True
        for command in commands:
            if isinstance(command, StartTimer):
                old = self._timers.pop(command.key, None)
                if old is not None:
                    old.cancel()
                self._timers[command.key] = asyncio.get_running_loop().call_later(
                    command.seconds, self._fire, command.key
                )
            elif isinstance(command, CancelTimer):
                handle = self._timers.pop(command.key, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(command, CheckPin):
                self._spawn(self._check_phone_pin(command))
            elif isinstance(command, Note):
                log.log(logging.ERROR if command.level == "error" else logging.WARNING,
                        "%s", command.message)
            elif isinstance(command, Publish):
                for sink in self.sinks:
                    try:
                        sink.publish(command.event)
                    except Exception:
                        self.stats.sink_errors += 1
                        log.exception("sink %s failed", type(sink).__name__)
            else:
                self._enqueue(command, t0 if first else 0.0)
                first = False

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check_phone_pin(self, command: CheckPin) -> None:
        """A PIN typed on a phone (`*21`): checked in a thread, like the API's."""
        try:
            ok = await self.check_pin(command.agent_id, command.pin)
        except Exception:
            log.exception("PIN check for a phone login failed")
            ok = False
        self._execute(self.core.pin_checked(command.channel_id, ok, self.now()), 0.0)

    def _enqueue(self, command: AriCommand, t0: float) -> None:
        self.gate.before_send(command)
        # a monitoring session's requests have a lane of their own: waiting for its legs to
        # enter Stasis never holds up the call's own requests
        key = command.owner or call_key(command)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.get_running_loop().create_task(self._drain(key, lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._idle.clear()
        lane.append((command, t0))

    async def _drain(self, key: str, lane: deque[tuple[AriCommand, float]]) -> None:
        try:
            while lane:
                command, t0 = lane.popleft()
                await self._send(command, t0)
        finally:
            self._lanes.pop(key, None)
            if not self._lanes:
                self._idle.set()

    async def _send(self, command: AriCommand, t0: float) -> None:
        if not await self.gate.ready(command):
            # a channel we created never entered Stasis: as if Asterisk did not answer
            log.warning("ARI %s: a channel it names did not enter Stasis in time",
                        type(command).__name__)
            self.stats.request_errors += 1
            self._execute(self.core.on_failure(command, 0, self.now()), 0.0)
            return
        req = command.request()
        if t0:
            self.stats.reaction_seconds.append(time.perf_counter() - t0)
        if self.request_log is not None:
            self.request_log.append(req)
        self.stats.requests += 1
        status: int | None = None
        detail = ""
        try:
            await self.ari.request(req.method, req.path, params=req.params or None, body=req.body)
        except AriHttpError as exc:
            status = exc.status
            detail = exc.message
        except AriConnectionError:
            status = 0
        except Exception:
            log.exception("ARI request %s %s failed", req.method, req.path)
            status = 0
        if status is not None:
            self.gate.create_failed(command)
            self.stats.request_errors += 1
            # 404 on a hang-up is routine: the leg was already gone
            level = logging.DEBUG if status == 404 and req.method == "DELETE" else logging.INFO
            log.log(level, "ARI %s %s -> %s %s", req.method, req.path, status or "-", detail)
            self._execute(self.core.on_failure(command, status, self.now()), 0.0)

    def _fire(self, key: TimerKey) -> None:
        self._timers.pop(key, None)
        self.stats.timers_fired += 1
        t0 = time.perf_counter()
        self._execute(self.core.on_timer(key, self.now()), t0)

    # ------------------------------------------------------------------ lifetime

    async def quiesce(self) -> None:
        """Until every queued request has been sent and answered."""
        while not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)

    async def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def live_calls(self) -> int:
        return len(self.core.calls)
