"""The simulated PBX's objects and how Asterisk renders them (snapshots) in ARI JSON.

Plain data plus pure snapshot functions; the state machine is `pbx.Pbx` (and its concern modules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ari_app.domain.timestamps import format_ari_timestamp
from pbxsim.dtmf import DtmfPress

Json = dict[str, Any]

CAUSE_TEXT: dict[int, str] = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    26: "Answered elsewhere",
    27: "Destination out of order",
    28: "Invalid number format (incomplete number)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    58: "Bearer capability not available",
    127: "Interworking, unspecified",
}

# DELETE /channels/{id}?reason=... -> Q.850 cause (res/ari/resource_channels.c).
HANGUP_REASONS: dict[str, int] = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 19,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}

# The soft-hangup flag Asterisk reports as `cause` in ChannelHangupRequest.
SOFTHANGUP_EXPLICIT = 32
SOFTHANGUP_APPUNLOAD = 16


class Cancellable(Protocol):
    def cancel(self) -> None: ...


@dataclass
class Refer:
    """A phone's blind-transfer REFER left to the ARI app (PJSIP_TRANSFER_HANDLING=ari-only).

    Its framehook stays on the channel (ruling out native RTP bridging); `done` once the app
    reported a final state with /transfer_progress.
    """

    destination: str
    done: bool = False


@dataclass
class Channel:
    id: str
    name: str
    tech: str  # PJSIP, Snoop, Recorder, Local
    resource: str
    protocol_id: str
    state: str
    created: float  # wall-clock seconds
    context: str
    exten: str
    priority: int
    app_name: str = ""
    app_data: str = ""
    caller_name: str = ""
    caller_number: str = ""
    connected_name: str = ""
    connected_number: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    app: str | None = None  # the Stasis application subscribed to it
    in_stasis: bool = False
    via_dialplan: bool = False  # entered Stasis through the dialplan app (STASISSTATUS)
    pre_stasis_app: tuple[str, str] = ("", "")
    bridge: str | None = None
    originator: str | None = None
    snoops: list[str] = field(default_factory=list)
    snoop_target: str | None = None
    pending_destroy: tuple[int, int | None] | None = None
    timers: list[Cancellable] = field(default_factory=list)
    answered_at: float | None = None
    dialing: bool = False
    originated: bool = False  # dialled by POST /channels (AppDial2 until answered)
    ari_created: bool = False  # made by POST /channels/create (its own thread runs Stasis)
    dial_app: tuple[str, tuple[str, ...]] | None = None
    talk: float | None = None  # inbound: the talk ends this long after answer
    hangup_by: str = "caller"  # inbound: who ends it then, "caller" or "agent"
    dtmf: tuple[DtmfPress, ...] = ()  # inbound: keys pressed, counted from the answer
    inbound: bool = False
    held: bool = False
    playbacks: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    transfer_handling: str = "core"  # PJSIP_TRANSFER_HANDLING(): core | ari-only
    refer: Refer | None = None  # a REFER handed to the app (ari-only)
    local_partner: str | None = None  # the other half of a Local channel pair
    replaces: str | None = None  # the channel this Local half replaced in its bridge
    pending_caller: tuple[str, str] | None = None  # caller id set but not yet published
    gone: bool = False

    @property
    def is_pjsip(self) -> bool:
        return self.tech == "PJSIP"


@dataclass
class Bridge:
    id: str
    bridge_type: str  # mixing | holding
    name: str
    created: float
    app: str | None
    members: list[str] = field(default_factory=list)  # join order, incl. recorder channels
    technology: str = "simple_bridge"
    recordings: list[str] = field(default_factory=list)
    playbacks: list[str] = field(default_factory=list)
    moh: bool = False


@dataclass
class Playback:
    id: str
    target_uri: str
    media: list[str]
    index: int
    language: str
    state: str
    app: str | None
    timer: Cancellable | None = None


@dataclass
class LiveRecording:
    name: str
    format: str
    target_uri: str
    state: str
    app: str | None
    started: float | None = None  # loop time
    paused_at: float | None = None
    paused_total: float = 0.0
    max_duration: float | None = None
    recorder_channel: str | None = None
    timer: Cancellable | None = None


def channel_snapshot(ch: Channel, channelvars: tuple[str, ...]) -> Json:
    snap: Json = {
        "accountcode": "",
        "caller": {"name": ch.caller_name, "number": ch.caller_number},
        "connected": {"name": ch.connected_name, "number": ch.connected_number},
        "creationtime": format_ari_timestamp(ch.created),
        "dialplan": {
            "app_data": ch.app_data,
            "app_name": ch.app_name,
            "context": ch.context,
            "exten": ch.exten,
            "priority": ch.priority,
        },
        "id": ch.id,
        "language": "en",
        "name": ch.name,
        "protocol_id": ch.protocol_id,
        "state": ch.state,
    }
    if channelvars:
        snap["channelvars"] = {v: ch.variables.get(v, "") for v in channelvars}
    return snap


def bridge_snapshot(br: Bridge, listed: list[str]) -> Json:
    return {
        "bridge_class": "stasis",
        "bridge_type": br.bridge_type,
        "channels": listed,
        "creationtime": format_ari_timestamp(br.created),
        "creator": "Stasis",
        "id": br.id,
        "name": br.name,
        "technology": br.technology,
        "video_mode": "talker",
    }


def playback_snapshot(pb: Playback) -> Json:
    snap: Json = {
        "id": pb.id,
        "language": pb.language,
        "media_uri": pb.media[pb.index],
        "state": pb.state,
        "target_uri": pb.target_uri,
    }
    if pb.index + 1 < len(pb.media):
        snap["next_media_uri"] = pb.media[pb.index + 1]
    return snap


def recording_snapshot(rec: LiveRecording, duration: int | None = None) -> Json:
    snap: Json = {
        "format": rec.format,
        "name": rec.name,
        "state": rec.state,
        "target_uri": rec.target_uri,
    }
    if duration is not None:
        snap["duration"] = duration
    return snap


def qos_values(ch: Channel, up_seconds: float) -> list[tuple[str, str]]:
    """RTCP statistics Asterisk sets on a PJSIP channel as it hangs up (values are noise)."""
    ssrc = (sum(map(ord, ch.id)) * 2654435761) % 2**31
    tx = int(up_seconds * 50)
    zero8 = ";".join(f"{k}=000.000000" for k in (
        "minrxjitter", "maxrxjitter", "avgrxjitter", "stdevrxjitter",
        "mintxjitter", "maxtxjitter", "avgtxjitter", "stdevtxjitter")) + ";"
    lost = ";".join(f"  {k}=000.000000" for k in (
        "minrxlost", "maxrxlost", "avgrxlost", "stdevrxlost",
        "mintxlost", "maxtxlost", "avgtxlost", "stdevtxlost")) + ";"
    rtt = ";".join(f"     {k}=000.000000" for k in (
        "minrtt", "maxrtt", "avgrtt", "stdevrtt")) + ";"
    mes = ";".join(f"   {k}=000.000000" for k in (
        "minrxmes", "maxrxmes", "avgrxmes", "stdevrxmes",
        "mintxmes", "maxtxmes", "avgtxmes", "stdevtxmes")) + ";"
    return [
        ("RTPAUDIOQOS", f"ssrc={ssrc};themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;"
                        f"txjitter=0.000000;txcount={tx};rlp=0;rtt=0.000000;"
                        "rxmes=0.000000;txmes=0.000000"),
        ("RTPAUDIOQOSJITTER", zero8),
        ("RTPAUDIOQOSLOSS", lost),
        ("RTPAUDIOQOSRTT", rtt),
        ("RTPAUDIOQOSMES", mes),
    ]
