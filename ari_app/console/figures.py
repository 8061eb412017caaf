"""Today's figures for the console, from the KPI fold's facts (the same facts `/metrics`
and `hotline kpi report` count, with the same rules from `kpi.params`).

Per queue: answered, abandoned, answered within T (service level), answered within X rings
(the answering leg's ring time, `kpi.params.within_rings`), summed wait; per agent:
answered, within X rings, summed ring time, RONAs, the current RONA streak; per queue and
hour: answered, within T, and answers by ring (1..X, later), for the charts.

"Today" is the local day (the console's time zone) of each fact's `at` (the call's arrival);
a fact of a later day starts a new day and drops the old one. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kpi.facts import CallAbandoned, CallAnswered, Fact, LegAnswered, LegUnanswered
from kpi.params import KpiParams, is_rona, ring_number, within_rings, within_threshold


@dataclass(slots=True)
class QueueDay:
    answered: int = 0
    abandoned: int = 0
    within_threshold: int = 0
    within_rings: int = 0
    wait_sum_ms: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "abandoned": self.abandoned,
            "within_threshold": self.within_threshold,
            "within_rings": self.within_rings,
            "service_level": _ratio(self.within_threshold, self.answered),
            "within_rings_ratio": _ratio(self.within_rings, self.answered),
            "average_wait_seconds": (
                None if not self.answered else round(self.wait_sum_ms / self.answered / 1000, 1)
            ),
        }


@dataclass(slots=True)
class AgentDay:
    answered: int = 0
    within_rings: int = 0
    ring_sum_ms: int = 0
    rona: int = 0
    rona_streak: int = 0  # RONAs since the agent last answered (not reset at midnight)

    def as_json(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "within_rings": self.within_rings,
            "average_ring_seconds": (
                None if not self.answered else round(self.ring_sum_ms / self.answered / 1000, 1)
            ),
            "rona": self.rona,
            "rona_streak": self.rona_streak,
        }


@dataclass(slots=True)
class HourFigures:
    answered: int = 0
    within_threshold: int = 0
    by_ring: list[int] = field(default_factory=list)  # [ring 1, ..., ring X, later]


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


class TodayFigures:
    """Fed the fold's facts (`feed`); `queue`, `agent` and `series` give today's figures."""

    def __init__(self, params: KpiParams, tz: ZoneInfo) -> None:
        self.params = params
        self.tz = tz
        self.day: date | None = None
        self.queues: dict[str, QueueDay] = {}
        self.agents: dict[str, AgentDay] = {}
        self.hours: dict[str, dict[int, HourFigures]] = {}
        # A call's answering leg and its CallAnswered come in one batch with the same `at`
        # (the call's arrival): paired here to count "within X rings" per queue.
        self._legs: dict[int, int] = {}  # at -> ring_ms of an answered leg not yet paired
        self._calls: dict[int, str] = {}  # at -> queue of an answered call not yet paired
        self.changed_queues: set[str] = set()
        self.changed_agents: set[str] = set()

    def _local(self, at_ms: int) -> datetime:
        return datetime.fromtimestamp(at_ms / 1000, self.tz)

    def _today(self, at_ms: int) -> int | None:
        """The fact's local hour if it belongs to today (a later day starts today anew);
        None for a fact of an earlier day."""
        local = self._local(at_ms)
        if self.day is None or local.date() > self.day:
            self.day = local.date()
            self.changed_queues.update(self.queues)
            self.changed_agents.update(self.agents)
            self.queues.clear()
            self.hours.clear()
            self.agents = {  # the streak runs on over midnight
                k: AgentDay(rona_streak=a.rona_streak) for k, a in self.agents.items()
            }
        if local.date() < self.day:
            return None
        return local.hour

    def _hour(self, queue: str, hour: int) -> HourFigures:
        hours = self.hours.setdefault(queue, {})
        figures = hours.get(hour)
        if figures is None:
            figures = hours[hour] = HourFigures(by_ring=[0] * (self.params.rings + 1))
        return figures

    def feed(self, facts: Iterable[Fact]) -> None:
        p = self.params
        for f in facts:
            if isinstance(f, CallAnswered):
                hour = self._today(f.at)
                if hour is None:
                    continue
                q = self.queues.setdefault(f.queue, QueueDay())
                q.answered += 1
                q.wait_sum_ms += f.wait_ms
                h = self._hour(f.queue, hour)
                h.answered += 1
                if within_threshold(f.wait_ms, p):
                    q.within_threshold += 1
                    h.within_threshold += 1
                self.changed_queues.add(f.queue)
                ring_ms = self._legs.pop(f.at, None)
                if ring_ms is None:
                    self._calls[f.at] = f.queue
                else:
                    self._paired(f.queue, hour, ring_ms)
            elif isinstance(f, CallAbandoned):
                hour = self._today(f.at)
                if hour is None:
                    continue
                self.queues.setdefault(f.queue, QueueDay()).abandoned += 1
                self.changed_queues.add(f.queue)
            elif isinstance(f, LegAnswered):
                hour = self._today(f.at)  # first: a new day renews the agents' figures
                a = self.agents.setdefault(f.agent, AgentDay())
                a.rona_streak = 0
                self.changed_agents.add(f.agent)
                if hour is None:
                    continue
                a.answered += 1
                a.ring_sum_ms += f.ring_ms
                if within_rings(f.ring_ms, p):
                    a.within_rings += 1
                queue = self._calls.pop(f.at, None)
                if queue is None:
                    self._legs[f.at] = f.ring_ms
                else:
                    self._paired(queue, hour, f.ring_ms)
            elif isinstance(f, LegUnanswered) and is_rona(f.ring_ms, f.status, p):
                hour = self._today(f.at)
                a = self.agents.setdefault(f.agent, AgentDay())
                a.rona_streak += 1
                self.changed_agents.add(f.agent)
                if hour is not None:
                    a.rona += 1
        # Pairs are made within one batch; what is left unpaired is not carried for long.
        if len(self._legs) > 1000:
            self._legs.clear()
        if len(self._calls) > 1000:
            self._calls.clear()

    def _paired(self, queue: str, hour: int, ring_ms: int) -> None:
        if within_rings(ring_ms, self.params):
            self.queues.setdefault(queue, QueueDay()).within_rings += 1
        ring = min(ring_number(ring_ms, self.params), self.params.rings + 1)
        self._hour(queue, hour).by_ring[ring - 1] += 1

    def queue(self, name: str) -> dict[str, Any]:
        return self.queues.get(name, QueueDay()).as_json()

    def agent(self, agent_id: str) -> dict[str, Any]:
        return self.agents.get(agent_id, AgentDay()).as_json()

    def series(self, name: str) -> dict[str, Any]:
        """Per hour of today (only hours with an answer): SL and answers by ring."""
        hours = self.hours.get(name, {})
        return {
            "day": self.day.isoformat() if self.day else "",
            "rings": self.params.rings,
            "hours": [
                {
                    "hour": hour,
                    "answered": h.answered,
                    "service_level": _ratio(h.within_threshold, h.answered),
                    "by_ring": list(h.by_ring),
                }
                for hour, h in sorted(hours.items())
            ],
        }
