"""Asterisk's asynchrony, on demand and reproducible: when a new channel enters Stasis, and
whether a REST answer reaches the client before or after the events the request caused.

Asterisk answers `POST /channels/create` as soon as the channel exists; the channel's own
thread then runs `Stasis()` and `StasisStart` follows a little later. Until then every
operation that needs the app's control of the channel answers 409 (422 for a bridge's
`addChannel`) "Channel not in Stasis application" — races/create_dial_race shows 2 dials of
40 refused that way. An originated channel enters Stasis the same way once answered. And
ARI orders the events on one websocket, but not the websocket against HTTP responses.

`Timing` (all off by default, which is the simulator's exact, trace-fitted order):

- `stasis_delay` (s): a created channel enters Stasis that long after the REST answer, an
  originated one that long after it is answered;
- `random`: each channel's delay is drawn uniformly from [0, stasis_delay] instead;
- `reorder` (0..1): the probability that a REST answer is sent before the events its
  request caused (those events keep their order among themselves and before later ones);
- `seed`: seeds both draws (`None`: a fresh random seed), so the same seed and the same
  requests give the same delays and the same orders.

Set it in the simulator's TOML (`[timing]`), with `SimConfig(timing=Timing(...))`, at run time
with `PUT /sim/timing` or `Simulator.set_timing`, or for every `SimConfig` built without an
explicit `timing` through the environment variable **HOTLINE_SIM_TIMING**, e.g.
`HOTLINE_SIM_TIMING="seed=3,stasis_delay=0.05,random=1,reorder=0.5"` (keys as above;
`random=1|0|true|false`; `seed=none`), so CI can run the whole scenario suite with the race
on. Delays go through the PBX's `later()` (loop.call_later), so looptime stays exact.
"""

from __future__ import annotations

import os
import random as _random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ENV_VAR = "HOTLINE_SIM_TIMING"


class TimingError(ValueError):
    """A timing setting that cannot be used (named by its key)."""


@dataclass(frozen=True)
class Timing:
    stasis_delay: float = 0.0
    random: bool = False
    seed: int | None = None
    reorder: float = 0.0

    def __post_init__(self) -> None:
        if not self.stasis_delay >= 0:  # also refuses NaN
            raise TimingError("timing.stasis_delay: expected seconds >= 0")
        if not 0.0 <= self.reorder <= 1.0:
            raise TimingError("timing.reorder: expected a probability in [0, 1]")

    @property
    def off(self) -> bool:
        return self.stasis_delay == 0 and self.reorder == 0

    def as_json(self) -> dict[str, Any]:
        return {"stasis_delay": self.stasis_delay, "random": self.random, "seed": self.seed,
                "reorder": self.reorder}


def timing_from_mapping(raw: Mapping[str, Any], where: str = "timing") -> Timing:
    """From a TOML table or a JSON object; unknown keys and wrong types are errors."""
    unknown = sorted(set(raw) - {"stasis_delay", "random", "seed", "reorder"})
    if unknown:
        raise TimingError(f"{where}: unknown key {unknown[0]!r}")
    delay, rand = raw.get("stasis_delay", 0.0), raw.get("random", False)
    seed, reorder = raw.get("seed"), raw.get("reorder", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, int | float):
        raise TimingError(f"{where}.stasis_delay: expected seconds >= 0")
    if not isinstance(rand, bool):
        raise TimingError(f"{where}.random: expected true or false")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TimingError(f"{where}.seed: expected an integer or null")
    if isinstance(reorder, bool) or not isinstance(reorder, int | float):
        raise TimingError(f"{where}.reorder: expected a probability in [0, 1]")
    try:
        return Timing(float(delay), rand, seed, float(reorder))
    except TimingError as exc:
        raise TimingError(str(exc).replace("timing", where, 1)) from None


def parse_timing(text: str, where: str = ENV_VAR) -> Timing:
    """`seed=3,stasis_delay=0.05,random=1,reorder=0.5` (any subset, any order)."""
    raw: dict[str, Any] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep:
            raise TimingError(f"{where}: expected key=value, got {item!r}")
        try:
            if key in ("stasis_delay", "reorder"):
                raw[key] = float(value)
            elif key == "seed":
                raw[key] = None if value.lower() in ("", "none", "null") else int(value)
            elif key == "random":
                if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                raw[key] = value.lower() in ("1", "true", "yes", "on")
            else:
                raw[key] = value
        except ValueError:
            raise TimingError(f"{where}: bad value for {key}: {value!r}") from None
    return timing_from_mapping(raw, where)


def timing_from_env() -> Timing:
    """The default timing: HOTLINE_SIM_TIMING when set, else off."""
    text = os.environ.get(ENV_VAR, "")
    return parse_timing(text) if text.strip() else Timing()


class TimingDraws:
    """The seeded draws: one stream for Stasis delays, one for answer-vs-events orders, so
    that neither shifts the other."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        seed = timing.seed if timing.seed is not None else _random.SystemRandom().getrandbits(64)
        self._delays = _random.Random(f"{seed}:stasis")  # noqa: S311 - simulation, not crypto
        self._orders = _random.Random(f"{seed}:rest")  # noqa: S311

    def stasis_delay(self) -> float:
        """How long the next new channel waits before StasisStart (0: at once)."""
        delay = self.timing.stasis_delay
        if delay <= 0:
            return 0.0
        return self._delays.uniform(0.0, delay) if self.timing.random else delay

    def answer_first(self) -> bool:
        """Whether this REST answer goes out before the events its request caused."""
        p = self.timing.reorder
        if p <= 0:
            return False
        return p >= 1 or self._orders.random() < p
