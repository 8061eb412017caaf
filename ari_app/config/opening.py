"""When queues are open: weekly hours or the site calendar's working days and days off,
and the calendar corrections an admin makes."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ari_app.calendar import Correction, load_seed, regions
from ari_app.config.fields import (
    _WEEKDAYS,
    _check_spans,
    _check_timezone,
    _Date,
    _dupes,
    _parse_spans,
    _Strict,
)


class Hours(_Strict):
    """Opening hours; a queue without `hours` is open 24/7.

    Either `weekly` (spans per weekday name) or the calendar's day types: `working_days`
    spans on the site calendar's working days (working weekends included, holidays not),
    `rest_days` spans on its days off. `holidays` are closed in both.
    """

    timezone: str = "Asia/Shanghai"
    weekly: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    working_days: tuple[str, ...] | None = None
    rest_days: tuple[str, ...] | None = None
    holidays: tuple[date, ...] = ()

    @field_validator("weekly")
    @classmethod
    def _spans(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, spans in v.items():
            if day not in _WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(_WEEKDAYS)})")
            _check_spans(day, spans)
        return v

    @field_validator("working_days", "rest_days")
    @classmethod
    def _day_type_spans(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None:
            _check_spans("span", v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)

    @model_validator(mode="after")
    def _one_kind(self) -> Hours:
        if self.uses_calendar and self.weekly:
            raise ValueError("use either weekly or working_days/rest_days, not both")
        return self

    @property
    def uses_calendar(self) -> bool:
        """True when the hours follow the site calendar's working days and days off."""
        return self.working_days is not None or self.rest_days is not None

    def spans(self, weekday: int) -> list[tuple[time, time]]:
        """Open spans for a weekday (0 = Monday) under `weekly`."""
        return _parse_spans(self.weekly.get(_WEEKDAYS[weekday], ()))

    def day_type_spans(self, working: bool) -> list[tuple[time, time]]:
        """Open spans for a working day or a day off under `working_days`/`rest_days`."""
        return _parse_spans((self.working_days if working else self.rest_days) or ())


class CalendarDay(_Strict):
    """An admin's correction of the site calendar: the date is (not) a working day."""

    date: _Date
    working: bool
    note: Annotated[str, Field(min_length=1)]  # why, and on whose word: the audit trail
    name: str = ""


class SiteCalendarSettings(_Strict):
    """A site's working-day calendar: the shipped seed of its region, plus corrections."""

    region: str = "cn"
    timezone: str = "Asia/Shanghai"
    years: tuple[Annotated[int, Field(ge=1900, le=2200)], ...] = ()
    days: tuple[CalendarDay, ...] = ()

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        if v not in regions():
            raise ValueError(f"no shipped calendar for {v!r} (have: {', '.join(regions())})")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_timezone(v)

    @field_validator("days")
    @classmethod
    def _days(cls, v: tuple[CalendarDay, ...], info: ValidationInfo) -> tuple[CalendarDay, ...]:
        errors: list[str] = []
        _dupes("days", "date", [d.date.isoformat() for d in v], errors)
        region = info.data.get("region")
        if region is not None:
            known = load_seed(region).years | set(info.data.get("years", ()))
            for d in v:
                if d.date.year not in known:
                    errors.append(
                        f"{d.date}: {d.date.year} has no data (neither seeded nor in years):"
                        f" list all its days off and working weekends, and add it to years"
                    )
        if errors:
            raise ValueError("; ".join(errors))
        return v

    def corrections(self) -> list[Correction]:
        return [Correction(d.date, d.working, d.note, d.name) for d in self.days]


class OtherSiteCalendar(SiteCalendarSettings):
    """Another site's calendar (for `hotline calendar ... --site NAME`)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class CalendarSettings(SiteCalendarSettings):
    """This site's (`engine.site`) calendar, and other sites' in `sites`."""

    sites: tuple[OtherSiteCalendar, ...] = ()

