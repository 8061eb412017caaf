"""ARI timestamps: Asterisk writes `2026-11-22T23:15:22.871+0000` (ms precision, numeric offset).

KPIs are computed from these, never from arrival time, so parsing must be exact and fast.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class TimestampError(ValueError):
    """An event carried a timestamp that is not in Asterisk's format."""


def format_ari_timestamp(epoch_seconds: float) -> str:
    """Render epoch seconds the way Asterisk does (UTC, milliseconds, `+0000`)."""
    ms = round(epoch_seconds * 1000)
    secs, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}+0000"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_day_cache: dict[str, float] = {}


def parse_ari_timestamp(text: str) -> float:
    """Epoch seconds of an ARI timestamp; raises TimestampError on anything else.

    The date part is cached: a journal holds millions of events over few days.
    """
    try:
        if len(text) == 28 and text[10] == "T" and text[19] == "." and text[23] in "+-":
            day = text[:10]
            base = _day_cache.get(day)
            if base is None:
                base = (datetime.fromisoformat(day + "T00:00:00+00:00") - _EPOCH).total_seconds()
                if len(_day_cache) > 4096:
                    _day_cache.clear()
                _day_cache[day] = base
            secs = int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
            millis = int(text[20:23])
            sign = 1 if text[23] == "+" else -1
            offset = sign * (int(text[24:26]) * 3600 + int(text[26:28]) * 60)
            return base + secs + millis / 1000.0 - offset
        parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"not an ARI timestamp: {text!r}") from exc
    return (parsed - _EPOCH).total_seconds()

