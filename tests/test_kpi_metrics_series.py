"""Every known queue's and agent's series exist from the start; the dashboard copes without."""

from __future__ import annotations

import json
import re
import tomllib
from collections import defaultdict
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from kpi.metrics import AGENT_COUNTERS, GAUGES, HISTOGRAMS, QUEUE_COUNTERS, KpiMetrics
from kpi.params import make_params
from tests.conftest import ROOT
from tests.test_kpi_edges import Scenario

DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "hotline-kpi.json"
EXAMPLE_CONFIG = ROOT / "config" / "hotline.example.toml"
QUEUES = ("support", "sales")
AGENTS = ("1001", "1002", "1003")


def exposition(registry: CollectorRegistry) -> dict[str, dict[str, dict[str, float]]]:
    """sample name -> label value of queue/agent -> {le or "": value}, from the text."""
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            who = s.labels.get("queue", s.labels.get("agent", ""))
            out[s.name][who][s.labels.get("le", "")] = s.value
    return out


def test_fresh_metrics_expose_every_queue_and_agent_series_at_zero() -> None:
    registry = CollectorRegistry()
    params = make_params(3, "cn", sl_seconds=20)
    KpiMetrics(registry, params, queues=QUEUES, agents=AGENTS)
    text = exposition(registry)
    for base in QUEUE_COUNTERS:
        assert text[base + "_total"].keys() == set(QUEUES), base
        assert all(v == {"": 0.0} for v in text[base + "_total"].values()), base
    for base in AGENT_COUNTERS:
        assert text[base + "_total"].keys() == set(AGENTS), base
        assert all(v == {"": 0.0} for v in text[base + "_total"].values()), base
    for base, (label, _) in HISTOGRAMS.items():
        names = QUEUES if label == "queue" else AGENTS
        for suffix in ("_count", "_sum", "_bucket"):
            assert text[base + suffix].keys() == set(names), base + suffix
            for values in text[base + suffix].values():
                assert set(values.values()) == {0.0}, base + suffix
        assert all("+Inf" in v for v in text[base + "_bucket"].values())
    for name in ("hotline_calls_waiting", "hotline_longest_wait_seconds"):
        assert text[name] == {q: {"": 0.0} for q in QUEUES}, name
    for name in set(GAUGES) - {"hotline_calls_waiting", "hotline_longest_wait_seconds"}:
        assert text[name] == {"": {"": 0.0}}, name


def test_known_series_stay_alongside_live_ones() -> None:
    registry = CollectorRegistry()
    live = KpiMetrics(registry, make_params(2, "cn"), queues=QUEUES, agents=AGENTS)
    sc = Scenario()
    sc.answered_call(0, "c1", "1004", ring_ms=3_000, talk_ms=4_000)  # an agent not configured
    for event in sc.events:
        live.feed(event)
    text = exposition(registry)
    assert text["hotline_agent_answered_total"]["1004"] == {"": 1.0}
    assert text["hotline_agent_answered_total"]["1001"] == {"": 0.0}
    assert text["hotline_agent_rona_total"].keys() >= set(AGENTS)
    assert text["hotline_calls_waiting"]["sales"] == {"": 0.0}


def test_without_known_names_nothing_is_invented() -> None:
    registry = CollectorRegistry()
    KpiMetrics(registry, make_params(2, "cn"))
    text = exposition(registry)
    assert "hotline_agent_answered_total" not in text
    assert "hotline_calls_waiting" not in text


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def example_thresholds() -> set[float]:
    """T of each queue of the example config: sl_seconds, else the queue's X rings × P."""
    config = tomllib.loads(EXAMPLE_CONFIG.read_text())
    ringing = config.get("ringing", {})
    out = set()
    for queue in config["queues"]:
        params = make_params(queue.get("rings", ringing.get("rings", 3)),
                             ringing.get("country", "cn"), queue.get("sl_seconds"))
        out.add(params.sl_ms / 1000)
    return out


def test_dashboard_threshold_default_is_the_queues_t() -> None:
    assert example_thresholds() == {20.0}
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "threshold")
    assert variable["current"]["value"] == "20.0"
    registry = CollectorRegistry()  # and it is an edge the wait histogram exports
    KpiMetrics(registry, make_params(3, "cn", sl_seconds=20), queues=("support",))
    assert "20.0" in exposition(registry)["hotline_call_wait_seconds_bucket"]["support"]


def test_panels_group_by_what_their_title_says() -> None:
    for panel in dashboard()["panels"]:
        title = panel["title"].lower()
        groups = {g for t in panel.get("targets", [])
                  for g in re.findall(r"by \((\w+)", t["expr"])} - {"le"}
        if "per agent" in title or "by agent" in title:
            assert groups == {"agent"}, panel["title"]
        if "per queue" in title or "by queue" in title:
            assert groups == {"queue"}, panel["title"]


# counters that stay absent for a queue or agent until their first (rarer) event
SOMETIMES = ("answered_within_threshold_total", "answered_within_rings_total", "rona_total",
             "short_abandoned_total", "abandoned_total", "wrapup_seconds_total",
             "hold_seconds_total", "talk_seconds_total")


def test_ratio_queries_survive_missing_series() -> None:
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            if " / " not in expr or "_bucket" in expr:
                continue
            for match in re.finditer(r"increase\((hotline_\w+)\{[^}]*\}\[\$window\]\)\)", expr):
                if match.group(1).endswith(SOMETIMES) and "calls_offered" not in match.group(1):
                    assert expr[match.end():].startswith(" or "), (panel["title"], match.group(1))
