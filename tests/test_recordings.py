"""The recordings index on real files: duration from the header, checksum, retention,
and audited access written through a real records writer into SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import models, schema
from ari_app.records.types import AuditRecord, Record, RecordingRecord
from ari_app.records.writer import RecordWriter
from recordings.index import AccessDenied, RecordingError, RecordingIndex, load_known
from recordings.media import MediaError, parse_wav_header

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def submit(self, record: Record) -> None:
        self.records.append(record)


def make_wav(path: Path, seconds: float, rate: int = 8000, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(b"".join(struct.pack("<h", (i * 37) % 2000 - 1000)
                               for i in range(frames)) * channels)


@pytest.mark.parametrize(("seconds", "rate", "channels"), [(2.5, 8000, 1), (1.25, 16000, 2)])
def test_add_measures_duration_checksum_size_and_retention(
    tmp_path: Path, seconds: float, rate: int, channels: int
) -> None:
    path = tmp_path / "rec-c1.wav"
    make_wav(path, seconds, rate, channels)
    sink = ListSink()
    index = RecordingIndex(sink, retention_days=30)
    r = index.add(path, "c1", created=T0)
    assert r == RecordingRecord(
        name="rec-c1", call_id="c1", path=str(path), format="wav", duration_seconds=seconds,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), size=path.stat().st_size,
        created=T0, retention_until=T0 + timedelta(days=30),
    )
    assert sink.records == [r]


def test_a_header_never_fixed_up_counts_to_the_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "live.wav"
    make_wav(path, 1.0)
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\xff"  # as a crashed writer leaves it
    info = parse_wav_header(bytes(data[:4096]), len(data))
    assert info.duration_seconds == 1.0


def test_gsm_duration_comes_from_the_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "rec-c2.gsm"
    path.write_bytes(b"\xd8" * 33 * 50 * 3)  # 150 frames of 20 ms
    assert RecordingIndex(ListSink()).add(path, "c2").duration_seconds == 3.0


@pytest.mark.parametrize("head", [b"", b"RIFF\x00\x00\x00\x00WAVX", b"RIFF\x24\x00\x00\x00WAVE"])
def test_a_file_that_is_not_a_wav_is_a_clear_error(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(head)
    with pytest.raises(MediaError):
        RecordingIndex(ListSink()).add(path, "c3")


def test_every_access_is_audited_allowed_refused_or_failed(tmp_path: Path) -> None:
    path = tmp_path / "rec-c1.wav"
    make_wav(path, 0.5)
    sink = ListSink()
    index = RecordingIndex(sink)
    index.add(path, "c1", created=T0)
    with index.open_for("carol", "supervisor", "rec-c1", now=T0) as f:
        assert f.read() == path.read_bytes()
    with pytest.raises(AccessDenied):
        index.open_for("1001", "agent", "rec-c1", now=T0)
    with pytest.raises(RecordingError, match="no recording named"):
        index.open_for("carol", "supervisor", "rec-nope", now=T0)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(RecordingError, match="does not match its checksum"):
        index.open_for("carol", "admin", "rec-c1", action="listen", now=T0)
    audits = [(a.actor, a.role, a.action, a.object_id, a.detail)
              for a in sink.records if isinstance(a, AuditRecord)]
    assert audits == [
        ("carol", "supervisor", "download", "rec-c1", "granted"),
        ("1001", "agent", "download", "rec-c1", "denied: role may not read recordings"),
        ("carol", "supervisor", "download", "rec-nope", "failed: no such recording"),
        ("carol", "admin", "listen", "rec-c1", "failed: checksum mismatch"),
    ]


def test_expired_lists_recordings_past_retention(tmp_path: Path) -> None:
    index = RecordingIndex(ListSink(), retention_days=10)
    for i, created in enumerate((T0, T0 + timedelta(days=5), T0 + timedelta(days=20))):
        p = tmp_path / f"r{i}.wav"
        make_wav(p, 0.1)
        index.add(p, f"c{i}", created=created)
    assert [r.name for r in index.expired(T0 + timedelta(days=15))] == ["r0", "r1"]


async def test_index_and_audit_rows_reach_the_database_and_reload(tmp_path: Path) -> None:
    engine = schema.make_engine(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    schema.upgrade(engine)
    path = tmp_path / "rec-c9.wav"
    make_wav(path, 0.75)
    async with RecordWriter(engine, tmp_path / "spool.jsonl",
                            policy=CallerNumberPolicy("masked")) as w:
        index = RecordingIndex(w)
        added = index.add(path, "c9", created=T0)
        index.open_for("carol", "team_lead", "rec-c9", now=T0).close()
        await asyncio.wait_for(w.wait_idle(), 10)
    assert load_known(engine) == [added]
    with engine.connect() as conn:
        rows = conn.execute(select(models.AuditEntry.actor, models.AuditEntry.object_id,
                                   models.AuditEntry.detail)).all()
    assert [tuple(r) for r in rows] == [("carol", "rec-c9", "granted")]
    reloaded = RecordingIndex(ListSink(), known=load_known(engine))
    assert reloaded.get("rec-c9").duration_seconds == 0.75
    engine.dispose()
