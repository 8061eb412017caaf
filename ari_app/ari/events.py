"""ARI events: frames from `/ari/events` parsed with orjson into plain dicts.

Plain dicts keep the hot path fast; the TypedDicts below give the engine typed access
(`cast(StasisStart, event)` after checking `event["type"]`). Bad frames are rejected
with a reason and counted by `EventParser`; they never raise into the reader loop.
"""


import logging
from dataclasses import dataclass
from typing import Any, Final, NotRequired, TypedDict

import orjson

from ari_app.ari.models import Bridge, Channel, Endpoint, LiveRecording, Playback

log = logging.getLogger(__name__)

Event = dict[str, Any]
"""An ARI event as parsed: a dict with at least a string `type`."""

KNOWN_EVENT_TYPES: Final[frozenset[str]] = frozenset({
    "ApplicationMoveFailed", "ApplicationRegistered", "ApplicationReplaced",
    "ApplicationUnregistered", "BridgeAttendedTransfer", "BridgeBlindTransfer",
    "BridgeCreated", "BridgeDestroyed", "BridgeMerged", "BridgeVideoSourceChanged",
    "CallBroadcast", "CallClaimed", "ChannelCallerId", "ChannelConnectedLine",
    "ChannelCreated", "ChannelDestroyed", "ChannelDialplan", "ChannelDtmfReceived",
    "ChannelEnteredBridge", "ChannelHangupRequest", "ChannelHold", "ChannelLeftBridge",
    "ChannelStateChange", "ChannelTalkingFinished", "ChannelTalkingStarted",
    "ChannelToneDetected", "ChannelTransfer", "ChannelUnhold", "ChannelUserevent",
    "ChannelVarset", "ContactStatusChange", "DeviceStateChanged", "Dial",
    "EndpointStateChange", "PeerStatusChange", "PlaybackContinuing", "PlaybackFinished",
    "PlaybackStarted", "RESTResponse", "RecordingFailed", "RecordingFinished",
    "RecordingStarted", "StasisEnd", "StasisStart", "TextMessageReceived",
})
"""Every event type of Asterisk 22's events.json (a test keeps this equal to the spec)."""


class BaseEvent(TypedDict):
    type: str
    application: str
    timestamp: str
    asterisk_id: NotRequired[str]


class StasisStart(BaseEvent):
    args: list[str]
    channel: Channel
    replace_channel: NotRequired[Channel]


class StasisEnd(BaseEvent):
    channel: Channel


class ChannelCreated(BaseEvent):
    channel: Channel


class ChannelDestroyed(BaseEvent):
    cause: int
    cause_txt: str
    channel: Channel
    tech_cause: NotRequired[int]


class ChannelStateChange(BaseEvent):
    channel: Channel


class ChannelHangupRequest(BaseEvent):
    channel: Channel
    cause: NotRequired[int]
    tech_cause: NotRequired[int]
    soft: NotRequired[bool]


class ChannelVarset(BaseEvent):
    variable: str
    value: str
    channel: NotRequired[Channel]


class ChannelDialplan(BaseEvent):
    channel: Channel
    dialplan_app: str
    dialplan_app_data: str


class ChannelDtmfReceived(BaseEvent):
    digit: str
    duration_ms: int
    channel: Channel


class ChannelHold(BaseEvent):
    channel: Channel
    musicclass: NotRequired[str]


class ChannelUnhold(BaseEvent):
    channel: Channel


class ChannelConnectedLine(BaseEvent):
    channel: Channel


class ChannelCallerId(BaseEvent):
    caller_presentation: int
    caller_presentation_txt: str
    channel: Channel


class ChannelEnteredBridge(BaseEvent):
    bridge: Bridge
    channel: NotRequired[Channel]


class ChannelLeftBridge(BaseEvent):
    bridge: Bridge
    channel: Channel


class Dial(BaseEvent):
    peer: Channel
    dialstatus: str
    caller: NotRequired[Channel]
    forward: NotRequired[str]
    forwarded: NotRequired[Channel]
    dialstring: NotRequired[str]


