"""Event time: an ARI `timestamp` as integer epoch milliseconds, cached by second.

The fold never reads a clock; every time is the event's own timestamp. Parsing one is
costly next to the rest of the hot path, so the whole-second prefix is cached in the state
and the millisecond tail read from a table (`MILLIS`).
"""

from __future__ import annotations

from typing import Any

from ari_app.domain.timestamps import TimestampError, parse_ari_timestamp
from kpi.fold_state import KpiState

_TS_CACHE = 65536
# The tail of an ARI timestamp ("871+0000") -> its milliseconds: one probe both reads and
# validates it (the seconds cache is keyed by "YYYY-MM-DDTHH:MM:SS.", dot included).
MILLIS = {f"{n:03d}+0000": n for n in range(1000)}


def event_ms(state: KpiState, text: Any) -> int | None:
    """Epoch ms of an ARI timestamp, cached by second: events share seconds far more often
    than whole timestamps, and a cache of seconds stays small, so it is rarely cleared."""
    if type(text) is not str:
        return None
    cache = state.ts_cache
    if len(text) == 28 and text[19] == "." and text[23:] == "+0000":
        base = cache.get(text[:20])
        millis = text[20:23]
        if base is not None and millis.isdigit():
            return base + int(millis)
    try:
        ms: int = round(parse_ari_timestamp(text) * 1000)
    except TimestampError:
        return None
    if len(text) == 28 and text[19] == "." and text[23:] == "+0000":
        if len(cache) >= _TS_CACHE:
            cache.clear()
        cache[text[:20]] = ms - ms % 1000
    return ms
