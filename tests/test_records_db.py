"""Records against real SQLite files and a real PostgreSQL: schema, idempotent writes,
caller-number privacy, the bounded queue and spool. Each PostgreSQL test gets its own
fresh database (hotline_test_<random>) on 127.0.0.1:5432, dropped afterwards."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ari_app.cli import main as hotline
from ari_app.domain.privacy import CallerNumberPolicy, mask
from ari_app.records import models, schema
from ari_app.records.codec import decode, encode
from ari_app.records.spool import Spool
from ari_app.records.types import (
    AgentStateRecord,
    AuditRecord,
    CallRecord,
    OfferRecord,
    Record,
    RecordingRecord,
    TransferRecord,
)
from ari_app.records.writer import RecordWriter

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
NUMBER = "13800001234"


def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; dropped (even if connected) after."""
    name = f"hotline_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'hotline.sqlite3'}"
    else:
        yield from pg_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = schema.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    schema.upgrade(engine)
    return engine


def call(i: int, number: str = NUMBER, outcome: str = "answered") -> CallRecord:
    return CallRecord(
        call_id=f"call-{i}", site="demo", queue="support", caller_number=number,
        arrival=T0 + timedelta(seconds=i), answer=T0 + timedelta(seconds=i + 8),
        end=T0 + timedelta(seconds=i + 100), outcome=outcome,  # type: ignore[arg-type]
        wait_seconds=8.0, talk_seconds=92.0, hold_seconds=0.0, wrapup_seconds=10.0,
        agent_id="1001", transferred=False,
    )


def one_of_each() -> list[Record]:
    return [
        call(1),
        OfferRecord("call-1", 1, "1002", "ch-a", T0, T0, None, T0 + timedelta(seconds=12),
                    12.0, 3, "rona"),
        OfferRecord("call-1", 2, "1001", "ch-b", T0 + timedelta(seconds=12),
                    T0 + timedelta(seconds=12), T0 + timedelta(seconds=16),
                    T0 + timedelta(seconds=100), 4.0, 1, "answered"),
        AgentStateRecord("1001", "paused", "lunch", "PJSIP/1001", T0, record_id="s1"),
        RecordingRecord("rec-call-1", "call-1", "/var/rec/rec-call-1.wav", "wav", 92.0,
                        "ab" * 32, 1_472_044, T0, T0 + timedelta(days=180)),
        TransferRecord("call-1", "blind", "1001", "queue:sales", T0, "completed",
                       record_id="t1"),
        AuditRecord("alice", "supervisor", "listen", "recording", "rec-call-1", T0,
                    detail="download", record_id="a1"),
    ]


def writer(engine: Engine, tmp_path: Path, **kw: object) -> RecordWriter:
    opts: dict[str, object] = {"policy": CallerNumberPolicy("masked"), "queue_size": 1000}
    opts.update(kw)
    return RecordWriter(engine, tmp_path / "spool" / "records.jsonl", **opts)  # type: ignore[arg-type]


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


# --- schema ---------------------------------------------------------------------------


def test_migrations_create_exactly_the_models(migrated: Engine) -> None:
    with migrated.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    assert diff == []
    assert schema.current_revision(migrated) == schema.head_revision()


def test_engine_refuses_an_empty_database(engine: Engine) -> None:
    with pytest.raises(schema.SchemaError, match=r"no hotline schema.*hotline db upgrade"):
        schema.check_schema(engine)


def test_engine_refuses_a_schema_newer_than_the_code(migrated: Engine) -> None:
    schema.check_schema(migrated)  # at head: fine
    with migrated.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(schema.SchemaError, match="revision 9999, which this code does not know"):
        schema.check_schema(migrated)


def test_schema_problem_for_an_older_known_revision() -> None:
    problem = schema.schema_problem("0001", "0002", frozenset({"0001", "0002"}))
    assert problem is not None
    assert "at revision 0001 but this code needs 0002" in problem


# --- writes ---------------------------------------------------------------------------


