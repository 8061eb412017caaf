"""The docker stack without a Docker engine: files parse, exist and agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped]

from ari_app.config.settings import load_config
from tests.conftest import ROOT
from tests.test_deploy_config import CONFIG_DIR, DIALPLAN, sections_of

DOCKER = ROOT / "docker"
EXAMPLE = CONFIG_DIR / "hotline.example.toml"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "hotline-kpi.json"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(DOCKER / "compose.yaml")
    assert isinstance(data, dict)
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svc: dict[str, dict[str, Any]] = compose["services"]
    return svc


def host_volumes(service: dict[str, Any]) -> list[tuple[Path, str]]:
    out = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            out.append(((DOCKER / source).resolve(), target))
    return out


def published(service: dict[str, Any]) -> dict[str, str]:
    """container port/proto -> the published mapping."""
    out = {}
    for mapping in service.get("ports", []):
        container = mapping.rsplit(":", 1)[1]
        out[container if "/" in container else container + "/tcp"] = mapping
    return out


def test_compose_references_files_that_exist(compose: dict[str, Any]) -> None:
    for name, svc in services(compose).items():
        for source, _ in host_volumes(svc):
            assert source.exists(), f"{name}: {source} does not exist"
        build = svc.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file()
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        for dep in svc.get("depends_on", []):
            assert dep in services(compose), f"{name} depends on unknown {dep}"


def test_dockerfile_copies_what_exists() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _dest = line.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: missing"
    assert '"hotline", "run", "--config", "/etc/hotline/hotline.toml"' in dockerfile
    # every package pyproject installs is copied in
    for package in ("ari_app", "pbxsim", "kpi", "recordings"):
        assert f"COPY {package} {package}" in dockerfile
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert ".venv" in ignore
    assert "docker/.env" in ignore


def test_asterisk_is_a_public_image_configured_by_mounts(compose: dict[str, Any]) -> None:
    asterisk = services(compose)["asterisk"]
    assert "build" not in asterisk
    assert asterisk["image"].startswith("andrius/asterisk:")
    targets = dict((str(s), t) for s, t in host_volumes(asterisk))
    assert targets[str(CONFIG_DIR.resolve())] == "/hotline/config"
    assert targets[str(DIALPLAN.parent.resolve())] == "/hotline/dialplan"
    start = (DOCKER / "asterisk" / "start.sh").read_text()
    assert "/hotline/config/*.conf /etc/asterisk/" in start
    assert "/hotline/dialplan/extensions.conf /etc/asterisk/extensions.conf" in start


def placeholders() -> set[str]:
    found: set[str] = set()
    for path in CONFIG_DIR.glob("*.conf"):
        found |= set(re.findall(r"CHANGE_ME_([A-Z0-9_]+)", path.read_text()))
    return found


def test_every_asterisk_secret_placeholder_has_an_env(compose: dict[str, Any]) -> None:
    env = services(compose)["asterisk"]["environment"]
    given = {k.removeprefix("ASTERISK_SECRET_") for k in env if k.startswith("ASTERISK_SECRET_")}
    # PROMETHEUS_PASSWORD sits in a commented-out line of prometheus.conf
    assert placeholders() - {"PROMETHEUS_PASSWORD"} == given


def test_ari_credentials_agree(compose: dict[str, Any]) -> None:
    cfg = load_config(EXAMPLE)
    ari = sections_of(CONFIG_DIR / "ari.conf")
    assert ari[cfg.ari.username].one("password") == "CHANGE_ME_ARI_PASSWORD"
    svc = services(compose)
    # the same compose variable fills Asterisk's placeholder and the engine's env secret
    asterisk_value = svc["asterisk"]["environment"]["ASTERISK_SECRET_ARI_PASSWORD"]
    for name in ("hotline", "hotline-agi", "hotline-migrate"):
        assert svc[name]["environment"][cfg.ari.password.env] == asterisk_value
    assert asterisk_value.startswith("${HOTLINE_ARI_PASSWORD:?")


def test_engine_secrets_come_from_compose(compose: dict[str, Any]) -> None:
    cfg = load_config(EXAMPLE)
    env = services(compose)["hotline"]["environment"]
    for secret in (cfg.ari.password, cfg.mqtt.password, cfg.engine.caller_number_salt):
        assert secret.env in env
    assert "PGPASSWORD" in env


def compose_variables(compose_text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+)", compose_text))


def test_env_example_lists_every_variable() -> None:
    used = compose_variables((DOCKER / "compose.yaml").read_text())
    listed = {
        line.split("=", 1)[0]
        for line in (DOCKER / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used == listed
    assert all(line.endswith("=") for line in (DOCKER / "env.example").read_text().splitlines()
               if line and not line.startswith("#"))  # fmt: skip


def test_hosts_and_ports_agree(compose: dict[str, Any]) -> None:
    cfg = load_config(EXAMPLE)
    svc = services(compose)
    ari = urlsplit(cfg.ari.url)
    http_port = sections_of(CONFIG_DIR / "http.conf")["general"].one("bindport")
    assert ari.hostname == "asterisk"
    assert str(ari.port) == http_port
    assert f"{http_port}/tcp" in published(svc["asterisk"])
    # MQTT
    assert cfg.mqtt.enabled
    assert cfg.mqtt.host == "mosquitto"
    mosquitto = (DOCKER / "mosquitto" / "mosquitto.conf").read_text()
    assert re.search(rf"^listener {cfg.mqtt.port}$", mosquitto, re.M)
    assert svc["mosquitto"]["environment"]["MQTT_USERNAME"] == cfg.mqtt.username
    assert (
        svc["mosquitto"]["environment"]["MQTT_PASSWORD"]
        == svc["hotline"]["environment"][cfg.mqtt.password.env]
    )
    # PostgreSQL
    db = urlsplit(cfg.database.url)
    pg = svc["postgres"]["environment"]
    assert (db.hostname, db.port or 5432) == ("postgres", 5432)
    assert db.username == pg["POSTGRES_USER"]
    assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    assert svc["hotline"]["environment"]["PGPASSWORD"] == pg["POSTGRES_PASSWORD"]
    # engine HTTP
    assert cfg.http.host == "0.0.0.0"
    assert f"{cfg.http.port}/tcp" in published(svc["hotline"])
    # SIP: the transport's port is the one published
    transport = sections_of(CONFIG_DIR / "pjsip.conf")["transport-udp"].one("bind")
    assert f"{transport.rsplit(':', 1)[1]}/udp" in published(svc["asterisk"])


def test_agi_service_is_where_the_dialplan_looks(compose: dict[str, Any]) -> None:
    svc = services(compose)
    url = urlsplit(svc["asterisk"]["environment"]["HOTLINE_AGI_URL"])
    agi = svc[str(url.hostname)]
    command = agi["command"]
    assert command[:2] == ["hotline", "agi"]
    assert command[command.index("--port") + 1] == str(url.port)
    assert command[command.index("--host") + 1] == "0.0.0.0"
    globals_ = sections_of(DIALPLAN)["globals"]
    assert urlsplit(globals_.one("HOTLINE_AGI")).port == url.port
    assert "HOTLINE_AGI=" in (DOCKER / "asterisk" / "start.sh").read_text()


def test_engine_commands(compose: dict[str, Any]) -> None:
    svc = services(compose)
    mounts = {t: s for s, t in host_volumes(svc["hotline"])}
    assert mounts["/etc/hotline/hotline.toml"] == EXAMPLE.resolve()
    assert svc["hotline"]["command"] == ["hotline", "run", "--config", "/etc/hotline/hotline.toml"]
    assert svc["hotline-migrate"]["command"][:3] == ["hotline", "db", "upgrade"]
    assert (
        svc["hotline"]["depends_on"]["hotline-migrate"]["condition"]
        == "service_completed_successfully"
    )
    data = load_config(EXAMPLE).engine.data_dir
    assert any(v.endswith(f":{data}") for v in svc["hotline"]["volumes"])


def test_prometheus_scrapes_engine_and_asterisk(compose: dict[str, Any]) -> None:
    prom = load_yaml(DOCKER / "prometheus" / "prometheus.yml")
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    cfg = load_config(EXAMPLE)
    svc = services(compose)
    engine_targets = jobs["hotline"]["static_configs"][0]["targets"]
    assert engine_targets == [f"hotline:{cfg.http.port}"]
    assert jobs["hotline"]["metrics_path"] == "/metrics"
    http_port = sections_of(CONFIG_DIR / "http.conf")["general"].one("bindport")
    res_prometheus = sections_of(CONFIG_DIR / "prometheus.conf")["general"]
    assert jobs["asterisk"]["static_configs"][0]["targets"] == [f"asterisk:{http_port}"]
    assert jobs["asterisk"]["metrics_path"] == "/" + res_prometheus.one("uri")
    for job in jobs.values():
        for target in job["static_configs"][0]["targets"]:
            assert target.split(":")[0] in svc
    mounts = {t: s for s, t in host_volumes(svc["prometheus"])}
    assert mounts["/etc/prometheus/prometheus.yml"] == (DOCKER / "prometheus" / "prometheus.yml")


def test_grafana_provisioning(compose: dict[str, Any]) -> None:
    svc = services(compose)
    grafana = {t: s for s, t in host_volumes(svc["grafana"])}
    provisioning = grafana["/etc/grafana/provisioning"]
    ds = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    prom = next(d for d in ds if d["type"] == "prometheus")
    url = urlsplit(prom["url"])
    assert url.hostname == "prometheus"
    assert f"{url.port}/tcp" in published(svc["prometheus"])
    providers = load_yaml(provisioning / "dashboards" / "hotline.yml")["providers"]
    path = providers[0]["options"]["path"]
    assert grafana[path] == (DOCKER / "grafana" / "dashboards")
    assert "GF_SECURITY_ADMIN_PASSWORD" in svc["grafana"]["environment"]


# ---------------------------------------------------------------- the KPI dashboard

PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "and", "or", "unless", "offset", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "clamp_min", "clamp_max", "clamp", "abs", "ceil", "floor",
    "round", "sort", "sort_desc", "time", "vector", "scalar", "label_replace", "label_join",
    "avg_over_time", "sum_over_time", "max_over_time", "min_over_time", "count_over_time",
    "last_over_time", "absent", "absent_over_time", "changes", "resets", "timestamp",
    "predict_linear", "exp", "ln", "log2", "log10", "sqrt", "day_of_week", "hour", "inf", "nan",
    "le", "queue", "agent",
}  # fmt: skip


def promql_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label matchers, grouping lists, durations and
    Grafana variables removed)."""
    expr = re.sub(r"\blabel_values\(\s*([^,()]+),[^()]*\)", r"\1", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^{}]*\}", "", expr)
    expr = re.sub(r"\[[^\[\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", "", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d.*", n)}


def test_promql_metric_extraction() -> None:
    expr = (
        'sum by (queue) (rate(hotline_call_wait_seconds_bucket{le="20", queue=~"$queue"}[5m]))'
        " / ignoring(le) sum(rate(hotline_call_wait_seconds_count[$__rate_interval]))"
    )
    assert promql_metrics(expr) == {
        "hotline_call_wait_seconds_bucket",
        "hotline_call_wait_seconds_count",
    }
    assert promql_metrics("label_values(hotline_agent_offers_total, agent)") == {
        "hotline_agent_offers_total"
    }


def exported_names() -> set[str]:
    """Sample names a fresh registry with the KPI metrics can expose."""
    from prometheus_client import CollectorRegistry

    from kpi.metrics import KpiMetrics
    from kpi.params import KpiParams

    registry = CollectorRegistry()
    KpiMetrics(
        registry,
        KpiParams(rings=3, country="cn", ring_period_ms=5000, sl_ms=20000, short_abandon_ms=5000),
    )
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("_sum", "_count", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for family in registry.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def test_exported_names_come_from_the_kpi_module() -> None:
    names = exported_names()
    assert "hotline_calls_answered_total" in names
    assert "hotline_call_wait_seconds_bucket" in names
    from kpi.metrics import exported_metric_names

    assert set(exported_metric_names()) <= names


def dashboard_exprs(node: Any) -> list[str]:
    out = []
    if isinstance(node, dict):
        if node.get("type") in ("custom", "interval", "constant", "textbox"):
            return out  # template variables whose `query` is a value list, not PromQL
        for key, value in node.items():
            if key in ("expr", "query") and isinstance(value, str):
                out.append(value)
            elif key == "query" and isinstance(value, dict) and "query" in value:
                out.append(value["query"])
            else:
                out += dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            out += dashboard_exprs(item)
    return out


@pytest.mark.skipif(not DASHBOARD.exists(), reason="KPI dashboard not written yet (KPI helper)")
def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = dashboard_exprs(dashboard)
    assert exprs, "dashboard has no queries"
    queried = set().union(*(promql_metrics(e) for e in exprs))
    # label_values(metric, label) in template variables names a metric too
    assert queried, "no metric found in the dashboard's queries"
    hotline = {m for m in queried if not m.startswith("asterisk_")}
    assert hotline <= exported_names(), sorted(hotline - exported_names())


def prometheus_datasource_uids(node: Any) -> set[str]:
    """uids of the Prometheus datasources panels and targets point at."""
    out: set[str] = set()
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and ds.get("type") == "prometheus" and "uid" in ds:
            out.add(str(ds["uid"]))
        for value in node.values():
            out |= prometheus_datasource_uids(value)
    elif isinstance(node, list):
        for item in node:
            out |= prometheus_datasource_uids(item)
    return out


def test_datasource_uid_walk() -> None:
    panel = {"panels": [{"datasource": {"type": "prometheus", "uid": "x"}, "targets": []}]}
    assert prometheus_datasource_uids(panel) == {"x"}


@pytest.mark.skipif(not DASHBOARD.exists(), reason="KPI dashboard not written yet (KPI helper)")
def test_dashboard_datasource_is_provisioned() -> None:
    ds = load_yaml(DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    uids = {d["uid"] for d in ds["datasources"]}
    used = prometheus_datasource_uids(json.loads(DASHBOARD.read_text()))
    assert {u for u in used if not u.startswith("$")} <= uids
