"""The Grafana KPI dashboard's queries, evaluated by a real Prometheus scraping the engine.

Needs the `prometheus` binary (Debian's `prometheus` package; `scripts/services.sh`, run by
`scripts/test.sh`, installs it). Never skipped: without the binary the test fails and says so.

Real time, not looptime: Prometheus scrapes on the wall clock. The engine runs on the
simulator with every duration scaled down: a ring period of 1 s (a cadence of our own,
250 ms on / 750 ms off, from an indications file), X = 3 rings, T = 2.5 s, wrap-up 1 s, a
0.2 s greeting. The script (≈ 25 s) covers every event kind the dashboard shows:

- call A rings 1003 until RONA (3 rings), then 1004 (busy phone), 1005 (unreachable), then
  1001 answers on ring 1, the caller having waited more than T (answered late, for SL);
- 1003 is paused (it takes no more calls); 1001 blind-transfers A to 1002 through the
  engine, 1002 answers on ring 3 (within X rings), 1001 goes through wrap-up;
- call B: 1001 answers at once (answered within T);
- call C hangs up after 1.5 s unanswered (short abandon, < S = 5 s) and call D after 7 s
  (abandon), both while 1001 and 1002 talk and 1004/1005 are busy or unreachable;
- B and A end (talk, wrap-up: AHT);
- call E: 1001 answers and hangs up first after 1 s; the caller answers the post-call
  survey's one question with a 5 (completed, satisfied: CSAT and mean score by queue and
  by agent).

A private Prometheus (temp config derived from docker/prometheus/prometheus.yml's `hotline`
job, scrape every 1 s, temp storage, a free loopback port) has scraped the engine before
the first call and after the last event; then every target of every panel of
docker/grafana/dashboards/hotline-kpi.json, with the dashboard's variables substituted, is
evaluated with /api/v1/query at the current time. Each must return at least one series with
a finite value, and a query over a window (`rate`, `increase`) a positive one: the events
behind it happened in the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from ari_app.config.settings import Config, parse_config
from ari_app.domain.events import (
    AgentState,
    AgentStateChanged,
    CallStateChanged,
    DomainEvent,
    SurveyFinished,
    SurveyOutcome,
    TransferCompleted,
)
from ari_app.shell.run import Running, running
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.dtmf import DtmfPress
from pbxsim.server import Simulator
from tests.callflow_rig import PIN, PIN_HASH
from tests.conftest import ROOT
from tests.scenario_rig import Collector
from tests.test_wiring import free_port

pytestmark = pytest.mark.prometheus

DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "hotline-kpi.json"
PROMETHEUS_YML = ROOT / "docker" / "prometheus" / "prometheus.yml"

AGENTS = ("1001", "1002", "1003", "1004", "1005")
LOGIN_ORDER = ("1003", "1004", "1005", "1001", "1002")  # longest idle is offered first
BEHAVIOUR = {
    "1001": EndpointBehaviour(0.4),  # ring 1
    "1002": EndpointBehaviour(2.4),  # ring 3 of 3: within X rings
    "1003": EndpointBehaviour(None),  # never: RONA
    "1004": EndpointBehaviour(busy=True),
    "1005": EndpointBehaviour(unavailable=True),
}
CADENCE = "250,750"  # P = 1 s
SL_SECONDS = 2.5  # T: a bucket edge of its own (not a k·P edge)
THRESHOLD = "2.5"  # the `threshold` variable for this T, as Prometheus spells the `le`
# Grafana's range variables: the dashboard's own `window` is taken as it defaults; the
# rate interval covers the script (every event happened in the last minute).
RANGES = {"__rate_interval": "1m", "__interval": "1s", "__range": "1h"}
STEP = 30.0  # bound on each step of the script, seconds


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None
    )
    if found is None:
        pytest.fail(
            "the `prometheus` binary is not installed: run `bash scripts/services.sh` (it"
            " installs Debian's `prometheus` package; scripts/test.sh runs it first)",
            pytrace=False,
        )
    return found



def engine_config(tmp_path: Path) -> Config:
    indications = tmp_path / "indications.conf"
    indications.write_text(f"[general]\ncountry=zz\n\n[zz]\nringcadence = {CADENCE}\n")
    return parse_config({
        "engine": {"data_dir": str(tmp_path / "data")},
        "http": {"host": "127.0.0.1", "port": 0},
        "recordings": {"dir": str(tmp_path / "rec")},
        "ringing": {"rings": 3, "country": "zz", "indications_file": str(indications),
                    "rona_pause_after": 0},
        "queues": [{
            "name": "support", "numbers": ["12345"], "sl_seconds": SL_SECONDS,
            "short_abandon_seconds": 5.0, "wrapup_seconds": 1.0,
            "greeting": ["sound:hotline-welcome"],
            # one question; only a call whose agent hangs up first (E) gets it
            "survey": {"enabled": True, "timeout_seconds": 2.0, "retries": 1,
                       "questions": [{"prompt": ["sound:survey-rate"], "keys": "12345"}]},
        }],
        "agents": [
            {"id": a, "endpoint": f"PJSIP/agent{a}", "pin_hash": PIN_HASH} for a in AGENTS
        ],
    })


# ------------------------------------------------------------------- the dashboard


@dataclass(frozen=True)
class Target:
    panel: str
    ref: str
    expr: str  # variables substituted

    @property
    def over_window(self) -> bool:
        return bool(re.search(r"\b(rate|increase)\(", self.expr))


def variables(dashboard: dict[str, Any]) -> dict[str, str]:
    """Each template variable's value as the dashboard opens (All = its allValue), the
    threshold set to this run's T, and Grafana's built-in ranges."""
    values = dict(RANGES)
    for var in dashboard["templating"]["list"]:
        current = var.get("current", {}).get("value")
        if current in ("$__all", ["$__all"]):
            values[var["name"]] = var.get("allValue") or ".*"
        elif isinstance(current, list):
            values[var["name"]] = "(" + "|".join(current) + ")"
        else:
            values[var["name"]] = str(current)
    values["threshold"] = THRESHOLD
    return values


def variable_queries(dashboard: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each query variable's `label_values(METRIC, LABEL)`, as (metric, label)."""
    out: dict[str, tuple[str, str]] = {}
    for var in dashboard["templating"]["list"]:
        if var.get("type") != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"\s*label_values\(\s*([A-Za-z_:][\w:]*)\s*,\s*(\w+)\s*\)\s*", query)
        assert m, f"variable {var['name']}: not label_values(metric, label): {query!r}"
        out[var["name"]] = (m[1], m[2])
    return out


