"""Callback records on SQLite and PostgreSQL: migration 0006 up and down, the store's round
trip, pending ones loaded back (a restart loses none), the number masked once over, and
the sink writing in order."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from ari_app.callbacks import AttemptResult, Callback, Kind, State
from ari_app.callflow.callbacks.applier import changed_event
from ari_app.domain.events import CallbackAttempted
from ari_app.records import schema
from ari_app.records.callbacks import CallbackRecords, SqlCallbackStore
from tests.test_records_db import db_url, engine, migrated  # noqa: F401 (fixtures)

T = 1_791_000_000.0
NUMBER = "13800001234"


def make(id: str, **kw: object) -> Callback:
    base: dict[str, object] = dict(
        id=id, kind=Kind.SCHEDULED, queue="support", caller_number=NUMBER, reason="asked",
        requested_by="agent:1001", call_id="call-1", requested_at=T, first_arrival=T - 60,
        not_before=T, due_by=T + 86400, max_attempts=2, retry_seconds=60.0,
    )
    base.update(kw)
    return Callback(**base)  # type: ignore[arg-type]


def downgrade(db: Engine, revision: str) -> None:
    cfg = schema.alembic_config()
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migration_0006_up_and_down(engine: Engine) -> None:  # noqa: F811
    schema.upgrade(engine, "0006")
    assert {"callbacks", "callback_attempts"} <= set(inspect(engine).get_table_names())
    downgrade(engine, "0005")
    tables = set(inspect(engine).get_table_names())
    assert "callbacks" not in tables
    assert "callback_attempts" not in tables
    assert "survey_results" in tables  # 0005 stays
    schema.upgrade(engine, "head")
    assert "callbacks" in set(inspect(engine).get_table_names())


def test_store_round_trip_pending_and_masking(migrated: Engine) -> None:  # noqa: F811
    store = SqlCallbackStore(migrated)
    a = make("a").wait(T).became_due(T + 10, T + 10).dialling("1001", T + 10)
    a = a.caller_dialled(T + 11)
    b = make("b", kind=Kind.IN_QUEUE).wait(T)
    store.write([changed_event(make("a"), T), changed_event(a, T + 11),
                 changed_event(b, T)])
    pending = {cb.id: cb for cb in store.pending()}
    assert set(pending) == {"a", "b"}
    assert pending["a"] == a  # every field back as it was, the full number for dialling
    assert pending["a"].caller_number == NUMBER
    done = a.attempt_ended(AttemptResult.ANSWERED, T + 40, call_id="att-1")
    store.write([changed_event(done, T + 40),
                 CallbackAttempted("a", 1, "support", "1001", "att-1", T + 11, T + 40,
                                   "answered")])
    assert [cb.id for cb in store.pending()] == ["b"]
    got = store.get("a")
    assert got is not None
    assert got.state is State.ANSWERED
    assert got.caller_number == "*******1234"  # over: masked
    assert store.attempts("a")[0]["result"] == "answered"
    assert [cb.id for cb in store.find(agent_id="1001")] == ["a"]
    assert {cb.id for cb in store.find(queues=["support"], states=["waiting"])} == {"b"}


@pytest.mark.looptime
async def test_sink_writes_in_order(migrated: Engine) -> None:  # noqa: F811
    store = SqlCallbackStore(migrated)
    sink = CallbackRecords(store)
    task = asyncio.create_task(sink.run())
    cb = make("c").wait(T)
    sink.publish(changed_event(make("c"), T))
    sink.publish(changed_event(cb, T + 1))
    sink.publish(changed_event(cb.cancelled(T + 2, "cancelled by ann"), T + 2))
    await asyncio.wait_for(sink.wait_idle(), 5)
    task.cancel()
    got = store.get("c")
    assert got is not None
    assert (got.state, got.last_result) == (State.CANCELLED, "cancelled by ann")
