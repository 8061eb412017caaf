"""The API's recording routes on a real `RecordingIndex` and real files (through the
`ari_app.api.recordings` adapter the engine delegates to)."""

from __future__ import annotations

import struct
import wave
from collections.abc import Sequence
from pathlib import Path

import pytest

from ari_app.api import create_api
from ari_app.api.control import (
    Forbidden,
    IndexedRecording,
    InvalidState,
    NotFound,
    RecordingStream,
)
from ari_app.api.recordings import (
    indexed_for_call,
    indexed_recording,
    open_indexed,
)
from ari_app.records.types import AuditRecord, Record
from recordings.index import RecordingIndex
from tests.test_api_fakes import T0, FakeClock, FakeControl, basic, call_app, make_config


class Sink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def submit(self, record: Record) -> None:
        self.records.append(record)

    def audits(self) -> list[tuple[str, str, str]]:
        return [(r.actor, r.action, r.detail) for r in self.records if isinstance(r, AuditRecord)]


def _wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", i % 500) for i in range(int(seconds * 8000))))
    return path


@pytest.fixture
def index(tmp_path: Path) -> tuple[RecordingIndex, Sink, Path]:
    sink = Sink()
    idx = RecordingIndex(sink)
    path = _wav(tmp_path / "rec-c1.wav", 10.0)  # 160 kB: several chunks
    idx.add(path, "c1", created=T0)
    idx.add(_wav(tmp_path / "rec-c1b.wav", 1.0), "c1", created=T0.replace(minute=5))
    return idx, sink, path


async def _read(stream: RecordingStream) -> bytes:
    return b"".join([chunk async for chunk in stream.chunks])


async def test_open_streams_the_file_after_the_index_audits(
    index: tuple[RecordingIndex, Sink, Path],
) -> None:
    idx, sink, path = index
    stream = await open_indexed(idx, "rec-c1", "sue", "supervisor")
    assert sink.audits() == [("sue", "download", "granted")]
    assert stream.content_type == "audio/wav"
    assert stream.info.duration_seconds == pytest.approx(10.0)
    assert await _read(stream) == path.read_bytes()


async def test_refusals_become_control_errors(index: tuple[RecordingIndex, Sink, Path]) -> None:
    idx, sink, path = index
    with pytest.raises(NotFound):
        await open_indexed(idx, "rec-none", "sue", "supervisor")
    with pytest.raises(Forbidden):
        await open_indexed(idx, "rec-c1", "ann", "agent")
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(InvalidState):
        await open_indexed(idx, "rec-c1", "sue", "supervisor")
    assert [a[2].split(":")[0] for a in sink.audits()] == ["denied", "failed"]


def test_metadata_shows_no_path(index: tuple[RecordingIndex, Sink, Path]) -> None:
    idx, _, path = index
    info = indexed_recording(idx, "rec-c1")
    assert str(path) not in repr(info)
    assert [r.name for r in indexed_for_call(idx, "c1", 10)] == ["rec-c1b", "rec-c1"]
    assert [r.name for r in indexed_for_call(idx, "c1", 1)] == ["rec-c1b"]
    with pytest.raises(NotFound):
        indexed_recording(idx, "nope")


class IndexedControl(FakeControl):
    index: RecordingIndex

    async def recordings(self, call_id: str | None, limit: int) -> Sequence[IndexedRecording]:
        return indexed_for_call(self.index, call_id or "c1", limit)

    async def recording(self, name: str) -> IndexedRecording:
        return indexed_recording(self.index, name)

    async def open_recording(self, name: str, by: str, role: str) -> RecordingStream:
        return await open_indexed(self.index, name, by, role)


async def test_download_through_the_api(index: tuple[RecordingIndex, Sink, Path]) -> None:
    idx, sink, path = index
    clock = FakeClock()
    config = make_config()
    control = IndexedControl(config, clock)
    control.index = idx
    app = create_api(config, control, sink, clock=clock)
    reply = await call_app(app, "GET", "/recordings/rec-c1/audio", headers=basic("sue"))
    assert reply.status == 200
    assert reply.body == path.read_bytes()
    # the API's row (who, via which route) and the index's (file opened)
    assert sink.audits() == [
        ("sue", "download", "granted"),
        ("sue", "recording.download", "outcome=ok sha256=" + idx.get("rec-c1").sha256),
    ]
    listing = await call_app(app, "GET", "/recordings?call_id=c1", headers=basic("sue"))
    assert [r["name"] for r in listing.json()] == ["rec-c1b", "rec-c1"]
    assert "path" not in listing.json()[0]
