"""A supervised ARI event connection: connect, heartbeat, detect drops, reconnect with
capped, jittered exponential backoff, and reconcile on every (re)connect.

Order on each connect: open the WebSocket first (Asterisk queues events from then on),
then fetch the Snapshot and hand it to `on_reconcile`, then deliver events to `on_event`.
So nothing between the snapshot and the first event is missed; events during an outage
are (Asterisk does not replay them) and the snapshot is how the engine learns about them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Self

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
    connects: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    reconciles: int = 0
    reconcile_errors: int = 0
    sink_errors: int = 0
    events: int = 0
    last_error: str = ""


class SupervisedConnection:
    """Keeps `client`'s event socket up while running; see the module docstring.

    `on_event` is typically `dispatcher.put`; `on_reconcile` gets a Snapshot each connect.
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
    ) -> None:
        self.client = client
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

    async def _pause(self, attempt: int) -> None:
        delay = self.backoff.delay(attempt, self._rng.random())
        await self._set_state(ConnectionState.BACKOFF)
        log.info("ARI reconnect in %.2fs (attempt %d)", delay, attempt + 1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    async def run(self) -> None:
        """Connect / reconcile / pump events, until stop()."""
        loop = asyncio.get_running_loop()
        attempt = 0
        try:
            while not self._stop.is_set():
                await self._set_state(ConnectionState.CONNECTING)
                try:
                    socket = await self.client.connect_events()
                except AriError as exc:
                    self.stats.failed_attempts += 1
                    self.stats.last_error = str(exc)
                    log.warning("ARI event socket: %s", exc)
                    await self._pause(attempt)
                    attempt += 1
                    continue
                self._socket = socket
                self.stats.connects += 1
                connected_at = loop.time()
                try:
                    if await self._reconcile():
                        await self._set_state(ConnectionState.CONNECTED)
                        await self._pump(socket)
                finally:
                    self._socket = None
                    await socket.close()
                if self._stop.is_set():
                    break
                self.stats.disconnects += 1
                log.warning("ARI event socket closed (code %s)", socket.close_code)
                if loop.time() - connected_at >= self.stable_after:
                    attempt = 0
                await self._pause(attempt)
                attempt += 1
        finally:
            await self._set_state(ConnectionState.STOPPED)

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