async def test_every_record_type_is_stored_once_even_if_submitted_twice(
    migrated: Engine, tmp_path: Path
) -> None:
    records = one_of_each()
    async with writer(migrated, tmp_path) as w:
        for r in records + records:
            w.submit(r)
        await asyncio.wait_for(w.wait_idle(), 10)
    counts = {t: count(migrated, t) for t in
              ("calls", "offers", "agent_states", "agents", "recordings", "transfers",
               "audit_log")}
    assert counts == {"calls": 1, "offers": 2, "agent_states": 1, "agents": 1,
                      "recordings": 1, "transfers": 1, "audit_log": 1}
    with Session(migrated) as session:
        c = session.scalars(select(models.Call)).one()
    assert (c.caller_number, c.caller_number_storage) == ("*******1234", "masked")
    assert c.arrival_at == T0 + timedelta(seconds=1)
    assert c.answered_at is not None
    assert c.answered_at.tzinfo is not None
    assert (c.outcome, c.wait_seconds, c.talk_seconds, c.agent_id) == ("answered", 8.0, 92.0,
                                                                        "1001")


async def test_agents_keep_the_newest_state_whatever_the_arrival_order(
    migrated: Engine, tmp_path: Path
) -> None:
    newer = AgentStateRecord("1001", "available", "", "PJSIP/1001", T0 + timedelta(minutes=5))
    older = AgentStateRecord("1001", "paused", "lunch", "PJSIP/1001", T0)
    async with writer(migrated, tmp_path) as w:
        w.submit(newer)
        await asyncio.wait_for(w.wait_idle(), 10)
        w.submit(older)
        await asyncio.wait_for(w.wait_idle(), 10)
    with migrated.connect() as conn:
        row = conn.execute(select(models.Agent.state, models.Agent.state_since)).one()
    assert tuple(row) == ("available", T0 + timedelta(minutes=5))
    assert count(migrated, "agent_states") == 2


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("full", NUMBER),
        ("masked", "*******1234"),
        ("hashed", "hmac-sha256:" + hmac.new(b"s3cret", NUMBER.encode(),
                                             hashlib.sha256).hexdigest()),
    ],
)
async def test_caller_number_is_stored_as_configured(
    migrated: Engine, tmp_path: Path, storage: str, expected: str
) -> None:
    policy = CallerNumberPolicy(storage, "s3cret")  # type: ignore[arg-type]
    async with writer(migrated, tmp_path, policy=policy) as w:
        w.submit(call(1))
        await asyncio.wait_for(w.wait_idle(), 10)
    with migrated.connect() as conn:
        stored = conn.execute(select(models.Call.caller_number)).scalar_one()
    assert stored == expected


def test_hashing_without_a_salt_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match=r"needs engine\.caller_number_salt"):
        CallerNumberPolicy("hashed", "")


def test_mask_keeps_at_most_four_digits() -> None:
    assert mask("13800001234") == "*******1234"
    assert mask("1234") == "****"
    assert mask("") == ""


