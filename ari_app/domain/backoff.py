"""Capped exponential backoff: how long to wait before the next attempt to reach a peer
that failed (Asterisk's ARI, the MQTT broker, the records database). One policy, so the
three reconnect loops cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before reconnect attempt n (0-based): initial * factor**n, capped, jittered
    down by up to `jitter` of itself so many clients do not reconnect in step."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float = 0.0) -> float:
        """Pure: `rand` in [0, 1) comes from the caller's RNG (0: no jitter)."""
        base = min(self.cap, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rand)
