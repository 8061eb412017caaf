"""Journal writer (append, rotation by size and UTC day, gzip, fsync policy) and reader."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import orjson
import pytest

from kpi.journal import (
    FsyncPolicy,
    JournalError,
    JournalWriter,
    ReadStats,
    journal_files,
    read_events,
    read_lines,
)

DAY = 86_400.0
NOON = 1_795_348_800.0  # 2026-11-22T12:00:00Z


def test_appends_raw_text_unchanged_and_mappings_as_json(tmp_path: Path) -> None:
    raw = '{"type":"Dial","timestamp":"2026-11-22T23:15:21.221+0000", "x" : 1}'
    with JournalWriter(tmp_path / "j.jsonl", clock=lambda: NOON) as w:
        w.append(raw)
        w.append(raw.encode())
        w.append({"type": "HotlineAgentState", "agent_id": "1001", "state": "available"})
        w.append('{\n  "type": "StasisStart"\n}\n')  # pretty-printed: made one line
    lines = (tmp_path / "j.jsonl").read_bytes().splitlines()
    assert lines[0] == raw.encode()
    assert lines[1] == raw.encode()
    assert orjson.loads(lines[2])["agent_id"] == "1001"
    assert lines[3] == b'{"type":"StasisStart"}'


def test_rotates_by_size_into_gzip_files_in_order(tmp_path: Path) -> None:
    path = tmp_path / "hotline.jsonl"
    now = [NOON]
    with JournalWriter(path, max_bytes=200, clock=lambda: now[0]) as w:
        for n in range(30):
            w.append({"n": n, "pad": "x" * 40})
            now[0] += 0.3  # several rotations within the same second
    files = journal_files(path)
    assert len(files) >= 8
    assert files[-1] == path
    for f in files[:-1]:
        assert f.name.endswith(".jsonl.gz")
        assert f.stat().st_size > 0
        with gzip.open(f, "rb") as handle:
            assert all(len(line) <= 200 for line in handle)
    assert [e["n"] for e in read_events(files)] == list(range(30))
    assert not list(tmp_path.glob("*.tmp"))


def test_rotates_at_utc_midnight(tmp_path: Path) -> None:
    path = tmp_path / "hotline.jsonl"
    now = [NOON]
    with JournalWriter(path, clock=lambda: now[0], compress=False) as w:
        w.append({"day": 1})
        now[0] += 11 * 3600 + 59 * 60  # 23:59 the same day
        w.append({"day": 1})
        now[0] += 120  # 00:01 next day
        w.append({"day": 2})
    files = journal_files(path)
    assert len(files) == 2
    assert files[0].name.startswith("hotline-20261123T0001")  # rotated when day 2 began
    assert [e["day"] for e in read_events([files[0]])] == [1, 1]
    assert [e["day"] for e in read_events([files[1]])] == [2]


def test_fsync_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    now = [NOON]
    with JournalWriter(tmp_path / "a.jsonl", fsync=FsyncPolicy.ALWAYS,
                       clock=lambda: now[0]) as w:
        for _ in range(5):
            w.append({"x": 1})
        assert len(calls) == 5
    calls.clear()
    with JournalWriter(tmp_path / "b.jsonl", fsync=FsyncPolicy.INTERVAL, fsync_interval=1.0,
                       clock=lambda: now[0]) as w:
        for _ in range(10):
            w.append({"x": 1})
            now[0] += 0.25
        assert len(calls) == 2  # at 1.0 s and 2.0 s after opening
    calls.clear()
    with JournalWriter(tmp_path / "c.jsonl", fsync=FsyncPolicy.ROTATE,
                       clock=lambda: now[0]) as w:
        for _ in range(10):
            w.append({"x": 1})
        assert calls == []
    assert len(calls) == 1  # on close


def test_reopening_appends_the_same_day_and_rotates_a_previous_days_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    for n in range(3):
        with JournalWriter(path, clock=lambda: NOON) as w:
            w.append({"n": n})
        os.utime(path, (NOON, NOON))  # the file was last written "today"
    assert [e["n"] for e in read_events([path])] == [0, 1, 2]
    with JournalWriter(path, clock=lambda: NOON + DAY) as w:  # restarted the next day
        w.append({"n": 3})
    files = journal_files(path)
    assert [[e["n"] for e in read_events([f])] for f in files] == [[0, 1, 2], [3]]


def test_reader_skips_and_counts_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"type":"A"}\nnot json\n[1,2]\n\n{"type":"B"}\n{"type":"C", "tor')
    stats = ReadStats()
    assert [e["type"] for e in read_events([path], stats)] == ["A", "B"]
    assert stats.malformed == 3  # garbage, a non-object, a torn last line
    assert stats.lines == 6
    assert stats.events == 2
    assert stats.files == 1


def test_reader_mixes_plain_and_gzip(tmp_path: Path) -> None:
    gz = tmp_path / "old.jsonl.gz"
    with gzip.open(gz, "wb") as handle:
        handle.write(b'{"n":1}\n{"n":2}\n')
    plain = tmp_path / "new.jsonl"
    plain.write_bytes(b'{"n":3}\n')
    assert [e["n"] for e in read_events([gz, plain])] == [1, 2, 3]
    assert list(read_lines([plain])) == [b'{"n":3}\n']


def test_unreadable_journals_raise_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot read journal"):
        list(read_events([tmp_path / "missing.jsonl"]))
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(JournalError, match="cannot read journal"):
        list(read_events([bad]))
    with pytest.raises(JournalError, match="cannot open journal"):
        JournalWriter(bad / "j.jsonl")  # its directory would be a file


def test_writer_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        JournalWriter(tmp_path / "j.jsonl", max_bytes=0)
