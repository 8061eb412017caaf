"""`hotline qa sample|calibration` and `hotline report qa`: the month's sampling plan, the
graders' spread on calibrated calls and the QA figures, from the records database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.qa.calibration import Calibration
from ari_app.qa.form import FormError
from ari_app.qa.kpis import COLUMNS as KPI_COLUMNS
from ari_app.qa.kpis import kpis
from ari_app.qa.sampling import MONTH
from ari_app.qa.service import Qa
from ari_app.records import schema
from ari_app.records.qa import SqlQaStore
from ari_app.records.report_format import render

SAMPLE_COLUMNS = ("agent_id", "queue", "call_id")
CALIBRATION_COLUMNS = ("call_id", "form_id", "version", "key", "graders", "not_applicable",
                       "min", "max", "mean", "stdev")


def _month(value: str) -> str:
    if not MONTH.fullmatch(value):
        raise argparse.ArgumentTypeError("YYYY-MM")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("json", "csv", "table"), default="table")
    p.add_argument("--config", type=Path, help="engine config file (database, calendar, site)")
    p.add_argument("--url", help="database URL instead of the config's")


def report_subparsers(sub: Any) -> Any:
    """The `hotline report` sub-commands (made by whichever module registers first)."""
    parser = sub.choices.get("report")
    if parser is None:
        parser = sub.add_parser("report", help="reports from the records database")
        return parser.add_subparsers(dest="report_command", required=True)
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: Any) -> None:
    parser = sub.add_parser("qa", help="quality assurance: sampling plan, calibration")
    qsub = parser.add_subparsers(dest="qa_command", required=True)
    p = qsub.add_parser("sample", help="the month's calls to evaluate (reproducible)")
    p.add_argument("--month", required=True, type=_month, help="YYYY-MM (site time zone)")
    p.add_argument("--per-agent", type=int, default=5, help="calls per agent (default 5)")
    p.add_argument("--seed", help="the site seed (default: engine.site)")
    _common(p)
    p.set_defaults(func=_sample)
    p = qsub.add_parser("calibration", help="graders' spread on the same call")
    p.add_argument("--call", help="the call graded by several graders")
    p.add_argument("--form", help="the form (alone: every call it calibrated)")
    _common(p)
    p.set_defaults(func=_calibration)
    p = report_subparsers(sub).add_parser(
        "qa", help="QA scores per agent/team/queue and month, pass rate, 解答准确率")
    p.add_argument("--from", dest="start", required=True, type=date.fromisoformat,
                   help="first local day (YYYY-MM-DD, site time zone)")
    p.add_argument("--to", dest="end", required=True, type=date.fromisoformat,
                   help="last local day, included")
    _common(p)
    p.set_defaults(func=_report)


def _service(config: Config, url: str) -> Qa:
    engine = schema.make_engine(url)
    schema.check_schema(engine)
    team_of = {a.id: a.team for a in config.agents if a.team}
    return Qa(SqlQaStore(engine), config.calendar.timezone, team_of)


def _guarded(args: argparse.Namespace, work: Callable[[Config, Qa], tuple[
    list[dict[str, object]], Sequence[str]
]]) -> int:
    try:
        config = load_config(args.config) if args.config else Config()
        data, columns = work(config, _service(config, args.url or config.database.url))
    except ConfigError as exc:
        exc.print_errors()
        return 1
    except (SQLAlchemyError, schema.SchemaError, FormError, ValueError) as exc:
        message = schema.database_error(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    print(render(data, columns, args.format))
    return 0


def _sample(args: argparse.Namespace) -> int:
    if args.per_agent < 1:
        print("error: --per-agent must be at least 1", file=sys.stderr)
        return 2

    def work(config: Config, qa: Qa) -> tuple[list[dict[str, object]], Sequence[str]]:
        seed = args.seed if args.seed is not None else config.engine.site
        calls = qa.sample(args.month, args.per_agent, seed)
        return [{c: getattr(call, c) for c in SAMPLE_COLUMNS} for call in calls], SAMPLE_COLUMNS

    return _guarded(args, work)


def calibration_rows(call_id: str, found: Sequence[Calibration]) -> list[dict[str, object]]:
    return [
        {"call_id": call_id, "form_id": c.form_id, "version": c.version, "key": s.key,
         "graders": s.graders, "not_applicable": s.not_applicable, "min": s.min,
         "max": s.max, "mean": s.mean, "stdev": s.stdev}
        for c in found for s in (*c.items, c.total)
    ]


def _calibration(args: argparse.Namespace) -> int:
    if args.call is None and args.form is None:
        print("error: give --call, --form or both", file=sys.stderr)
        return 2

    def work(config: Config, qa: Qa) -> tuple[list[dict[str, object]], Sequence[str]]:
        if args.call is not None:
            rows = calibration_rows(args.call, qa.calibration(args.call, args.form))
        else:
            rows = [r for call_id, found in qa.calibrated_calls(args.form)
                    for r in calibration_rows(call_id, found)]
        return rows, CALIBRATION_COLUMNS

    return _guarded(args, work)


def _report(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("error: --to is before --from", file=sys.stderr)
        return 2

    def work(config: Config, qa: Qa) -> tuple[list[dict[str, object]], Sequence[str]]:
        zone = ZoneInfo(config.calendar.timezone)
        start = datetime.combine(args.start, time(0), zone).astimezone(UTC)
        end = datetime.combine(args.end + timedelta(days=1), time(0), zone).astimezone(UTC)
        return [x.as_dict() for x in kpis(qa.facts(start, end))], KPI_COLUMNS

    return _guarded(args, work)
