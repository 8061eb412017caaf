"""The simulated Asterisk's shared state: objects by id, ids and names, the clock, event
emission, channel variables and entering / leaving Stasis.

`PbxCore` is what every concern module (channels, dialing, bridging, playbacks,
recordings, transfers, snoop) builds on; `pbx.Pbx` combines them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ari_app.domain.timestamps import format_ari_timestamp
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.model import (
    Bridge,
    Cancellable,
    Channel,
    Json,
    LiveRecording,
    Playback,
    bridge_snapshot,
    channel_snapshot,
)
from pbxsim.timing import Timing, TimingDraws

Later = Callable[[float, Callable[[], None]], Cancellable]
Sink = Callable[[str, Json], None]


class AriError(Exception):
    """A REST failure exactly as Asterisk reports it: status and JSON body."""

    def __init__(self, status: int, message: str, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {key: message}


@dataclass
class Stats:
    channels_created: int = 0
    channels_destroyed: int = 0
    inbound_calls: int = 0
    inbound_rejected: int = 0
    originates: int = 0
    events: int = 0
    peak_channels: int = 0
    events_filtered: int = 0  # not sent: the app's event filter does not allow them


class PbxCore(ABC):
    """State and primitives shared by every concern; see the module docstring."""

    def __init__(self, config: SimConfig, now: Callable[[], float], later: Later, sink: Sink):
        self.config = config
        self._now = now
        self._later = later
        self._sink = sink
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.playbacks: dict[str, Playback] = {}
        self.live_recordings: dict[str, LiveRecording] = {}
        self.apps: dict[str, int] = {}  # registered app -> number of websockets
        # app -> (allowed, disallowed) event types, as set by PUT .../eventFilter
        self.event_filters: dict[str, tuple[list[Json], list[Json]]] = {}
        self.global_vars: dict[str, str] = {}
        self.endpoints: dict[str, EndpointBehaviour] = dict(config.endpoints)
        self.stats = Stats()
        self._seq = config.first_uniqueid_seq
        self._name_seq = 1
        self._snoop_seq = 1
        self._unreal_seq = 1  # core_unreal.c numbers Recorder/ and Local/ pairs alike
        self._ids = 0
        self.started = config.wall_base
        self.timing = TimingDraws(config.timing)

    def set_timing(self, timing: Timing) -> None:
        """New timing settings, draws restarted from their seed."""
        self.config.timing = timing
        self.timing = TimingDraws(timing)

    def wall(self) -> float:
        return self.config.wall_base + self._now()

    def _uniqueid(self) -> str:
        uid = f"{int(self.wall())}.{self._seq}"
        self._seq += 1
        return uid

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{int(self.wall())}.{self._ids}"

    def snap(self, ch: Channel) -> Json:
        return channel_snapshot(ch, self.config.channelvars)

    def bsnap(self, br: Bridge) -> Json:
        real = [m for m in br.members if self.channels[m].tech != "Recorder"]
        return bridge_snapshot(br, real if real else list(br.members))

    def _emit(self, app: str | None, etype: str, **fields: Any) -> None:
        if app is None:
            return
        rules = self.event_filters.get(app)
        if rules is not None and not _allowed(rules, etype):
            self.stats.events_filtered += 1  # Asterisk does not even serialise it
            return
        event: Json = {"type": etype, "timestamp": _ts(self.wall())}
        event.update(fields)
        event["application"] = app
        event["asterisk_id"] = self.config.asterisk_id
        self.stats.events += 1
        self._sink(app, event)

    def _ch_event(self, ch: Channel, etype: str, **fields: Any) -> None:
        self._emit(ch.app, etype, channel=self.snap(ch), **fields)

    def _after(self, ch: Channel | None, delay: float, fn: Callable[[], None]) -> Cancellable:
        handle = self._later(max(0.0, delay), fn)
        if ch is not None:
            ch.timers.append(handle)
        return handle

    def channel(self, channel_id: str, message: str = "Channel not found",
                status: int = 404) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None or ch.gone:
            raise AriError(status, message)
        return ch

    def stasis_channel(self, channel_id: str) -> Channel:
        ch = self.channel(channel_id)
        if not ch.in_stasis:
            raise AriError(409, "Channel not in Stasis application")
        return ch

    def bridge(self, bridge_id: str) -> Bridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise AriError(404, "Bridge not found")
        return br

    def _new_channel(self, *, tech: str, resource: str, channel_id: str | None, state: str,
                     context: str, exten: str, priority: int, protocol_id: str,
                     name: str | None = None) -> Channel:
        if channel_id and channel_id in self.channels and not self.channels[channel_id].gone:
            raise AriError(409, "Channel with given unique ID already exists")
        uid = self._uniqueid()
        if name is None:
            name = f"{tech}/{resource}-{self._name_seq:08x}"
            self._name_seq += 1
        ch = Channel(
            id=channel_id or uid, name=name, tech=tech, resource=resource,
            protocol_id=protocol_id, state=state, created=self.wall(),
            context=context, exten=exten, priority=priority,
        )
        self.channels[ch.id] = ch
        self.stats.channels_created += 1
        self.stats.peak_channels = max(self.stats.peak_channels, len(self.channels))
        return ch

    def _sip_callid(self) -> str:
        n = self._seq * 7919 + self._name_seq
        return f"{n:08x}-{n * 31 % 65536:04x}-4{n % 4096:03x}-a{n % 4093:03x}-{n * 97:012x}"[:36]

    def _setvar(self, ch: Channel, name: str, value: str) -> None:
        ch.variables[name] = value
        self._ch_event(ch, "ChannelVarset", variable=name, value=value)

    def _unsetvar(self, ch: Channel, name: str) -> None:
        """Asterisk only reports an unset when the variable existed."""
        if name in ch.variables:
            del ch.variables[name]
            self._ch_event(ch, "ChannelVarset", variable=name, value="")

    def set_variable(self, channel_id: str, name: str, value: str) -> None:
        ch = self.stasis_channel(channel_id)  # unlike GET, setting needs the app's control
        if not name:
            raise AriError(400, "Variable name is required")
        if name.startswith("PJSIP_TRANSFER_HANDLING("):
            ch.transfer_handling = "ari-only" if value == "ari-only" else "core"
            return
        self._setvar(ch, name, value)

    def get_variable(self, channel_id: str, name: str) -> Json:
        ch = self.channel(channel_id)
        if not name:
            raise AriError(400, "Variable name is required")
        if name.startswith("PJSIP_TRANSFER_HANDLING("):
            return {"value": ch.transfer_handling}
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found")
        return {"value": ch.variables[name]}

    def _enter_stasis(self, ch: Channel, app: str, args: Iterable[str], *, via_dialplan: bool,
                      dialplan_event: bool) -> None:
        args = list(args)
        ch.pre_stasis_app = (ch.app_name, ch.app_data) if ch.originated else ("", "")
        data = ",".join([app, *args])
        ch.app_name, ch.app_data = ("Stasis", data) if via_dialplan else ("", "")
        if dialplan_event:
            self._ch_event(ch, "ChannelDialplan", dialplan_app="Stasis", dialplan_app_data=data)
        ch.via_dialplan = via_dialplan
        if via_dialplan and ch.app is not None:
            # Delivered only when the app already watches the channel (create/originate).
            self._setvar(ch, "STASISSTATUS", "")
        else:
            ch.variables["STASISSTATUS"] = ""
        ch.app = app
        ch.in_stasis = True
        self._ch_event(ch, "StasisStart", args=args)

    def _enter_stasis_later(self, ch: Channel, enter: Callable[[], None]) -> None:
        """A channel Asterisk puts into Stasis from its own thread (create, originate): at
        once with timing off, else after the drawn delay; until then `ch.in_stasis` is False,
        so operations that need the app's control of it answer 409 / 422."""
        if self.config.timing.stasis_delay <= 0:
            enter()
            return

        def entered() -> None:
            if not ch.gone:
                enter()

        self._after(ch, self.timing.stasis_delay(), entered)

    def _leave_stasis(self, ch: Channel) -> None:
        if not ch.in_stasis:
            return
        ch.in_stasis = False
        self._ch_event(ch, "StasisEnd")
        if ch.tech == "Local":
            # Fitted to agent_phone_blind_transfer: nothing after a Local half's StasisEnd
            # (no STASISSTATUS, no ChannelDestroyed) reaches the app.
            ch.app = None
            return
        if ch.via_dialplan:
            self._setvar(ch, "STASISSTATUS", "SUCCESS")

    # ------------------------------------------------ seams between the concerns
    # Implemented by the concern modules that `Pbx` combines; declared here so each module
    # can call the others' steps (a hangup leaves the bridge, a bridge's end stops media).
    @abstractmethod
    def _peer_round(self, br: Bridge) -> None: ...

    @abstractmethod
    def _retech(self, br: Bridge, between: Callable[[], None] | None = None) -> None: ...

    @abstractmethod
    def _enter_bridge(self, br: Bridge, ch: Channel, at: int | None = None) -> None: ...

    @abstractmethod
    def _join(self, br: Bridge, ch: Channel, between: Callable[[], None] | None = None) -> None: ...

    @abstractmethod
    def _leave_bridge(self, ch: Channel) -> list[Channel]: ...

    @abstractmethod
    def _finish_playback(self, pb_id: str, state: str = "done") -> None: ...

    @abstractmethod
    def _finish_recording(self, name: str, state: str = "done", keep: bool = True) -> None: ...

    @abstractmethod
    def _finish_orphan_recordings(self, br: Bridge | None, force: bool = False) -> None: ...

    @abstractmethod
    def _dial_event(self, ch: Channel, status: str, always: bool) -> None: ...

    @abstractmethod
    def _set_up(self, ch: Channel) -> None: ...

    @abstractmethod
    def _end_channel(self, ch: Channel, cause: int, tech_cause: int | None) -> None: ...

    @abstractmethod
    def _destroy(self, ch: Channel, cause: int, tech_cause: int | None) -> None: ...

    @abstractmethod
    def _remote_hangup(self, ch: Channel, cause: int | None, tech_cause: int | None) -> None: ...

    @abstractmethod
    def _leave_all(self, ch: Channel) -> None: ...

    @abstractmethod
    def _snooped_gone(self, target: Channel) -> None: ...


def _allowed(rules: tuple[list[Json], list[Json]], etype: str) -> bool:
    """res/stasis/app.c app_event_allowed(): an empty allowed list allows everything; a
    disallowed type is refused even when also allowed."""
    allowed, disallowed = rules
    if allowed and not any(r.get("type") == etype for r in allowed):
        return False
    return not any(r.get("type") == etype for r in disallowed)


def _ts(wall: float) -> str:
    return format_ari_timestamp(wall)
