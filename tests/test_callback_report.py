"""`hotline report callbacks`: the KPIs per queue from a SQLite records file, on the site
calendar (China 2026: National Day 10-1..7 off, Saturday 10-10 a working day), figures
worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from ari_app.callbacks import Kind, State
from ari_app.cli import main
from ari_app.records import schema
from tests.callback_rig import callback, changed, records

SH = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, month, day, hour, minute, tzinfo=SH).timestamp()


def end_of(month: int, day: int) -> float:
    return datetime(2026, month, day, 23, 59, 59, tzinfo=SH).timestamp()


def _db(tmp_path: Path) -> str:
    store = records(tmp_path)
    a, f, c, d = State.ANSWERED, State.FAILED, State.CANCELLED, State.DUE
    cbs = [
        # support: Wed 9-30 -> Fri 10-9 is 2 working days (10-8, 10-9), by its deadline
        callback("s1", at=at(9, 30, 10), state=a, attempts=2, answered_at=at(10, 9, 11),
                 due_by=end_of(10, 9)),
        callback("s2", at=at(10, 8, 9), state=a, attempts=1, answered_at=at(10, 8, 15),
                 due_by=end_of(10, 10)),  # the same day: 0
        callback("s3", at=at(10, 8, 10), state=f, attempts=3),
        callback("s4", at=at(10, 9, 10), state=c),
        callback("s5", at=at(10, 9, 12), state=d),  # still pending
        # billing: Fri 10-9 -> Mon 10-12 is 2 (Saturday 10-10 works), past its deadline
        callback("b1", "billing", at=at(10, 9, 17), state=a, attempts=1,
                 answered_at=at(10, 12, 9, 30), due_by=end_of(10, 10)),
        # in-queue, no deadline: Sat 10-10 -> Tue 10-13 is 2 (10-12, 10-13)
        callback("b2", "billing", at=at(10, 10, 9), state=a, attempts=3,
                 answered_at=at(10, 13, 10), kind=Kind.IN_QUEUE),
        # outside the period
        callback("o1", at=at(9, 29, 23, 30), state=a, attempts=1, answered_at=at(9, 30, 9)),
        callback("o2", "billing", at=at(10, 13, 0, 10), state=f, attempts=3),
    ]
    store.write([changed(cb) for cb in cbs])
    store.engine.dispose()
    return str(store.engine.url)


ARGS = ["report", "callbacks", "--from", "2026-09-30", "--to", "2026-10-12"]


def test_the_figures_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _db(tmp_path)
    assert main([*ARGS, "--url", url, "--format", "json"]) == 0
    data = {line["queue"]: line for line in orjson.loads(capsys.readouterr().out)}
    assert list(data) == ["billing", "support", "*"]
    assert data["support"] == {
        "queue": "support", "requested": 5, "dialled": 3, "attempts": 6, "answered": 2,
        "failed": 1, "cancelled": 1, "pending": 1, "answered_rate": 0.4,
        "mean_working_days": 1.0, "max_working_days": 2, "answered_within_deadline": 2,
    }
    assert data["billing"] == {
        "queue": "billing", "requested": 2, "dialled": 2, "attempts": 4, "answered": 2,
        "failed": 0, "cancelled": 0, "pending": 0, "answered_rate": 1.0,
        "mean_working_days": 2.0, "max_working_days": 2, "answered_within_deadline": 0,
    }
    assert data["*"] == {
        "queue": "*", "requested": 7, "dialled": 5, "attempts": 10, "answered": 4,
        "failed": 1, "cancelled": 1, "pending": 1, "answered_rate": 0.5714,
        "mean_working_days": 1.5, "max_working_days": 2, "answered_within_deadline": 2,
    }


def test_csv_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _db(tmp_path)
    assert main([*ARGS, "--url", url, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["queue"], r["requested"], r["mean_working_days"]) for r in rows] == [
        ("billing", "2", "2.0"), ("support", "5", "1.0"), ("*", "7", "1.5")]
    assert main([*ARGS, "--url", url]) == 0  # a table by default
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "queue", "requested", "dialled", "attempts", "answered", "failed", "cancelled",
        "pending", "answered_rate", "mean_working_days", "max_working_days",
        "answered_within_deadline"]
    assert table[3].split() == ["*", "7", "5", "10", "4", "1", "1", "1", "0.57", "1.50", "2",
                                "2"]


def test_an_empty_period_and_refusals(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = _db(tmp_path)
    assert main(["report", "callbacks", "--from", "2026-11-01", "--to", "2026-11-30",
                 "--url", url, "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == [{
        "queue": "*", "requested": 0, "dialled": 0, "attempts": 0, "answered": 0,
        "failed": 0, "cancelled": 0, "pending": 0, "answered_rate": None,
        "mean_working_days": None, "max_working_days": None, "answered_within_deadline": 0,
    }]
    assert main(["report", "callbacks", "--from", "2026-10-12", "--to", "2026-10-01",
                 "--url", url]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    empty = tmp_path / "empty.sqlite3"
    schema.make_engine(f"sqlite:///{empty}").dispose()
    assert main([*ARGS, "--url", f"sqlite:///{empty}"]) == 1
    assert capsys.readouterr().err.startswith("error:")
