"""The database dies in the middle of a run: 0 records lost, 0 duplicated.

PostgreSQL: a private server (initdb into a temp dir, its own port) that the test stops
for 30 s of loop time and starts again. The writer's backoff runs on the event loop's
clock, so looptime compresses those 30 s; the real outage lasts as long as the run
takes (about a second), long enough for every write in it to fail for real.
SQLite: another connection holds an exclusive lock for 30 s of loop time, so every write
fails with "database is locked", as it would on a file that cannot be written.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, create_engine, select

from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import models, schema
from ari_app.records.types import CallRecord, OfferRecord, Record
from ari_app.records.writer import RecordWriter

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PG_BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throw-away PostgreSQL server; runs as the `postgres` user when we are root."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(PG_BIN / tool), *args]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
                  "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def records_for(i: int) -> list[Record]:
    at = T0 + timedelta(seconds=i)
    return [
        CallRecord(f"c{i}", "demo", "support", f"1380000{i:04d}", at, at, at, "answered",
                   agent_id="1001"),
        OfferRecord(f"c{i}", 1, "1001", f"ch{i}", at, at, at, at, 2.0, 1, "answered"),
    ]


async def run_with_outage(engine: Engine, spool: Path, down: object, up: object) -> None:
    """Submit 20 calls per second of loop time: 10 s up, 30 s down, 10 s up; then check."""
    registry = CollectorRegistry()
    writer = RecordWriter(engine, spool, policy=CallerNumberPolicy("masked"), queue_size=200,
                          registry=registry, batch_size=50, retry_initial_seconds=0.5,
                          retry_max_seconds=4.0)
    loop = asyncio.get_running_loop()
    i = 0

    async def produce(seconds: float) -> None:
        nonlocal i
        end = loop.time() + seconds
        while loop.time() < end:
            for r in records_for(i):
                writer.submit(r)
            i += 1
            await asyncio.sleep(0.05)

    async with writer:
        await produce(10)
        await asyncio.wait_for(writer.wait_idle(), 10)
        assert writer.spool.pending == 0
        await asyncio.to_thread(down)  # type: ignore[arg-type]
        await produce(30)
        during = i
        assert not writer.database_available
        assert writer.spool.pending > 0
        assert registry.get_sample_value("hotline_records_backlog") == writer.backlog
        await asyncio.to_thread(up)  # type: ignore[arg-type]
        await produce(10)
        await asyncio.wait_for(writer.wait_idle(), 120)
    assert i >= 990  # 50 s at 20 calls/s
    assert during >= 790
    assert registry.get_sample_value("hotline_records_backlog") == 0
    assert (registry.get_sample_value("hotline_records_spooled_total") or 0) >= 2 * 590
    assert registry.get_sample_value("hotline_records_rejected_total") == 0
    with engine.connect() as conn:
        calls = list(conn.execute(select(models.Call.call_id)).scalars())
        offers = list(conn.execute(select(models.Offer.call_id, models.Offer.seq)))
    assert len(calls) == len(set(calls)) == i  # every call once: 0 lost, 0 duplicated
    assert set(calls) == {f"c{n}" for n in range(i)}
    assert len(offers) == len(set(offers)) == i
    assert writer.spool.path.stat().st_size == 0


@pytest.mark.looptime
async def test_postgresql_down_for_30_seconds_loses_and_duplicates_nothing(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    engine = schema.make_engine(private_pg.url)
    schema.upgrade(engine)
    try:
        await run_with_outage(engine, tmp_path / "spool.jsonl", private_pg.stop,
                              private_pg.start)
    finally:
        engine.dispose()


@pytest.mark.looptime
async def test_sqlite_unwritable_for_30_seconds_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hotline.sqlite3"
    engine = create_engine(f"sqlite:///{path}", hide_parameters=True,
                           connect_args={"timeout": 0.05})
    schema.upgrade(engine)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def lock() -> None:
        holder.execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        holder.execute("COMMIT")

    try:
        await run_with_outage(engine, tmp_path / "spool.jsonl", lock, unlock)
    finally:
        holder.close()
        engine.dispose()
