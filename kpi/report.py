"""KPI figures from the fold's facts: pure aggregation, then rendering as JSON, CSV or a table.

Definitions are in docs/kpi.md; the threshold rules themselves live in kpi.params so the live
metrics apply the same ones.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from kpi.facts import (
    CallAbandoned,
    CallAnswered,
    CallHandled,
    CallTransferred,
    Fact,
    LegAnswered,
    LegOffered,
    LegPresented,
    LegUnanswered,
    SurveyEnded,
    SurveyOffered,
    WrapUp,
)
from kpi.fold import KpiState
from kpi.params import (
    KpiParams,
    is_rona,
    is_short_abandon,
    ring_number,
    within_rings,
    within_threshold,
)
from kpi.surveys import SURVEY_FIELDS, SurveyTally

Period = Literal["hour", "day"] | None
TOTAL = "total"

QUEUE_FIELDS = (
    "offered", "answered", "abandoned", "short_abandoned", "answered_within_threshold",
    "service_level", "service_level_offered", "answer_rate", "abandon_rate", "asa_seconds",
    "max_wait_seconds", "aht_seconds", "transferred",
)
AGENT_FIELDS = (
    "offers", "presented", "answered", "answered_within_rings", "rona", "busy", "unavailable",
    "answer_timeliness", "avg_ring_seconds", "rings_histogram",
)
# SURVEY_FIELDS (kpi.surveys): queues and agents both have them; CSV has them once, last


@dataclass(slots=True)
class QueueTally:
    """Running sums for one queue in one period."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    within_threshold: int = 0
    wait_sum_ms: int = 0
    max_wait_ms: int | None = None
    handled: int = 0
    handle_ms: int = 0
    wrapup_ms: int = 0
    transferred: int = 0
    survey: SurveyTally = field(default_factory=SurveyTally)

    def figures(self) -> dict[str, Any]:
        eligible = self.offered - self.short_abandoned
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "answered_within_threshold": self.within_threshold,
            "service_level": _ratio(self.within_threshold, self.answered),
            "service_level_offered": _ratio(self.within_threshold, eligible),
            "answer_rate": _ratio(self.answered, eligible),
            "abandon_rate": _ratio(self.abandoned - self.short_abandoned, eligible),
            "asa_seconds": _mean_s(self.wait_sum_ms, self.answered),
            "max_wait_seconds": None if self.max_wait_ms is None else self.max_wait_ms / 1000,
            "aht_seconds": _mean_s(self.handle_ms + self.wrapup_ms, self.handled),
            "transferred": self.transferred,
            **self.survey.figures(),
        }


@dataclass(slots=True)
class AgentTally:
    """Running sums for one agent in one period."""

    offers: int = 0
    presented: int = 0
    answered: int = 0
    within_rings: int = 0
    rona: int = 0
    busy: int = 0
    unavailable: int = 0
    ring_sum_ms: int = 0
    rings: dict[int, int] = field(default_factory=dict)
    survey: SurveyTally = field(default_factory=SurveyTally)

    def figures(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "presented": self.presented,
            "answered": self.answered,
            "answered_within_rings": self.within_rings,
            "rona": self.rona,
            "busy": self.busy,
            "unavailable": self.unavailable,
            "answer_timeliness": _ratio(self.within_rings, self.answered + self.rona),
            "avg_ring_seconds": _mean_s(self.ring_sum_ms, self.answered),
            "rings_histogram": {str(k): self.rings[k] for k in sorted(self.rings)},
            **self.survey.figures(),
        }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


def _mean_s(total_ms: int, count: int) -> float | None:
    return total_ms / count / 1000 if count > 0 else None


