"""A pure test rig for the call-flow core: recorded-shape ARI events in, commands out.

Timers are kept in a dict and fired by `advance()`, so tests run without sockets or sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ari_app.callflow.switchboard import Limits, Switchboard
from ari_app.config.hours import opening_hours
from ari_app.config.settings import Config, parse_config
from ari_app.config.site_calendar import site_calendar
from ari_app.domain.commands import (
    AriCommand,
    CancelTimer,
    Command,
    Note,
    Publish,
    StartTimer,
    TimerKey,
)
from ari_app.domain.events import DomainEvent
from ari_app.domain.passwords import hash_secret
from ari_app.domain.timestamps import format_ari_timestamp

T0 = 1_795_389_322.0  # 2026-11-22T23:15:22Z, the traces' day (a Sunday night in UTC)
PIN = "4321"
PIN_HASH = hash_secret(PIN, iterations=1000)


def make_config(extra_queues: tuple[dict[str, Any], ...] = (), **queue: Any) -> Config:
    agents = [
        {
            "id": f"100{i}",
            "name": f"Agent {i}",
            "endpoint": f"PJSIP/agent100{i}",
            "pin_hash": PIN_HASH,
        }
        for i in range(1, 5)
    ]
    q = {"name": "support", "numbers": ["12345"], "wrapup_seconds": 10.0, **queue}
    return parse_config(
        {"queues": [q, *extra_queues], "agents": agents, "ringing": {"rings": 3, "country": "cn"}}
    )


def channel(
    cid: str, number: str = "13900001", state: str = "Ring", **extra: Any
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"PJSIP/x-{cid}",
        "state": state,
        "caller": {"name": "", "number": number},
        "connected": {"name": "", "number": ""},
        "dialplan": {
            "context": "hotline-in",
            "exten": "12345",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": "hotline,support",
        },
        "channelvars": {},
        **extra,
    }


class Rig:
    def __init__(self, config: Config | None = None, limits: Limits | None = None) -> None:
        self.config = config or make_config()
        self.core = Switchboard(
            self.config,
            ring_period=lambda country: 5.0,
            is_open=opening_hours(site_calendar(self.config)),
            limits=limits or Limits(),
        )
        self.now = T0
        self.timers: dict[TimerKey, float] = {}
        self.sent: list[AriCommand] = []
        self.published: list[DomainEvent] = []
        self.notes: list[Note] = []  # what the core asked the shell to log

    # -- feeding the core
    def _run(self, commands: Iterable[Command]) -> list[AriCommand]:
        ari: list[AriCommand] = []
        for c in commands:
            if isinstance(c, StartTimer):
                self.timers[c.key] = self.now + c.seconds
            elif isinstance(c, CancelTimer):
                self.timers.pop(c.key, None)
            elif isinstance(c, Publish):
                self.published.append(c.event)
            elif isinstance(c, Note):
                self.notes.append(c)
            else:
                ari.append(c)
        self.sent += ari
        return ari

    def event(self, kind: str, **fields: Any) -> list[AriCommand]:
        ev = {
            "type": kind,
            "application": "hotline",
            "timestamp": format_ari_timestamp(self.now),
            **fields,
        }
        return self._run(self.core.on_event(ev, self.now))

    def raw(self, ev: Any) -> list[AriCommand]:
        return self._run(self.core.on_event(ev, self.now))

    def fail(self, command: AriCommand, status: int) -> list[AriCommand]:
        return self._run(self.core.on_failure(command, status, self.now))

    def advance(self, seconds: float) -> list[AriCommand]:
        """Move time on, firing due timers in order."""
        end = self.now + seconds
        out: list[AriCommand] = []
        while True:
            due = [(t, k) for k, t in self.timers.items() if t <= end]
            if not due:
                break
            t, key = min(due)
            del self.timers[key]
            self.now = max(self.now, t)
            out += self._run(self.core.on_timer(key, self.now))
        self.now = end
        return out

    def login(self, agent_id: str, device: str = "") -> list[AriCommand]:
        return self._run(
            self.core.login(agent_id, PIN, device or f"PJSIP/agent{agent_id}", self.now)
        )

    def act(self, commands: list[Command]) -> list[AriCommand]:
        return self._run(commands)

    # -- recorded-shape events
    def arrive(
        self, cid: str, number: str = "13900001", args: tuple[str, ...] = ("support",)
    ) -> list[AriCommand]:
        return self.event("StasisStart", args=list(args), channel=channel(cid, number))

    def agent_event(
        self, kind: str, leg: str, state: str = "Ringing", **extra: Any
    ) -> list[AriCommand]:
        return self.event(kind, channel=channel(leg, "", state), **extra)

    def ringing(self, leg: str) -> list[AriCommand]:
        out = self.event("Dial", dialstatus="", peer=channel(leg, "", "Down"))
        out += self.agent_event("ChannelStateChange", leg, "Ringing")
        out += self.event("Dial", dialstatus="RINGING", peer=channel(leg, "", "Ringing"))
        return out

    def answer(self, leg: str) -> list[AriCommand]:
        out = self.agent_event("ChannelStateChange", leg, "Up")
        out += self.event("Dial", dialstatus="ANSWER", peer=channel(leg, "", "Up"))
        return out

    def hangup(self, cid: str, cause: int = 16) -> list[AriCommand]:
        out = self.event("ChannelHangupRequest", channel=channel(cid), cause=cause)
        out += self.event("StasisEnd", channel=channel(cid))
        out += self.event("ChannelDestroyed", channel=channel(cid), cause=cause, cause_txt="x")
        return out

    def playback_finished(self, pid: str) -> list[AriCommand]:
        return self.event(
            "PlaybackFinished",
            playback={"id": pid, "state": "done", "media_uri": "x", "target_uri": "channel:x"},
        )

    def recording_finished(self, name: str, duration: int) -> list[AriCommand]:
        return self.event(
            "RecordingFinished",
            recording={
                "name": name,
                "format": "wav",
                "state": "done",
                "duration": duration,
                "target_uri": "bridge:x",
            },
        )

    def requests(self, commands: Iterable[AriCommand] | None = None) -> list[tuple[str, str]]:
        return [
            (c.request().method, c.request().path)
            for c in (self.sent if commands is None else commands)
        ]

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]