class BridgeCreated(BaseEvent):
    bridge: Bridge


class BridgeDestroyed(BaseEvent):
    bridge: Bridge


class BridgeBlindTransfer(BaseEvent):
    channel: Channel
    exten: str
    context: str
    result: str
    is_external: bool
    replace_channel: NotRequired[Channel]
    transferee: NotRequired[Channel]
    bridge: NotRequired[Bridge]


class ReferredBy(TypedDict):
    source_channel: Channel
    connected_channel: NotRequired[Channel]
    bridge: NotRequired[Bridge]


class ReferTo(TypedDict):
    requested_destination: dict[str, Any]
    destination_channel: NotRequired[Channel]
    connected_channel: NotRequired[Channel]
    bridge: NotRequired[Bridge]


class ChannelTransfer(BaseEvent):
    refer_to: ReferTo
    referred_by: ReferredBy
    state: NotRequired[str]


class PlaybackStarted(BaseEvent):
    playback: Playback


class PlaybackContinuing(BaseEvent):
    playback: Playback


class PlaybackFinished(BaseEvent):
    playback: Playback


class RecordingStarted(BaseEvent):
    recording: LiveRecording


class RecordingFinished(BaseEvent):
    recording: LiveRecording


class RecordingFailed(BaseEvent):
    recording: LiveRecording


class EndpointStateChange(BaseEvent):
    endpoint: Endpoint


TYPED_EVENTS: Final[dict[str, type]] = {
    cls.__name__: cls
    for cls in (
        StasisStart, StasisEnd, ChannelCreated, ChannelDestroyed, ChannelStateChange,
        ChannelHangupRequest, ChannelVarset, ChannelDialplan, ChannelDtmfReceived,
        ChannelHold, ChannelUnhold, ChannelConnectedLine, ChannelCallerId,
        ChannelEnteredBridge, ChannelLeftBridge, Dial, BridgeCreated, BridgeDestroyed,
        BridgeBlindTransfer, ChannelTransfer, PlaybackStarted, PlaybackContinuing,
        PlaybackFinished, RecordingStarted, RecordingFinished, RecordingFailed,
        EndpointStateChange,
    )
}
"""Event types that have a TypedDict here (the rest are still delivered as dicts)."""


class FrameError(ValueError):
    """A WebSocket frame that is not an ARI event; `reason` is a short counter key."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


def parse_frame(frame: str | bytes) -> Event:
    """One WebSocket text frame to an event dict; FrameError if it is not one (pure)."""
    try:
        value = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise FrameError("malformed", str(exc)) from None
    if type(value) is not dict:
        raise FrameError("not_object", type(value).__name__)
    event_type = value.get("type")
    if type(event_type) is not str or not event_type:
        raise FrameError("missing_type", "no string `type`")
    return value


@dataclass
class ParserStats:
    parsed: int = 0
    unknown_type: int = 0
    malformed: int = 0
    not_object: int = 0
    missing_type: int = 0

    @property
    def rejected(self) -> int:
        return self.malformed + self.not_object + self.missing_type


class EventParser:
    """Counts what comes off the socket: parsed, unknown types (kept), rejected frames."""

    def __init__(self, known_types: frozenset[str] = KNOWN_EVENT_TYPES) -> None:
        self.known_types = known_types
        self.stats = ParserStats()

    def parse(self, frame: str | bytes) -> Event | None:
        """The event, or None (logged and counted) when the frame is not an event."""
        try:
            event = parse_frame(frame)
        except FrameError as exc:
            setattr(self.stats, exc.reason, getattr(self.stats, exc.reason) + 1)
            log.warning("ARI frame rejected (%s); first bytes %r", exc, frame[:80])
            return None
        self.stats.parsed += 1
        if event["type"] not in self.known_types:
            self.stats.unknown_type += 1
            log.info("ARI event of unknown type %r passed through", event["type"])
        return event
