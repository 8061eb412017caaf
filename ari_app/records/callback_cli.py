"""`hotline report callbacks --from --to`: the callback KPIs per queue from the records
database (`ari_app.callbacks.report.callback_kpis`), as JSON, CSV or a table.

Days are local to `calendar.timezone`, `--to` included; a callback counts in the period it
was requested in. Time to callback is counted in the site calendar's working days.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.exc import SQLAlchemyError

from ari_app.calendar import CalendarError
from ari_app.callbacks.report import CallbackKpi, callback_kpis
from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.config.site_calendar import site_calendar
from ari_app.records import schema
from ari_app.records.callbacks import SqlCallbackStore

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
    if fmt == "json":
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        return out.getvalue().rstrip("\n")
    shown = [[_cell(row[c]) for c in COLUMNS] for row in data]
    widths = [max(len(c), *(len(r[i]) for r in shown)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


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