def substitute(expr: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name not in values:
            raise AssertionError(f"unknown dashboard variable ${name} in {expr!r}")
        return values[name]

    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", one, expr)
    assert "$" not in out, out
    return out


def panel_targets(dashboard: dict[str, Any]) -> list[Target]:
    values = variables(dashboard)
    out: list[Target] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append(Target(panel.get("title", f"panel {panel.get('id')}"),
                                      target.get("refId", "?"),
                                      substitute(target["expr"], values)))
            walk(panel.get("panels", []))  # rows

    walk(dashboard["panels"])
    return out


def test_dashboard_targets_are_read_with_their_variables() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    targets = panel_targets(dashboard)
    assert len({t.panel for t in targets}) == len(
        [p for p in dashboard["panels"] if p.get("targets")])
    assert all("$" not in t.expr for t in targets)
    assert variable_queries(dashboard) == {
        "queue": ("hotline_calls_offered_total", "queue"),
        "agent": ("hotline_agent_offers_total", "agent"),
        "threshold": ("hotline_call_wait_seconds_bucket", "le"),
    }
    assert substitute('x{le="$threshold"}[$window] [$__rate_interval] ${queue}',
                      {"threshold": "2.5", "window": "1h", "__rate_interval": "1m",
                       "queue": ".*"}) == 'x{le="2.5"}[1h] [1m] .*'


# ------------------------------------------------------------------- Prometheus


class Prometheus:
    """A private Prometheus process and its HTTP API."""

    def __init__(self, url: str, http: aiohttp.ClientSession,
                 process: asyncio.subprocess.Process, log: Path) -> None:
        self.url = url
        self.http = http
        self.process = process
        self.log = log

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    async def query(self, expr: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.url}/api/v1/query", params={"query": expr}) as resp:
            body = await resp.json()
        assert body.get("status") == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    async def label_values(self, label: str, match: str) -> list[str]:
        async with self.http.get(f"{self.url}/api/v1/label/{label}/values",
                                 params={"match[]": match}) as resp:
            body = await resp.json()
        assert body.get("status") == "success", body
        values: list[str] = body["data"]
        return values

    async def until(self, what: str, check: Callable[[], Any], within: float = STEP) -> None:
        """Poll `check` (async, truthy when done) until it holds, at most `within` s."""
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise AssertionError(f"prometheus exited ({self.process.returncode}) while"
                                     f" waiting for {what}:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                last = await check()
                if last:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"prometheus: no {what} within {within:.0f} s (last: {last});"
                             f" log:\n{self.log_tail()}")


@contextlib.asynccontextmanager
async def prometheus(tmp_path: Path, metrics_url: str) -> AsyncIterator[Prometheus]:
    binary = prometheus_binary()
    docker = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = [j for j in docker["scrape_configs"] if j["job_name"] == "hotline"]
    assert jobs, f"{PROMETHEUS_YML} has no `hotline` job"
    target = metrics_url.removeprefix("http://").split("/", 1)[0]
    job = {**jobs[0], "static_configs": [{"targets": [target]}],
           "scrape_interval": "1s", "scrape_timeout": "1s"}
    assert job.get("metrics_path", "/metrics") == "/metrics"
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [job],
    }))  # JSON is YAML
    port = free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            prom = Prometheus(f"http://127.0.0.1:{port}", http, process, log)

            async def ready() -> bool:
                async with http.get(f"{prom.url}/-/ready") as resp:
                    return resp.status == 200

            await prom.until("readiness", ready)
            yield prom
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