async def test_a_full_queue_spills_to_the_spool_and_nothing_is_lost(
    migrated: Engine, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    async with writer(migrated, tmp_path, queue_size=10, registry=registry) as w:
        for i in range(100):  # no await: the writer cannot drain in between
            w.submit(call(i))
        assert w.backlog == 100
        assert registry.get_sample_value("hotline_records_backlog") == 100
        assert registry.get_sample_value("hotline_records_spooled_total") == 90
        await asyncio.wait_for(w.wait_idle(), 10)
        assert registry.get_sample_value("hotline_records_backlog") == 0
    assert registry.get_sample_value("hotline_records_written_total") == 100
    with migrated.connect() as conn:
        ids = set(conn.execute(select(models.Call.call_id)).scalars())
    assert ids == {f"call-{i}" for i in range(100)}


async def test_a_row_the_database_refuses_is_kept_aside_and_the_rest_written(
    migrated: Engine, tmp_path: Path
) -> None:
    bad = call(2)
    object.__setattr__(bad, "outcome", "bogus")  # bypass validation: a check constraint fails
    registry = CollectorRegistry()
    async with writer(migrated, tmp_path, registry=registry) as w:
        for r in (call(1), bad, call(3)):
            w.submit(r)
        await asyncio.wait_for(w.wait_idle(), 10)
    assert count(migrated, "calls") == 2
    assert registry.get_sample_value("hotline_records_rejected_total") == 1
    kept = (tmp_path / "spool" / "records.jsonl.rejected").read_bytes().splitlines()
    assert [orjson_call_id(line) for line in kept] == ["call-2"]


def orjson_call_id(line: bytes) -> str:
    import orjson

    return str(orjson.loads(line)["r"]["call_id"])


async def test_a_spool_left_by_a_crash_is_replayed_once_at_start(
    migrated: Engine, tmp_path: Path
) -> None:
    spool_path = tmp_path / "spool" / "records.jsonl"
    spool = Spool(spool_path)
    spool.append([call(i) for i in range(20)])
    spool.close()
    with spool_path.open("ab") as f:
        f.write(encode(call(99))[:30])  # the crash tore the last line
    # the crash came after the first 10 were committed but before the offset was saved
    async with writer(migrated, tmp_path) as w:
        for i in range(10):
            w.submit(call(i))
        await asyncio.wait_for(w.wait_idle(), 10)
    # a second writer replays the whole spool: the first 10 again, harmlessly
    async with writer(migrated, tmp_path) as w:
        await asyncio.wait_for(w.wait_idle(), 10)
        assert w.spool.pending == 0
    with migrated.connect() as conn:
        ids = sorted(conn.execute(select(models.Call.call_id)).scalars())
    assert ids == sorted(f"call-{i}" for i in range(20))
    assert spool_path.stat().st_size == 0
    assert (tmp_path / "spool" / "records.jsonl.rejected").read_bytes().startswith(b'{"t":"call"')


def test_codec_round_trips_every_record_type() -> None:
    for r in one_of_each():
        assert decode(encode(r)) == r


async def test_database_errors_never_log_the_caller_number(
    migrated: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    policy = CallerNumberPolicy("full")
    bad = dataclasses.replace(call(1))
    object.__setattr__(bad, "outcome", "bogus")
    async with writer(migrated, tmp_path, policy=policy) as w:
        w.submit(bad)
        await asyncio.wait_for(w.wait_idle(), 10)
    assert "refused" in caplog.text
    assert NUMBER not in caplog.text


async def test_every_outcome_the_types_allow_the_schema_accepts(
    migrated: Engine, tmp_path: Path
) -> None:
    from ari_app.records.types import OUTCOMES

    registry = CollectorRegistry()
    async with writer(migrated, tmp_path, registry=registry) as w:
        for i, outcome in enumerate(OUTCOMES):
            w.submit(call(i, outcome=outcome))
        await asyncio.wait_for(w.wait_idle(), 10)
    assert registry.get_sample_value("hotline_records_rejected_total") == 0
    with migrated.connect() as conn:
        stored = set(conn.execute(select(models.Call.outcome)).scalars())
    assert stored == set(OUTCOMES)


async def test_writer_from_config_checks_the_schema_and_applies_the_number_policy(
    tmp_path: Path,
) -> None:
    from ari_app.config.settings import parse_config
    from ari_app.records.writer import writer_from_config

    url = f"sqlite:///{tmp_path / 'cfg.sqlite3'}"
    config = parse_config({
        "engine": {"data_dir": str(tmp_path / "var"), "caller_number_storage": "hashed",
                   "caller_number_salt": {"value": "pepper"}},
        "database": {"url": url, "queue_size": 50},
    })
    with pytest.raises(schema.SchemaError, match="no hotline schema"):
        writer_from_config(config)
    assert hotline(["db", "upgrade", "--url", url]) == 0
    w = writer_from_config(config)
    assert (w.queue_size, w.spool.path) == (50, tmp_path / "var" / "records.spool.jsonl")
    async with w:
        w.submit(call(1))
        await asyncio.wait_for(w.wait_idle(), 10)
    with w.engine.connect() as conn:
        stored = conn.execute(select(models.Call.caller_number)).scalar_one()
    w.engine.dispose()
    assert stored == "hmac-sha256:" + hmac.new(b"pepper", NUMBER.encode(),
                                               hashlib.sha256).hexdigest()
