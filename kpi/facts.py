"""Facts: what the fold concluded, the only thing reports and Prometheus are built from.

Both the offline report and the live metrics consume the same facts, so their counts agree
by construction. Times are integer milliseconds since the epoch (ARI has ms precision;
integers keep "exactly at X·P" exact). `at` is the period anchor: the call's arrival, or for
an agent leg with no known call, the leg's first event.
"""

from __future__ import annotations

from typing import NamedTuple


class LegOffered(NamedTuple):
    """An agent leg was created for an agent."""

    agent: str
    at: int


class LegPresented(NamedTuple):
    """An agent leg rang (or was answered without a ringing state)."""

    agent: str
    at: int


class LegAnswered(NamedTuple):
    """An agent leg went Up; ring_ms is from its first Ringing (0 when it never rang)."""

    agent: str
    at: int
    ring_ms: int


class LegUnanswered(NamedTuple):
    """An agent leg ended without answering; status is "busy", "unavailable" or ""."""

    agent: str
    at: int
    ring_ms: int | None  # None when it never rang
    status: str


class CallAnswered(NamedTuple):
    """A queued call's first agent leg went Up after wait_ms."""

    queue: str
    at: int
    wait_ms: int


class CallAbandoned(NamedTuple):
    """The caller left before any agent answered."""

    queue: str
    at: int
    wait_ms: int


class CallTransferred(NamedTuple):
    """An answered call was transferred (blind, attended, ARI-only or by the engine)."""

    queue: str
    at: int


class CallHandled(NamedTuple):
    """An answered call ended: talk and hold summed over its answered agent legs."""

    queue: str
    at: int
    talk_ms: int
    hold_ms: int


class WrapUp(NamedTuple):
    """An agent's wrap-up after a call, from the engine's HotlineAgentState events."""

    queue: str
    at: int
    agent: str
    wrapup_ms: int


class SurveyOffered(NamedTuple):
    """The post-call survey started: `HOTLINE_SURVEY` (the credited agent) was set on the
    caller's channel. `queue` is the caller's HOTLINE_QUEUE."""

    queue: str
    at: int
    agent: str


class SurveyEnded(NamedTuple):
    """A survey's outcome (kpi.surveys): `HOTLINE_SURVEY_RESULT`, else from the answers
    when the caller hung up. `score` is the mean of the answers given (None: none)."""

    queue: str
    at: int
    agent: str
    outcome: str  # an ari_app.domain.events.SurveyOutcome value
    score: float | None
    satisfied: bool  # completed and score >= 4: counts toward csat


Fact = (
    LegOffered | LegPresented | LegAnswered | LegUnanswered
    | CallAnswered | CallAbandoned | CallTransferred | CallHandled | WrapUp
    | SurveyOffered | SurveyEnded
)
