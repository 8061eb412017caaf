"""What a starting engine reads back from the records: each agent's last saved state, the
facts of the calls that were live, and which of them nobody could adopt (`interrupted`).

The records writer keeps `agents` (each agent's newest state) and a `calls` row per call
from its arrival on (outcome `in_progress` until it ends), so a restart finds both here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from ari_app.domain.events import Outcome
from ari_app.records import models

_LIVE = str(Outcome.IN_PROGRESS)


@dataclass(frozen=True, slots=True)
class SavedAgent:
    agent_id: str
    state: str  # an ari_app.domain.events.AgentState value
    reason: str
    device: str
    since: float


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call's row while it was live: what Asterisk cannot say after a restart."""

    call_id: str
    queue: str
    arrived_at: float
    answered_at: float | None
    agent_id: str


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def saved_agents(engine: Engine) -> list[SavedAgent]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                models.Agent.agent_id,
                models.Agent.state,
                models.Agent.reason,
                models.Agent.device,
                models.Agent.state_since,
            )
        )
        return [
            SavedAgent(r.agent_id, r.state, r.reason, r.device, _epoch(r.state_since) or 0.0)
            for r in rows
        ]


def live_calls(engine: Engine) -> dict[str, LiveCall]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                models.Call.call_id,
                models.Call.queue,
                models.Call.arrival_at,
                models.Call.answered_at,
                models.Call.agent_id,
            ).where(models.Call.outcome == _LIVE)
        )
        return {
            r.call_id: LiveCall(
                r.call_id, r.queue, _epoch(r.arrival_at) or 0.0, _epoch(r.answered_at),
                r.agent_id or "",
            )
            for r in rows
        }


def mark_interrupted(
    engine: Engine, keep: Iterable[str], at: float, *, arrived_before: float
) -> list[str]:
    """Every call still `in_progress` that arrived before `arrived_before` (the start of
    this engine) and is not in `keep` (the calls it adopted) becomes `interrupted`, ended
    at `at`. Its own final record, should it come after all, still completes it. Returns
    their ids."""
    kept = set(keep)
    before = datetime.fromtimestamp(arrived_before, UTC)
    with engine.begin() as conn:
        live = [
            r.call_id
            for r in conn.execute(
                select(models.Call.call_id).where(
                    models.Call.outcome == _LIVE, models.Call.arrival_at < before
                )
            )
        ]
        gone = [c for c in live if c not in kept]
        if gone:
            conn.execute(
                update(models.Call)
                .where(models.Call.call_id.in_(gone), models.Call.outcome == _LIVE)
                .values(
                    outcome=str(Outcome.INTERRUPTED),
                    ended_at=datetime.fromtimestamp(at, UTC),
                )
            )
        return gone
