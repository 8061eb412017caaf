"""Post-call survey records on real SQLite and PostgreSQL: migration 0005 up and down (the
`survey_results` table and the calls' `survey` column), rows from `SurveyFinished` and
`CallEnded` through the writer, once each, refusals kept aside, the spool, and reading
them back for the API."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ari_app.domain.events import (
    CallEnded,
    CallProgress,
    CallSummary,
    Outcome,
    SurveyFinished,
    SurveyOutcome,
)
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import schema
from ari_app.records.codec import decode, encode
from ari_app.records.sink import RecordsEventSink, records_for
from ari_app.records.spool import Spool
from ari_app.records.surveys import SqlSurveyStore
from ari_app.records.types import CallRecord, SurveyRecord
from ari_app.records.writer import RecordWriter
from tests.test_records_db import pg_database

T0 = 1795420800.0  # 2026-11-23T08:00:00Z
AT0 = datetime.fromtimestamp(T0, UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db' / 'hotline.sqlite3'}"
        eng = schema.make_engine(url)
        yield eng
        eng.dispose()
    else:
        for url in pg_database():
            eng = schema.make_engine(url)
            yield eng
            eng.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = schema.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def finished(call_id: str = "c1", agent: str = "1001", queue: str = "support",
             outcome: SurveyOutcome = SurveyOutcome.COMPLETED,
             answers: tuple[int | None, ...] = (4, 5), started: float = T0 + 100) -> SurveyFinished:
    given = [a for a in answers if a is not None]
    return SurveyFinished(call_id=call_id, queue=queue, agent_id=agent, outcome=outcome,
                          answers=answers, score=sum(given) / len(given) if given else None,
                          started_at=started, ended_at=started + 12.5)


def summary(call_id: str = "c1", survey: SurveyOutcome = SurveyOutcome.COMPLETED) -> CallSummary:
    return CallSummary(
        call_id=call_id, queue="support", caller="*******1234", vip=False, arrived_at=T0,
        answered_at=T0 + 8, bridged_at=T0 + 10, ended_at=T0 + 113, outcome=Outcome.ANSWERED,
        hangup_by="agent", overflow="", wait_seconds=8.0, talk_seconds=90.0,
        hold_seconds=0.0, wrapup_seconds=10.0, agent_id="1001", offers=(), recording="",
        queues_visited=("support",), caller_number="13800001234", survey=survey,
    )


def writer(engine: Engine, tmp_path: Path, registry: CollectorRegistry | None = None) -> (
        RecordWriter):
    return RecordWriter(engine, tmp_path / "spool" / "records.jsonl",
                        policy=CallerNumberPolicy("masked"), registry=registry)


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


# --- migration 0005 ---------------------------------------------------------------------


def test_0005_adds_the_table_and_the_column_and_takes_them_away_again(engine: Engine) -> None:
    schema.upgrade(engine, "0004")
    with engine.begin() as conn:  # a call recorded before surveys existed
        conn.execute(text(
            "INSERT INTO calls (call_id, site, queue, caller_number, caller_number_storage,"
            " arrival_at, outcome, wait_seconds, talk_seconds, hold_seconds, wrapup_seconds,"
            " transferred) VALUES ('old', 'demo', 'support', '*******1234', 'masked',"
            " '2026-11-22 08:00:00+00:00', 'answered', 1, 2, 0, 0, false)"))
    assert "survey_results" not in inspect(engine).get_table_names()

    schema.upgrade(engine, "0005")
    assert schema.current_revision(engine) == "0005"
    assert rows(engine, "SELECT call_id, survey FROM calls") == [("old", "not_offered")]
    columns = {c["name"] for c in inspect(engine).get_columns("survey_results")}
    assert columns == {"call_id", "site", "queue", "agent_id", "outcome", "answers", "score",
                       "started_at", "ended_at"}
    indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("survey_results")}
    assert indexes == {("started_at",), ("queue", "started_at"), ("agent_id", "started_at")}
    assert [i["column_names"] for i in inspect(engine).get_indexes("calls")
            if i["column_names"] == ["queue", "arrival_at"]]  # survived SQLite's table copy
    with pytest.raises(IntegrityError, match=r"(?i)check"), engine.begin() as conn:
        conn.execute(text("UPDATE calls SET survey = 'happy' WHERE call_id = 'old'"))
    with pytest.raises(IntegrityError, match=r"(?i)check"), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO survey_results VALUES ('x', 'demo', 'support', '1001', 'great', '[]',"
            " NULL, '2026-11-22 08:00:00+00:00', '2026-11-22 08:00:10+00:00')"))

    _downgrade(engine, "0004")
    assert schema.current_revision(engine) == "0004"
    assert "survey_results" not in inspect(engine).get_table_names()
    assert "survey" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    assert rows(engine, "SELECT call_id, outcome FROM calls") == [("old", "answered")]

    schema.upgrade(engine)  # and up to the head again
    schema.check_schema(engine)
    assert rows(engine, "SELECT survey FROM calls") == [("not_offered",)]


# --- writing ------------------------------------------------------------------------------


async def test_a_finished_survey_is_one_row_and_the_call_carries_its_outcome(
    engine: Engine, tmp_path: Path
) -> None:
    schema.upgrade(engine)
    async with writer(engine, tmp_path) as w:
        sink = RecordsEventSink(w, "demo")
        sink.publish(CallProgress("c1", "support", "*******1234", T0, T0 + 8, "1001",
                                  caller_number="13800001234"))
        sink.publish(finished(answers=(4, None), outcome=SurveyOutcome.PARTIAL))
        await asyncio.wait_for(w.wait_idle(), 10)
        # written at once: before the call has ended
        assert rows(engine, "SELECT survey, outcome FROM calls") == [
            ("not_offered", "in_progress")]
        assert len(rows(engine, "SELECT call_id FROM survey_results")) == 1
        sink.publish(finished(answers=(4, None), outcome=SurveyOutcome.PARTIAL))  # replayed
        sink.publish(CallEnded(summary("c1", SurveyOutcome.PARTIAL)))
        sink.publish(CallEnded(summary("c2", SurveyOutcome.NOT_OFFERED)))
        await asyncio.wait_for(w.wait_idle(), 10)
    assert rows(engine, "SELECT call_id, survey, outcome FROM calls ORDER BY call_id") == [
        ("c1", "partial", "answered"), ("c2", "not_offered", "answered")]
    stored = SqlSurveyStore(engine).find(AT0, AT0 + timedelta(hours=1))
    assert stored == [SurveyRecord(
        call_id="c1", site="demo", queue="support", agent_id="1001",
        outcome=SurveyOutcome.PARTIAL, answers=(4, None), score=4.0,
        started=AT0 + timedelta(seconds=100), ended=AT0 + timedelta(seconds=112.5))]
    assert rows(engine, "SELECT answers FROM survey_results") == [("[4,null]",)]


async def test_every_survey_outcome_is_accepted_and_a_bad_one_kept_aside(
    engine: Engine, tmp_path: Path
) -> None:
    schema.upgrade(engine)
    registry = CollectorRegistry()
    bad = records_for(finished("bad"), "demo")[0]
    object.__setattr__(bad, "outcome", "happy")  # past the record's own check
    async with writer(engine, tmp_path, registry) as w:
        for i, outcome in enumerate(SurveyOutcome):
            for r in records_for(finished(f"s{i}", outcome=outcome, answers=()), "demo"):
                w.submit(r)
            for r in records_for(CallEnded(summary(f"s{i}", outcome)), "demo"):
                w.submit(r)
        w.submit(bad)
        await asyncio.wait_for(w.wait_idle(), 10)
    assert registry.get_sample_value("hotline_records_rejected_total") == 1
    assert {r[0] for r in rows(engine, "SELECT outcome FROM survey_results")} == {
        o.value for o in SurveyOutcome}
    assert {r[0] for r in rows(engine, "SELECT survey FROM calls")} == {
        o.value for o in SurveyOutcome}
    rejected = (tmp_path / "spool" / "records.jsonl.rejected").read_bytes()
    assert rejected.startswith(b'{"t":"survey"')
    assert b'"call_id":"bad"' in rejected


async def test_a_spooled_survey_reaches_the_database_at_the_next_start(
    engine: Engine, tmp_path: Path
) -> None:
    schema.upgrade(engine)
    spool = Spool(tmp_path / "spool" / "records.jsonl")
    spool.append(records_for(finished("c9", answers=(1, 2)), "demo"))  # a crash left it
    spool.close()
    async with writer(engine, tmp_path) as w:
        await asyncio.wait_for(w.wait_idle(), 10)
    assert rows(engine, "SELECT call_id, answers, score FROM survey_results") == [
        ("c9", "[1,2]", 1.5)]


def test_the_spool_keeps_surveys_exactly_and_reads_calls_spooled_before_surveys() -> None:
    for outcome, answers in ((SurveyOutcome.COMPLETED, (5, 4, 3)),
                             (SurveyOutcome.NO_INPUT, (None, None))):
        record = records_for(finished(outcome=outcome, answers=answers), "demo")[0]
        assert decode(encode(record)) == record
    call = records_for(CallEnded(summary()), "demo")[0]
    assert isinstance(call, CallRecord)
    assert decode(encode(call)).survey is SurveyOutcome.COMPLETED  # type: ignore[union-attr]
    old = encode(call).replace(b',"survey":"completed"', b"")  # a line from before 0005
    assert b"survey" not in old
    assert decode(old) == dataclasses.replace(call, survey=SurveyOutcome.NOT_OFFERED)


def test_a_survey_record_refuses_what_cannot_be_stored() -> None:
    good = records_for(finished(), "demo")[0]
    assert isinstance(good, SurveyRecord)
    for change, message in (({"answers": (4, 10)}, "not a key"),
                            ({"answers": (True,)}, "not a key"),
                            ({"outcome": "happy"}, "not one of"),
                            ({"score": float("nan")}, "not a number"),
                            ({"started": datetime(2026, 11, 23)}, "timezone-aware")):
        with pytest.raises(ValueError, match=message):
            dataclasses.replace(good, **change)


# --- reading back ---------------------------------------------------------------------------


async def test_find_by_window_queue_and_agents(engine: Engine, tmp_path: Path) -> None:
    schema.upgrade(engine)
    async with writer(engine, tmp_path) as w:
        sink = RecordsEventSink(w, "demo")
        sink.publish(finished("a", "1001", "support", started=T0))
        sink.publish(finished("b", "1002", "support", started=T0 + 3600))
        sink.publish(finished("c", "1001", "billing", started=T0 + 7200))
        sink.publish(finished("d", "2001", "billing", started=T0 + 86400))
        await asyncio.wait_for(w.wait_idle(), 10)
    store = SqlSurveyStore(engine)
    day = (AT0, AT0 + timedelta(days=1))

    def ids(**kw: object) -> list[str]:
        return [r.call_id for r in store.find(*day, **kw)]  # type: ignore[arg-type]

    assert ids() == ["a", "b", "c"]  # [from, to): d starts exactly at `to`
    assert ids(queue="billing") == ["c"]
    assert ids(agents={"1001"}) == ["a", "c"]
    assert ids(agents={"1001", "1002"}, queue="support") == ["a", "b"]
    assert ids(agents=set()) == []
    assert ids(limit=2) == ["a", "b"]
    later = store.find(AT0 + timedelta(hours=1), AT0 + timedelta(days=2))
    assert [r.call_id for r in later] == ["b", "c", "d"]
    assert all(r.started.tzinfo is not None for r in later)
