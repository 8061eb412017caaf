"""Callbacks in `hotline run`: every change written to the records (`CallbackRecords`, a
task on the loop), and the pending ones loaded back into a starting engine."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack

from sqlalchemy import Engine as SqlEngine

from ari_app.records.callbacks import CallbackRecords, SqlCallbackStore


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
