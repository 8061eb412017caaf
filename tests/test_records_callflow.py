"""A simulated call through the call-flow core (the pure Switchboard, driven by the
test rig) into SQL via the domain-event sink: the rows a real call leaves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ari_app.domain.events import CallEnded, OfferResult, Outcome
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import models
from ari_app.records.sink import RecordsEventSink, records_for
from ari_app.records.types import OFFER_RESULTS, OUTCOMES
from ari_app.records.writer import RecordWriter
from tests.callflow_rig import T0, Rig
from tests.test_records_db import db_url, engine, migrated  # noqa: F401 (fixtures)

START = datetime.fromtimestamp(T0, UTC)


def answered_call_with_one_rona() -> Rig:
    """1001 lets it ring out (RONA), 1002 answers after 2 rings, 30 s talk, 10 s wrap-up."""
    rig = Rig()
    rig.login("1001")
    rig.login("1002")
    rig.arrive("c1", "13900001234")
    first = rig.sent[-1].channel_id  # type: ignore[attr-defined]
    rig.ringing(first)
    rig.advance(16)  # 3 rings of 5 s: RONA, the next agent is tried
    second = rig.sent[-1].channel_id  # type: ignore[attr-defined]
    assert second != first
    rig.ringing(second)
    rig.advance(7)
    rig.answer(second)
    rig.advance(5)
    rig.playback_finished("greet-c1")
    rig.advance(30)
    rig.hangup("c1")
    rig.hangup(second)
    rig.recording_finished("call-c1", 30)
    rig.advance(10)
    return rig


def test_every_domain_outcome_and_offer_result_is_a_record_value() -> None:
    assert {o.value for o in Outcome} <= set(OUTCOMES)
    assert {r.value for r in OfferResult} <= set(OFFER_RESULTS)


def test_agent_state_rows_get_the_same_id_when_the_event_is_replayed() -> None:
    rig = answered_call_with_one_rona()
    first = [r.key for e in rig.published for r in records_for(e, "demo")]
    again = [r.key for e in rig.published for r in records_for(e, "demo")]
    assert first == again


async def test_a_simulated_call_leaves_its_rows(
    migrated: Engine,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    rig = answered_call_with_one_rona()
    async with RecordWriter(migrated, tmp_path / "spool.jsonl",
                            policy=CallerNumberPolicy("masked")) as w:
        sink = RecordsEventSink(w, "demo")
        for event in rig.published + rig.published:  # twice: a replay stores nothing new
            sink.publish(event)
        await asyncio.wait_for(w.wait_idle(), 10)
    with Session(migrated) as s:
        [call] = s.scalars(select(models.Call)).all()
        offers = s.scalars(select(models.Offer).order_by(models.Offer.seq)).all()
        agents = {a.agent_id: a.state for a in s.scalars(select(models.Agent))}
        history = s.scalars(select(models.AgentState).order_by(models.AgentState.at)).all()
    assert (call.call_id, call.site, call.queue, call.caller_number, call.outcome) == (
        "c1", "demo", "support", "*******1234", "answered")
    assert call.agent_id == "1002"
    assert call.arrival_at == START
    assert call.wait_seconds == 23.0
    assert call.talk_seconds == 30.0
    assert call.wrapup_seconds == 10.0
    [summary] = [e.summary for e in rig.of_type(CallEnded)]
    assert [(o.seq, o.agent_id, o.result) for o in offers] == [
        (1, "1001", "rona"), (2, "1002", "answered")]
    assert [(o.rings, o.ring_seconds) for o in offers] == [
        (s.rings, s.ring_seconds) for s in summary.offers]
    assert offers[1].rings == 2
    assert offers[1].answered_at == START + timedelta(seconds=23)
    assert agents["1002"] == "available"
    assert [(h.agent_id, h.state) for h in history if h.agent_id == "1002"] == [
        ("1002", "available"), ("1002", "ringing"), ("1002", "talking"), ("1002", "wrap-up"),
        ("1002", "available")]
