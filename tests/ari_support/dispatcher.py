"""Per-call ordered dispatch: one call's events run strictly in order, calls run concurrently.

Each call key gets a deque and one worker task, created when its first event arrives and
gone as soon as the deque is empty (so nothing accumulates as calls come and go). A
handler that raises is logged and counted, and the next event of that call still runs;
a slow handler only delays its own call.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ari_app.ari.events import KNOWN_EVENT_TYPES, Event, EventParser
from tests.ari_support.callkey import CallKeyFn, CallRouter

log = logging.getLogger(__name__)

Handler = Callable[[str, Event], Awaitable[None]]
"""`async def handler(call_key, event)`."""


@dataclass
class DispatchStats:
    dispatched: int = 0  # accepted and queued
    handled: int = 0  # handler returned (or raised)
    rejected: int = 0  # not an event, or the call-key function failed
    unknown_types: int = 0  # passed through all the same
    handler_errors: int = 0
    calls_started: int = 0  # worker lanes created
    max_pending: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Dispatcher:
    """Routes events to `handler` by call key; see module docstring for the guarantees.

    `call_key` defaults to `router.key_for` (CallRouter); `submit()` is synchronous and
    cheap, `put()` is the same with backpressure once `high_water` events are pending.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        router: CallRouter | None = None,
        call_key: CallKeyFn | None = None,
        high_water: int = 50_000,
        known_types: frozenset[str] = KNOWN_EVENT_TYPES,
    ) -> None:
        self.handler = handler
        self.router = router if router is not None else CallRouter()
        self.call_key: CallKeyFn = call_key if call_key is not None else self.router.key_for
        self.known_types = known_types
        self.high_water = high_water
        self.stats = DispatchStats()
        self.parser = EventParser(known_types)
        self._lanes: dict[str, deque[Event]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pending = 0
        self._space = asyncio.Event()
        self._space.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @property
    def active_calls(self) -> int:
        """Call keys with queued or running events (0 when all is handled)."""
        return len(self._lanes)

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, event: Any) -> bool:
        """Queue one parsed event on its call's lane; False (counted) if rejected."""
        if self._closed:
            raise RuntimeError("dispatcher is closed")
        if type(event) is not dict or type(event.get("type")) is not str:
            self.stats.rejected += 1
            log.warning("rejected a non-event: %.80r", event)
            return False
        try:
            key = self.call_key(event)
        except Exception:
            self.stats.rejected += 1
            log.exception("call-key function failed on a %s event", event.get("type"))
            return False
        if event["type"] not in self.known_types:
            self.stats.unknown_types += 1
        stats = self.stats
        stats.dispatched += 1
        self._pending += 1
        if self._pending > stats.max_pending:
            stats.max_pending = self._pending
        if self._pending >= self.high_water:
            self._space.clear()
        self._idle.clear()
        lane = self._lanes.get(key)
        if lane is None:
            lane = deque((event,))
            self._lanes[key] = lane
            stats.calls_started += 1
            self._tasks[key] = asyncio.get_running_loop().create_task(self._run(key, lane))
        else:
            lane.append(event)
        return True

    def submit_frame(self, frame: str | bytes) -> bool:
        """Parse a WebSocket frame (counted on `parser.stats` if bad) and submit it."""
        event = self.parser.parse(frame)
        if event is None:
            self.stats.rejected += 1
            return False
        return self.submit(event)

    async def put(self, event: Any) -> bool:
        """`submit()`, first waiting while too many events are pending (backpressure)."""
        if not self._space.is_set():
            await self._space.wait()
        return self.submit(event)

    async def _run(self, key: str, lane: deque[Event]) -> None:
        handler = self.handler
        stats = self.stats
        try:
            while True:
                event = lane[0]  # stays queued while handled, so submit() keeps appending
                try:
                    await handler(key, event)
                except Exception:
                    stats.handler_errors += 1
                    log.exception("handler failed on %s for call %s", event.get("type"), key)
                stats.handled += 1
                lane.popleft()
                self._pending -= 1
                if self._pending < self.high_water // 2 or self._pending == 0:
                    self._space.set()
                if not lane:
                    break
        finally:
            # no await between the emptiness check and this: submit() can't interleave
            if self._lanes.get(key) is lane:
                del self._lanes[key]
                del self._tasks[key]
            if not self._lanes:
                self._idle.set()

    async def drain(self) -> None:
        """Wait until every submitted event has been handled."""
        await self._idle.wait()

    async def aclose(self) -> None:
        """Stop all lanes now (pending events are dropped: used at shutdown)."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        dropped = sum(len(lane) for lane in self._lanes.values())
        if dropped:
            log.warning("dispatcher closed with %d events not handled", dropped)
        self._lanes.clear()
        self._tasks.clear()
        self._pending = 0
        self._space.set()
        self._idle.set()
