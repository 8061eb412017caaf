"""The working-day calendar on 2026's real working weekends and holidays, and its refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import chinese_calendar
import pytest

from ari_app.calendar import Calendar, CalendarError, YearNotCovered, build_calendar, load_seed
from ari_app.cli import main
from ari_app.config.settings import ConfigError, parse_config
from ari_app.config.site_calendar import site_calendar

# Published by the State Council (国务院办公厅关于2026年部分节假日安排的通知), as listed by both
# chinesecalendar and holidays: the weekends that are working days in 2026.
WORKING_WEEKENDS_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]
# Weekdays off in 2026 (holidays and the days off swapped for the working weekends).
WEEKDAYS_OFF_2026 = [
    date(2026, 1, 1), date(2026, 1, 2),
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
    date(2026, 2, 20), date(2026, 2, 23),
    date(2026, 4, 6),
    date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6),
    date(2026, 10, 7),
]


@pytest.fixture(scope="module")
def cn() -> Calendar:
    return build_calendar("hq", "cn", "Asia/Shanghai")


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def test_2026_working_weekends_are_exactly_the_published_ones(cn: Calendar) -> None:
    working_weekends = [
        d for d in days_of(2026) if d.weekday() >= 5 and cn.is_working_day(d)
    ]
    assert working_weekends == WORKING_WEEKENDS_2026
    assert cn.describe(date(2026, 10, 10)).name == "National Day"


def test_2026_weekdays_off_are_exactly_the_holidays(cn: Calendar) -> None:
    off = [d for d in days_of(2026) if d.weekday() < 5 and not cn.is_working_day(d)]
    assert off == WEEKDAYS_OFF_2026
    assert len([d for d in days_of(2026) if cn.is_working_day(d)]) == 261 - 19 + 6
    assert cn.describe(date(2026, 10, 5)).name == "National Day"
    assert cn.describe(date(2026, 10, 3)).working is False  # a Saturday inside the holiday
    ordinary = cn.describe(date(2026, 11, 23))
    assert (ordinary.working, ordinary.name, ordinary.source) == (True, "weekday", "weekly rule")


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 9, 28), 5, date(2026, 10, 10)),  # the example: a working Saturday
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # over the National Day week
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # a working Saturday is the next one
        (date(2026, 2, 14), 1, date(2026, 2, 24)),  # then the Spring Festival
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # an ordinary weekend
        (date(2026, 12, 1), 22, date(2026, 12, 31)),
    ],
)
def test_working_day_after(cn: Calendar, start: date, n: int, expected: date) -> None:
    assert cn.working_day_after(start, n) == expected
    assert cn.working_days_between(start, expected) == n
    assert cn.working_day_before(expected, n) <= start


def test_a_year_without_data_is_refused_not_guessed(cn: Calendar) -> None:
    # chinesecalendar 1.11 publishes up to 2026; `holidays` would guess 2027 (without its
    # working weekends). The calendar refuses, and says why.
    with pytest.raises(YearNotCovered, match=r"no data for 2027 \(years with data: 2004-2026\)"):
        cn.is_working_day(date(2027, 1, 4))
    with pytest.raises(YearNotCovered):
        cn.describe(date(2003, 6, 2))
    # a deadline that runs into a year without data is refused as well
    assert cn.working_day_after(date(2026, 12, 24), 4) == date(2026, 12, 30)
    with pytest.raises(YearNotCovered, match="2027"):
        cn.working_day_after(date(2026, 12, 24), 6)
    with pytest.raises(CalendarError, match="n must be"):
        cn.working_day_after(date(2026, 12, 24), 0)


def test_the_site_time_zone_decides_the_local_date(cn: Calendar) -> None:
    # 2026-10-09 17:00 UTC is Saturday 2026-10-10 01:00 in Shanghai: a working day
    assert cn.local_date(datetime(2026, 10, 9, 17, 0, tzinfo=UTC)) == date(2026, 10, 10)
    assert cn.local_date(datetime(2026, 10, 9, 15, 0, tzinfo=UTC)) == date(2026, 10, 9)
    with pytest.raises(CalendarError, match="aware"):
        cn.local_date(datetime(2026, 10, 9, 15, 0))


def test_the_seed_is_what_chinesecalendar_publishes() -> None:
    """The shipped seed equals the installed package, year by year (regenerate if not)."""
    raw = json.loads(resources.files("ari_app.calendar").joinpath("seed_cn.json").read_text())
    assert raw["source"] == "chinesecalendar"
    seed = load_seed("cn")
    published = {d.year for d in chinese_calendar.holidays}
    assert seed.years <= published
    assert {2025, 2026} <= seed.years
    cal = build_calendar("hq", "cn", "Asia/Shanghai")
    for year in sorted(seed.years):
        for d in days_of(year):
            assert cal.is_working_day(d) is chinese_calendar.is_workday(d), d


def test_config_corrections_are_laid_over_the_seed_with_their_note() -> None:
    cfg = parse_config({"calendar": {"days": [
        {"date": "2026-12-31", "working": False, "note": "year-end migration (OPS-1)"},
        {"date": "2026-10-10", "working": False, "note": "centre decision", "name": "closed"},
    ]}})
    cal = site_calendar(cfg)
    assert cal.site == "demo"
    off = cal.describe(date(2026, 12, 31))
    assert (off.working, off.name, off.source) == (False, "year-end migration (OPS-1)",
                                                    "config: year-end migration (OPS-1)")
    assert not cal.is_working_day(date(2026, 10, 10))
    assert cal.working_day_after(date(2026, 9, 28), 5) == date(2026, 10, 12)


def test_a_year_is_known_only_when_declared() -> None:
    day = {"date": "2027-02-06", "working": True, "note": "notice 2026-11"}
    with pytest.raises(ConfigError) as err:
        parse_config({"calendar": {"days": [day]}})
    errors = err.value.errors
    assert any(e.startswith("calendar.days: 2027-02-06: 2027 has no data") for e in errors)
    cal = site_calendar(parse_config({"calendar": {"years": [2027], "days": [day]}}))
    assert cal.is_working_day(date(2027, 2, 6))  # a working Saturday, as declared
    assert cal.is_working_day(date(2027, 2, 8))  # a Monday the admin did not list


def test_calendar_config_errors_name_their_keys() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"calendar": {
            "region": "xx",
            "timezone": "Mars/Olympus",
            "days": [{"date": "2026-10-10", "working": True, "note": ""}],
        }})
    errors = err.value.errors
    assert any(e.startswith("calendar.region: no shipped calendar for 'xx'") for e in errors)
    assert any(e.startswith("calendar.timezone: unknown time zone") for e in errors)
    assert any(e.startswith("calendar.days[0].note:") for e in errors)
    two = {"date": "2026-10-10", "working": True, "note": "x"}
    with pytest.raises(ConfigError, match="duplicate date '2026-10-10'"):
        parse_config({"calendar": {"days": [two, two]}})
    with pytest.raises(ConfigError, match=r"calendar.sites\[0\].name: 'demo' is this site"):
        parse_config({"calendar": {"sites": [{"name": "demo"}]}})


def test_other_sites_calendars() -> None:
    cfg = parse_config({"engine": {"site": "hq"}, "calendar": {"sites": [{
        "name": "gz",
        "days": [{"date": "2026-11-23", "working": False, "note": "local typhoon closure"}],
    }]}})
    assert site_calendar(cfg).is_working_day(date(2026, 11, 23))
    gz = site_calendar(cfg, "gz")
    assert gz.site == "gz"
    assert not gz.is_working_day(date(2026, 11, 23))
    with pytest.raises(KeyError, match="no calendar for site 'sz'"):
        site_calendar(cfg, "sz")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    rc = main(["calendar", *argv])
    return rc, capsys.readouterr().out.splitlines()


def test_cli_working_day_after_and_is_working_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "working-day-after", "2026-09-28", "5") == (0, ["2026-10-10"])
    assert run(capsys, "working-day-before", "2026-10-08", "1") == (0, ["2026-09-30"])
    rc, out = run(capsys, "is-working-day", "2026-10-10")
    assert rc == 0
    assert out[0].startswith("2026-10-10 (Sat): working day (National Day; seed: chinesecalendar")
    rc, out = run(capsys, "is-working-day", "2026-10-05")
    assert rc == 1
    assert out[0].startswith("2026-10-05 (Mon): day off (National Day")
    rc, out = run(capsys, "is-working-day", "2027-01-04")
    assert rc == 2
    assert out[0].startswith("error: the calendar of site 'demo' has no data for 2027")
    rc, out = run(capsys, "working-day-after", "2026-12-24", "6")
    assert rc == 1
    assert "no data for 2027" in out[0]
    rc, out = run(capsys, "is-working-day", "28/09/2026")
    assert (rc, out) == (2, ["error: '28/09/2026' is not a date like 2026-09-28"])


def test_cli_site_and_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(
        '[engine]\nsite = "hq"\n'
        '[[calendar.sites]]\nname = "gz"\n'
        '[[calendar.sites.days]]\ndate = 2026-10-10\nworking = false\nnote = "site closed"\n'
    )
    cfg = ("--config", str(path))
    assert run(capsys, "working-day-after", "2026-09-28", "5", *cfg) == (0, ["2026-10-10"])
    got = run(capsys, "working-day-after", "2026-09-28", "5", *cfg, "--site", "gz")
    assert got == (0, ["2026-10-12"])
    rc, out = run(capsys, "days", "2026", *cfg, "--site", "gz")
    assert rc == 0
    assert "2026-10-10 Sat off     site closed [config: site closed]" in out
    rc, out = run(capsys, "is-working-day", "2026-10-10", *cfg, "--site", "sz")
    assert (rc, out) == (2, ["error: no calendar for site 'sz' (sites: hq, gz)"])
    rc, out = run(capsys, "show", *cfg, "--site", "gz")
    assert rc == 0
    assert out[0] == "site gz: region cn, time zone Asia/Shanghai"
    assert "correction: 2026-10-10 off: site closed" in out


def test_the_agi_route_and_the_engine_follow_the_calendar(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ari_app.agi.hooks import decide_route
    from ari_app.shell import engine

    cfg = parse_config({"queues": [{"name": "support", "numbers": ["12345"], "hours": {
        "timezone": "Asia/Shanghai", "working_days": ["09:00-18:00"]}}]})
    saturday = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a working day
    monday = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # National Day
    assert decide_route(cfg, "139", "12345", saturday).route == "open"
    assert decide_route(cfg, "139", "12345", monday).route == "closed"
    with caplog.at_level("ERROR"):
        # 2027 has no data: the caller is still routed (Monday-Friday), and the log says why
        assert decide_route(cfg, "139", "12345", datetime(2027, 1, 4, 2, 0, tzinfo=UTC)).route \
            == "open"
    assert "no data for 2027" in caplog.text
    caplog.clear()
    with caplog.at_level("ERROR"):
        gap = YearNotCovered(2199, "demo", {2026})
        engine._calendar_gap(gap)
        engine._calendar_gap(gap)  # once per year and process
    assert caplog.text.count("no data for 2199") == 1
