"""Post-call survey results over HTTP: `GET /surveys` — supervisors see all, team leads
their team's agents', agents their own. The rows come from the records database
(`survey_results`), read in a worker thread (the event loop carries calls)."""

import asyncio
from collections.abc import Collection
from datetime import datetime
from enum import Enum
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Query
from pydantic import AwareDatetime, BaseModel

from ari_app.api.access import Access, ApiContext, Policy, Roles
from ari_app.api.errors import ApiError
from ari_app.api.schemas import AGENT_ID
from ari_app.domain.events import SurveyOutcome
from ari_app.records.types import SurveyRecord
from ari_app.survey.machine import LOW_SCORE, satisfied

QUEUE = r"^[A-Za-z0-9_-]{1,64}$"
MINE: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}


class SurveyQueries(Protocol):
    """What the route reads (`ari_app.records.surveys.SqlSurveyStore`)."""

    def find(self, start: datetime, end: datetime, *, queue: str | None = None,
             agents: Collection[str] | None = None, limit: int = 500) -> list[SurveyRecord]: ...


class SurveyOut(BaseModel):
    call_id: str
    queue: str
    agent_id: str
    outcome: SurveyOutcome
    answers: list[int | None]
    score: float | None
    satisfied: bool
    low_score: bool
    started_at: datetime
    ended_at: datetime


def _out(r: SurveyRecord) -> SurveyOut:
    return SurveyOut(
        call_id=r.call_id, queue=r.queue, agent_id=r.agent_id, outcome=r.outcome,
        answers=list(r.answers), score=r.score, satisfied=satisfied(r.outcome, r.score),
        low_score=r.score is not None and r.score <= LOW_SCORE,
        started_at=r.started, ended_at=r.ended,
    )


def visible_agents(access: Access, agent: str | None) -> frozenset[str] | None:
    """The agents whose surveys the caller may read, narrowed to `agent` if given (None:
    every agent). Asking for an agent outside one's scope is refused, not emptied."""
    who = access.who
    if access.scope == "all":
        return None if agent is None else frozenset({agent})
    if access.scope == "self":
        mine = frozenset({who.agent_id} if who.agent_id else ())
    else:
        team_of = access.context.team_of
        mine = frozenset(a for a, t in team_of.items() if who.team and t == who.team)
    if agent is None:
        return mine
    if agent not in mine:
        where = "yours" if access.scope == "self" else "in your team"
        raise ApiError(403, f"agent {agent}'s surveys are not {where}")
    return frozenset({agent})


def survey_routes(ctx: ApiContext, app: FastAPI, surveys: SurveyQueries) -> None:
    tags: list[str | Enum] = ["surveys"]
    listing = Policy(ctx, "survey.list", "survey", MINE)

    @app.get("/surveys", tags=tags, response_model=list[SurveyOut], **listing.options(422))
    async def list_surveys(
        access: Annotated[Access, Depends(listing)],
        start: Annotated[AwareDatetime, Query(alias="from")],
        end: Annotated[AwareDatetime, Query(alias="to")],
        queue: Annotated[str | None, Query(pattern=QUEUE)] = None,
        agent: Annotated[str | None, Query(pattern=AGENT_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[SurveyOut]:
        """Surveys started in [from, to), oldest first, each with its outcome, answers
        (one per question, null when not answered), score, whether it counts toward
        csat (`satisfied`) and whether it alerted supervisors (`low_score`)."""
        if end <= start:
            raise ApiError(422, "query.to: must be after from")
        agents = visible_agents(access, agent)
        rows = await asyncio.to_thread(surveys.find, start, end, queue=queue, agents=agents,
                                       limit=limit)
        return [_out(r) for r in rows]
