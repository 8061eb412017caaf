"""Post-call survey results read back from SQL (`survey_results`), for the API's
`GET /surveys`. Written by the records writer (`SurveyRecord`, from `SurveyFinished`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, Table, select

from ari_app.domain.events import SurveyOutcome
from ari_app.records import models
from ari_app.records.types import SurveyRecord

_SURVEYS: Table = models.SurveyResult.__table__  # type: ignore[assignment]


def _record(row: Any) -> SurveyRecord:
    return SurveyRecord(
        call_id=row.call_id, site=row.site, queue=row.queue, agent_id=row.agent_id,
        outcome=SurveyOutcome(row.outcome), answers=tuple(orjson.loads(row.answers)),
        score=row.score, started=row.started_at, ended=row.ended_at,
    )


class SqlSurveyStore:
    """Survey results by when they started. Synchronous: run it in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, start: datetime, end: datetime, *, queue: str | None = None,
             agents: Collection[str] | None = None, limit: int = 500) -> list[SurveyRecord]:
        """Surveys started in [start, end), oldest first; `agents` None: any agent,
        empty: none."""
        if agents is not None and not agents:
            return []
        query = select(_SURVEYS).where(_SURVEYS.c.started_at >= start,
                                       _SURVEYS.c.started_at < end)
        if queue is not None:
            query = query.where(_SURVEYS.c.queue == queue)
        if agents is not None:
            query = query.where(_SURVEYS.c.agent_id.in_(sorted(agents)))
        query = query.order_by(_SURVEYS.c.started_at, _SURVEYS.c.call_id).limit(limit)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]
