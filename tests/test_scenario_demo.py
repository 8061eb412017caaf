"""`hotline demo`: the scripted first minute shows what the engine is for, with a clean view.

The whole demo (simulator, engine, SQLite records, journal, API) runs on looptime's clock,
so a minute of demo time takes a few seconds.
"""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from ari_app.domain.commands import AriRequest
from ari_app.shell.demo import (
    View,
    _demo,
    demo_config,
    service_level,
    setup_logging,
    spoken,
)
from ari_app.shell.live_kpi import LiveKpi, kpi_params

STAMP = re.compile(r"^\[\s*(\d+)s\] (.*)$")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The demo reconfigures the root logger (to its file): put it back for other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def _args(tmp_path: Path, duration: float) -> argparse.Namespace:
    return argparse.Namespace(
        duration=duration, speed=1.0, every=20.0, seed=3, data_dir=tmp_path,
        no_records=False, log_file=None, verbose=False, log_level="INFO",
    )


def _first_minute(out: str) -> str:
    """The view's stamped lines of demo seconds 0..60."""
    lines = []
    for line in out.splitlines():
        m = STAMP.match(line)
        if m and int(m.group(1)) <= 60:
            lines.append(m.group(2))
    return "\n".join(lines)


@pytest.mark.looptime
async def test_first_minute_shows_rona_busy_abandon_transfer_and_greeting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    where = setup_logging(_args(tmp_path, 60.0))
    assert where == str(tmp_path / "demo.log")
    assert await _demo(_args(tmp_path, 60.0)) == 0
    captured = capsys.readouterr()
    minute = _first_minute(captured.out)

    assert "1003 did not answer within 15 s: RONA" in minute
    assert "(1004 could not take it: phone busy" in minute
    assert re.search(r"ended: abandoned after waiting 8s", minute)
    assert "#2: agent 1001 transfers the caller (blind) to agent 1002" in minute
    assert re.search(r"transfer done, the caller is with agent 1002", minute)
    assert re.search(r"hears the greeting \(Demo Hotline\): .*1-0-0-1", minute)
    # the authoritative offer results, from finished calls' summaries, within the minute
    assert re.search(r"offers \[1003:rona, 1004:busy", minute)

    last = captured.out.strip().splitlines()
    summary = next(line for line in last if line.startswith("demo over after 60"))
    assert "1 abandoned" in summary
    assert re.search(r"Seen: RONA [1-9]\d*, busy [1-9]\d*, abandoned 1, transfers 1, "
                     r"greetings [1-9]", summary)
    assert "rest_404" not in captured.out  # no unexplained engine counters
    assert summary == last[-2]  # nothing printed after the summary but the KPI hint
    # log lines went to the file, none to the terminal
    assert " INFO " not in captured.out
    assert " INFO " not in captured.err
    log_text = (tmp_path / "demo.log").read_text(encoding="utf-8")
    assert " INFO ari_app." in log_text
    assert list((tmp_path / "recordings").glob("call-*.wav"))
    assert (tmp_path / "hotline.sqlite3").exists()


def test_service_level_is_a_dash_until_a_call_is_answered(tmp_path: Path) -> None:
    kpi = LiveKpi(CollectorRegistry(), kpi_params(demo_config(tmp_path)), now=lambda: 0.0)
    assert service_level(kpi) == "—"


def test_the_greeting_is_shown_as_the_caller_hears_it() -> None:
    lines: list[str] = []
    view = View(lambda: 7.0, "Demo Hotline", 15.0, say=lines.append)
    view.labels["c1"] = "#2"
    view.greeting(AriRequest("POST", "/channels/c1/play", {
        "media": "sound:hotline-welcome,digits:1001,sound:at-your-service",
        "playbackId": "greet-c1"}))
    view.greeting(AriRequest("POST", "/channels/c1/play", {
        "media": "sound:queue-periodic-announce", "playbackId": "announce-c1-3"}))
    assert lines == ["[    7s] #2 hears the greeting (Demo Hotline): "
                     "[hotline-welcome] 1-0-0-1 [at-your-service]"]
    assert spoken("digits:42") == "4-2"
