"""What a simulated caller keys in, and when: the `dtmf` script of `POST /sim/calls`.

A key goes down `after` seconds after the caller's channel is answered (goes Up); Asterisk
reports a digit when it ends (the DTMF_END frame), so its `ChannelDtmfReceived` comes
`duration_ms` later, and the next digit of the same entry goes down `DIGIT_GAP` seconds
after that. Pure: validation and the schedule; `channels.ChannelLifecycle` runs it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DTMF_DIGITS = "0123456789*#ABCD"
DEFAULT_DURATION_MS = 100
DIGIT_GAP = 0.1
"""seconds between one digit's end and the next one's start (a quick finger)"""


class DtmfError(ValueError):
    """A DTMF script or digit string that cannot be keyed (the message names the entry)."""


@dataclass(frozen=True)
class DtmfPress:
    """One entry: `digits` keyed one after another from `after` s after the answer."""

    after: float
    digits: str
    duration_ms: int = DEFAULT_DURATION_MS

    def __post_init__(self) -> None:
        check_digits(self.digits)
        if not (isinstance(self.after, int | float) and math.isfinite(self.after)
                and self.after >= 0):
            raise DtmfError("after must be seconds >= 0")
        check_duration(self.duration_ms)

    def as_json(self) -> dict[str, Any]:
        return {"after": self.after, "digits": self.digits, "duration_ms": self.duration_ms}


def check_digits(digits: object) -> str:
    if not isinstance(digits, str) or not digits:
        raise DtmfError("digits must be a non-empty string")
    bad = sorted({d for d in digits if d not in DTMF_DIGITS})
    if bad:
        raise DtmfError(f"digits {digits!r}: {''.join(bad)!r} not DTMF (0-9 * # A-D)")
    return digits


def check_duration(duration_ms: object) -> int:
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not (
            1 <= duration_ms <= 10_000):
        raise DtmfError("duration_ms must be an integer in 1..10000")
    return duration_ms


def schedule(after: float, digits: str, duration_ms: int) -> list[tuple[float, str]]:
    """(seconds from the reference, digit) of each `ChannelDtmfReceived`, in order."""
    length = duration_ms / 1000.0
    return [(after + i * (length + DIGIT_GAP) + length, d) for i, d in enumerate(digits)]


def parse_script(raw: object) -> tuple[DtmfPress, ...]:
    """The JSON `dtmf` list (`[{"after": 3, "digits": "4"}, ...]`); `None` is no script."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise DtmfError('dtmf must be a list of {"after": seconds, "digits": "..."}')
    return tuple(_entry(item, i) for i, item in enumerate(raw))


def _entry(item: object, index: int) -> DtmfPress:
    where = f"dtmf[{index}]"
    if not isinstance(item, dict):
        raise DtmfError(f'{where}: expected {{"after": seconds, "digits": "..."}}')
    unknown = sorted(set(item) - {"after", "digits", "duration_ms"})
    if unknown:
        raise DtmfError(f"{where}: unknown key(s) {', '.join(unknown)}")
    after = item.get("after")
    if isinstance(after, bool) or not isinstance(after, int | float):
        raise DtmfError(f"{where}.after: expected seconds >= 0")
    try:
        digits = check_digits(item.get("digits"))
        duration_ms = check_duration(item.get("duration_ms", DEFAULT_DURATION_MS))
        return DtmfPress(float(after), digits, duration_ms)
    except DtmfError as exc:
        raise DtmfError(f"{where}.{exc}") from exc
