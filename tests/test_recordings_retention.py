"""Retention: expired recordings' files are deleted, every deletion is audited, and a
purged recording does not come back when the index is rebuilt from the database."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import select

from ari_app.cli import main
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import models, schema
from ari_app.records.types import AuditRecord, Record
from ari_app.records.writer import RecordWriter
from ari_app.shell.run import running
from pbxsim.config import SimConfig
from pbxsim.server import Simulator
from recordings import retention
from recordings.index import RecordingError, RecordingIndex, load_known
from recordings.retention import PurgeResult, purge_every, purge_expired
from tests.test_recordings import make_wav
from tests.test_wiring import make, migrated

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class ListSink:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def submit(self, record: Record) -> None:
        self.records.append(record)

    def audits(self) -> list[tuple[str, str, str, str, datetime]]:
        return [(r.actor, r.action, r.object_id, r.detail, r.at)
                for r in self.records if isinstance(r, AuditRecord)]


def indexed(tmp_path: Path, sink: ListSink) -> RecordingIndex:
    """rec-old (created T0-40d) and rec-new (T0-5d), 30 days' retention."""
    index = RecordingIndex(sink, retention_days=30)
    for name, age in (("rec-old", 40), ("rec-new", 5)):
        make_wav(tmp_path / f"{name}.wav", 0.1)
        index.add(tmp_path / f"{name}.wav", f"c-{name}", created=T0 - timedelta(days=age))
    return index


def test_only_recordings_past_retention_are_deleted_and_audited(tmp_path: Path) -> None:
    sink = ListSink()
    index = indexed(tmp_path, sink)
    result = purge_expired(index, T0)
    assert (result.deleted, result.missing, result.failed) == (["rec-old"], [], [])
    assert not (tmp_path / "rec-old.wav").exists()
    assert (tmp_path / "rec-new.wav").exists()
    with pytest.raises(RecordingError):
        index.get("rec-old")
    assert index.get("rec-new").call_id == "c-rec-new"
    assert sink.audits() == [("retention", "delete", "rec-old", "outcome=ok", T0)]
    # rec-new expires exactly at its retention date (T0 - 5d + 30d)
    later = T0 + timedelta(days=25)
    assert purge_expired(index, later - timedelta(seconds=1)).expired == 0
    assert purge_expired(index, later, actor="ops").deleted == ["rec-new"]
    assert sink.audits()[-1] == ("ops", "delete", "rec-new", "outcome=ok", later)


def test_a_missing_file_is_counted_and_audited_not_an_error(tmp_path: Path) -> None:
    sink = ListSink()
    index = indexed(tmp_path, sink)
    (tmp_path / "rec-old.wav").unlink()
    result = purge_expired(index, T0)
    assert (result.deleted, result.missing, result.failed) == ([], ["rec-old"], [])
    assert sink.audits() == [("retention", "delete", "rec-old", "outcome=missing", T0)]
    assert index.expired(T0) == []


