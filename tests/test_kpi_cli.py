"""`hotline kpi report` end to end, through ari_app.cli.main."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ari_app.cli import main

QUEUE_KEYS = {
    "offered", "answered", "abandoned", "short_abandoned", "answered_within_threshold",
    "service_level", "service_level_offered", "answer_rate", "abandon_rate", "asa_seconds",
    "max_wait_seconds", "aht_seconds", "transferred",
}
AGENT_KEYS = {
    "offers", "presented", "answered", "answered_within_rings", "rona", "busy", "unavailable",
    "answer_timeliness", "avg_ring_seconds", "rings_histogram",
}
SURVEY_KEYS = {"survey_offered", "survey_completed", "survey_avg_score", "csat"}
QUEUE_KEYS |= SURVEY_KEYS
AGENT_KEYS |= SURVEY_KEYS


def journals(traces_dir: Path) -> list[str]:
    out: list[str] = []
    for name in ("full_call", "caller_abandon_while_ringing", "agent_busy", "agent_no_answer"):
        out += ["--journal", str(traces_dir / f"{name}.jsonl")]
    return out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["kpi", "report", *args])
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_exactly_the_documented_keys(
    traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *journals(traces_dir), "--rings", "2", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"params", "queues", "agents"}
    assert data["params"] == {"rings": 2, "country": "cn", "ring_period_seconds": 5.0,
                              "sl_seconds": 10.0, "short_abandon_seconds": 5.0}
    assert set(data["queues"]) == {"support"}
    assert set(data["queues"]["support"]) == QUEUE_KEYS
    assert set(data["agents"]) == {"1001", "1002", "1003"}
    assert all(set(a) == AGENT_KEYS for a in data["agents"].values())
    assert data["queues"]["support"]["offered"] == 2
    assert data["agents"]["1002"]["rona"] == 1  # agent_no_answer: 10.008 s >= 2 × 5 s
    assert data["agents"]["1003"]["busy"] == 1


def test_json_by_hour_nests_periods(traces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *journals(traces_dir), "--by", "hour", "--format", "json",
                       "--sl-seconds", "7.5", "--short-abandon-seconds", "6", "--country", "CN")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"params", "queues", "agents"}
    assert data["params"]["sl_seconds"] == 7.5
    assert list(data["queues"]) == ["2026-11-22T23:00Z"]
    support = data["queues"]["2026-11-22T23:00Z"]["support"]
    assert (support["short_abandoned"], support["answered_within_threshold"]) == (1, 1)


def test_csv_rows(traces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *journals(traces_dir), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    kinds = {(r["kind"], r["name"]) for r in rows}
    assert kinds == {("queue", "support"), ("agent", "1001"), ("agent", "1002"),
                     ("agent", "1003")}
    queue = next(r for r in rows if r["kind"] == "queue")
    assert (queue["period"], queue["offered"], queue["abandoned"]) == ("total", "2", "1")
    agent = next(r for r in rows if r["name"] == "1001")
    assert agent["rings_histogram"] == "2:1"


def test_table(traces_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *journals(traces_dir), "--rings", "3")
    assert code == 0
    assert "rings=3 country=cn ring_period=5.0s sl=15.0s" in out
    lines = out.splitlines()
    support = next(ln.split() for ln in lines if ln.split()[:2] == ["total", "support"])
    assert support[2:5] == ["2", "1", "1"]  # offered answered abandoned


def test_plot_writes_a_png(
    traces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "kpi.png"
    code, _, _ = run(capsys, *journals(traces_dir), "--format", "json", "--plot", str(png))
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rings", "0"], "must be >= 1"),
        (["--rings", "two"], "not an integer"),
        (["--country", "zz"], "unknown country 'zz'"),
        (["--sl-seconds", "-1"], "must be a finite number >= 0"),
        (["--by", "week"], "invalid choice"),
        (["--format", "xml"], "invalid choice"),
        (["--plot", "out.svg"], "needs a .png"),
    ],
)
def test_bad_arguments_fail_cleanly(
    traces_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--journal", str(traces_dir / "full_call.jsonl"), *args)
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert out == ""


def test_unreadable_journals_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--journal", str(tmp_path / "nope.jsonl"))
    assert code == 1
    assert "cannot read journal" in err
    bad = tmp_path / "broken.jsonl.gz"
    bad.write_bytes(b"not gzip at all")
    code, _, err = run(capsys, "--journal", str(bad))
    assert code == 1
    assert "cannot read journal" in err
    assert "Traceback" not in err
    code, _, err = run(capsys)
    assert code == 2
    assert "--journal" in err


def test_malformed_lines_are_reported_not_fatal(
    tmp_path: Path, traces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.jsonl"
    journal.write_bytes((traces_dir / "full_call.jsonl").read_bytes() + b"garbage\n{\"typ")
    code, out, err = run(capsys, "--journal", str(journal), "--format", "json")
    assert code == 0
    assert json.loads(out)["queues"]["support"]["answered"] == 1
    assert "2 lines were not readable events (torn or garbage) and were skipped" \
        " (malformed_lines)" in err
