"""What the call-flow core asks the world to do: plain values, no I/O.

The core (ari_app.callflow.switchboard) returns lists of these; the shell
(ari_app.shell.engine) turns each ARI command into exactly one REST request (`request()`
gives method, path, params, body — the shapes of the real traces) and runs timers and
publications itself. Keeping them as data lets tests assert the exact requests of a scenario
without a socket.

Every ARI command says which call's lane it goes in (`call_id`: one call's requests are sent
in order) and, when it is not the call's own request, who it belongs to (`owner`: a
monitoring session's id). A failure answer goes back to its owner; when the owner is gone
it is counted and dropped, so it can never end the call it was sent alongside."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ari_app.domain.events import DomainEvent

# The channel variables the core tags its channels with, re-exported for the call flow
# (defined in ari_app.domain.variables; the KPI fold reads them back).
from ari_app.domain.variables import AGENT_ID as AGENT_ID
from ari_app.domain.variables import CALL_ID as CALL_ID
from ari_app.domain.variables import QUEUE as QUEUE
from ari_app.domain.variables import ROLE as ROLE
from ari_app.domain.variables import SURVEY as SURVEY

TimerKey = tuple[str, str]
"""(purpose, subject id), e.g. ("rona", "agent-1001-1795389322.22") or ("wrapup", "1001")."""

RECORDER_ARGS = "recorder"  # appArgs of the snoop channel that records a call
TRANSFER_HANDLING = "PJSIP_TRANSFER_HANDLING()"  # "ari-only": a phone's REFER is left to us
GONE_STATUSES = frozenset({404, 409, 422})
"""Statuses of a failed request on a channel that is gone or has left Stasis."""


@dataclass(frozen=True, slots=True)
class AriRequest:
    """One REST request: what an ARI command turns into."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SetVar:
    channel_id: str
    variable: str
    value: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/channels/{self.channel_id}/variable",
            {"variable": self.variable, "value": self.value},
        )


@dataclass(frozen=True, slots=True)
class Ring:
    """Ringback to a caller who is not answered yet."""

    channel_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("POST", f"/channels/{self.channel_id}/ring")


@dataclass(frozen=True, slots=True)
class Answer:
    channel_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("POST", f"/channels/{self.channel_id}/answer")


@dataclass(frozen=True, slots=True)
class CreateChannel:
    """`POST /channels/create`: a leg that enters Stasis and is dialled later."""

    channel_id: str
    endpoint: str
    app: str
    app_args: str
    originator: str
    variables: Mapping[str, str]

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        params = {
            "endpoint": self.endpoint,
            "app": self.app,
            "appArgs": self.app_args,
            "channelId": self.channel_id,
        }
        if self.originator:  # a supervisor's phone has none (supervisor_spy trace)
            params["originator"] = self.originator
        return AriRequest("POST", "/channels/create", params, {"variables": dict(self.variables)})


@dataclass(frozen=True, slots=True)
class Dial:
    channel_id: str
    caller: str
    timeout: int

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        params: dict[str, Any] = {"caller": self.caller, "timeout": self.timeout}
        if not self.caller:  # the supervisor's phone: `timeout` only, as in the trace
            del params["caller"]
        return AriRequest("POST", f"/channels/{self.channel_id}/dial", params)


@dataclass(frozen=True, slots=True)
class Hangup:
    channel_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("DELETE", f"/channels/{self.channel_id}")


@dataclass(frozen=True, slots=True)
class Play:
    channel_id: str
    playback_id: str
    media: tuple[str, ...]

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/channels/{self.channel_id}/play",
            {"media": ",".join(self.media), "playbackId": self.playback_id},
        )


@dataclass(frozen=True, slots=True)
class StopPlayback:
    playback_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("DELETE", f"/playbacks/{self.playback_id}")


@dataclass(frozen=True, slots=True)
class StartMoh:
    channel_id: str
    moh_class: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("POST", f"/channels/{self.channel_id}/moh", {"mohClass": self.moh_class})


@dataclass(frozen=True, slots=True)
class StopMoh:
    channel_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("DELETE", f"/channels/{self.channel_id}/moh")


@dataclass(frozen=True, slots=True)
class CreateBridge:
    bridge_id: str
    name: str = "hotline-call"

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST", "/bridges", {"type": "mixing", "bridgeId": self.bridge_id, "name": self.name}
        )