# ------------------------------------------------------------------- the script


async def scripted_calls(sim: Simulator, r: Running, seen: Collector) -> None:
    engine = r.engine

    def of(call_id: str, state: str, agent: str = "") -> Callable[[DomainEvent], bool]:
        return lambda e: (isinstance(e, CallStateChanged) and e.call_id == call_id
                          and e.state == state and (not agent or e.agent_id == agent))

    def agent_is(agent: str, state: AgentState) -> Callable[[DomainEvent], bool]:
        """`agent` moves to `state` from now on (not at its login)."""
        before = {id(e) for e in seen.events}
        return lambda e: (isinstance(e, AgentStateChanged) and e.agent_id == agent
                          and e.state is state and id(e) not in before)

    # A: RONA (1003), busy (1004), unreachable (1005), then 1001 answers; waited > T
    a = sim.place_call("13900000001", "12345", patience=120.0, talk=18.0)
    await seen.wait_for(of(a, "bridged", "1001"), STEP)
    engine.pause("1003", "break")  # 1003 takes no more calls: B goes straight to 1001
    # 1001 hands A over to 1002 (blind transfer through the engine), then wraps up
    free_again = agent_is("1001", AgentState.AVAILABLE)
    engine.transfer(a, "blind", "agent", "1002")
    await seen.wait_for(lambda e: isinstance(e, TransferCompleted) and e.call_id == a, STEP)
    await seen.wait_for(free_again, STEP)
    # B: 1001 answers on ring 1, well within T
    b = sim.place_call("13900000002", "12345", patience=120.0, talk=10.0)
    await seen.wait_for(of(b, "bridged", "1001"), STEP)
    # C and D find no agent free: C gives up before S (short abandon), D after it
    c = sim.place_call("13900000003", "12345", patience=1.5)
    d = sim.place_call("13900000004", "12345", patience=7.0)
    outcomes = {}
    for call in (c, d, b, a):
        outcomes[call] = (await seen.ended(call, within=STEP)).summary
    for agent in ("1001", "1002"):  # wrap-up over
        done = agent_is(agent, AgentState.AVAILABLE)
        if engine.core.agents.require(agent).state is not AgentState.AVAILABLE:
            await seen.wait_for(done, STEP)
    # E: the agent hangs up first; the caller keys 5 (a key before the question, in the
    # talk, would not count: the next one answers)
    e = sim.place_call("13900000005", "12345", talk=1.0, hangup_by="agent",
                       dtmf=[DtmfPress(after, "5") for after in (1.5, 3.0, 4.5)])
    survey = await seen.wait_for(
        lambda ev: isinstance(ev, SurveyFinished) and ev.call_id == e, STEP)
    outcomes[e] = (await seen.ended(e, within=STEP)).summary
    assert (survey.outcome, survey.score) == (SurveyOutcome.COMPLETED, 5.0), survey
    assert [str(outcomes[x].outcome) for x in (a, b, c, d)] == [
        "answered", "answered", "abandoned", "abandoned"], outcomes
    assert outcomes[a].wait_seconds > SL_SECONDS > outcomes[b].wait_seconds, outcomes
    assert {str(o.result) for o in outcomes[a].offers} >= {"rona", "busy", "unavailable"}


