"""A supervisor monitoring one live call, as a pure state machine that returns commands.

Shape of the `supervisor_spy` trace: a snoop channel on the agent leg
(`snoop-<agent leg>`, `spy=both`, `whisper=none`, appArgs `snoop`), the supervisor's phone
created into Stasis (`sup-<call>`, appArgs `supervisor`, HOTLINE_ROLE=supervisor and
HOTLINE_CALL_ID), a mixing bridge `spy-<call>` holding both, then the phone dialled
(`timeout` only); once it answers the snoop is tagged HOTLINE_ROLE=snoop.

Modes:
- `listen`: snoop `spy=both whisper=none` — hears agent and caller, nobody hears them;
- `whisper`: snoop `spy=both whisper=out` — the supervisor's voice goes out to the agent's
  phone only (the caller does not hear it);
- `barge`: the supervisor's phone joins the call's own mixing bridge (three-way, and the
  call recording keeps the supervisor's voice); no snoop is needed then.

A mode change re-snoops (a new snoop with the new whisper direction joins the spy
bridge before the old one is hung up, so listening has no gap) or moves the supervisor's
phone between the spy bridge and the call's bridge. Ending hangs up the phone and the
snoop and destroys the spy bridge, whatever the reason.

A supervisor who dials `*31<agent>` (listen), `*32` (whisper) or `*33` (barge) is already
on the line: their own inbound channel (`phone_channel`) is the monitoring leg. It is
tagged and answered instead of created and dialled, and the session is active at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ari_app.domain.commands import (
    AddToBridge,
    Answer,
    Command,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    RemoveFromBridge,
    SetVar,
    Snoop,
)
from ari_app.domain.variables import CALL_ID, ROLE


class MonitorError(Exception):
    """A monitoring request was refused. `code`: not_found, invalid_state or conflict."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Mode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


class Phase(StrEnum):
    DIALLING = "dialling"
    ACTIVE = "active"
    ENDED = "ended"


WHISPER = {Mode.LISTEN: "none", Mode.WHISPER: "out"}
DIAL_TIMEOUT = 10  # seconds, as in the trace


