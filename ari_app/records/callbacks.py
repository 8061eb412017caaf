"""Callbacks in SQL: `SqlCallbackStore` (the `callbacks` and `callback_attempts` tables,
migration 0006) and `CallbackRecords`, the engine's sink that writes every
`CallbackChanged` / `CallbackAttempted` in a worker thread, in order.

The callbacks table holds each callback's latest state: a starting engine loads the pending
ones back (`pending()`), so a restart loses none. The caller's number is stored in full
while the callback is pending (it must be dialled) and masked once it is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, insert, or_, select

from ari_app.callbacks.model import OPEN_STATES, Callback, Kind, State
from ari_app.domain.events import CallbackAttempted, CallbackChanged, DomainEvent
from ari_app.domain.privacy import mask
from ari_app.records import models

log = logging.getLogger(__name__)

_CALLBACKS: Table = models.CallbackRow.__table__  # type: ignore[assignment]
_ATTEMPTS: Table = models.CallbackAttemptRow.__table__  # type: ignore[assignment]


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _epoch(at: datetime | None) -> float | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def row_of(event: CallbackChanged) -> dict[str, Any]:
    pending = State(event.state) in OPEN_STATES
    number = event.caller_number or event.caller
    return {
        "callback_id": event.callback_id, "kind": event.kind, "queue": event.queue,
        "caller_number": number if pending else mask(number), "reason": event.reason,
        "requested_by": event.requested_by, "call_id": event.call_id,
        "requested_at": _ts(event.requested_at), "first_arrival": _ts(event.first_arrival),
        "not_before": _ts(event.not_before), "due_by": _ts(event.due_by),
        "due_at": _ts(event.due_at), "max_attempts": event.max_attempts,
        "retry_seconds": event.retry_seconds, "state": event.state,
        "attempts": event.attempts, "last_result": event.last_result,
        "answered_call_id": event.answered_call_id, "answered_at": _ts(event.answered_at),
        "agent_id": event.agent_id, "order_id": event.order_id, "updated_at": _ts(event.at),
    }


def callback_of(row: Any) -> Callback:
    return Callback(
        id=row.callback_id, kind=Kind(row.kind), queue=row.queue,
        caller_number=row.caller_number, reason=row.reason, requested_by=row.requested_by,
        call_id=row.call_id, requested_at=_epoch(row.requested_at) or 0.0,
        first_arrival=_epoch(row.first_arrival) or 0.0,
        not_before=_epoch(row.not_before) or 0.0, due_by=_epoch(row.due_by),
        max_attempts=row.max_attempts, retry_seconds=row.retry_seconds, state=State(row.state),
        attempts=row.attempts, due_at=_epoch(row.due_at), last_result=row.last_result,
        answered_call_id=row.answered_call_id, answered_at=_epoch(row.answered_at),
        agent_id=row.agent_id, order_id=row.order_id,
        updated_at=_epoch(row.updated_at) or 0.0,
    )


class SqlCallbackStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def write(self, events: Sequence[CallbackChanged | CallbackAttempted]) -> None:
        """Apply events in order, in one transaction (a replay writes the same rows)."""
        with self.engine.begin() as conn:
            for event in events:
                if isinstance(event, CallbackChanged):
                    row = row_of(event)
                    conn.execute(delete(_CALLBACKS).where(
                        _CALLBACKS.c.callback_id == event.callback_id))
                    conn.execute(insert(_CALLBACKS).values(**row))
                else:
                    conn.execute(delete(_ATTEMPTS).where(
                        (_ATTEMPTS.c.callback_id == event.callback_id)
                        & (_ATTEMPTS.c.attempt == event.attempt)))
                    conn.execute(insert(_ATTEMPTS).values(
                        callback_id=event.callback_id, attempt=event.attempt,
                        queue=event.queue, agent_id=event.agent_id, call_id=event.call_id,
                        started_at=_ts(event.started_at), ended_at=_ts(event.ended_at),
                        result=event.result,
                    ))

    def get(self, callback_id: str) -> Callback | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_CALLBACKS).where(_CALLBACKS.c.callback_id == callback_id)
            ).first()
        return None if row is None else callback_of(row)

    def pending(self) -> list[Callback]:
        """What a starting engine loads back."""
        states = [s.value for s in OPEN_STATES]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_CALLBACKS).where(_CALLBACKS.c.state.in_(states))
                .order_by(_CALLBACKS.c.requested_at)
            ).all()
        return [callback_of(r) for r in rows]

    def find(
        self, *, queues: Sequence[str] | None = None, agent_id: str | None = None,
        requested_by: Sequence[str] | None = None, states: Sequence[str] | None = None,
        queue: str | None = None, limit: int = 200,
    ) -> list[Callback]:
        """Newest first. `queues`, `agent_id` and `requested_by` are one scope: a callback
        matching any of those given (an agent sees the callbacks of their queues, those
        dialled by them and those they asked for); none given, every callback. `states`
        and `queue` narrow it."""
        c = _CALLBACKS.c
        scope: list[ColumnElement[bool]] = []
        if queues is not None:
            scope.append(c.queue.in_(list(queues)))
        if agent_id is not None:
            scope.append(c.agent_id == agent_id)
        if requested_by is not None:
            scope.append(c.requested_by.in_(list(requested_by)))
        q = select(_CALLBACKS)
        if scope:
            q = q.where(or_(*scope))
        if states:
            q = q.where(c.state.in_(list(states)))
        if queue is not None:
            q = q.where(c.queue == queue)
        q = q.order_by(c.requested_at.desc(), c.callback_id).limit(limit)
        with self.engine.connect() as conn:
            return [callback_of(r) for r in conn.execute(q).all()]

    def call_of(self, call_id: str) -> tuple[str, str, str] | None:
        """A finished call's (queue, agent id, caller number) from the `calls` record, for
        a callback asked for on it: the number only where the records keep it in full
        (`engine.caller_number_storage = "full"`), else ""."""
        calls: Table = models.Call.__table__  # type: ignore[assignment]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(calls.c.queue, calls.c.agent_id, calls.c.caller_number,
                       calls.c.caller_number_storage).where(calls.c.call_id == call_id)
            ).first()
        if row is None:
            return None
        number = row.caller_number if row.caller_number_storage == "full" else ""
        return row.queue, row.agent_id or "", number

    def requested_between(self, start: datetime, end: datetime) -> list[Callback]:
        """For the KPI report: callbacks requested in [start, end)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_CALLBACKS).where(
                    (_CALLBACKS.c.requested_at >= start) & (_CALLBACKS.c.requested_at < end)
                )
            ).all()
        return [callback_of(r) for r in rows]

    def attempts(self, callback_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ATTEMPTS).where(_ATTEMPTS.c.callback_id == callback_id)
                .order_by(_ATTEMPTS.c.attempt)
            ).all()
        return [
            {"attempt": r.attempt, "agent_id": r.agent_id, "call_id": r.call_id,
             "started_at": _epoch(r.started_at), "ended_at": _epoch(r.ended_at),
             "result": r.result}
            for r in rows
        ]


class CallbackRecords:
    """The engine's sink for callback events: queued at once, written in order by `run()`
    in a worker thread. A failed write is logged and retried with the next batch, so a
    short database outage loses nothing (a long one: the events stay queued)."""

    def __init__(self, store: SqlCallbackStore) -> None:
        self.store = store
        self._queue: asyncio.Queue[CallbackChanged | CallbackAttempted] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallbackChanged | CallbackAttempted):
            self._idle.clear()
            self._queue.put_nowait(event)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def run(self, retry_seconds: float = 5.0) -> None:
        batch: list[CallbackChanged | CallbackAttempted] = []
        while True:
            if not batch:
                batch.append(await self._queue.get())
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self.store.write, list(batch))
            except Exception:
                log.exception("callbacks: writing %d change(s) failed; retrying", len(batch))
                await asyncio.sleep(retry_seconds)
                continue
            batch.clear()
            if self._queue.empty():
                self._idle.set()
