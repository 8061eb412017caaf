"""Prometheus metrics fed live by the same fold that `hotline kpi report` replays.

`KpiMetrics.feed(event)` folds one ARI event and turns the facts into counter/histogram
updates; gauges (calls waiting, longest wait, agents by state) are read from the fold's state
at scrape time. Labels are `queue` and `agent` only: never a call or channel id, so series
stay bounded. Histogram buckets sit on k·P (the ring period) and on T (the service-level
threshold), so in PromQL

    service level = hotline_call_wait_seconds_bucket{le="<T>"} / hotline_call_wait_seconds_count

is exact (le is inclusive, as "wait ≤ T" is). "Answered within X rings" is strict (t < X·P),
so its exact count is the counter hotline_agent_answered_within_rings_total.

The post-call survey (kpi.surveys): counters per queue and per agent (offered, completed,
satisfied, and the sum of the completed surveys' scores, so csat and the mean score over a
window are ratios of increases), and csat / mean-score gauges since start from the report's
own `SurveyTally`.

Given the configured queues and agents, every per-queue and per-agent series exists at 0
from the start (a labelled series otherwise appears only at its first event, and ratios
such as answer timeliness or abandon rate would stay empty until the first RONA or short
abandon).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from ari_app.domain.events import SurveyOutcome
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
from kpi.fold import Event, KpiState, agents_by_state, apply, calls_waiting
from kpi.params import KpiParams, is_rona, is_short_abandon, within_rings, within_threshold
from kpi.surveys import SurveyTally

QUEUE_COUNTERS = {
    "hotline_calls_offered": "Calls whose outcome (answered or abandoned) is known",
    "hotline_calls_answered": "Calls answered by an agent",
    "hotline_calls_abandoned": "Calls whose caller left before any agent answered",
    "hotline_calls_short_abandoned": "Abandoned calls that waited less than the short limit",
    "hotline_calls_answered_within_threshold": "Answered calls that waited at most T",
    "hotline_calls_transferred": "Answered calls transferred",
    "hotline_calls_handled": "Answered calls whose caller has left (AHT denominator)",
    "hotline_call_talk_seconds": "Talk time of handled calls",
    "hotline_call_hold_seconds": "Hold time of handled calls",
    "hotline_call_wrapup_seconds": "Wrap-up time after handled calls",
    "hotline_survey_offered": "Post-call surveys started (HOTLINE_SURVEY set on the caller)",
    "hotline_survey_completed": "Post-call surveys completed (every question answered)",
    "hotline_survey_satisfied": "Completed surveys scoring 4 or more (csat's numerator)",
    "hotline_survey_score": "Sum of the scores of completed surveys (/ completed = mean)",
}
AGENT_COUNTERS = {
    "hotline_agent_offers": "Agent legs created",
    "hotline_agent_presented": "Agent legs that rang",
    "hotline_agent_answered": "Agent legs answered",
    "hotline_agent_answered_within_rings": "Agent legs answered before X rings (t < X·P)",
    "hotline_agent_rona": "Agent legs that rang X·P or longer without answer",
    "hotline_agent_busy": "Agent legs refused busy",
    "hotline_agent_unavailable": "Agent legs whose phone was unreachable",
    "hotline_agent_survey_offered": "Post-call surveys credited to the agent",
    "hotline_agent_survey_completed": "Completed surveys credited to the agent",
    "hotline_agent_survey_satisfied": "Completed surveys credited to the agent scoring 4+",
    "hotline_agent_survey_score": "Sum of the scores of the agent's completed surveys",
}
HISTOGRAMS = {
    "hotline_call_wait_seconds": ("queue", "Wait of answered calls, arrival to answer"),
    "hotline_call_abandon_wait_seconds": ("queue", "Wait of abandoned calls"),
    "hotline_agent_ring_seconds": ("agent", "Ring time of answered agent legs"),
}
GAUGES = {
    "hotline_calls_waiting": "Calls arrived and not yet answered nor abandoned",
    "hotline_longest_wait_seconds": "Longest current wait among waiting calls",
    "hotline_agents_logged_in": "Agents whose last state is not logout",
    "hotline_agents_available": "Agents available",
    "hotline_agents_paused": "Agents paused",
    "hotline_agents_wrapup": "Agents in wrap-up",
    "hotline_agents_on_call": "Agent legs answered and not yet ended",
}
SURVEY_GAUGES = {
    "hotline_survey_csat": ("queue", "Share of completed surveys scoring 4 or 5, since start"),
    "hotline_survey_avg_score": ("queue", "Mean score of completed surveys, since start"),
    "hotline_agent_survey_csat": ("agent", "The agent's csat (completed surveys), since start"),
    "hotline_agent_survey_avg_score": ("agent", "The agent's mean survey score, since start"),
}


def exported_metric_names() -> frozenset[str]:
    """Every sample name this module can expose (what dashboards may query)."""
    names: set[str] = set(GAUGES) | set(SURVEY_GAUGES)
    for base in (*QUEUE_COUNTERS, *AGENT_COUNTERS):
        names.update({base + "_total", base + "_created"})
    for base in HISTOGRAMS:
        names.update({base + "_bucket", base + "_sum", base + "_count", base + "_created"})
    return frozenset(names)


def bucket_edges(params: KpiParams, include_threshold: bool, max_rings: int = 12) -> list[float]:
    """k·P for k = 1..max(max_rings, 2X), plus T (and a long tail for waits)."""
    period = params.ring_period_ms / 1000
    top = max(max_rings, 2 * params.rings)
    edges = {round(k * period, 3) for k in range(1, top + 1)}
    if include_threshold:
        edges.add(params.sl_ms / 1000)
        edges.update(e for e in (120.0, 300.0, 600.0, 1800.0) if e > top * period)
    return sorted(edges)


class _Gauges(Collector):
    """Gauges computed from the fold state when Prometheus scrapes."""

    def __init__(
        self, state: KpiState, now: Callable[[], float] | None, queues: Iterable[str] = ()
    ) -> None:
        self._state = state
        self._now = now
        self._queues = tuple(queues)

    def collect(self) -> Iterator[Metric]:
        state = self._state
        now = self._now() if self._now is not None else state.max_ms / 1000
        waiting = GaugeMetricFamily("hotline_calls_waiting", GAUGES["hotline_calls_waiting"],
                                    labels=["queue"])
        longest = GaugeMetricFamily("hotline_longest_wait_seconds",
                                    GAUGES["hotline_longest_wait_seconds"], labels=["queue"])
        by_queue: dict[str, list[int]] = {queue: [] for queue in self._queues}
        by_queue.update(calls_waiting(state))
        for queue, arrivals in sorted(by_queue.items()):
            waiting.add_metric([queue], len(arrivals))
            longest.add_metric([queue], max(0.0, now - min(arrivals) / 1000) if arrivals else 0.0)
        yield waiting
        yield longest
        counts = agents_by_state(state)
        logged_in = sum(v for k, v in counts.items() if k not in ("logout", "on_call"))
        for name, value in (
            ("hotline_agents_logged_in", logged_in),
            ("hotline_agents_available", counts["available"]),
            ("hotline_agents_paused", counts["paused"]),
            ("hotline_agents_wrapup", counts["wrapup"]),
            ("hotline_agents_on_call", counts["on_call"]),
        ):
            yield GaugeMetricFamily(name, GAUGES[name], value=value)

    def describe(self) -> Iterator[Metric]:
        return iter(())


class _SurveyGauges(Collector):
    """csat and mean score per queue and per agent since start, from the surveys' tallies
    (`kpi.surveys.SurveyTally`, as the report computes them); no sample before a name's
    first completed survey (0/0 is no figure). Over a window, PromQL divides the counters."""

    def __init__(self, queues: dict[str, SurveyTally], agents: dict[str, SurveyTally]) -> None:
        self._tallies = {"queue": queues, "agent": agents}

    def collect(self) -> Iterator[Metric]:
        for name, (label, doc) in SURVEY_GAUGES.items():
            family = GaugeMetricFamily(name, doc, labels=[label])
            for key, tally in sorted(self._tallies[label].items()):
                value = tally.csat if name.endswith("_csat") else tally.avg_score
                if value is not None:
                    family.add_metric([key], value)
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


class KpiMetrics:
    """Live KPI metrics in `registry`; feed it every ARI event (or the facts you folded).

    `queues` and `agents` (the config's queue names and agent ids): their series are
    created at 0 at once, so dashboards see every known queue and agent before its first
    call. Queues and agents met later (not in the config) get theirs at first use.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        params: KpiParams,
        state: KpiState | None = None,
        now: Callable[[], float] | None = None,
        *,
        queues: Iterable[str] = (),
        agents: Iterable[str] = (),
    ) -> None:
        self.params = params
        self.state = state if state is not None else KpiState(keep_facts=False)
        self._c: dict[str, Counter] = {}
        for name, doc in QUEUE_COUNTERS.items():
            self._c[name] = Counter(name, doc, ["queue"], registry=registry)
        for name, doc in AGENT_COUNTERS.items():
            self._c[name] = Counter(name, doc, ["agent"], registry=registry)
        wait_edges = bucket_edges(params, include_threshold=True)
        ring_edges = bucket_edges(params, include_threshold=False)
        self._wait = Histogram("hotline_call_wait_seconds", HISTOGRAMS[
            "hotline_call_wait_seconds"][1], ["queue"], registry=registry, buckets=wait_edges)
        self._abandon = Histogram("hotline_call_abandon_wait_seconds", HISTOGRAMS[
            "hotline_call_abandon_wait_seconds"][1], ["queue"], registry=registry,
            buckets=wait_edges)
        self._ring = Histogram("hotline_agent_ring_seconds", HISTOGRAMS[
            "hotline_agent_ring_seconds"][1], ["agent"], registry=registry, buckets=ring_edges)
        queue_names, agent_ids = tuple(queues), tuple(agents)
        registry.register(_Gauges(self.state, now, queue_names))
        self.surveys_by_queue: dict[str, SurveyTally] = {}
        self.surveys_by_agent: dict[str, SurveyTally] = {}
        registry.register(_SurveyGauges(self.surveys_by_queue, self.surveys_by_agent))
        for queue in queue_names:
            for name in QUEUE_COUNTERS:
                self._c[name].labels(queue)
            self._wait.labels(queue)
            self._abandon.labels(queue)
        for agent in agent_ids:
            for name in AGENT_COUNTERS:
                self._c[name].labels(agent)
            self._ring.labels(agent)

    def feed(self, event: Event) -> list[Fact]:
        """Fold one event into the state and the metrics; returns the facts."""
        facts = apply(self.state, event)
        if facts:
            self.observe(facts)
        return facts

    def _inc(self, name: str, label: str, amount: float = 1) -> None:
        self._c[name].labels(label).inc(amount)

    def observe(self, facts: Iterable[Fact]) -> None:
        """Turn facts into metric updates (the same rules as kpi.report.summarise)."""
        p = self.params
        inc = self._inc
        for f in facts:
            if isinstance(f, CallAnswered):
                inc("hotline_calls_offered", f.queue)
                inc("hotline_calls_answered", f.queue)
                if within_threshold(f.wait_ms, p):
                    inc("hotline_calls_answered_within_threshold", f.queue)
                self._wait.labels(f.queue).observe(f.wait_ms / 1000)
            elif isinstance(f, CallAbandoned):
                inc("hotline_calls_offered", f.queue)
                inc("hotline_calls_abandoned", f.queue)
                if is_short_abandon(f.wait_ms, p):
                    inc("hotline_calls_short_abandoned", f.queue)
                self._abandon.labels(f.queue).observe(f.wait_ms / 1000)
            elif isinstance(f, CallHandled):
                inc("hotline_calls_handled", f.queue)
                inc("hotline_call_talk_seconds", f.queue, f.talk_ms / 1000)
                inc("hotline_call_hold_seconds", f.queue, f.hold_ms / 1000)
            elif isinstance(f, WrapUp):
                inc("hotline_call_wrapup_seconds", f.queue, f.wrapup_ms / 1000)
            elif isinstance(f, CallTransferred):
                inc("hotline_calls_transferred", f.queue)
            elif isinstance(f, LegOffered):
                inc("hotline_agent_offers", f.agent)
            elif isinstance(f, LegPresented):
                inc("hotline_agent_presented", f.agent)
            elif isinstance(f, LegAnswered):
                inc("hotline_agent_answered", f.agent)
                if within_rings(f.ring_ms, p):
                    inc("hotline_agent_answered_within_rings", f.agent)
                self._ring.labels(f.agent).observe(f.ring_ms / 1000)
            elif isinstance(f, LegUnanswered):
                if f.status == "busy":
                    inc("hotline_agent_busy", f.agent)
                elif f.status == "unavailable":
                    inc("hotline_agent_unavailable", f.agent)
                elif is_rona(f.ring_ms, f.status, p):
                    inc("hotline_agent_rona", f.agent)
            elif isinstance(f, SurveyOffered | SurveyEnded):
                self._survey(f)

    def _survey(self, f: SurveyOffered | SurveyEnded) -> None:
        """Counters per queue and per agent, and the tallies the csat / mean gauges read
        (the same `SurveyTally` rules as the report)."""
        for prefix, label, tallies in (
            ("hotline_survey", f.queue, self.surveys_by_queue),
            ("hotline_agent_survey", f.agent, self.surveys_by_agent),
        ):
            tallies.setdefault(label, SurveyTally()).add(f)
            if isinstance(f, SurveyOffered):
                self._inc(f"{prefix}_offered", label)
            elif f.outcome == SurveyOutcome.COMPLETED:
                self._inc(f"{prefix}_completed", label)
                if f.satisfied:
                    self._inc(f"{prefix}_satisfied", label)
                if f.score is not None:
                    self._inc(f"{prefix}_score", label, f.score)


def render_metrics(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The exposition body and its content type, for whatever HTTP server the engine runs."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def metrics_handler(registry: CollectorRegistry) -> Callable[[Any], Any]:
    """An aiohttp handler serving `registry` (mount it on GET /metrics)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        body, content_type = render_metrics(registry)
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    return handle