@dataclass(slots=True)
class Monitor:
    session_id: str
    call_id: str
    agent_id: str
    agent_channel: str
    call_bridge: str
    device: str
    started_by: str
    started_at: float
    mode: Mode
    app: str
    suffix: str = ""  # "" for a call's first session, "-2", "-3"... after
    phase: Phase = Phase.DIALLING
    snoop_channel: str = ""
    snoop_seq: int = 0
    spy_bridge_made: bool = False
    in_call_bridge: bool = False
    supervisor_up: bool = True
    answered_at: float | None = None
    ended_at: float | None = None
    end_reason: str = ""
    old_snoops: list[str] = field(default_factory=list)
    phone_channel: str = ""  # the supervisor dialled in (feature code): no create/dial

    @property
    def supervisor_channel(self) -> str:
        return self.phone_channel or f"sup-{self.call_id}{self.suffix}"

    @property
    def spy_bridge(self) -> str:
        return f"spy-{self.call_id}{self.suffix}"

    @property
    def live(self) -> bool:
        return self.phase is not Phase.ENDED

    def _next_snoop_id(self) -> str:
        base = f"snoop-{self.agent_channel}{self.suffix}"
        self.snoop_seq += 1
        return base if self.snoop_seq == 1 else f"{base}-{self.snoop_seq}"

    def _snoop(self, mode: Mode) -> list[Command]:
        sid = self._next_snoop_id()
        self.snoop_channel = sid
        return [
            Snoop(self.agent_channel, sid, "both", WHISPER[mode], self.app, call_id=self.call_id)
        ]

    def _spy_bridge(self) -> list[Command]:
        if self.spy_bridge_made:
            return []
        self.spy_bridge_made = True
        return [CreateBridge(self.spy_bridge, call_id=self.call_id)]

    def start(self) -> list[Command]:
        cid = self.call_id
        sup = self.supervisor_channel
        out: list[Command] = []
        if self.mode is not Mode.BARGE:
            out += self._snoop(self.mode)
        if self.phone_channel:
            out += [
                SetVar(sup, ROLE, "supervisor", call_id=cid),
                SetVar(sup, CALL_ID, cid, call_id=cid),
                Answer(sup, call_id=cid),
            ]
        else:
            out.append(
                CreateChannel(
                    channel_id=sup,
                    endpoint=self.device,
                    app=self.app,
                    app_args="supervisor",
                    originator="",
                    variables={CALL_ID: cid, ROLE: "supervisor"},
                    call_id=cid,
                )
            )
        if self.mode is Mode.BARGE:
            self.in_call_bridge = True
            out.append(AddToBridge(self.call_bridge, (sup,), call_id=cid))
        else:
            out += self._spy_bridge()
            out.append(AddToBridge(self.spy_bridge, (self.snoop_channel, sup), call_id=cid))
        if self.phone_channel:
            out += self.answered(self.started_at)
        else:
            out.append(Dial(sup, caller="", timeout=DIAL_TIMEOUT, call_id=cid))
        return out

    def answered(self, now: float) -> list[Command]:
        if self.phase is not Phase.DIALLING:
            return []
        self.phase = Phase.ACTIVE
        self.answered_at = now
        return self._tag_snoop()

    def _tag_snoop(self) -> list[Command]:
        if not self.snoop_channel:
            return []
        return [SetVar(self.snoop_channel, ROLE, "snoop", call_id=self.call_id)]

    def change(self, mode: Mode) -> list[Command]:
        """Switch modes while live; the same mode again changes nothing."""
        if not self.live:
            raise MonitorError("not_found", f"monitoring session {self.session_id} has ended")
        if mode is self.mode:
            return []
        cid = self.call_id
        sup = self.supervisor_channel
        old_snoop = self.snoop_channel
        out: list[Command] = []
        if mode is Mode.BARGE:
            out.append(RemoveFromBridge(self.spy_bridge, sup, call_id=cid))
            out.append(AddToBridge(self.call_bridge, (sup,), call_id=cid))
            self.in_call_bridge = True
            self.snoop_channel = ""
        else:
            out += self._snoop(mode)
            out += self._spy_bridge()
            if self.in_call_bridge:
                out.append(RemoveFromBridge(self.call_bridge, sup, call_id=cid))
                out.append(AddToBridge(self.spy_bridge, (self.snoop_channel, sup), call_id=cid))
                self.in_call_bridge = False
            else:
                out.append(AddToBridge(self.spy_bridge, (self.snoop_channel,), call_id=cid))
            if self.phase is Phase.ACTIVE:
                out += self._tag_snoop()
        if old_snoop:
            self.old_snoops.append(old_snoop)
            out.append(Hangup(old_snoop, call_id=cid))
        self.mode = mode
        return out

    def end(self, reason: str, now: float) -> list[Command]:
        """Hang up what is left and destroy the spy bridge; idempotent."""
        if not self.live:
            return []
        self.phase = Phase.ENDED
        self.ended_at = now
        self.end_reason = reason
        cid = self.call_id
        out: list[Command] = []
        if self.supervisor_up:
            out.append(Hangup(self.supervisor_channel, call_id=cid))
        if self.snoop_channel:
            out.append(Hangup(self.snoop_channel, call_id=cid))
        if self.spy_bridge_made:
            out.append(DestroyBridge(self.spy_bridge, call_id=cid))
        return out

    def channel_gone(self, channel_id: str, now: float) -> list[Command]:
        """One of this session's channels ended on its own."""
        if channel_id == self.supervisor_channel:
            self.supervisor_up = False
            reason = "supervisor_hangup" if self.answered_at is not None else "no_answer"
            return self.end(reason, now)
        if channel_id == self.snoop_channel:
            self.snoop_channel = ""
            return self.end("snoop_gone", now)
        return []

    def channels(self) -> list[str]:
        return [self.supervisor_channel, *self.old_snoops] + (
            [self.snoop_channel] if self.snoop_channel else []
        )
