"""`hotline report work-orders`: figures from the records database, on the site calendar."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest

from ari_app.cli import main
from ari_app.config.settings import Config
from ari_app.config.site_calendar import site_calendar
from ari_app.records import schema
from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders import machine
from ari_app.workorders.model import OrderType, Origin, Urgency
from ari_app.workorders.service import NewOrder, WorkOrders
from tests.workorder_rig import limits, local

ANN = machine.Actor("ann", "agent")


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/hotline.sqlite3"
    engine = schema.make_engine(url)
    schema.upgrade(engine)
    store = SqlWorkOrderStore(engine)
    store.save_limits(limits(complaint=5))
    svc = WorkOrders(store, site_calendar(Config()), "Asia/Shanghai")
    for opened, closed in ((local(2026, 9, 28, 10), local(2026, 10, 10, 18)),
                           (local(2026, 9, 29, 10), local(2026, 10, 13, 9))):
        order, _ = svc.create(
            NewOrder(OrderType.COMPLAINT, "billing", Urgency.NORMAL, "账单不对", Origin.CALL,
                     "ann", "1001", "red", department="billing"), ANN, opened)
        svc.act(order.order_id, machine.Acknowledge(), ANN, opened)
        svc.act(order.order_id, machine.Close("refund"), ANN, closed)
    engine.dispose()
    return url


def test_json_csv_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _db(tmp_path)
    args = ["report", "work-orders", "--from", "2026-09-01", "--to", "2026-10-31", "--url", url]
    assert main([*args, "--format", "json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    line = data[0]
    # the first is due 10-10 (closed that day: on time), the second 10-12 (closed 10-13: late)
    assert (line["type"], line["department"], line["opened"], line["closed"]) == (
        "complaint", "billing", 2, 2)
    assert (line["closed_on_time"], line["on_time_rate"]) == (1, 0.5)
    # working days to close: 9-28 -> 10-10: 5; 9-29 -> 10-13: 6 (9-30, 10-8..10, 10-12, 13)
    assert line["average_working_days_to_close"] == 5.5
    assert data[-1]["type"] == "*"
    assert main([*args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["on_time_rate"] == "0.5"
    assert main([*args, "--format", "table"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["type", "department", "opened", "closed"]
    assert table[1].split()[:4] == ["complaint", "billing", "2", "2"]
    assert main([*args[:-4], "--from", "2026-10-31", "--to", "2026-10-01", "--url", url]) == 2
