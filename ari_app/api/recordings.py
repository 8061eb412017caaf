"""`EngineControl`'s recording methods on top of `recordings.index.RecordingIndex`, for the
engine's implementation to delegate to. The index does blocking file I/O (checksums,
reads), so every call into it runs in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import BinaryIO

from ari_app.api.control import Forbidden, IndexedRecording, InvalidState, NotFound, RecordingStream
from ari_app.records.types import RecordingRecord
from recordings.index import AccessDenied, RecordingError, RecordingIndex

CHUNK = 64 * 1024
CONTENT_TYPES = {"wav": "audio/wav", "gsm": "audio/x-gsm", "ulaw": "audio/basic"}


def recording_info(record: RecordingRecord) -> IndexedRecording:
    """What the API shows of a recording (never its path on disk)."""
    return IndexedRecording(
        name=record.name,
        call_id=record.call_id,
        format=record.format,
        duration_seconds=record.duration_seconds,
        size=record.size,
        sha256=record.sha256,
        created=record.created,
    )


def indexed_recording(index: RecordingIndex, name: str) -> IndexedRecording:
    try:
        return recording_info(index.get(name))
    except RecordingError:
        raise NotFound(f"no recording named {name}") from None


def indexed_for_call(index: RecordingIndex, call_id: str, limit: int) -> list[IndexedRecording]:
    found = sorted(index.for_call(call_id), key=lambda r: r.created, reverse=True)
    return [recording_info(r) for r in found[:limit]]


async def open_indexed(index: RecordingIndex, name: str, by: str, role: str) -> RecordingStream:
    """Open through the index (which audits the access and verifies the checksum) and
    stream the file in chunks read off the loop; the file is closed when the stream ends."""
    info = indexed_recording(index, name)
    try:
        f = await asyncio.to_thread(index.open_for, by, role, name)
    except AccessDenied:
        raise Forbidden(f"{by} may not read recordings") from None
    except RecordingError:
        raise InvalidState(f"recording {name} cannot be served (missing or damaged)") from None
    return RecordingStream(
        info, CONTENT_TYPES.get(info.format, "application/octet-stream"), _chunks(f)
    )


async def _chunks(f: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk
    finally:
        f.close()
