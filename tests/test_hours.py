"""Business hours: weekly spans in the hours' own time zone, holidays, 24/7 default, and
hours that follow the site calendar (working days, days off)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ari_app.calendar import YearNotCovered, build_calendar
from ari_app.config.hours import is_open, opening_hours
from ari_app.config.settings import ConfigError, Hours, parse_config
from ari_app.domain.commands import Play, Ring
from tests.callflow_rig import Rig, make_config

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS = Hours(
    timezone="Asia/Shanghai",
    weekly={d: ("09:00-12:00", "13:00-18:00") for d in ("mon", "tue", "wed", "thu", "fri")},
    holidays=(date(2026, 10, 1),),
)


def sh(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=SH)


def test_none_means_always_open() -> None:
    assert is_open(None, datetime(2026, 1, 1, 3, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (sh(2026, 11, 23, 8, 59, 59), False),  # Monday, before opening
        (sh(2026, 11, 23, 9, 0), True),  # opening instant is open
        (sh(2026, 11, 23, 11, 59, 59), True),
        (sh(2026, 11, 23, 12, 0), False),  # closing instant is closed (lunch)
        (sh(2026, 11, 23, 13, 30), True),
        (sh(2026, 11, 23, 18, 0), False),
        (sh(2026, 11, 28, 10, 0), False),  # Saturday
        (sh(2026, 11, 29, 10, 0), False),  # Sunday
    ],
)
def test_weekly_spans(at: datetime, expected: bool) -> None:
    assert is_open(WEEKDAYS, at) is expected


def test_holiday_closed_all_day() -> None:
    # 2026-10-01 is a Thursday, normally open at 10:00
    assert not is_open(WEEKDAYS, sh(2026, 10, 1, 10, 0))
    assert is_open(WEEKDAYS, sh(2026, 10, 2, 10, 0))


def test_instant_is_converted_to_the_hours_time_zone() -> None:
    # 01:30 UTC Monday is 09:30 in Shanghai: open, though 01:30 is outside any span
    assert is_open(WEEKDAYS, datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    # 10:00 UTC Monday is 18:00 in Shanghai: closed
    assert not is_open(WEEKDAYS, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    # Sunday 22:00 in New York (UTC-5) is Monday 11:00 in Shanghai
    ny = timezone(timedelta(hours=-5))
    assert is_open(WEEKDAYS, datetime(2026, 11, 22, 22, 0, tzinfo=ny))


def test_holiday_is_a_local_date() -> None:
    all_day = Hours(
        timezone="Asia/Shanghai",
        weekly={d: ("00:00-24:00",) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        holidays=(date(2026, 10, 1),),
    )
    # 2026-09-30 17:00 UTC is 2026-10-01 01:00 in Shanghai: the holiday
    assert not is_open(all_day, datetime(2026, 9, 30, 17, 0, tzinfo=UTC))
    # 2026-10-01 17:00 UTC is 2026-10-02 01:00 in Shanghai: no longer the holiday
    assert is_open(all_day, datetime(2026, 10, 1, 17, 0, tzinfo=UTC))


def test_daylight_saving_time() -> None:
    berlin = Hours(timezone="Europe/Berlin", weekly={"sun": ("09:00-17:00",)})
    # 2026-03-29: Berlin switches to CEST (UTC+2). 07:30 UTC is 09:30 local: open.
    assert is_open(berlin, datetime(2026, 3, 29, 7, 30, tzinfo=UTC))
    # One week earlier (CET, UTC+1) 07:30 UTC is 08:30 local: closed.
    assert not is_open(berlin, datetime(2026, 3, 22, 7, 30, tzinfo=UTC))


def test_until_midnight_includes_the_last_instant() -> None:
    late = Hours(timezone="Asia/Shanghai", weekly={"fri": ("20:00-24:00",)})
    assert is_open(late, sh(2026, 11, 27, 23, 59, 59).replace(microsecond=999999))
    assert not is_open(late, sh(2026, 11, 28, 0, 0))  # Saturday 00:00


def test_empty_weekly_is_always_closed() -> None:
    assert not is_open(Hours(), sh(2026, 11, 23, 10, 0))


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(WEEKDAYS, datetime(2026, 11, 23, 10, 0))


# ---------------------------------------------------------------------- the site calendar

CN = build_calendar("hq", "cn", "Asia/Shanghai")
WORKING_DAYS = Hours(timezone="Asia/Shanghai", working_days=("09:00-12:00", "13:00-18:00"))


def test_weekday_queue_open_on_a_working_saturday_closed_on_a_holiday_monday() -> None:
    assert is_open(WORKING_DAYS, sh(2026, 10, 10, 10, 0), CN)  # Saturday, a working day
    assert not is_open(WORKING_DAYS, sh(2026, 10, 10, 12, 30), CN)  # its lunch break
    assert not is_open(WORKING_DAYS, sh(2026, 10, 5, 10, 0), CN)  # Monday, National Day
    assert not is_open(WORKING_DAYS, sh(2026, 2, 16, 10, 0), CN)  # Monday, Spring Festival
    assert is_open(WORKING_DAYS, sh(2026, 11, 23, 10, 0), CN)  # an ordinary Monday
    assert not is_open(WORKING_DAYS, sh(2026, 11, 28, 10, 0), CN)  # an ordinary Saturday
    # the weekly rule, by contrast, reads weekday names literally
    assert not is_open(WEEKDAYS, sh(2026, 10, 10, 10, 0), CN)
    assert is_open(WEEKDAYS, sh(2026, 10, 5, 10, 0), CN)


def test_rest_day_spans_and_explicit_holidays() -> None:
    hours = Hours(
        timezone="Asia/Shanghai",
        working_days=("08:00-20:00",),
        rest_days=("10:00-16:00",),
        holidays=(date(2026, 11, 27),),
    )
    assert is_open(hours, sh(2026, 10, 5, 11, 0), CN)  # holiday Monday: rest-day hours
    assert not is_open(hours, sh(2026, 10, 5, 9, 0), CN)
    assert is_open(hours, sh(2026, 10, 10, 9, 0), CN)  # working Saturday: working-day hours
    assert not is_open(hours, sh(2026, 11, 27, 11, 0), CN)  # the queue's own closed day


def test_calendar_hours_use_the_local_date() -> None:
    all_working = Hours(timezone="Asia/Shanghai", working_days=("00:00-24:00",))
    # 2026-10-09 17:00 UTC is Saturday 2026-10-10 01:00 in Shanghai: a working day
    assert is_open(all_working, datetime(2026, 10, 9, 17, 0, tzinfo=UTC), CN)
    # 2026-10-04 17:00 UTC is Monday 2026-10-05 01:00 in Shanghai: National Day
    assert not is_open(all_working, datetime(2026, 10, 4, 17, 0, tzinfo=UTC), CN)


def test_calendar_hours_need_the_calendar_and_a_year_with_data() -> None:
    with pytest.raises(ValueError, match="follow the site calendar"):
        is_open(WORKING_DAYS, sh(2026, 11, 23, 10, 0))
    with pytest.raises(YearNotCovered, match="no data for 2027"):
        is_open(WORKING_DAYS, sh(2027, 1, 4, 10, 0), CN)
    strict = opening_hours(CN)
    with pytest.raises(YearNotCovered):
        strict(WORKING_DAYS, sh(2027, 1, 4, 10, 0))
    gaps: list[YearNotCovered] = []
    told = opening_hours(CN, on_gap=gaps.append)
    # the shell is told (it logs an error) and the queue follows Monday-Friday meanwhile
    assert told(WORKING_DAYS, sh(2027, 1, 4, 10, 0))
    assert not told(WORKING_DAYS, sh(2027, 1, 9, 10, 0))
    assert [g.year for g in gaps] == [2027, 2027]
    assert told(WORKING_DAYS, sh(2026, 10, 10, 10, 0))  # a covered year never asks
    assert len(gaps) == 2
    assert told(None, sh(2027, 1, 9, 10, 0))  # no hours: 24/7, no calendar needed


def test_calendar_hours_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="use either weekly or working_days/rest_days"):
        parse_config({"queues": [{"name": "q", "hours": {
            "weekly": {"mon": ["09:00-17:00"]}, "working_days": ["09:00-17:00"]}}]})
    with pytest.raises(ConfigError, match=r"queues\[0\].hours.working_days: span: '9-17'"):
        parse_config({"queues": [{"name": "q", "hours": {"working_days": ["9-17"]}}]})
    with pytest.raises(ConfigError, match=r"queues\[0\].hours.timezone: working_days/rest_days"):
        parse_config({"queues": [{"name": "q", "hours": {
            "timezone": "Europe/Berlin", "working_days": ["09:00-17:00"]}}]})
    # weekly hours in another time zone stay allowed, as before
    parse_config({"queues": [{"name": "q", "hours": {
        "timezone": "Europe/Berlin", "weekly": {"mon": ["09:00-17:00"]}}}]})


def test_the_call_flow_follows_the_calendar() -> None:
    hours = {"timezone": "Asia/Shanghai", "working_days": ["09:00-18:00"]}
    saturday = datetime(2026, 10, 10, 10, 0, tzinfo=SH).timestamp()  # a working Saturday
    monday = datetime(2026, 10, 5, 10, 0, tzinfo=SH).timestamp()  # National Day
    rig = Rig(make_config(hours=hours))
    rig.login("1001")
    rig.now = saturday
    assert Ring("c1") in rig.arrive("c1")
    rig = Rig(make_config(hours=hours))
    rig.login("1001")
    rig.now = monday
    out = rig.arrive("c2")
    assert Ring("c2") not in out
    assert Play("c2", "prompt-c2-1", ("sound:hotline-closed",)) in out
