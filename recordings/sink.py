"""Finished call recordings into the recordings index: an `EventSink` for the engine.

`RecordingReady` names a recording; Asterisk wrote it to `<recordings.dir>/<name>.<format>`.
Measuring it (duration, sha256) is blocking file I/O, so `RecordingIndex.add` runs in a
worker thread and the sink returns at once. The index hands its RecordingRecord (and,
when a file is opened, its AuditRecord) to the records writer from that thread, so the
writer is reached through `LoopSink`, which posts to the loop the writer lives on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter

from ari_app.domain.events import DomainEvent, RecordingReady
from ari_app.records.types import Record, RecordSink
from recordings.index import RecordingIndex

log = logging.getLogger(__name__)


class LoopSink:
    """A `RecordSink` callable from any thread: records reach `sink` on `loop`'s thread."""

    def __init__(self, sink: RecordSink, loop: asyncio.AbstractEventLoop) -> None:
        self.sink = sink
        self.loop = loop

    def submit(self, record: Record) -> None:
        self.loop.call_soon_threadsafe(self.sink.submit, record)


class RecordingsSink:
    """Indexes each finished recording off the loop; failures are logged and counted."""

    def __init__(
        self, index: RecordingIndex, directory: Path, registry: CollectorRegistry | None = None
    ) -> None:
        self.index = index
        self.directory = directory
        registry = registry if registry is not None else CollectorRegistry()
        self.indexed = Counter(
            "hotline_recordings_indexed_total", "Finished recordings measured and indexed",
            registry=registry,
        )
        self.failed = Counter(
            "hotline_recordings_index_failed_total",
            "Finished recordings that could not be indexed (missing or unreadable file)",
            registry=registry,
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def path_of(self, name: str, fmt: str) -> Path:
        return self.directory / f"{name}.{fmt}"

    def publish(self, event: DomainEvent) -> None:
        if not isinstance(event, RecordingReady):
            return
        task = asyncio.get_running_loop().create_task(self._add(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _add(self, event: RecordingReady) -> None:
        rec = event.recording
        path = self.path_of(rec.name, rec.format)
        created = datetime.fromtimestamp(rec.ended_at, UTC)
        try:
            await asyncio.to_thread(
                self.index.add, path, rec.call_id, name=rec.name, created=created
            )
        except Exception as exc:  # missing or unreadable file: the call itself is fine
            self.failed.inc()
            log.error("recording %s of call %s not indexed: %s", rec.name, rec.call_id, exc)
        else:
            self.indexed.inc()

    async def wait_idle(self) -> None:
        """Until every recording published so far is indexed (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