def period_label(at_ms: int, by: Period) -> str:
    """UTC period a call counts in: `2026-11-22T23:00Z` by hour, `2026-11-22` by day."""
    if by is None:
        return TOTAL
    if by == "hour":
        return time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(at_ms // 1000))
    return time.strftime("%Y-%m-%d", time.gmtime(at_ms // 1000))


@dataclass
class Report:
    """Figures per period label ("total" without --by), then per queue / per agent."""

    params: KpiParams
    by: Period
    queues: dict[str, dict[str, QueueTally]]
    agents: dict[str, dict[str, AgentTally]]
    counters: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: exactly params, queues, agents (nested by period with --by)."""
        def flat(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
            out = {
                period: {name: tally.figures() for name, tally in sorted(rows.items())}
                for period, rows in sorted(table.items())
            }
            return out.get(TOTAL, {}) if self.by is None else out

        return {"params": self.params.as_dict(), "queues": flat(self.queues),
                "agents": flat(self.agents)}


def summarise(
    state: KpiState | Iterable[Fact], params: KpiParams, by: Period = None
) -> Report:
    """Aggregate facts under `params`; calls (and their agent legs) count at their arrival."""
    facts = state.facts if isinstance(state, KpiState) else state
    queues: dict[str, dict[str, QueueTally]] = {}
    agents: dict[str, dict[str, AgentTally]] = {}
    labels: dict[int, str] = {}
    unit = 3_600_000 if by == "hour" else 86_400_000

    def label(at: int) -> str:
        if by is None:
            return TOTAL
        key = at // unit
        text = labels.get(key)
        if text is None:
            text = labels[key] = period_label(at, by)
        return text

    def q(name: str, at: int) -> QueueTally:
        rows = queues.setdefault(label(at), {})
        tally = rows.get(name)
        if tally is None:
            tally = rows[name] = QueueTally()
        return tally

    def a(name: str, at: int) -> AgentTally:
        rows = agents.setdefault(label(at), {})
        tally = rows.get(name)
        if tally is None:
            tally = rows[name] = AgentTally()
        return tally

    for fact in facts:
        if isinstance(fact, CallAnswered):
            t = q(fact.queue, fact.at)
            t.offered += 1
            t.answered += 1
            t.wait_sum_ms += fact.wait_ms
            if within_threshold(fact.wait_ms, params):
                t.within_threshold += 1
            _max_wait(t, fact.wait_ms)
        elif isinstance(fact, CallAbandoned):
            t = q(fact.queue, fact.at)
            t.offered += 1
            t.abandoned += 1
            if is_short_abandon(fact.wait_ms, params):
                t.short_abandoned += 1
            _max_wait(t, fact.wait_ms)
        elif isinstance(fact, CallHandled):
            t = q(fact.queue, fact.at)
            t.handled += 1
            t.handle_ms += fact.talk_ms + fact.hold_ms
        elif isinstance(fact, WrapUp):
            q(fact.queue, fact.at).wrapup_ms += fact.wrapup_ms
        elif isinstance(fact, CallTransferred):
            q(fact.queue, fact.at).transferred += 1
        elif isinstance(fact, LegOffered):
            a(fact.agent, fact.at).offers += 1
        elif isinstance(fact, LegPresented):
            a(fact.agent, fact.at).presented += 1
        elif isinstance(fact, LegAnswered):
            g = a(fact.agent, fact.at)
            g.answered += 1
            g.ring_sum_ms += fact.ring_ms
            if within_rings(fact.ring_ms, params):
                g.within_rings += 1
            n = ring_number(fact.ring_ms, params)
            g.rings[n] = g.rings.get(n, 0) + 1
        elif isinstance(fact, LegUnanswered):
            g = a(fact.agent, fact.at)
            if fact.status == "busy":
                g.busy += 1
            elif fact.status == "unavailable":
                g.unavailable += 1
            elif is_rona(fact.ring_ms, fact.status, params):
                g.rona += 1
        elif isinstance(fact, SurveyOffered | SurveyEnded):
            q(fact.queue, fact.at).survey.add(fact)
            a(fact.agent, fact.at).survey.add(fact)
    counters = dict(state.counters) if isinstance(state, KpiState) else {}
    return Report(params, by, queues, agents, counters)


def _max_wait(t: QueueTally, wait_ms: int) -> None:
    if t.max_wait_ms is None or wait_ms > t.max_wait_ms:
        t.max_wait_ms = wait_ms


# ------------------------------------------------------------------------------ rendering

def render_json(report: Report) -> str:
    return orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"


def _rows(report: Report) -> Iterable[tuple[str, str, str, dict[str, Any]]]:
    for period in sorted(set(report.queues) | set(report.agents)):
        for name, qt in sorted(report.queues.get(period, {}).items()):
            yield "queue", period, name, qt.figures()
        for name, at in sorted(report.agents.get(period, {}).items()):
            yield "agent", period, name, at.figures()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    if isinstance(value, dict):
        return " ".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def render_csv(report: Report) -> str:
    """One row per (kind, period, name); queue and agent columns side by side."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["kind", "period", "name", *QUEUE_FIELDS, *AGENT_FIELDS, *SURVEY_FIELDS])
    for kind, period, name, figures in _rows(report):
        cols = QUEUE_FIELDS if kind == "queue" else AGENT_FIELDS
        values = {k: _cell(figures[k]) for k in cols}
        writer.writerow([kind, period, name,
                         *(values.get(k, "") for k in QUEUE_FIELDS),
                         *(values.get(k, "") for k in AGENT_FIELDS),
                         *(_cell(figures[k]) for k in SURVEY_FIELDS)])
    return buf.getvalue()


def _table(title: str, keys: tuple[str, ...], rows: list[list[str]]) -> str:
    header = ["period", "name", *keys]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines)


_QUEUE_SHORT = ("offered", "answered", "abandoned", "short_abandoned",
                "answered_within_threshold", "service_level", "service_level_offered",
                "answer_rate", "abandon_rate", "asa_seconds", "max_wait_seconds",
                "aht_seconds", "transferred", *SURVEY_FIELDS)
_AGENT_SHORT = (*AGENT_FIELDS, *SURVEY_FIELDS)


def render_table(report: Report) -> str:
    p = report.params.as_dict()
    head = (f"rings={p['rings']} country={p['country']} "
            f"ring_period={p['ring_period_seconds']}s sl={p['sl_seconds']}s "
            f"short_abandon={p['short_abandon_seconds']}s")
    qrows: list[list[str]] = []
    arows: list[list[str]] = []
    for kind, period, name, figures in _rows(report):
        if kind == "queue":
            qrows.append([period, name, *(_cell(figures[k]) for k in _QUEUE_SHORT)])
        else:
            arows.append([period, name, *(_cell(figures[k]) for k in _AGENT_SHORT)])
    parts = [head, "", _table("Queues", _QUEUE_SHORT, qrows), "",
             _table("Agents", _AGENT_SHORT, arows)]
    return "\n".join(parts) + "\n"
