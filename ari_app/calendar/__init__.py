"""The working-day calendar: one per site, public holidays and working weekends per year.

Pure (no clock, no I/O beyond reading its shipped seed); below `ari_app.config` in the
layers. See docs/calendar.md.
"""

from ari_app.calendar.model import Calendar, CalendarError, Day, YearNotCovered
from ari_app.calendar.seed import Correction, Seed, build_calendar, load_seed, regions

__all__ = [
    "Calendar",
    "CalendarError",
    "Correction",
    "Day",
    "Seed",
    "YearNotCovered",
    "build_calendar",
    "load_seed",
    "regions",
]
