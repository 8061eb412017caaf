"""`hotline report callbacks --from --to`: the callback KPIs per queue from the records
database (`ari_app.callbacks.report.callback_kpis`), as JSON, CSV or a table.

Days are local to `calendar.timezone`, `--to` included; a callback counts in the period it
was requested in. Time to callback is counted in the site calendar's working days.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from ari_app.calendar import CalendarError
from ari_app.callbacks.report import CallbackKpi, callback_kpis
from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.config.site_calendar import site_calendar
from ari_app.records import schema
from ari_app.records.callbacks import SqlCallbackStore
from ari_app.records.report_format import render as render_rows

COLUMNS = tuple(CallbackKpi.__slots__)


def _report_parsers(sub: Any) -> Any:
    """`hotline report`'s sub-commands, whichever module made `report` first."""
    parser = sub.choices.get("report")
    if parser is None:
        parser = sub.add_parser("report", help="reports from the records database")
        return parser.add_subparsers(dest="report_command", required=True)
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: Any) -> None:
    p = _report_parsers(sub).add_parser(
        "callbacks", help="callbacks per queue: requested, dialled, answered, failed, "
                          "working days to callback")
    p.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                   help="first local day (YYYY-MM-DD, site time zone)")
    p.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                   help="last local day, included")
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    p.add_argument("--config", type=Path, help="engine config file (database, calendar)")
    p.add_argument("--url", help="database URL instead of the config's")
    p.set_defaults(func=_run)


def rows(config: Config, url: str, first: date, last: date) -> list[dict[str, object]]:
    """One line per queue, then `*`; CalendarError for a year the calendar lacks."""
    zone = ZoneInfo(config.calendar.timezone)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    engine = schema.make_engine(url)
    try:
        schema.check_schema(engine)
        found = SqlCallbackStore(engine).requested_between(start, end)
    finally:
        engine.dispose()
    kpis = callback_kpis(found, site_calendar(config), start.timestamp(), end.timestamp())
    return [k.as_dict() for k in kpis]


def render(data: list[dict[str, object]], fmt: str) -> str:
    table = render_rows(data, COLUMNS, fmt)
    if fmt != "table":
        return table
    return "\n".join(line.rstrip() for line in table.splitlines())


def _run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("error: --to is before --from", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config) if args.config else Config()
        data = rows(config, args.url or config.database.url, args.start, args.end)
    except ConfigError as exc:
        exc.print_errors()
        return 1
    except (SQLAlchemyError, schema.SchemaError, CalendarError) as exc:
        message = schema.database_error(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    print(render(data, args.format))
    return 0
