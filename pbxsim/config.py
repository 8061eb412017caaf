"""Simulator configuration: who the PBX is, which phones exist and how they behave.

Defaults mirror the lab Asterisk the traces were recorded on (ari.conf `channelvars`,
agents' phones PJSIP/agent1001..1004, 12345 -> Stasis(hotline,support)).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbxsim.timing import Timing, TimingError, timing_from_env, timing_from_mapping

DEFAULT_CHANNELVARS = (
    "HOTLINE_ROLE", "HOTLINE_CALL_ID", "HOTLINE_QUEUE", "HOTLINE_AGENT_ID", "HOTLINE_SURVEY",
)

# 2026-11-22T23:14:00Z, the day the traces were recorded; events = base + loop time.
DEFAULT_WALL_BASE = 1795389240.0


class ConfigError(ValueError):
    """The configuration file or options are not usable."""


# How Asterisk's threads race when a phone starts ringing (all three are in the traces):
# Dial("") then ChannelStateChange(Ringing) then Dial(RINGING) is the common case.
RINGING_ORDERS = ("dial_first", "state_first", "ringing_first")


@dataclass
class EndpointBehaviour:
    """How a simulated SIP phone answers: after N s, never (None), busy or unreachable.

    `ringing_order` pins the same-instant race of Dial("") / ChannelStateChange(Ringing) /
    Dial(RINGING); None keeps the simulator's choice (dial_first, or ringing_first for a
    channel dialled from inside a bridge, as supervisor_spy shows). `hangup_after`: the
    phone's user hangs up that long after answering (the agent ends the call).
    """

    answer_after: float | None = 2.0
    busy: bool = False
    unavailable: bool = False
    ringing_order: str | None = None
    hangup_after: float | None = None
    """the phone hangs up (BYE) this long after it answered; None: never by itself"""

    def as_json(self) -> dict[str, Any]:
        return {
            "answer_after": self.answer_after,
            "busy": self.busy,
            "unavailable": self.unavailable,
            "ringing_order": self.ringing_order,
            "hangup_after": self.hangup_after,
        }


@dataclass(frozen=True)
class DialplanEntry:
    """`exten => NUMBER,n,Stasis(app,args...)` in `context`."""

    app: str
    args: tuple[str, ...]
    context: str = "hotline-in"
    priority: int = 2


@dataclass
class SimConfig:
    users: dict[str, str] = field(default_factory=lambda: {"hotline": "hotline"})
    channelvars: tuple[str, ...] = DEFAULT_CHANNELVARS
    endpoints: dict[str, EndpointBehaviour] = field(
        default_factory=lambda: {f"PJSIP/agent{n}": EndpointBehaviour() for n in range(1001, 1005)}
    )
    dialplan: dict[str, DialplanEntry] = field(
        default_factory=lambda: {"12345": DialplanEntry("hotline", ("support",))}
    )
    # [agents] _1XXX => Stasis(hotline,transfer,${EXTEN}); used by phone transfers.
    agents_context: str = "agents"
    transfer_app: tuple[str, str] = ("hotline", "transfer")
    transfer_pattern: str = "_1XXX"
    trunk: str = "PJSIP/pstn"
    trunk_host: str = "127.0.0.2"
    recordings_dir: Path = field(default_factory=lambda: Path("recordings-sim"))
    asterisk_id: str = "02:fc:00:00:00:01"
    wall_base: float = DEFAULT_WALL_BASE
    first_uniqueid_seq: int = 1
    sound_durations: dict[str, float] = field(default_factory=dict)
    # Asterisk's asynchrony (pbxsim.timing); off unless HOTLINE_SIM_TIMING says otherwise.
    timing: Timing = field(default_factory=timing_from_env)

    def endpoint_key(self, tech: str, resource: str) -> str:
        return f"{tech}/{resource}"


def _behaviour(raw: Any, where: str) -> EndpointBehaviour:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    after = raw.get("answer_after", 2.0)
    if after is not None and (not isinstance(after, int | float) or after < 0):
        raise ConfigError(f"{where}.answer_after: expected seconds >= 0 or absent")
    if raw.get("never_answer"):
        after = None
    order = raw.get("ringing_order")
    if order is not None and order not in RINGING_ORDERS:
        raise ConfigError(f"{where}.ringing_order: expected one of {', '.join(RINGING_ORDERS)}")
    hangup_after = raw.get("hangup_after")
    if not valid_seconds(hangup_after):
        raise ConfigError(f"{where}.hangup_after: expected seconds >= 0 or absent")
    return EndpointBehaviour(
        answer_after=None if after is None else float(after),
        busy=bool(raw.get("busy", False)),
        unavailable=bool(raw.get("unavailable", False)),
        ringing_order=None if order is None else str(order),
        hangup_after=None if hangup_after is None else float(hangup_after),
    )


def valid_seconds(value: object) -> bool:
    """None, or a finite number of seconds >= 0 (JSON's true/false are not seconds)."""
    if value is None:
        return True
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value >= 0)


def load_config(path: Path | None = None, **overrides: Any) -> SimConfig:
    """Defaults, then a TOML file, then explicit overrides (from command-line options).

    TOML layout::

        channelvars = ["HOTLINE_ROLE", ...]
        recordings_dir = "/tmp/rec"
        [users]
        hotline = "hotline"
        [endpoints."PJSIP/agent1001"]
        answer_after = 3        # omit / never_answer = true for "rings until cancelled"
        hangup_after = 30       # hangs up 30 s after answering; omit: never by itself
        busy = false
        [dialplan.12345]
        app = "hotline"
        args = ["support"]
        [timing]                # see pbxsim.timing; replaces HOTLINE_SIM_TIMING
        stasis_delay = 0.05
        random = true
        seed = 3
        reorder = 0.5
    """
    try:
        cfg = SimConfig()
    except TimingError as exc:  # a bad HOTLINE_SIM_TIMING
        raise ConfigError(str(exc)) from exc
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        if "users" in raw:
            cfg.users = {str(k): str(v) for k, v in dict(raw["users"]).items()}
        if "channelvars" in raw:
            cfg.channelvars = tuple(str(v) for v in raw["channelvars"])
        if "endpoints" in raw:
            cfg.endpoints = {
                str(k): _behaviour(v, f"endpoints.{k}") for k, v in dict(raw["endpoints"]).items()
            }
        if "dialplan" in raw:
            entries: dict[str, DialplanEntry] = {}
            for number, entry in dict(raw["dialplan"]).items():
                if not isinstance(entry, dict) or "app" not in entry:
                    raise ConfigError(f"dialplan.{number}: needs app")
                entries[str(number)] = DialplanEntry(
                    str(entry["app"]),
                    tuple(str(a) for a in entry.get("args", ())),
                    str(entry.get("context", "hotline-in")),
                )
            cfg.dialplan = entries
        if "recordings_dir" in raw:
            cfg.recordings_dir = Path(str(raw["recordings_dir"]))
        if "sound_durations" in raw:
            cfg.sound_durations = {str(k): float(v) for k, v in raw["sound_durations"].items()}
        if "timing" in raw:
            if not isinstance(raw["timing"], dict):
                raise ConfigError("timing: expected a table")
            try:
                cfg.timing = timing_from_mapping(raw["timing"])
            except TimingError as exc:
                raise ConfigError(str(exc)) from exc
        for key in ("trunk", "asterisk_id", "agents_context", "transfer_pattern"):
            if key in raw:
                setattr(cfg, key, str(raw[key]))
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    for key in cfg.endpoints:
        if "/" not in key:
            raise ConfigError(f"endpoint {key!r}: expected TECH/resource")
    return cfg
