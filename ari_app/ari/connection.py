"""A supervised ARI event connection: connect, heartbeat, detect drops, reconnect at
once and then with capped, jittered exponential backoff, and reconcile on every
(re)connect.

Order on each connect: open the WebSocket first (Asterisk queues events from then on),
set the app's event filter (`event_types`: `PUT /applications/{app}/eventFilter` with an
`allowed` list, so Asterisk serialises and sends only the event types the engine and its
KPI fold read), then fetch the Snapshot and hand it to `on_reconcile`, then deliver events
to `on_event`. So nothing between the snapshot and the first event is missed; events
during an outage are (Asterisk does not replay them) and the snapshot is how the engine
learns about them. The filter is set again on every connect: Asterisk keeps it on the
application object, which it may have destroyed while the app was unregistered. A filter
Asterisk refuses (an old Asterisk: 404/405/501) is logged and counted (`filter_errors`);
the engine then simply receives every event.

Reconnect policy (`SupervisedConnection.run`): the first attempt after a drop goes out at
once; each further attempt waits `backoff.delay(n)` counted from the start of the attempt
before it (so the time a short-lived connection stayed up counts as waiting); `n` goes back
to 0 after a connection that stayed up `stable_after` seconds. While the socket is down the
app is not registered: Asterisk's `Stasis()` fails (`STASISSTATUS=FAILED`) and the dialplan's
fallback takes new callers; `ConnectionStats` counts each such gap (`disconnects`,
`downtime_total`, `last_downtime`), exported by `ConnectionMetrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ari_app.ari.client import AriClient, EventSocket
from ari_app.ari.errors import AriError
from ari_app.ari.events import Event
from ari_app.ari.reconcile import Snapshot, fetch_snapshot
from ari_app.domain.backoff import Backoff as Backoff  # re-exported: ari_app.ari.Backoff

log = logging.getLogger(__name__)

EventSink = Callable[[Event], Awaitable[object]]
ReconcileCallback = Callable[[Snapshot], Awaitable[None]]


class ConnectionState(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    RECONCILING = "reconciling"
    CONNECTED = "connected"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclass
class ConnectionStats:
    """Counters of one SupervisedConnection. Times are the event loop's clock (seconds).

    A *gap* runs from the moment a connected event socket closed (`disconnects`) to the
    moment the next one opened (the app registered again): callers arriving in it took the
    dialplan's fallback. `delays` keeps the recent waits before reconnect attempts (0.0: at
    once), oldest first."""

    connects: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    reconciles: int = 0
    reconcile_errors: int = 0
    sink_errors: int = 0
    events: int = 0
    filters_set: int = 0
    filter_errors: int = 0
    last_error: str = ""
    downtime_total: float = 0.0
    last_downtime: float = 0.0
    down_since: float | None = None
    delays: deque[float] = field(default_factory=lambda: deque(maxlen=256))

    def downtime(self, now: float | None = None) -> float:
        """All gaps so far, the open one up to `now` included."""
        open_gap = 0.0
        if self.down_since is not None and now is not None:
            open_gap = max(0.0, now - self.down_since)
        return self.downtime_total + open_gap


class SupervisedConnection:
    """Keeps `client`'s event socket up while running; see the module docstring.

    `on_event` is typically `dispatcher.put`; `on_reconcile` gets a Snapshot each connect;
    `event_types` (None: every event) is the app's allowed list, set on each connect.
    """

    def __init__(
        self,
        client: AriClient,
        on_event: EventSink,
        on_reconcile: ReconcileCallback | None = None,
        *,
        backoff: Backoff | None = None,
        stable_after: float = 30.0,
        rng: random.Random | None = None,
        event_types: Collection[str] | None = None,
    ) -> None:
        self.client = client
        self.event_types = frozenset(event_types) if event_types is not None else None
        self.on_event = on_event
        self.on_reconcile = on_reconcile
        self.backoff = backoff or Backoff()
        self.stable_after = stable_after
        self.stats = ConnectionStats()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._state = ConnectionState.IDLE
        self._changed = asyncio.Condition()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._socket: EventSocket | None = None
        self._clock: Callable[[], float] | None = None  # the loop's, once running

    def now(self) -> float | None:
        """The clock `stats` are kept on (None before `run()` started)."""
        return self._clock() if self._clock is not None else None

    @property
    def state(self) -> ConnectionState:
        return self._state

    async def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            log.info("ARI connection %s -> %s", self._state, state)
            self._state = state
            async with self._changed:
                self._changed.notify_all()

    async def wait_for_state(self, state: ConnectionState) -> None:
        """Until the connection is in `state` (wrap in asyncio.wait_for for a timeout)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._state is state)

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self.run())
        return self._task

    async def stop(self) -> None:
        self._stop.set()
        if self._socket is not None:
            await self._socket.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _pause(self, n: int, since: float) -> None:
        """Wait until `backoff.delay(n)` has passed since `since` (the previous attempt's
        start), or until stop()."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, self.backoff.delay(n, self._rng.random()) - (loop.time() - since))
        self.stats.delays.append(delay)
        if delay <= 0.0:
            return
        await self._set_state(ConnectionState.BACKOFF)
        log.info("ARI reconnect in %.2fs (attempt %d)", delay, n + 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def run(self) -> None:
        """Connect / reconcile / pump events, until stop()."""
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        stats = self.stats
        retries = 0  # attempts since the last stable connection; 0: the next one at once
        started = loop.time()
        try:
            while not self._stop.is_set():
                if retries:
                    await self._pause(retries - 1, started)
                    if self._stop.is_set():
                        break
                elif stats.down_since is not None:
                    stats.delays.append(0.0)
                started = loop.time()
                await self._set_state(ConnectionState.CONNECTING)
                try:
                    socket = await self.client.connect_events()
                except AriError as exc:
                    stats.failed_attempts += 1
                    stats.last_error = str(exc)
                    log.warning("ARI event socket: %s", exc)
                    retries += 1
                    continue
                self._socket = socket
                stats.connects += 1
                opened = loop.time()
                if stats.down_since is not None:  # registered again: the gap is over
                    stats.last_downtime = max(0.0, opened - stats.down_since)
                    stats.downtime_total += stats.last_downtime
                    stats.down_since = None
                    log.info("ARI app registered again after %.3fs", stats.last_downtime)
                try:
                    await self._set_filter()
                    if await self._reconcile():
                        await self._set_state(ConnectionState.CONNECTED)
                        await self._pump(socket)
                finally:
                    self._socket = None
                    await socket.close()
                if self._stop.is_set():
                    break
                closed = loop.time()
                stats.disconnects += 1
                stats.down_since = closed
                log.warning("ARI event socket closed (code %s) after %.1fs",
                            socket.close_code, closed - opened)
                retries = 0 if closed - opened >= self.stable_after else retries + 1
        finally:
            await self._set_state(ConnectionState.STOPPED)

    def filter_body(self) -> dict[str, Any] | None:
        """The eventFilter body for `event_types` (None: no filter wanted)."""
        if self.event_types is None:
            return None
        return {"allowed": [{"type": t} for t in sorted(self.event_types)], "disallowed": []}

    async def _set_filter(self) -> None:
        """`PUT /applications/{app}/eventFilter`, right after the socket opened (the app
        exists from then on). A refusal is logged: the events then come unfiltered."""
        body = self.filter_body()
        if body is None:
            return
        path = f"/applications/{quote(self.client.app, safe='')}/eventFilter"
        try:
            await self.client.request("PUT", path, body=body)
        except AriError as exc:
            self.stats.filter_errors += 1
            self.stats.last_error = str(exc)
            log.warning("ARI event filter not set (every event will come): %s", exc)
            return
        self.stats.filters_set += 1

    async def _reconcile(self) -> bool:
        """Fetch and hand over the snapshot; False (reconnect) if Asterisk failed us."""
        await self._set_state(ConnectionState.RECONCILING)
        try:
            snapshot = await fetch_snapshot(self.client, self.stats.connects)
        except AriError as exc:
            self.stats.reconcile_errors += 1
            self.stats.last_error = str(exc)
            log.warning("ARI reconcile failed: %s", exc)
            return False
        self.stats.reconciles += 1
        if self.on_reconcile is not None:
            try:
                await self.on_reconcile(snapshot)
            except Exception:
                self.stats.reconcile_errors += 1
                log.exception("reconcile callback failed; continuing with events")
        return True

    async def _pump(self, socket: EventSocket) -> None:
        sink = self.on_event
        stats = self.stats
        try:
            async for event in socket:
                stats.events += 1
                try:
                    await sink(event)
                except Exception:
                    stats.sink_errors += 1
                    log.exception("event sink failed on a %s event", event.get("type"))
        except AriError as exc:
            self.stats.last_error = str(exc)
            log.warning("ARI event socket failed: %s", exc)


class ConnectionMetrics(Collector):
    """The connection's counters for Prometheus, read at scrape time (no second tally):
    `hotline_ari_disconnects_total`, `hotline_ari_downtime_seconds_total` (the app not
    registered after a drop: callers took the dialplan's fallback; the open gap included),
    `hotline_ari_last_downtime_seconds`, `hotline_ari_connected` (1 while serving events),
    `hotline_ari_connects_total`, `hotline_ari_failed_attempts_total`."""

    def __init__(self, connection: SupervisedConnection) -> None:
        self.connection = connection

    def collect(self) -> Iterator[Metric]:
        conn = self.connection
        stats = conn.stats
        yield CounterMetricFamily(
            "hotline_ari_disconnects", "ARI event socket drops after it had connected",
            value=stats.disconnects)
        yield CounterMetricFamily(
            "hotline_ari_downtime_seconds",
            "Time the Stasis app was not registered after a drop (callers took the "
            "dialplan's fallback)", value=stats.downtime(conn.now()))
        yield GaugeMetricFamily(
            "hotline_ari_last_downtime_seconds",
            "Length of the last closed gap, from the drop to the app registered again",
            value=stats.last_downtime)
        yield GaugeMetricFamily(
            "hotline_ari_connected", "1 while the event socket is up and reconciled",
            value=1.0 if conn.state is ConnectionState.CONNECTED else 0.0)
        yield CounterMetricFamily(
            "hotline_ari_connects", "ARI event sockets opened", value=stats.connects)
        yield CounterMetricFamily(
            "hotline_ari_failed_attempts", "ARI event socket connects that failed",
            value=stats.failed_attempts)


def register_metrics(connection: SupervisedConnection, registry: CollectorRegistry) -> None:
    """Export `connection`'s counters in `registry` (see ConnectionMetrics)."""
    registry.register(ConnectionMetrics(connection))
