"""KPIs live in the engine: the same fold `hotline kpi report` replays, fed as events arrive.

Every ARI event the engine receives and every `HotlineAgentState` it writes to its journal
go through `LiveKpi.append`, in that order, so the fold sees exactly the journal's stream and
`/metrics` agrees with a later report over the journal. Times are the events' own
timestamps; the loop clock only decides when the line has been quiet long enough to drain
the fold's reorder buffer (the last events of a burst would otherwise wait for the next
event).

`queue_stats` gives the figures of the retained MQTT queue-stats topic from the
Switchboard (waiting calls, longest wait, agents by state) and the fold (service level so
far).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from ari_app.callflow.switchboard import Switchboard
from ari_app.config.settings import Config
from ari_app.domain.events import AgentState
from kpi.cadence import ring_period_seconds
from kpi.facts import CallAbandoned, CallAnswered, Fact
from kpi.fold import flush
from kpi.metrics import KpiMetrics
from kpi.params import (
    DEFAULT_SHORT_ABANDON_SECONDS,
    KpiParams,
    make_params,
    within_threshold,
)

log = logging.getLogger(__name__)

Scalar = str | int | float | bool | None


def kpi_params(config: Config) -> KpiParams:
    """The live metrics' parameters: `[ringing]` rings, country and indications file; T is
    the queues' common service-level threshold (each queue's `sl_seconds`, else its rings
    × its country's ring period; X·P when the queues differ) and the queues' common
    short-abandon limit, as
    `hotline kpi report --rings X --country CC [--sl-seconds T]` would take them."""
    indications = config.ringing.indications_file
    sls = {
        q.sl_seconds
        if q.sl_seconds is not None
        else config.queue_rings(q) * ring_period_seconds(config.queue_country(q), indications)
        for q in config.queues
    }
    sl = sls.pop() if len(sls) == 1 else None
    shorts = {q.short_abandon_seconds for q in config.queues}
    return make_params(
        config.ringing.rings,
        config.ringing.country,
        sl_seconds=sl,
        short_abandon_seconds=shorts.pop() if len(shorts) == 1 else DEFAULT_SHORT_ABANDON_SECONDS,
        indications=indications,
    )


@dataclass(slots=True)
class ServiceTally:
    """Per-queue running figures for the wallboard (the metrics hold the rest)."""

    answered: int = 0
    within_threshold: int = 0
    abandoned: int = 0

    def service_level(self) -> float | None:
        return None if self.answered == 0 else self.within_threshold / self.answered


def tally(tallies: dict[str, ServiceTally], facts: list[Fact], params: KpiParams) -> None:
    for f in facts:
        if isinstance(f, CallAnswered):
            t = tallies.setdefault(f.queue, ServiceTally())
            t.answered += 1
            if within_threshold(f.wait_ms, params):
                t.within_threshold += 1
        elif isinstance(f, CallAbandoned):
            tallies.setdefault(f.queue, ServiceTally()).abandoned += 1


class LiveKpi:
    """The fold and its Prometheus metrics in `registry`; a `Journal` for `EventFanout`.

    Run `run()` as a task (or `async with`) so a quiet line drains the reorder buffer.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        params: KpiParams,
        *,
        now: Callable[[], float] | None = None,
        quiet_seconds: float = 0.5,
        queues: Iterable[str] = (),
        agents: Iterable[str] = (),
    ) -> None:
        """`queues`, `agents`: every known one gets its series at 0 from the start, so a
        dashboard shows 0 rather than no data before the first event."""
        self.params = params
        self.metrics = KpiMetrics(registry, params, now=now, queues=queues, agents=agents)
        self.tallies: dict[str, ServiceTally] = {}
        # told every batch of facts as it is folded (the web console's figures); a
        # listener must return at once and not raise (one that does is logged)
        self.listeners: list[Callable[[list[Fact]], None]] = []
        self.quiet_seconds = quiet_seconds
        self._errors = Counter(
            "hotline_kpi_feed_errors_total",
            "Events the live KPI fold failed on (logged; the engine goes on)",
            registry=registry,
        )
        self._last = 0.0
        self._fed = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # set by run(): the quiet clock

    @property
    def state(self) -> Any:
        return self.metrics.state

    def append(self, event: Mapping[str, Any]) -> None:
        """Fold one event (ARI or Hotline*); never raises into call control."""
        try:
            facts = self.metrics.feed(event)
            if facts:
                tally(self.tallies, facts, self.params)
                self._tell(facts)
        except Exception:
            self._errors.inc()
            log.exception("live KPIs: cannot fold a %s event", event.get("type"))
        if self._loop is not None:
            self._last = self._loop.time()
        if self.state.buffer:
            self._settled.clear()
            self._fed.set()

    def drain(self) -> None:
        """Handle everything in the reorder buffer now (a quiet line, or shutdown)."""
        facts = flush(self.state)
        if facts:
            self.metrics.observe(facts)
            tally(self.tallies, facts, self.params)
            self._tell(facts)
        self._settled.set()

    def _tell(self, facts: list[Fact]) -> None:
        for listener in self.listeners:
            try:
                listener(facts)
            except Exception:
                log.exception("live KPIs: a facts listener failed")

    async def wait_settled(self) -> None:
        """Until every event fed so far has reached the metrics."""
        await self._settled.wait()

    async def run(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        while True:
            await self._fed.wait()
            self._fed.clear()
            while self.state.buffer:
                quiet_for = loop.time() - self._last
                if quiet_for >= self.quiet_seconds:
                    self.drain()
                    break
                await asyncio.sleep(self.quiet_seconds - quiet_for)
            self._settled.set()

    async def __aenter__(self) -> LiveKpi:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run(), name="live-kpi")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.drain()


_AGENT_FIGURES = {
    AgentState.AVAILABLE: "agents_available",
    AgentState.RINGING: "agents_ringing",
    AgentState.TALKING: "agents_talking",
    AgentState.WRAPUP: "agents_wrapup",
    AgentState.PAUSED: "agents_paused",
}


def queue_stats(
    core: Switchboard, tallies: Mapping[str, ServiceTally], now: float
) -> dict[str, dict[str, Scalar]]:
    """Per queue: calls waiting, longest wait (s), agents serving it by state, SL so far."""
    out: dict[str, dict[str, Scalar]] = {}
    for name, waiting in core.waiting.items():
        arrivals = [
            call.arrived_at for e in waiting if (call := core.calls.get(e.call_id)) is not None
        ]
        figures: dict[str, Scalar] = {
            "waiting": len(waiting),
            "longest_wait_seconds": round(max(0.0, now - min(arrivals)), 3) if arrivals else 0.0,
        }
        figures.update(dict.fromkeys(_AGENT_FIGURES.values(), 0))
        logged_in = 0
        for agent in core.agents:
            if agent.state is AgentState.LOGGED_OUT or not agent.serves(name):
                continue
            logged_in += 1
            key = _AGENT_FIGURES.get(agent.state)
            if key is not None:
                figures[key] = int(figures[key] or 0) + 1
        figures["agents_logged_in"] = logged_in
        t = tallies.get(name, ServiceTally())
        sl = t.service_level()
        figures["answered"] = t.answered
        figures["abandoned"] = t.abandoned
        figures["service_level"] = None if sl is None else round(sl, 4)
        out[name] = figures
    return out