@dataclass(frozen=True, slots=True)
class AddToBridge:
    bridge_id: str
    channel_ids: tuple[str, ...]

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/bridges/{self.bridge_id}/addChannel",
            {"channel": ",".join(self.channel_ids)},
        )


@dataclass(frozen=True, slots=True)
class RemoveFromBridge:
    bridge_id: str
    channel_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST", f"/bridges/{self.bridge_id}/removeChannel", {"channel": self.channel_id}
        )


@dataclass(frozen=True, slots=True)
class Snoop:
    """A snoop channel on `channel_id` (a supervisor listens or whispers through it)."""

    channel_id: str
    snoop_id: str
    spy: str
    whisper: str
    app: str
    app_args: str = "snoop"

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/channels/{self.channel_id}/snoop",
            {
                "app": self.app,
                "appArgs": self.app_args,
                "snoopId": self.snoop_id,
                "spy": self.spy,
                "whisper": self.whisper,
            },
        )


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """Tell a phone whose REFER the app handles (`ari-only`) how the transfer is going."""

    channel_id: str
    state: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST", f"/channels/{self.channel_id}/transfer_progress", {"states": self.state}
        )


@dataclass(frozen=True, slots=True)
class RecordBridge:
    bridge_id: str
    name: str
    format: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/bridges/{self.bridge_id}/record",
            {"name": self.name, "format": self.format, "beep": "false", "ifExists": "overwrite"},
        )


@dataclass(frozen=True, slots=True)
class RecordSnoop:
    """The call's recording: the recorder snoop (`spy=both` on the caller) recorded until
    it hangs up, which it does by itself when the caller's channel goes (docs/records.md).
    No maximum, no silence limit, no beep, no terminating key: ARI's defaults."""

    channel_id: str
    name: str
    format: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/channels/{self.channel_id}/record",
            {"name": self.name, "format": self.format, "ifExists": "overwrite"},
        )


@dataclass(frozen=True, slots=True)
class RecordChannel:
    """A voicemail message: the caller speaks after the prompt."""

    channel_id: str
    name: str
    format: str
    max_seconds: int

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest(
            "POST",
            f"/channels/{self.channel_id}/record",
            {
                "name": self.name,
                "format": self.format,
                "maxDurationSeconds": self.max_seconds,
                "maxSilenceSeconds": 10,
                "beep": "true",
                "ifExists": "overwrite",
                "terminateOn": "#",
            },
        )


@dataclass(frozen=True, slots=True)
class StopRecording:
    name: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("POST", f"/recordings/live/{self.name}/stop")


@dataclass(frozen=True, slots=True)
class DestroyBridge:
    bridge_id: str

    call_id: str = field(default="", compare=False, kw_only=True)
    owner: str = field(default="", compare=False, kw_only=True)

    def request(self) -> AriRequest:
        return AriRequest("DELETE", f"/bridges/{self.bridge_id}")


AriCommand = (
    SetVar
    | Ring
    | Answer
    | CreateChannel
    | Dial
    | Hangup
    | Play
    | StopPlayback
    | StartMoh
    | StopMoh
    | CreateBridge
    | AddToBridge
    | RemoveFromBridge
    | Snoop
    | TransferProgress
    | RecordBridge
    | RecordSnoop
    | RecordChannel
    | StopRecording
    | DestroyBridge
)


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm a timer; the shell feeds `TimerFired(key)` back after `seconds`."""

    key: TimerKey
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: TimerKey


@dataclass(frozen=True, slots=True)
class CheckPin:
    """Check an agent's PIN off the event loop (PBKDF2 is slow on purpose); the shell
    feeds the answer back with `Switchboard.pin_checked(channel_id, ok, now)`."""

    channel_id: str
    agent_id: str
    pin: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Publish:
    """Hand a domain event to the sinks (SQL, MQTT, journal, recordings index)."""

    event: DomainEvent


@dataclass(frozen=True, slots=True)
class Note:
    """A line for the operator's log: the core decides what is worth saying, the shell
    writes it (`level`: warning or error)."""

    level: str
    message: str


Command = AriCommand | StartTimer | CancelTimer | Publish | CheckPin | Note


def call_key(command: AriCommand) -> str:
    """Which call a command belongs to: the shell keeps each call's requests in order."""
    if command.call_id:
        return command.call_id
    for attr in ("channel_id", "bridge_id", "playback_id", "name"):
        value = getattr(command, attr, None)
        if isinstance(value, str):
            return value
    return ""