def counter(samples: list[dict[str, Any]]) -> float:
    return sum(float(s["value"][1]) for s in samples)


def finite(sample: dict[str, Any]) -> float | None:
    value = float(sample["value"][1])
    return value if math.isfinite(value) else None


async def test_every_dashboard_panel_returns_data_from_prometheus(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    targets = panel_targets(dashboard)
    prometheus_binary()  # before anything starts
    config = engine_config(tmp_path)
    sim = Simulator(SimConfig(recordings_dir=config.recordings.dir, wall_base=time.time(),
                              sound_durations={"hotline-welcome": 0.2}))
    for agent, behaviour in BEHAVIOUR.items():
        sim.set_endpoint(f"PJSIP/agent{agent}", behaviour)
    base = await sim.start()
    seen = Collector()
    started = time.monotonic()
    try:
        async with (
            running(config, ari_url=base, records=False, extra_sinks=[seen],
                    clock=sim.pbx.wall) as r,
            prometheus(tmp_path, f"{r.api_url}/metrics") as prom,
        ):
            for agent in LOGIN_ORDER:
                r.engine.login(agent, PIN, f"PJSIP/agent{agent}")
                await asyncio.sleep(0.05)  # distinct idle times: the hunt order above

            async def scraped_at_zero() -> bool:
                up = await prom.query('up{job="hotline"} == 1')
                offered = await prom.query('hotline_calls_offered_total{queue="support"}')
                return bool(up) and bool(offered) and counter(offered) == 0

            # every series has a sample from before the first call: increase() sees it all
            await prom.until("scrape of the engine", scraped_at_zero)
            await scripted_calls(sim, r, seen)
            await asyncio.wait_for(r.kpi.wait_settled(), STEP)
            settled = time.time()

            async def scraped_after_the_script() -> bool:
                stamp = await prom.query('timestamp(up{job="hotline"})')
                return bool(stamp) and float(stamp[0]["value"][1]) > settled

            await prom.until("scrape after the script", scraped_after_the_script)
            offered = await prom.query('hotline_calls_offered_total{queue="support"}')
            assert counter(offered) == 5, offered
            surveys = await prom.query('hotline_survey_satisfied_total{queue="support"}')
            assert counter(surveys) == 1, surveys
            choices = {name: await prom.label_values(label, metric)
                       for name, (metric, label) in variable_queries(dashboard).items()}
            results = {t: await prom.query(t.expr) for t in targets}
    finally:
        await sim.stop()
    elapsed = time.monotonic() - started

    # the variables' choices, as Grafana lists them (label values of a metric)
    assert choices == {"queue": ["support"], "agent": list(AGENTS),
                       "threshold": choices.get("threshold", [])}, choices
    assert THRESHOLD in choices["threshold"], choices  # T is a bucket edge to pick
    problems: list[str] = []
    lines: list[str] = []
    for t, result in results.items():
        values = [v for v in map(finite, result) if v is not None]
        lines.append(f"{t.panel} [{t.ref}]: {len(result)} series, "
                     + ", ".join(f"{v:.3g}" for v in values[:6]))
        if not values:
            problems.append(f"{t.panel} [{t.ref}]: no finite value ({result}) for {t.expr}")
        elif t.over_window and max(values) <= 0:
            problems.append(f"{t.panel} [{t.ref}]: nothing in the window ({values}): {t.expr}")
    print(f"dashboard checked after {elapsed:.1f} s:\n" + "\n".join(lines))
    assert not problems, "\n".join(problems)
