"""`hotline report work-orders --from --to`: the work-order report from the records
database, as JSON, CSV or a table (the same figures as GET /workorders/report)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from ari_app.calendar import CalendarError
from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.config.site_calendar import site_calendar
from ari_app.records import schema
from ari_app.records.report_format import render as render_rows
from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders.report import COLUMNS, report
from ari_app.workorders.service import WorkOrders


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="reports from the records database")
    rsub = parser.add_subparsers(dest="report_command", required=True)
    p = rsub.add_parser("work-orders", help="work orders per type and department")
    p.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                   help="first local day (YYYY-MM-DD, site time zone)")
    p.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                   help="last local day, included")
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    p.add_argument("--config", type=Path, help="engine config file (database, calendar)")
    p.add_argument("--url", help="database URL instead of the config's")
    p.set_defaults(func=_run)


def rows(config: Config, url: str, first: date, last: date, now: datetime) -> list[
    dict[str, object]
]:
    zone = ZoneInfo(config.calendar.timezone)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    engine = schema.make_engine(url)
    schema.check_schema(engine)
    store = SqlWorkOrderStore(engine)
    service = WorkOrders(store, site_calendar(config), config.calendar.timezone)
    lines = report(service.rules(), store.orders(end, start), store.follow_ups(start, end),
                   start, end, now)
    return [line.as_dict() for line in lines]


def render(data: list[dict[str, object]], fmt: str) -> str:
    return render_rows(data, COLUMNS, fmt)


def _run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("error: --to is before --from", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config else Config()
        url = args.url or config.database.url
        data = rows(config, url, args.start, args.end, datetime.now(UTC))
    except ConfigError as exc:
        exc.print_errors()
        return 1
    except (SQLAlchemyError, schema.SchemaError, CalendarError) as exc:
        message = schema.database_error(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    print(render(data, args.format))
    return 0