def test_a_file_that_cannot_be_deleted_stays_indexed_and_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The file is there but the OS refuses to delete it, as unlink(2) does in a read-only
    directory (EACCES). Root ignores directory permissions, and tests run as root in CI,
    so the refusal is injected at the one call that deletes, `Path.unlink`, for this file
    only; the file stays on disk, the other expired recording is still deleted."""
    sink = ListSink()
    index = indexed(tmp_path, sink)
    make_wav(tmp_path / "rec-older.wav", 0.1)
    index.add(tmp_path / "rec-older.wav", "c-rec-older", created=T0 - timedelta(days=50))
    refused = tmp_path / "rec-old.wav"
    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self == refused:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    with caplog.at_level(logging.ERROR, logger="recordings.retention"):
        result = purge_expired(index, T0)
    assert (result.deleted, result.missing, result.failed) == (["rec-older"], [], ["rec-old"])
    assert sorted(sink.audits()) == [
        ("retention", "delete", "rec-old", "outcome=failed", T0),
        ("retention", "delete", "rec-older", "outcome=ok", T0),
    ]
    assert refused.exists()
    assert not (tmp_path / "rec-older.wav").exists()
    assert index.get("rec-old").name == "rec-old"
    assert [r.getMessage() for r in caplog.records] == [
        "retention: cannot delete recording rec-old: Permission denied"]
    monkeypatch.undo()  # a later purge, once deletion is allowed again, deletes it
    assert purge_expired(index, T0).deleted == ["rec-old"]
    assert not refused.exists()


def test_a_directory_in_place_of_the_file_fails_and_stays_indexed(tmp_path: Path) -> None:
    sink = ListSink()
    index = indexed(tmp_path, sink)
    (tmp_path / "rec-old.wav").unlink()
    (tmp_path / "rec-old.wav").mkdir()  # unlink raises IsADirectoryError/PermissionError
    result = purge_expired(index, T0)
    assert result.failed == ["rec-old"]
    assert sink.audits() == [("retention", "delete", "rec-old", "outcome=failed", T0)]
    assert index.get("rec-old").name == "rec-old"


def test_dry_run_deletes_nothing_and_audits_nothing(tmp_path: Path) -> None:
    sink = ListSink()
    index = indexed(tmp_path, sink)
    make_wav(tmp_path / "rec-gone.wav", 0.1)
    index.add(tmp_path / "rec-gone.wav", "c-gone", created=T0 - timedelta(days=31))
    (tmp_path / "rec-gone.wav").unlink()
    before = len(sink.records)
    result = purge_expired(index, T0, dry_run=True)
    assert result.dry_run
    assert (result.deleted, result.missing) == (["rec-old"], ["rec-gone"])
    assert (tmp_path / "rec-old.wav").exists()
    assert len(sink.records) == before
    assert [r.name for r in index.expired(T0)] == ["rec-old", "rec-gone"]  # oldest first


@pytest.mark.looptime
async def test_purge_every_runs_hourly_and_counts_errors(tmp_path: Path) -> None:
    sink = ListSink()
    index = indexed(tmp_path, sink)
    loop = asyncio.get_running_loop()
    start = loop.time()

    def now() -> datetime:  # wall time follows the loop clock: 1 loop-hour = 1 day
        return T0 + timedelta(days=(loop.time() - start) / 3600)

    registry = CollectorRegistry()
    purged = Counter("p", "p", registry=registry)
    errors = Counter("e", "e", registry=registry)
    task = asyncio.create_task(purge_every(index, 3600, now, purged=purged, errors=errors))
    await asyncio.sleep(1)
    assert not (tmp_path / "rec-old.wav").exists()  # at once
    assert (tmp_path / "rec-new.wav").exists()
    await asyncio.sleep(24 * 3600)  # rec-new expires at T0 + 25 d: the 25th hourly purge
    assert (tmp_path / "rec-new.wav").exists()
    await asyncio.sleep(3600)
    assert not (tmp_path / "rec-new.wav").exists()
    assert registry.get_sample_value("p_total") == 2
    assert registry.get_sample_value("e_total") == 0

    def broken() -> datetime:
        raise RuntimeError("clock broken")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    task = asyncio.create_task(purge_every(index, 3600, broken, purged=purged, errors=errors))
    await asyncio.sleep(2 * 3600 + 1)
    assert registry.get_sample_value("e_total") == 3  # logged, counted, loop goes on
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def write_config(tmp_path: Path, db: Path, retention_days: int = 30) -> Path:
    cfg = tmp_path / "hotline.toml"
    cfg.write_text(
        f'[engine]\ndata_dir = "{tmp_path / "var"}"\n'
        f'[database]\nurl = "sqlite:///{db}"\n'
        f'[recordings]\ndir = "{tmp_path / "rec"}"\nretention_days = {retention_days}\n'
    )
    return cfg


async def test_cli_purges_on_sqlite_and_audit_rows_reach_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "h.sqlite3"
    engine = schema.make_engine(f"sqlite:///{db}")
    schema.upgrade(engine)
    recdir = tmp_path / "rec"
    recdir.mkdir()
    now = datetime.now(UTC)
    async with RecordWriter(engine, tmp_path / "spool.jsonl",
                            policy=CallerNumberPolicy("masked")) as w:
        index = RecordingIndex(w, retention_days=30)
        for name, age in (("rec-old", 40), ("rec-gone", 35), ("rec-new", 5)):
            make_wav(recdir / f"{name}.wav", 0.1)
            index.add(recdir / f"{name}.wav", name, created=now - timedelta(days=age))
        await asyncio.wait_for(w.wait_idle(), 10)
    (recdir / "rec-gone.wav").unlink()
    cfg = write_config(tmp_path, db)

    def run(*argv: str) -> tuple[int, str]:
        code = main(["recordings", "purge", "--config", str(cfg), *argv])
        return code, capsys.readouterr().out

    assert await asyncio.to_thread(run, "--dry-run") == (
        0, "2 expired: would delete 1, missing 1, failed 0\n")
    assert (recdir / "rec-old.wav").exists()
    assert await asyncio.to_thread(run) == (0, "2 expired: deleted 1, missing 1, failed 0\n")
    assert not (recdir / "rec-old.wav").exists()
    assert (recdir / "rec-new.wav").exists()
    with engine.connect() as conn:
        rows = conn.execute(select(
            models.AuditEntry.actor, models.AuditEntry.role, models.AuditEntry.action,
            models.AuditEntry.object_type, models.AuditEntry.object_id,
            models.AuditEntry.detail,
        ).order_by(models.AuditEntry.object_id)).all()
    assert [tuple(r) for r in rows] == [
        ("retention", "system", "delete", "recording", "rec-gone", "outcome=missing"),
        ("retention", "system", "delete", "recording", "rec-old", "outcome=ok"),
    ]
    # the rows stay (no deleted column yet) but a rebuilt index leaves them out
    assert [r.name for r in load_known(engine)] == ["rec-new"]
    assert await asyncio.to_thread(run) == (0, "0 expired: deleted 0, missing 0, failed 0\n")
    engine.dispose()


def test_cli_reports_a_database_without_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, tmp_path / "empty.sqlite3")
    assert main(["recordings", "purge", "--config", str(cfg)]) == 1
    assert "hotline db upgrade" in capsys.readouterr().out


@pytest.mark.looptime
async def test_running_engine_purges_expired_recordings_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make(tmp_path, retention_days=30)
    migrated(config)
    recdir = config.recordings.dir
    recdir.mkdir(parents=True)
    db = schema.make_engine(config.database.url)
    now = datetime.now(UTC)
    async with RecordWriter(db, tmp_path / "seed.spool.jsonl",
                            policy=CallerNumberPolicy("masked")) as w:
        seed = RecordingIndex(w, retention_days=30)
        for name, age in (("rec-old", 40), ("rec-new", 5)):
            make_wav(recdir / f"{name}.wav", 0.1)
            seed.add(recdir / f"{name}.wav", name, created=now - timedelta(days=age))
        await asyncio.wait_for(w.wait_idle(), 10)

    loop = asyncio.get_running_loop()
    purged = asyncio.Event()

    def observed(index: RecordingIndex, at: datetime) -> PurgeResult:
        result = purge_expired(index, at)
        loop.call_soon_threadsafe(purged.set)
        return result

    monkeypatch.setattr(retention, "purge_expired", observed)

    sim = Simulator(SimConfig(recordings_dir=recdir))
    base = await sim.start()
    try:
        async with running(config, ari_url=base, api=False) as r:
            await asyncio.wait_for(purged.wait(), 10)
            assert not (recdir / "rec-old.wav").exists()
            assert r.index is not None
            assert [x.name for x in r.index.expired(now + timedelta(days=365))] == ["rec-new"]
    finally:
        await sim.stop()
    assert (recdir / "rec-new.wav").exists()
    with db.connect() as conn:
        rows = conn.execute(select(models.AuditEntry.object_id, models.AuditEntry.detail)).all()
    assert [tuple(x) for x in rows] == [("rec-old", "outcome=ok")]
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "recordings-retention"]
    db.dispose()
