"""Callbacks in `hotline run`: every change written to the records (`CallbackRecords`, a
task on the loop), the pending ones loaded back into a starting engine, and the desk the
API's callback routes use (`callback_desk`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy import Engine as SqlEngine

from ari_app.api.callback_routes import CallbackDesk, CallOrigin
from ari_app.callbacks import Callback
from ari_app.domain.events import CallEnded, CallProgress, DomainEvent
from ari_app.records.callbacks import CallbackRecords, SqlCallbackStore
from ari_app.shell.engine import Engine


async def callback_records(stack: AsyncExitStack, db: SqlEngine) -> CallbackRecords:
    """The sink, writing until the stack closes (after a last wait for what is queued)."""
    sink = CallbackRecords(SqlCallbackStore(db))
    task = asyncio.create_task(sink.run(), name="callback-records")

    async def stop() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.wait_idle(), 5.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
    return sink


class RecentCalls:
    """An `EventSink` that remembers the last calls' queue, agent and caller number, so an
    agent can ask for a callback on a call they just handled (the records keep the number
    masked by default). In memory only, bounded: the oldest are forgotten first."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._calls: OrderedDict[str, CallOrigin] = OrderedDict()

    def publish(self, event: DomainEvent) -> None:
        match event:
            case CallProgress():
                self._keep(event.call_id, CallOrigin(
                    event.queue, event.agent_id, event.caller_number))
            case CallEnded(summary=s):
                self._keep(s.call_id, CallOrigin(s.queue, s.agent_id, s.caller_number))
            case _:
                pass

    def _keep(self, call_id: str, origin: CallOrigin) -> None:
        self._calls[call_id] = origin
        self._calls.move_to_end(call_id)
        while len(self._calls) > self.size:
            self._calls.popitem(last=False)

    def get(self, call_id: str) -> CallOrigin | None:
        return self._calls.get(call_id)


@dataclass
class EngineCallbacks:
    """The API's live side: `Engine.schedule_callback` / `cancel_callback`."""

    engine: Engine

    def schedule(self, callback: Callback, within_days: int | None) -> Callback:
        return self.engine.schedule_callback(callback, within_days)

    def cancel(self, callback_id: str, by: str) -> Callback:
        return self.engine.cancel_callback(callback_id, by)


def callback_desk(engine: Engine, records: CallbackRecords, recent: RecentCalls) -> CallbackDesk:
    """The desk the API's callback routes and the work orders' follow-up use. A call's
    origin: the engine's recent calls (number in full), else its `calls` record (the number
    only if the records keep it in full)."""
    store = records.store

    def origin(call_id: str) -> CallOrigin | None:
        known = recent.get(call_id)
        if known is not None and known.number:
            return known
        row = store.call_of(call_id)
        if row is None:
            return known
        queue, agent_id, number = row
        return CallOrigin(queue, agent_id or (known.agent_id if known else ""), number)

    return CallbackDesk(EngineCallbacks(engine), store, origin, records.wait_idle)
