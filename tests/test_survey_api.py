"""`GET /surveys` on a real records database (SQLite, rows written by the records writer
from `SurveyFinished`): who sees which surveys, the filters, the window, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from ari_app.api import create_api
from ari_app.domain.events import SurveyFinished, SurveyOutcome
from ari_app.domain.privacy import CallerNumberPolicy
from ari_app.records import schema
from ari_app.records.sink import RecordsEventSink
from ari_app.records.surveys import SqlSurveyStore
from ari_app.records.writer import RecordWriter
from tests.test_api_fakes import FakeClock, FakeControl, ListSink, basic, call_app, make_config

T0 = 1795420800.0  # 2026-11-23T08:00:00Z
DAY = "from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z"


def survey(call_id: str, agent: str, queue: str, answers: tuple[int | None, ...],
           hour: int) -> SurveyFinished:
    given = [a for a in answers if a is not None]
    outcome = SurveyOutcome.COMPLETED if None not in answers else SurveyOutcome.PARTIAL
    return SurveyFinished(call_id, queue, agent, outcome, answers,
                          sum(given) / len(given) if given else None,
                          T0 + hour * 3600, T0 + hour * 3600 + 20)


@pytest.fixture
async def app(tmp_path: Path) -> FastAPI:
    engine = schema.make_engine(f"sqlite:///{tmp_path / 'hotline.sqlite3'}")
    schema.upgrade(engine)
    async with RecordWriter(engine, tmp_path / "spool.jsonl",
                            policy=CallerNumberPolicy("masked")) as w:
        sink = RecordsEventSink(w, "demo")
        sink.publish(survey("a", "1001", "support", (5, 4), 0))  # ann, team red
        sink.publish(survey("b", "1002", "billing", (1, None), 1))  # team red
        sink.publish(survey("c", "2001", "support", (3, 2), 2))  # bob, team blue
        sink.publish(survey("d", "1001", "support", (4, 4), 30))  # the next day
        await asyncio.wait_for(w.wait_idle(), 10)
    config = make_config()
    clock = FakeClock()
    return create_api(config, FakeControl(config, clock), ListSink(), clock=clock,
                      surveys=SqlSurveyStore(engine))


async def get(app: FastAPI, user: str, query: str) -> tuple[int, Any]:
    reply = await call_app(app, "GET", f"/surveys?{query}", headers=basic(user))
    return reply.status, reply.json()


async def ids(app: FastAPI, user: str, query: str = DAY) -> list[str]:
    status, body = await get(app, user, query)
    assert status == 200, body
    return [s["call_id"] for s in body]


async def test_each_role_sees_its_own_scope(app: FastAPI) -> None:
    assert await ids(app, "sue") == ["a", "b", "c"]  # supervisor: all
    assert await ids(app, "tina") == ["a", "b"]  # red team lead
    assert await ids(app, "tom") == ["c"]  # blue team lead
    assert await ids(app, "ann") == ["a"]  # agent 1001
    assert await ids(app, "bob") == ["c"]
    status, body = await get(app, "adam", DAY)
    assert (status, body["error"]) == (403, "forbidden")


async def test_filters_and_window(app: FastAPI) -> None:
    assert await ids(app, "sue", DAY + "&queue=support") == ["a", "c"]
    assert await ids(app, "sue", DAY + "&agent=1001") == ["a"]
    assert await ids(app, "tina", DAY + "&agent=1002&queue=billing") == ["b"]
    assert await ids(app, "sue", DAY + "&limit=2") == ["a", "b"]
    assert await ids(app, "ann", "from=2026-11-23T00:00:00Z&to=2026-11-25T00:00:00Z") == [
        "a", "d"]
    assert await ids(app, "ann", "from=2026-11-23T08:00:00.001Z&to=2026-11-25T00:00:00Z") == [
        "d"]


async def test_the_row_says_what_the_survey_was(app: FastAPI) -> None:
    _, body = await get(app, "tina", DAY + "&agent=1002")
    assert body == [{
        "call_id": "b", "queue": "billing", "agent_id": "1002", "outcome": "partial",
        "answers": [1, None], "score": 1.0, "satisfied": False, "low_score": True,
        "started_at": "2026-11-23T09:00:00Z", "ended_at": "2026-11-23T09:00:20Z",
    }]
    _, body = await get(app, "ann", DAY)
    assert (body[0]["satisfied"], body[0]["low_score"], body[0]["score"]) == (True, False, 4.5)
    assert all("caller" not in s for s in body)


async def test_another_agent_or_team_is_refused(app: FastAPI) -> None:
    for user, agent in (("ann", "1002"), ("ann", "2001"), ("tina", "2001"), ("tom", "1001")):
        status, body = await get(app, user, DAY + f"&agent={agent}")
        assert (status, body["error"]) == (403, "forbidden"), (user, agent)
        assert agent in body["detail"]


@pytest.mark.parametrize("query", [
    "", "from=2026-11-23T00:00:00Z", "to=2026-11-24T00:00:00Z",
    "from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z",  # to before from
    "from=2026-11-23T00:00:00&to=2026-11-24T00:00:00",  # no time zone
    DAY + "&agent=10/1", DAY + "&queue=a%20b", DAY + "&limit=0", DAY + "&limit=5001",
])
async def test_bad_queries_are_422(app: FastAPI, query: str) -> None:
    status, body = await get(app, "sue", query)
    assert (status, body["error"]) == (422, "invalid_request"), body
