"""The bounded writer between call control and the database.

`submit` is synchronous and O(1): it protects the caller number, then puts the record
in a bounded in-memory queue (or, if that is full, straight into the spool). A
background task takes batches and commits them in a worker thread. While the database
is down, batches go to the spool; replay is retried with exponential backoff on the
event loop's clock, oldest first, and new batches queue behind the spool so order holds.
Nothing is lost (spool, then `.rejected` for rows the database refuses) and nothing is
written twice (idempotent keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from ari_app.config.settings import Config
from ari_app.domain.backoff import Backoff
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records.codec import encode
from ari_app.records.schema import check_schema, make_engine, safe_url
from ari_app.records.spool import Spool
from ari_app.records.store import write_batch
from ari_app.records.types import CallRecord, Record

log = logging.getLogger(__name__)

UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError)
"""Errors that mean "the database is not reachable or writable now": spool and retry."""


class WriterMetrics:
    def __init__(self, registry: CollectorRegistry, backlog: Gauge) -> None:
        self.backlog = backlog
        self.written = Counter(
            "hotline_records_written_total",
            "Records committed to the database (a replayed duplicate is stored once)",
            registry=registry,
        )
        self.spooled = Counter(
            "hotline_records_spooled_total",
            "Records put in the local spool because the database or the queue could not take"
            " them",
            registry=registry,
        )
        self.rejected = Counter(
            "hotline_records_rejected_total",
            "Records the database refused or that could not be read; kept in <spool>.rejected",
            registry=registry,
        )


class RecordWriter:
    """A `RecordSink` backed by SQL. Use as `async with RecordWriter(...) as w:`; call
    `submit` from the event loop's thread only."""

    def __init__(
        self,
        engine: Engine,
        spool_path: Path,
        *,
        policy: CallerNumberPolicy,
        queue_size: int = 10_000,
        registry: CollectorRegistry | None = None,
        batch_size: int = 500,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        linger_seconds: float = 0.2,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.spool = Spool(spool_path)
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.retry_initial = retry_initial_seconds
        self.retry_max = retry_max_seconds
        self.linger = linger_seconds
        self._queue: deque[Record] = deque()
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._db_ok = True
        self._backoff = Backoff(retry_initial_seconds, cap=retry_max_seconds, jitter=0.0)
        self._failures = 0  # commits failed in a row: the next try waits backoff.delay(n)
        self._next_try = 0.0
        registry = registry if registry is not None else CollectorRegistry()
        backlog = Gauge(
            "hotline_records_backlog",
            "Records waiting to reach the database: queued, in flight and spooled",
            registry=registry,
        )
        backlog.set_function(lambda: float(self.backlog))
        self.metrics = WriterMetrics(registry, backlog)
        self._update_idle()

    @property
    def backlog(self) -> int:
        return len(self._queue) + self._in_flight + self.spool.pending

    @property
    def database_available(self) -> bool:
        return self._db_ok

    def submit(self, record: Record) -> None:
        """Take a record without waiting; never raises (a failure is logged and counted)."""
        try:
            record = self._protect(record)
            if self._task is None or self._stopping or len(self._queue) >= self.queue_size:
                self._spool_now([record])
            else:
                self._queue.append(record)
                self._wake.set()
            self._idle.clear()
        except Exception as exc:  # a bug here must not reach call control
            self._keep_rejected([record], f"not taken ({type(exc).__name__})")

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="records-writer")

    async def stop(self) -> None:
        """Write (or spool) what is queued, try the spool once more, then end."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        self.spool.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Until every submitted record is in the database (wrap in a timeout)."""
        await self._idle.wait()

    def _protect(self, record: Record) -> Record:
        """The record as it may be stored (validated already when it was built)."""
        if isinstance(record, CallRecord) and self.policy.storage != "full":
            protected = copy.copy(record)
            object.__setattr__(protected, "caller_number", self.policy.store(record.caller_number))
            return protected
        return record

    def _spool_now(self, records: Sequence[Record]) -> None:
        try:
            self.spool.append(records)
            self.metrics.spooled.inc(len(records))
        except OSError as exc:
            self._keep_rejected(records, f"spool not writable: {exc.strerror}")

    def _update_idle(self) -> None:
        if self.backlog == 0:
            self._idle.set()
        else:
            self._idle.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._stopping:
                    break
                timeout = None
                if self.spool.pending:
                    timeout = max(0.0, self._next_try - loop.time())
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                if self._queue and not self._stopping and len(self._queue) < self.batch_size:
                    # let a batch build up: one transaction (and one thread hop holding the
                    # GIL) per linger instead of one per call keeps call control responsive
                    await asyncio.sleep(self.linger)
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            self._in_flight = len(batch)
            # behind anything already spooled, so records reach the database in order
            if batch and (self.spool.pending or not await self._commit(batch)):
                await asyncio.to_thread(self._spool_now, batch)
            self._in_flight = 0
            if self.spool.pending and (loop.time() >= self._next_try or self._stopping):
                await self._replay()
            self._update_idle()
        if self.spool.pending:
            log.warning("records: stopping with %d record(s) in spool %s; replayed at next start",
                        self.spool.pending, self.spool.path)

    async def _replay(self) -> None:
        while self.spool.pending:
            records, end, lines = await asyncio.to_thread(self.spool.peek, self.batch_size)
            if records and not await self._commit(records):
                return
            await asyncio.to_thread(self.spool.consume, end, lines)
            if self._queue and not self._stopping:
                return  # let new records reach the spool's tail; replay continues next turn
        self.metrics.rejected.inc(self.spool.rejected)
        self.spool.rejected = 0

    async def _commit(self, records: Sequence[Record]) -> bool:
        """Write a batch; False (and backoff scheduled) if the database is unavailable."""
        loop = asyncio.get_running_loop()
        try:
            refused = await asyncio.to_thread(self._commit_sync, records)
        except UNAVAILABLE as exc:
            if self._db_ok:
                log.warning("records: database %s unavailable (%s); spooling to %s",
                            safe_url(self.engine), _reason(exc), self.spool.path)
            self._db_ok = False
            self._next_try = loop.time() + self._backoff.delay(self._failures)
            self._failures += 1
            return False
        if not self._db_ok:
            log.warning("records: database %s is back; replaying the spool", safe_url(self.engine))
        self._db_ok = True
        self._failures = 0
        self._next_try = 0.0
        self.metrics.written.inc(len(records) - len(refused))
        if refused:
            self._keep_rejected(refused, "refused by the database")
        return True

    def _commit_sync(self, records: Sequence[Record]) -> list[Record]:
        """One transaction per batch; if the database refuses the batch's data (not its
        availability), retry row by row and hand back the rows it still refuses."""
        storage = self.policy.storage
        try:
            with self.engine.begin() as conn:
                write_batch(conn, records, storage)
            return []
        except UNAVAILABLE:
            raise
        except DBAPIError:
            refused = []
            for r in records:
                try:
                    with self.engine.begin() as conn:
                        write_batch(conn, [r], storage)
                except UNAVAILABLE:
                    raise
                except DBAPIError as exc:
                    log.error("records: database refused %s %s (%s)", r.record_type,
                              "/".join(r.key), _reason(exc))
                    refused.append(r)
            return refused

    def _keep_rejected(self, records: Sequence[Record], why: str) -> None:
        self.metrics.rejected.inc(len(records))
        log.error("records: %d record(s) %s; kept in %s", len(records), why,
                  self.spool.rejected_path)
        try:
            with open(self.spool.rejected_path, "ab") as f:
                f.write(b"".join(encode(r) for r in records))
        except OSError:
            log.critical("records: %d record(s) lost: %s and %s unwritable", len(records),
                         self.spool.path, self.spool.rejected_path)


def _reason(exc: DBAPIError | DisconnectionError) -> str:
    """The driver's first line: no SQL, no parameters (they may hold caller numbers)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {first[0] if first else ''}"


def writer_from_config(config: Config, registry: CollectorRegistry | None = None) -> RecordWriter:
    """The engine's writer: checks the schema first (SchemaError if it is not known)."""
    engine = make_engine(config.database.url)
    check_schema(engine)
    policy = CallerNumberPolicy(
        config.engine.caller_number_storage, config.engine.caller_number_salt.resolve()
    )
    return RecordWriter(
        engine,
        config.engine.data_dir / "records.spool.jsonl",
        policy=policy,
        queue_size=config.database.queue_size,
        registry=registry,
    )
