"""Live Prometheus metrics: the same fold, fed event by event, must agree with the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from kpi.cli import replay_files
from kpi.fold import flush
from kpi.journal import read_events
from kpi.metrics import KpiMetrics, bucket_edges, exported_metric_names, metrics_handler
from kpi.params import make_params
from kpi.report import summarise
from tests.conftest import ROOT
from tests.test_kpi_edges import Scenario, _mixed_day

DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "hotline-kpi.json"


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client import generate_latest

    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(s: dict[Any, float], name: str, **labels: str) -> float:
    return s.get((name, tuple(sorted(labels.items()))), 0.0)


def test_live_metrics_equal_the_report(tmp_path: Path, traces_dir: Path) -> None:
    journal = tmp_path / "day.jsonl"
    journal.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in _mixed_day(5).events))
    files = [*sorted(traces_dir.glob("*.jsonl")), journal]
    params = make_params(2, "cn", sl_seconds=12.5)

    registry = CollectorRegistry()
    live = KpiMetrics(registry, params)
    for event in read_events(files):  # as the engine would, one event at a time
        live.feed(event)
    live.observe(flush(live.state))
    s = samples(registry)

    report = summarise(replay_files(files), params).to_dict()
    assert report["queues"]["support"]["offered"] > 20
    for queue, q in report["queues"].items():
        assert value(s, "hotline_calls_offered_total", queue=queue) == q["offered"]
        assert value(s, "hotline_calls_answered_total", queue=queue) == q["answered"]
        assert value(s, "hotline_calls_abandoned_total", queue=queue) == q["abandoned"]
        assert value(s, "hotline_calls_short_abandoned_total", queue=queue) == q[
            "short_abandoned"]
        assert value(s, "hotline_calls_transferred_total", queue=queue) == q["transferred"]
        assert value(s, "hotline_calls_answered_within_threshold_total", queue=queue) == q[
            "answered_within_threshold"]
        # SL in PromQL terms: the bucket at le=T over the count
        assert value(s, "hotline_call_wait_seconds_bucket", queue=queue, le="12.5") == q[
            "answered_within_threshold"]
        assert value(s, "hotline_call_wait_seconds_count", queue=queue) == q["answered"]
        asa = value(s, "hotline_call_wait_seconds_sum", queue=queue) / q["answered"]
        assert abs(asa - q["asa_seconds"]) < 1e-6
        handled = value(s, "hotline_calls_handled_total", queue=queue)
        aht = sum(value(s, f"hotline_call_{k}_seconds_total", queue=queue)
                  for k in ("talk", "hold", "wrapup")) / handled
        assert abs(aht - q["aht_seconds"]) < 1e-6
    for agent, a in report["agents"].items():
        for metric, key in (("offers", "offers"), ("presented", "presented"),
                            ("answered", "answered"), ("rona", "rona"), ("busy", "busy"),
                            ("unavailable", "unavailable"),
                            ("answered_within_rings", "answered_within_rings")):
            assert value(s, f"hotline_agent_{metric}_total", agent=agent) == a[key], (agent, key)
        # ring k of the report = bucket le=k·P minus le=(k-1)·P (except exactly on an edge)
        assert value(s, "hotline_agent_ring_seconds_count", agent=agent) == a["answered"]
    assert any(a["rona"] for a in report["agents"].values())
    assert any(a["busy"] for a in report["agents"].values())


def test_bucket_edges_sit_on_ring_periods_and_threshold() -> None:
    params = make_params(3, "cn", sl_seconds=12.5)
    waits = bucket_edges(params, include_threshold=True)
    rings = bucket_edges(params, include_threshold=False)
    assert {5.0, 10.0, 15.0, 20.0, 12.5} <= set(waits)
    assert rings[:4] == [5.0, 10.0, 15.0, 20.0]
    assert 12.5 not in rings
    assert waits == sorted(waits)


def test_only_queue_and_agent_labels(traces_dir: Path) -> None:
    registry = CollectorRegistry()
    live = KpiMetrics(registry, make_params(2, "cn"))
    for event in read_events(sorted(traces_dir.glob("*.jsonl"))):
        live.feed(event)
    live.observe(flush(live.state))
    labels = {k for (_, pairs) in samples(registry) for k, _ in pairs}
    assert labels <= {"queue", "agent", "le"}
    names = {name for (name, _) in samples(registry)}
    assert names <= exported_metric_names()
    assert "hotline_agent_ring_seconds_bucket" in names


def test_gauges_read_the_live_state() -> None:
    sc = Scenario()
    sc.arrive(0, "c1")
    sc.arrive(4_000, "c2")
    sc.offer(4_010, "agent-1001-c1", "1001", "c1")
    sc.ring(4_015, "agent-1001-c1")
    sc.answer(6_015, "agent-1001-c1")
    sc.agent_state(6_500, "1002", "available")
    sc.agent_state(6_600, "1003", "paused", reason="lunch")
    sc.agent_state(6_700, "1004", "wrapup")
    sc.agent_state(6_800, "1005", "logout")
    sc.agent_state(9_000, "1006", "login")  # the fold's clock: its latest event time
    registry = CollectorRegistry()
    live = KpiMetrics(registry, make_params(2, "cn"))
    for event in sc.events:
        live.feed(event)
    live.observe(flush(live.state))
    s = samples(registry)
    assert value(s, "hotline_calls_waiting", queue="support") == 1  # c1 was answered
    assert value(s, "hotline_longest_wait_seconds", queue="support") == 5.0  # c2 since 4 s
    assert value(s, "hotline_agents_available") == 1
    assert value(s, "hotline_agents_paused") == 1
    assert value(s, "hotline_agents_wrapup") == 1
    assert value(s, "hotline_agents_logged_in") == 4
    assert value(s, "hotline_agents_on_call") == 1
    wall = CollectorRegistry()
    clocked = KpiMetrics(wall, make_params(2, "cn"), now=lambda: live.state.max_ms / 1000 + 60)
    for event in sc.events:
        clocked.feed(event)
    clocked.observe(flush(clocked.state))
    assert value(samples(wall), "hotline_longest_wait_seconds", queue="support") == 65.0


def _dashboard_exprs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        if isinstance(node.get("definition"), str):
            found.append(node["definition"])
        return found + [e for v in node.values() for e in _dashboard_exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in _dashboard_exprs(v)]
    return []


def test_dashboard_queries_only_exported_metrics() -> None:
    exprs = _dashboard_exprs(json.loads(DASHBOARD.read_text()))
    assert len(exprs) >= 10
    used = {m for e in exprs for m in re.findall(r"\bhotline_[a-z0-9_]+", e)}
    assert used
    assert used <= exported_metric_names(), used - exported_metric_names()
    assert {"hotline_calls_waiting", "hotline_agent_rona_total",
            "hotline_call_wait_seconds_bucket"} <= used


async def test_metrics_endpoint_serves_the_registry() -> None:
    registry = CollectorRegistry()
    live = KpiMetrics(registry, make_params(2, "cn"))
    sc = Scenario()
    sc.answered_call(0, "c1", "1001", ring_ms=3_000, talk_ms=4_000)
    for event in sc.events:
        live.feed(event)
    live.observe(flush(live.state))
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry))
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        body = await response.text()
    assert 'hotline_calls_answered_total{queue="support"} 1.0' in body
    assert 'hotline_agent_answered_within_rings_total{agent="1001"} 1.0' in body
