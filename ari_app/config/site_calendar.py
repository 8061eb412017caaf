"""A site's calendar from the config, and the `hotline calendar` command.

`site_calendar(config)` is this site's (`engine.site`) `Calendar`: the shipped seed of
`calendar.region`, the years declared in `calendar.years`, the admin's `[[calendar.days]]`.
Other sites' calendars are `[[calendar.sites]]`, asked for by name. See docs/calendar.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ari_app.calendar import Calendar, CalendarError, build_calendar, load_seed
from ari_app.config.settings import Config, ConfigError, load_config


def site_calendar(config: Config, site: str | None = None) -> Calendar:
    """The calendar of `site` (default: this site); KeyError for a site with none."""
    settings = config.site_calendar_settings(site)
    return build_calendar(
        site or config.engine.site,
        settings.region,
        settings.timezone,
        corrections=settings.corrections(),
        extra_years=settings.years,
    )


# ---------------------------------------------------------------------- the command

_WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "calendar", help="working days: is DATE one, the Nth working day after DATE"
    )
    csub = parser.add_subparsers(dest="calendar_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", type=Path, help="the engine's config (default: built-in)")
        p.add_argument("--site", help="whose calendar (default: the config's engine.site)")

    after = csub.add_parser("working-day-after", help="print the Nth working day after DATE")
    after.add_argument("date", help="YYYY-MM-DD or 'today' (the site's local date)")
    after.add_argument("n", type=int)
    common(after)
    after.set_defaults(func=_after)

    before = csub.add_parser("working-day-before", help="print the Nth working day before DATE")
    before.add_argument("date", help="YYYY-MM-DD or 'today' (the site's local date)")
    before.add_argument("n", type=int)
    common(before)
    before.set_defaults(func=_before)

    check = csub.add_parser(
        "is-working-day", help="say whether DATE is a working day (exit 0 yes, 1 no, 2 error)"
    )
    check.add_argument("date", help="YYYY-MM-DD or 'today' (the site's local date)")
    common(check)
    check.set_defaults(func=_is_working_day)

    days = csub.add_parser("days", help="list YEAR's days off and working weekends, and why")
    days.add_argument("year", type=int)
    common(days)
    days.set_defaults(func=_days)

    show = csub.add_parser("show", help="the site's calendar: region, seed, years, corrections")
    common(show)
    show.set_defaults(func=_show)


def _calendar(args: argparse.Namespace) -> Calendar:
    config = load_config(args.config) if args.config else Config()
    try:
        return site_calendar(config, args.site)
    except KeyError as exc:
        raise CalendarError(str(exc.args[0])) from None


def _date(text: str, calendar: Calendar) -> date:
    if text == "today":
        return calendar.local_date(datetime.now(UTC))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"{text!r} is not a date like 2026-09-28") from None


def _run(args: argparse.Namespace, body: Any, error_rc: int = 1) -> int:
    try:
        result: int = body(_calendar(args))
    except ConfigError as exc:
        exc.print_errors()
        return error_rc
    except CalendarError as exc:
        print(f"error: {exc}")
        return error_rc
    return result


def _after(args: argparse.Namespace) -> int:
    def body(cal: Calendar) -> int:
        print(cal.working_day_after(_date(args.date, cal), args.n).isoformat())
        return 0

    return _run(args, body)


def _before(args: argparse.Namespace) -> int:
    def body(cal: Calendar) -> int:
        print(cal.working_day_before(_date(args.date, cal), args.n).isoformat())
        return 0

    return _run(args, body)


def _is_working_day(args: argparse.Namespace) -> int:
    def body(cal: Calendar) -> int:
        day = cal.describe(_date(args.date, cal))
        kind = "working day" if day.working else "day off"
        print(f"{day.date} ({_WEEKDAY[day.date.weekday()]}): {kind} ({day.name}; {day.source})")
        return 0 if day.working else 1

    return _run(args, body, error_rc=2)


def _days(args: argparse.Namespace) -> int:
    def body(cal: Calendar) -> int:
        for day in cal.listed(args.year):
            kind = "working" if day.working else "off"
            wd = _WEEKDAY[day.date.weekday()]
            print(f"{day.date} {wd} {kind:<7} {day.name} [{day.source}]")
        return 0

    return _run(args, body)


def _show(args: argparse.Namespace) -> int:
    def body(cal: Calendar) -> int:
        config = load_config(args.config) if args.config else Config()
        settings = config.site_calendar_settings(args.site)
        seed = load_seed(settings.region)
        years = sorted(cal.years)
        print(f"site {cal.site}: region {settings.region}, time zone {cal.timezone}")
        print(f"seed: {seed.source}, years {min(seed.years)}-{max(seed.years)}")
        extra = sorted(set(settings.years) - seed.years)
        if extra:
            print(f"years listed in the config: {', '.join(str(y) for y in extra)}")
        print(f"years with data: {len(years)} ({years[0]}-{years[-1]})")
        for d in settings.days:
            kind = "working" if d.working else "off"
            print(f"correction: {d.date} {kind}: {d.note}")
        return 0

    return _run(args, body)
