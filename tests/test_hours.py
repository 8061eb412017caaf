"""Business hours: weekly spans in the hours' own time zone, holidays, 24/7 default."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ari_app.config.hours import is_open
from ari_app.config.settings import Hours

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
