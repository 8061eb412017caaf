"""Report parameters and the threshold rules that depend on them.

The fold is parameter-free (it records raw ring and wait times); the rules below turn those
into "within X rings", "RONA", "within the service-level threshold" so the offline report and
the live metrics classify with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kpi.cadence import ring_period_ms

DEFAULT_RINGS = 3
DEFAULT_COUNTRY = "cn"
DEFAULT_SHORT_ABANDON_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class KpiParams:
    """X rings, the ring period P (ms), SL threshold T (ms), short-abandon limit S (ms)."""

    rings: int
    country: str
    ring_period_ms: int
    sl_ms: int
    short_abandon_ms: int

    @property
    def ring_limit_ms(self) -> int:
        """X·P: answered strictly before it is "within X rings"; ringing this long is RONA."""
        return self.rings * self.ring_period_ms

    def as_dict(self) -> dict[str, object]:
        return {
            "rings": self.rings,
            "country": self.country,
            "ring_period_seconds": self.ring_period_ms / 1000,
            "sl_seconds": self.sl_ms / 1000,
            "short_abandon_seconds": self.short_abandon_ms / 1000,
        }


def make_params(
    rings: int = DEFAULT_RINGS,
    country: str = DEFAULT_COUNTRY,
    sl_seconds: float | None = None,
    short_abandon_seconds: float = DEFAULT_SHORT_ABANDON_SECONDS,
    indications: str | Path | None = None,
) -> KpiParams:
    """Validated parameters; T defaults to X·P. Raises ValueError with a readable message."""
    if rings < 1:
        raise ValueError(f"rings must be >= 1, got {rings}")
    if sl_seconds is not None and not sl_seconds >= 0:
        raise ValueError(f"sl-seconds must be >= 0, got {sl_seconds}")
    if not short_abandon_seconds >= 0:
        raise ValueError(f"short-abandon-seconds must be >= 0, got {short_abandon_seconds}")
    period = ring_period_ms(country, indications)
    sl_ms = rings * period if sl_seconds is None else round(sl_seconds * 1000)
    return KpiParams(
        rings=rings,
        country=country.strip().lower(),
        ring_period_ms=period,
        sl_ms=sl_ms,
        short_abandon_ms=round(short_abandon_seconds * 1000),
    )


def ring_number(ring_ms: int, params: KpiParams) -> int:
    """The ring an answer came on: ⌊t/P⌋ + 1."""
    return ring_ms // params.ring_period_ms + 1


def within_rings(ring_ms: int, params: KpiParams) -> bool:
    return ring_ms < params.ring_limit_ms


def is_rona(ring_ms: int | None, status: str, params: KpiParams) -> bool:
    """Rang at least X·P and never answered (busy/unavailable legs are counted as such)."""
    return ring_ms is not None and not status and ring_ms >= params.ring_limit_ms


def within_threshold(wait_ms: int, params: KpiParams) -> bool:
    return wait_ms <= params.sl_ms


def is_short_abandon(wait_ms: int, params: KpiParams) -> bool:
    return wait_ms < params.short_abandon_ms
