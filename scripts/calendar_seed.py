"""Regenerate the calendar's shipped seed (`ari_app/calendar/seed_cn.json`) from chinesecalendar.

    .venv/bin/python scripts/calendar_seed.py               # every year the package publishes
    .venv/bin/python scripts/calendar_seed.py --years 2025 2026

The engine never imports chinesecalendar: it reads the JSON this writes, which names the
package and its version. Only years the package *publishes* are written (it refuses the
others), so the calendar knows which years it has and refuses the rest. See docs/calendar.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path

import chinese_calendar

OUT = Path(__file__).resolve().parent.parent / "ari_app" / "calendar" / "seed_cn.json"
WEEKEND = (5, 6)  # Saturday, Sunday


def published_years() -> list[int]:
    years = {d.year for d in chinese_calendar.holidays}
    return sorted(years)


def year_days(year: int) -> dict[str, dict[str, str]]:
    """The year's days off (named) and its weekend days that are working days (named)."""
    rest: dict[str, str] = {}
    working: dict[str, str] = {}
    d = date(year, 1, 1)
    while d.year == year:
        _, name = chinese_calendar.get_holiday_detail(d)  # refuses unpublished years
        workday = chinese_calendar.is_workday(d)
        if not workday and name:
            rest[d.isoformat()] = name
        elif not workday and d.weekday() not in WEEKEND:
            raise SystemExit(f"{d}: a weekday off without a name; check chinesecalendar")
        if workday and d.weekday() in WEEKEND:
            working[d.isoformat()] = name or "working weekend"
        d += timedelta(days=1)
    return {"rest": rest, "working": working}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="*", help="default: every published year")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    available = published_years()
    years = args.years or available
    missing = [y for y in years if y not in available]
    if missing:
        print(f"chinesecalendar {version('chinesecalendar')} has no data for {missing}")
        return 1
    seed = {
        "region": "cn",
        "source": "chinesecalendar",
        "source_version": version("chinesecalendar"),
        "generated_by": "scripts/calendar_seed.py",
        "weekend": list(WEEKEND),
        "years": {str(y): year_days(y) for y in sorted(years)},
    }
    args.out.write_text(json.dumps(seed, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(years)} year(s) {min(years)}-{max(years)} from chinesecalendar "
          f"{seed['source_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
