"""The simulated Asterisk: a state machine over channels, bridges, playbacks and recordings.

No I/O except writing recordings: time comes from `now()` (the event loop's clock), delays
from `later()` (loop.call_later), and every ARI event goes to `sink(app, event)`. The order
and content of events (including Asterisk's BRIDGEPEER and RTPAUDIOQOS noise) follow the
recorded traces in /work/shared/ari/traces; the rules fitted to them are noted inline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ari_app.ari.timestamps import format_ari_timestamp
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.dialplan import PatternError, exten_matches
from pbxsim.media import MediaError, media_duration, silent_wav, wav_seconds
from pbxsim.model import (
    CAUSE_TEXT,
    HANGUP_REASONS,
    SOFTHANGUP_APPUNLOAD,
    SOFTHANGUP_EXPLICIT,
    Bridge,
    Cancellable,
    Channel,
    Json,
    LiveRecording,
    Playback,
    Refer,
    bridge_snapshot,
    channel_snapshot,
    playback_snapshot,
    qos_values,
    recording_snapshot,
)

log = logging.getLogger(__name__)
# Formats `record` accepts, sorted by name (the order a glob of `<name>.*` would give).
_STORED_FORMATS = ("alaw", "g722", "gsm", "sln", "ulaw", "wav", "wav16")

Later = Callable[[float, Callable[[], None]], Cancellable]
Sink = Callable[[str, Json], None]

BRIDGE_TYPES = frozenset(
    {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}
)


class AriError(Exception):
    """A REST failure exactly as Asterisk reports it: status and JSON body."""

    def __init__(self, status: int, message: str, key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {key: message}


def mask_number(number: str) -> str:
    """Caller numbers never go to logs in full."""
    return "*" * max(0, len(number) - 4) + number[-4:]


@dataclass
class Stats:
    channels_created: int = 0
    channels_destroyed: int = 0
    inbound_calls: int = 0
    inbound_rejected: int = 0
    originates: int = 0
    events: int = 0
    peak_channels: int = 0


class Pbx:
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
        self.global_vars: dict[str, str] = {}
        self.endpoints: dict[str, EndpointBehaviour] = dict(config.endpoints)
        self.stats = Stats()
        self._seq = config.first_uniqueid_seq
        self._name_seq = 1
        self._snoop_seq = 1
        self._unreal_seq = 1  # core_unreal.c numbers Recorder/ and Local/ pairs alike
        self._ids = 0
        self.started = config.wall_base

    # ------------------------------------------------------------------ basics
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

    # ---------------------------------------------------------------- variables
    def _setvar(self, ch: Channel, name: str, value: str) -> None:
        ch.variables[name] = value
        self._ch_event(ch, "ChannelVarset", variable=name, value=value)

    def _unsetvar(self, ch: Channel, name: str) -> None:
        """Asterisk only reports an unset when the variable existed."""
        if name in ch.variables:
            del ch.variables[name]
            self._ch_event(ch, "ChannelVarset", variable=name, value="")

    def set_variable(self, channel_id: str, name: str, value: str) -> None:
        ch = self.channel(channel_id)
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

    # ------------------------------------------------------------------ stasis
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

    # ---------------------------------------------------------------- inbound
    def place_call(self, caller: str, exten: str, *, patience: float | None = None,
                   talk: float | None = None, caller_name: str = "") -> Channel:
        """A caller on the trunk dials `exten`; the dialplan sends it into Stasis."""
        entry = self.config.dialplan.get(exten)
        if entry is None:
            raise AriError(404, f"No such extension {exten}")
        tech, _, resource = self.config.trunk.partition("/")
        ch = self._new_channel(
            tech=tech, resource=resource, channel_id=None, state="Ring", context=entry.context,
            exten=exten, priority=entry.priority,
            protocol_id=f"1-{10000 + self._seq}@{self.config.trunk_host}",
        )
        ch.caller_name, ch.caller_number = caller_name, caller
        ch.inbound = True
        ch.talk = talk
        self.stats.inbound_calls += 1
        if entry.app not in self.apps:
            # Stasis() fails when no websocket serves the app: the call is dropped.
            self.stats.inbound_rejected += 1
            log.warning("inbound call from %s rejected: app %s not registered",
                        mask_number(caller), entry.app)
            self._destroy(ch, 16, None)
            return ch
        self._enter_stasis(ch, entry.app, entry.args, via_dialplan=True, dialplan_event=False)
        if patience is not None:
            self._after(ch, patience, lambda: self._caller_gives_up(ch))
        return ch

    def _caller_gives_up(self, ch: Channel) -> None:
        if ch.gone or ch.state == "Up":
            return
        self._remote_hangup(ch, cause=127, tech_cause=487)

    # ------------------------------------------------------------ outbound
    def _endpoint(self, endpoint: str) -> tuple[str, str, EndpointBehaviour]:
        tech, sep, resource = endpoint.partition("/")
        behaviour = self.endpoints.get(endpoint)
        if not sep or not resource or behaviour is None:
            raise AriError(500, "Allocation failed", key="error")
        return tech, resource, behaviour

    def _outbound(self, endpoint: str, channel_id: str | None, variables: dict[str, str],
                  app: str, announce_vars: bool) -> Channel:
        tech, resource, _ = self._endpoint(endpoint)
        ch = self._new_channel(
            tech=tech, resource=resource, channel_id=channel_id, state="Down",
            context=self.config.agents_context, exten="s", priority=1,
            protocol_id=self._sip_callid(),
        )
        if announce_vars:
            ch.app = app
        for name, value in variables.items():
            if announce_vars:
                self._setvar(ch, name, str(value))
            else:
                ch.variables[name] = str(value)
        ch.app = app
        return ch

    def originate(self, *, endpoint: str, app: str | None, app_args: str, channel_id: str | None,
                  timeout: int, originator: str | None, caller_id: str | None,
                  variables: dict[str, str], extension: str | None = None) -> Json:
        if not app and not extension:
            raise AriError(400, "Application or extension must be specified")
        orig = self.channel(originator, "Originator channel not found", 400) if originator else None
        stasis_app = app or self.config.transfer_app[0]
        ch = self._outbound(endpoint, channel_id, variables, stasis_app, announce_vars=False)
        ch.originated = True
        ch.originator = originator
        if orig is not None:
            # dial.c copies the originator's caller id (as it is now, published or not).
            ch.connected_name, ch.connected_number = orig.pending_caller or (
                orig.caller_name, orig.caller_number)
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        if app:
            ch.dial_app = (app, tuple(a for a in app_args.split(",") if a) if app_args else ())
        else:
            entry = self.config.dialplan.get(extension or "")
            ch.dial_app = (entry.app, entry.args) if entry else None
        if caller_id:
            ch.caller_number = caller_id
        self.stats.originates += 1
        response = self.snap(ch)
        self._start_dial(ch, timeout if timeout > 0 else None, dialstring_always=True)
        return response

    def create(self, *, endpoint: str, app: str, app_args: str, channel_id: str | None,
               originator: str | None, variables: dict[str, str]) -> Json:
        orig = self.channel(originator, "Originator channel not found", 400) if originator else None
        ch = self._outbound(endpoint, channel_id, variables, app, announce_vars=True)
        ch.originator = originator
        response = self.snap(ch)
        args = [a for a in app_args.split(",") if a] if app_args else []
        self._enter_stasis(ch, app, args, via_dialplan=True, dialplan_event=True)
        if orig is not None:
            ch.connected_name, ch.connected_number = orig.caller_name, orig.caller_number
            self._ch_event(ch, "ChannelConnectedLine")
        return response

    def dial(self, channel_id: str, caller: str | None, timeout: int) -> None:
        ch = self.stasis_channel(channel_id)
        if caller:
            self.channel(caller, "Caller channel not found", 404)
        if ch.state != "Down" or ch.dialing:
            raise AriError(409, "Channel is not in the Down state")
        if ch.bridge:
            self._peer_round(self.bridges[ch.bridge])
        self._start_dial(ch, timeout if timeout > 0 else None, dialstring_always=False)

    def _dial_event(self, ch: Channel, status: str, always: bool) -> None:
        dialstring = ch.resource if (always or not status) else ""
        self._emit(ch.app, "Dial", dialstatus=status, dialstring=dialstring, forward="",
                   peer=self.snap(ch))

    def _start_dial(self, ch: Channel, timeout: float | None, dialstring_always: bool) -> None:
        behaviour = self.endpoints.get(f"{ch.tech}/{ch.resource}", EndpointBehaviour())
        ch.dialing = True
        if behaviour.busy or behaviour.unavailable:
            self._dial_event(ch, "", dialstring_always)
            cause, tech_cause, status = (17, 486, "BUSY") if behaviour.busy else (
                20, 404, "CHANUNAVAIL")
            self._ch_event(ch, "ChannelHangupRequest", cause=cause, tech_cause=tech_cause)
            self._dial_event(ch, status, dialstring_always)
            ch.dialing = False
            self._end_channel(ch, cause, tech_cause)
            return
        # Three threads race here; all three orders are in the traces. Unless the phone pins
        # it, a bridged channel reports RINGING before its state change (supervisor_spy),
        # others Dial(""), state change, RINGING (agent_no_answer, full_call).
        order = behaviour.ringing_order or ("ringing_first" if ch.bridge else "dial_first")
        if order == "state_first":
            self._ringing_state(ch)
        self._dial_event(ch, "", dialstring_always)
        if order == "dial_first":
            self._ringing_state(ch)
        self._dial_event(ch, "RINGING", dialstring_always)
        if order == "ringing_first":
            self._ringing_state(ch)
        if behaviour.answer_after is not None:
            self._after(ch, behaviour.answer_after,
                        lambda: self._phone_answers(ch, dialstring_always))
        if timeout is not None:
            self._after(ch, timeout, lambda: self._dial_timeout(ch, dialstring_always))

    def _ringing_state(self, ch: Channel) -> None:
        ch.state = "Ringing"
        self._ch_event(ch, "ChannelStateChange")

    def _phone_answers(self, ch: Channel, dialstring_always: bool) -> None:
        if ch.gone or not ch.dialing:
            return
        ch.dialing = False
        if ch.bridge:
            self._peer_round(self.bridges[ch.bridge])
        self._set_up(ch)
        self._dial_event(ch, "ANSWER", dialstring_always)
        if ch.originated and ch.dial_app is not None and not ch.in_stasis:
            app, args = ch.dial_app
            self._enter_stasis(ch, app, args, via_dialplan=True, dialplan_event=False)

    def _dial_timeout(self, ch: Channel, dialstring_always: bool) -> None:
        if ch.gone or not ch.dialing:
            return
        ch.dialing = False
        if ch.originated and not ch.in_stasis:
            # Originate gives up silently: only ChannelDestroyed (cause 19, SIP 480).
            self._destroy(ch, 19, 480)
            return
        self._dial_event(ch, "NOANSWER", dialstring_always)
        self._ch_event(ch, "ChannelHangupRequest", cause=19, tech_cause=480)
        self._end_channel(ch, 19, 480)

    def _set_up(self, ch: Channel) -> None:
        if ch.state == "Up":
            return
        ch.state = "Up"
        ch.answered_at = self._now()
        self._ch_event(ch, "ChannelStateChange")
        if ch.inbound and ch.talk is not None:
            self._after(ch, ch.talk, lambda: self.phone_hangup(ch.id))

    # --------------------------------------------------------- channel ops
    def answer(self, channel_id: str) -> None:
        ch = self.stasis_channel(channel_id)
        partner = self.channels.get(ch.local_partner or "")
        # Answering one half of a Local pair answers the other.
        for answered in (ch, partner):
            if answered is None or answered.gone:
                continue
            if answered.bridge and answered.state != "Up":
                self._peer_round(self.bridges[answered.bridge])
            self._set_up(answered)

    def ring(self, channel_id: str) -> None:
        self.stasis_channel(channel_id)

    def hold(self, channel_id: str, on: bool) -> None:
        ch = self.stasis_channel(channel_id)
        ch.held = on
        self._ch_event(ch, "ChannelHold" if on else "ChannelUnhold")

    def touch(self, channel_id: str) -> None:
        """Operations with no visible event here (moh, silence, mute, dtmf to the phone)."""
        self.stasis_channel(channel_id)

    def hangup(self, channel_id: str, reason: str | None, reason_code: str | None) -> None:
        ch = self.channel(channel_id)
        cause = 16
        if reason_code:
            try:
                cause = int(reason_code)
            except ValueError as exc:
                raise AriError(400, "Invalid reason for hangup provided") from exc
        elif reason:
            if reason not in HANGUP_REASONS:
                raise AriError(400, "Invalid reason for hangup provided")
            cause = HANGUP_REASONS[reason]
        self._qos(ch)
        if ch.originated and ch.dialing and not ch.in_stasis:
            ch.dialing = False
            self._ch_event(ch, "ChannelHangupRequest", cause=SOFTHANGUP_EXPLICIT, soft=True)
            self._dial_event(ch, "CANCEL", True)
            self._destroy(ch, cause, None)
            return
        ch.dialing = False
        self._ch_event(ch, "ChannelHangupRequest", cause=SOFTHANGUP_EXPLICIT, soft=True)
        self._end_channel(ch, cause, None)

    def phone_hangup(self, channel_id: str) -> None:
        """The far end hangs up (BYE), or cancels/declines while ringing."""
        ch = self.channel(channel_id)
        if ch.state == "Up":
            self._remote_hangup(ch, cause=None, tech_cause=None)
        elif ch.inbound:
            self._remote_hangup(ch, cause=127, tech_cause=487)
        elif ch.dialing:
            ch.dialing = False
            self._ch_event(ch, "ChannelHangupRequest", cause=17, tech_cause=486)
            self._dial_event(ch, "BUSY", ch.originated)
            self._end_channel(ch, 17, 486)
        else:
            self._remote_hangup(ch, cause=16, tech_cause=None)

    def _remote_hangup(self, ch: Channel, cause: int | None, tech_cause: int | None) -> None:
        if ch.gone:
            return
        self._qos(ch)
        fields: dict[str, Any] = {}
        if cause is not None:
            fields["cause"] = cause
        if tech_cause is not None:
            fields["tech_cause"] = tech_cause
        self._ch_event(ch, "ChannelHangupRequest", **fields)
        was_in_stasis = ch.in_stasis
        recorder_bridge = ch.bridge is not None and any(
            self.channels[m].tech == "Recorder" for m in self.bridges[ch.bridge].members)
        bridge_id = ch.bridge
        others = self._leave_bridge(ch)
        self._stop_channel_media(ch)
        self._leave_stasis(ch)
        if bridge_id is not None:
            self._finish_orphan_recordings(self.bridges.get(bridge_id))
        if was_in_stasis:
            soft: dict[str, Any] = {"cause": SOFTHANGUP_APPUNLOAD, "soft": True}
            if tech_cause is not None:
                soft["tech_cause"] = tech_cause
            self._ch_event(ch, "ChannelHangupRequest", **soft)
        if recorder_bridge:
            # Fitted to full_call: leaving a softmix bridge resets peers' connected line.
            for other in others:
                if other.is_pjsip and (other.connected_name or other.connected_number):
                    other.connected_name = other.connected_number = ""
                    self._ch_event(other, "ChannelConnectedLine")
        self._destroy(ch, cause if cause is not None else 16, tech_cause)

    def _end_channel(self, ch: Channel, cause: int, tech_cause: int | None) -> None:
        """After the hangup request: leave bridge and Stasis, then be destroyed."""
        bridge_id = ch.bridge
        self._leave_bridge(ch)
        self._stop_channel_media(ch)
        self._leave_stasis(ch)
        if bridge_id is not None:
            self._finish_orphan_recordings(self.bridges.get(bridge_id))
        self._destroy(ch, cause, tech_cause)

    def _qos(self, ch: Channel) -> None:
        if not ch.is_pjsip or ch.state != "Up" or ch.answered_at is None:
            return
        peer: Channel | None = None
        if ch.bridge:
            members = self.bridges[ch.bridge].members
            if len(members) == 2:
                peer = self.channels[next(m for m in members if m != ch.id)]
        for name, value in qos_values(ch, self._now() - ch.answered_at):
            self._setvar(ch, name, value)
            if peer is not None and peer.app is not None:
                self._setvar(peer, name + "BRIDGED", value)

    def _destroy(self, ch: Channel, cause: int, tech_cause: int | None) -> None:
        if ch.gone:
            return
        for t in ch.timers:
            t.cancel()
        ch.timers.clear()
        ch.dialing = False
        if ch.snoops and any(not self.channels[s].gone for s in ch.snoops):
            ch.pending_destroy = (cause, tech_cause)  # the snoop still holds it
            ch.in_stasis = False
            return
        ch.gone = True
        self.stats.channels_destroyed += 1
        if ch.app_name == "Stasis":
            ch.app_name, ch.app_data = ch.pre_stasis_app
        if ch.tech != "Snoop":  # the traces never show a snoop channel's ChannelDestroyed
            fields: dict[str, Any] = {"cause": cause, "cause_txt": CAUSE_TEXT.get(cause, "Unknown")}
            if tech_cause is not None:
                fields["tech_cause"] = tech_cause
            self._ch_event(ch, "ChannelDestroyed", **fields)
        del self.channels[ch.id]
        partner = self.channels.get(ch.local_partner or "")
        if partner is not None and not partner.gone:
            # A Local pair dies together: the other half is hung up (cause 16, not soft).
            partner.dialing = False
            self._ch_event(partner, "ChannelHangupRequest", cause=16)
            self._end_channel(partner, 16, None)
        target = self.channels.get(ch.snoop_target or "")
        if target is not None:
            target.snoops = [s for s in target.snoops if s != ch.id]
            if target.pending_destroy and not target.snoops:
                pending_cause, pending_tech = target.pending_destroy
                target.pending_destroy = None
                self._destroy(target, pending_cause, pending_tech)

    # -------------------------------------------------------------- bridges
    def create_bridge(self, bridge_type: str, bridge_id: str | None, name: str,
                      app: str | None) -> Json:
        types = {t.strip() for t in (bridge_type or "mixing").split(",") if t.strip()}
        if not types <= BRIDGE_TYPES or (bridge_id and bridge_id in self.bridges):
            shown = bridge_id or "(null)"
            raise AriError(500, f"Unable to create bridge. Possible duplicate bridge id '{shown}'")
        kind = "holding" if "holding" in types else "mixing"
        br = Bridge(id=bridge_id or self._next_id(""), bridge_type=kind, name=name,
                    created=self.wall(), app=app,
                    technology="holding_bridge" if kind == "holding" else "simple_bridge")
        self.bridges[br.id] = br
        return self.bsnap(br)

    def destroy_bridge(self, bridge_id: str) -> None:
        br = self.bridge(bridge_id)
        for member in list(br.members):
            ch = self.channels[member]
            if ch.tech == "Recorder":
                continue
            self._leave_bridge(ch)
        self._finish_orphan_recordings(br, force=True)
        for pb_id in list(br.playbacks):
            self._finish_playback(pb_id)
        del self.bridges[br.id]
        self._emit(br.app, "BridgeDestroyed", bridge=self.bsnap(br))

    def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        br = self.bridge(bridge_id)
        chans: list[Channel] = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None or ch.gone:
                raise AriError(400, "Channel not found")
            if not ch.in_stasis:
                raise AriError(422, "Channel not in Stasis application")
            chans.append(ch)
        if br.app is None:
            br.app = chans[0].app if chans else None
        for ch in chans:
            if ch.bridge == br.id:
                continue
            if ch.bridge is not None:
                self._leave_bridge(ch)
            self._join(br, ch)

    def remove_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        br = self.bridge(bridge_id)
        chans = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None or ch.gone:
                raise AriError(400, "Channel not found")
            if ch.bridge != br.id:
                raise AriError(422, "Channel not in this bridge")
            chans.append(ch)
        for ch in chans:
            self._leave_bridge(ch)
        self._finish_orphan_recordings(br)

    def _round_order(self, br: Bridge) -> list[Channel]:
        """Fitted: answered SIP legs are visited newest first, others in join order; a Local
        half that replaced a leg (blind transfer) takes that leg's place."""
        members = [self.channels[m] for m in br.members]
        real = [c for c in members if c.tech != "Recorder"]
        if real and all((c.is_pjsip and c.state == "Up") or c.replaces for c in real):
            return list(reversed(members))
        return members

    def _peer_round(self, br: Bridge) -> None:
        """One pass of set_bridge_peer_vars() (bridge.c), as Asterisk does on reconfigure."""
        if br.bridge_type == "holding" or len(br.members) < 2:
            return
        members = [self.channels[m] for m in br.members]
        for ch in self._round_order(br):
            if len(members) == 2:
                peer = members[1] if members[0] is ch else members[0]
                self._setvar_quiet_if_unwatched(ch, "BRIDGEPEER", peer.name)
                if peer.protocol_id:
                    self._setvar_quiet_if_unwatched(ch, "BRIDGEPVTCALLID", peer.protocol_id)
                elif ch.app is not None:
                    self._unsetvar(ch, "BRIDGEPVTCALLID")
            else:
                others = [m.name for m in reversed(members) if m is not ch]
                self._setvar_quiet_if_unwatched(ch, "BRIDGEPEER", ",".join(others))
                if ch.app is not None:
                    self._unsetvar(ch, "BRIDGEPVTCALLID")

    def _setvar_quiet_if_unwatched(self, ch: Channel, name: str, value: str) -> None:
        if ch.app is None:
            ch.variables[name] = value
        else:
            self._setvar(ch, name, value)

    def _wanted_technology(self, br: Bridge) -> str:
        if br.bridge_type == "holding":
            return "holding_bridge"
        members = [self.channels[m] for m in br.members]
        if not members:
            return "simple_bridge"
        if len(members) >= 3:
            return "softmix"
        if len(members) == 2:
            # Audiohooks (snoop) and framehooks (an ARI-handled REFER) rule out native RTP.
            if all(c.is_pjsip and c.state == "Up" and not c.snoops and c.refer is None
                   for c in members):
                return "native_rtp"
            return "softmix" if br.technology == "softmix" else "simple_bridge"
        return "simple_bridge" if br.technology == "softmix" else br.technology

    def _retech(self, br: Bridge, between: Callable[[], None] | None = None) -> None:
        """A technology change reconfigures the bridge again: one more peer-var pass, and
        one more still when native RTP starts or stops (simple_bridge -> softmix shows one,
        every change to or from native_rtp two)."""
        wanted = self._wanted_technology(br)
        if wanted == br.technology or len(br.members) < 2:
            br.technology = wanted
            return
        old, br.technology = br.technology, wanted
        self._peer_round(br)
        if between is not None:
            between()
        if "native_rtp" in (old, wanted):
            self._peer_round(br)

    def _enter_bridge(self, br: Bridge, ch: Channel, at: int | None = None) -> None:
        """Membership and ChannelEnteredBridge, without the reconfiguration passes."""
        if ch.pending_caller is not None:
            # Joining publishes a fresh snapshot, and with it a caller id set behind its back.
            ch.caller_name, ch.caller_number = ch.pending_caller
            ch.pending_caller = None
            self._ch_event(ch, "ChannelCallerId", caller_presentation=0,
                           caller_presentation_txt="Presentation Allowed, Not Screened")
        br.members.insert(len(br.members) if at is None else at, ch.id)
        ch.bridge = br.id
        if ch.tech != "Recorder":
            self._emit(ch.app, "ChannelEnteredBridge", bridge=self.bsnap(br), channel=self.snap(ch))
        # A completed transfer's variables are cleared on the next bridge join.
        self._unsetvar(ch, "BLINDTRANSFER")
        self._unsetvar(ch, "ATTENDEDTRANSFER")

    def _join(self, br: Bridge, ch: Channel, between: Callable[[], None] | None = None) -> None:
        self._enter_bridge(br, ch)
        self._peer_round(br)
        self._retech(br, between)

    def _leave_bridge(self, ch: Channel) -> list[Channel]:
        """Take `ch` out of its bridge; returns the channels left behind."""
        if ch.bridge is None:
            return []
        br = self.bridges[ch.bridge]
        br.members.remove(ch.id)
        ch.bridge = None
        if ch.app is not None:
            self._unsetvar(ch, "BRIDGEPEER")
            self._unsetvar(ch, "BRIDGEPVTCALLID")
        if len(br.members) <= 1:
            br.technology = self._wanted_technology(br)
        if ch.tech != "Recorder":
            self._emit(ch.app, "ChannelLeftBridge", bridge=self.bsnap(br), channel=self.snap(ch))
        self._peer_round(br)
        self._retech(br)
        return [self.channels[m] for m in br.members]

    # ----------------------------------------------------------------- snoop
    def snoop(self, channel_id: str, *, app: str, app_args: str, spy: str, whisper: str,
              snoop_id: str | None) -> Json:
        target = self.channel(channel_id)
        if not app:
            raise AriError(400, "Application name is required")
        if spy == "none" and whisper == "none":
            raise AriError(400, "Spy and whisper cannot both be none")
        ch = self._new_channel(
            tech="Snoop", resource=target.id, channel_id=snoop_id, state="Up",
            context="default", exten="s", priority=1, protocol_id="",
            name=f"Snoop/{target.id}-{self._snoop_seq:08x}",
        )
        self._snoop_seq += 1
        ch.snoop_target = target.id
        target.snoops.append(ch.id)
        response = self.snap(ch)
        if target.bridge:
            # The audiohook reconfigures the bridge (one pass) and rules out native RTP.
            self._peer_round(self.bridges[target.bridge])
            self._retech(self.bridges[target.bridge])
        args = [a for a in app_args.split(",") if a] if app_args else []
        ch.app = app
        ch.in_stasis = True
        ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])
        self._ch_event(ch, "StasisStart", args=args)
        return response

    # -------------------------------------------------------------- playback
    def play(self, target_kind: str, target_id: str, media: list[str], lang: str,
             playback_id: str | None) -> Json:
        if target_kind == "channel":
            ch = self.stasis_channel(target_id)
            app, owner_list = ch.app, ch.playbacks
        else:
            br = self.bridge(target_id)
            app, owner_list = br.app, br.playbacks
        if not media:
            raise AriError(400, "Missing parameter media")
        for uri in media:
            try:
                media_duration(uri, self.config.sound_durations, self.config.recordings_dir)
            except MediaError as exc:
                raise AriError(400, str(exc)) from exc
        pb_id = playback_id or self._next_id("pb-")
        if pb_id in self.playbacks:
            raise AriError(409, "Playback ID already exists")
        pb = Playback(id=pb_id, target_uri=f"{target_kind}:{target_id}", media=media, index=0,
                      language=lang or "en", state="queued", app=app)
        self.playbacks[pb_id] = pb
        owner_list.append(pb_id)
        queued_behind = len(owner_list) > 1
        response = playback_snapshot(pb)
        if not queued_behind:
            self._start_media(pb)
            if len(media) == 1:
                response = playback_snapshot(pb)
        return response

    def _start_media(self, pb: Playback) -> None:
        pb.state = "playing"
        self._emit(pb.app, "PlaybackStarted", playback=playback_snapshot(pb))
        uri = pb.media[pb.index]
        secs = media_duration(uri, self.config.sound_durations, self.config.recordings_dir)
        pb.timer = self._later(secs, lambda: self._media_done(pb))

    def _media_done(self, pb: Playback) -> None:
        if pb.id not in self.playbacks:
            return
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self._emit(pb.app, "PlaybackContinuing", playback=playback_snapshot(pb))
            pb.index += 1
            self._start_media(pb)
            return
        self._finish_playback(pb.id)

    def _finish_playback(self, pb_id: str, state: str = "done") -> None:
        pb = self.playbacks.pop(pb_id, None)
        if pb is None:
            return
        if pb.timer is not None:
            pb.timer.cancel()
        was_playing = pb.state in ("playing", "continuing", "paused")
        pb.state = state
        kind, _, owner = pb.target_uri.partition(":")
        owner_list: list[str] = []
        if kind == "channel" and owner in self.channels:
            owner_list = self.channels[owner].playbacks
        elif kind == "bridge" and owner in self.bridges:
            owner_list = self.bridges[owner].playbacks
        if pb_id in owner_list:
            owner_list.remove(pb_id)
        if was_playing:
            self._emit(pb.app, "PlaybackFinished", playback=playback_snapshot(pb))
        if owner_list and owner_list[0] in self.playbacks:
            nxt = self.playbacks[owner_list[0]]
            if nxt.state == "queued":
                self._start_media(nxt)

    def get_playback(self, pb_id: str) -> Json:
        pb = self.playbacks.get(pb_id)
        if pb is None:
            raise AriError(404, "Playback not found")
        return playback_snapshot(pb)

    def stop_playback(self, pb_id: str) -> None:
        if pb_id not in self.playbacks:
            raise AriError(404, "Playback not found")
        self._finish_playback(pb_id)

    def _stop_channel_media(self, ch: Channel) -> None:
        for pb_id in list(ch.playbacks):
            self._finish_playback(pb_id)
        for name in list(ch.recordings):
            self._finish_recording(name)

    # ------------------------------------------------------------- recording
    def record(self, target_kind: str, target_id: str, *, name: str, fmt: str,
               max_duration: int, if_exists: str) -> Json:
        if target_kind == "channel":
            ch = self.stasis_channel(target_id)
            app: str | None = ch.app
        else:
            br = self.bridge(target_id)
            app = br.app
        if not name:
            raise AriError(400, "Recording name is required")
        if fmt not in ("wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav16"):
            raise AriError(422, f"Recording format {fmt} not supported")
        if name in self.live_recordings:
            raise AriError(409, "A recording with the same name is currently in progress")
        path = self._stored_path(name)
        if path is not None and if_exists == "fail":
            raise AriError(422, "Recording with the same name already exists on the system")
        rec = LiveRecording(name=name, format=fmt, target_uri=f"{target_kind}:{target_id}",
                            state="queued", app=app,
                            max_duration=float(max_duration) if max_duration > 0 else None)
        self.live_recordings[name] = rec
        response = recording_snapshot(rec)
        if target_kind == "channel":
            ch.recordings.append(name)
            self._recording_started(rec)
        else:
            br.recordings.append(name)
            recorder = self._new_channel(
                tech="Recorder", resource="ARI", channel_id=None, state="Up",
                context="default", exten="s", priority=1, protocol_id="",
                name=f"Recorder/ARI-{self._unreal_seq:08x};2",
            )
            self._seq += 1  # the ;1 half of the recorder's local pair
            self._unreal_seq += 1
            rec.recorder_channel = recorder.id
            self._join(br, recorder, between=lambda: self._recording_started(rec))
            if rec.state != "recording":
                self._recording_started(rec)
        return response

    def _recording_started(self, rec: LiveRecording) -> None:
        if rec.state == "recording":
            return
        rec.state = "recording"
        rec.started = self._now()
        self._emit(rec.app, "RecordingStarted", recording=recording_snapshot(rec))
        if rec.max_duration is not None:
            rec.timer = self._later(rec.max_duration, lambda: self._finish_recording(rec.name))

    def _finish_orphan_recordings(self, br: Bridge | None, force: bool = False) -> None:
        if br is None:
            return
        real = [m for m in br.members if self.channels[m].tech != "Recorder"]
        if real and not force:
            return
        for name in list(br.recordings):
            self._finish_recording(name)

    def _finish_recording(self, name: str, state: str = "done", keep: bool = True) -> None:
        rec = self.live_recordings.pop(name, None)
        if rec is None:
            return
        if rec.timer is not None:
            rec.timer.cancel()
        now = self._now()
        if rec.paused_at is not None:
            rec.paused_total += now - rec.paused_at
        seconds = max(0.0, now - (rec.started or now) - rec.paused_total)
        rec.state = state
        kind, _, owner = rec.target_uri.partition(":")
        if kind == "channel" and owner in self.channels:
            self.channels[owner].recordings.remove(name)
        elif kind == "bridge" and owner in self.bridges:
            br = self.bridges[owner]
            br.recordings.remove(name)
            if rec.recorder_channel and rec.recorder_channel in br.members:
                br.members.remove(rec.recorder_channel)
        if rec.recorder_channel and rec.recorder_channel in self.channels:
            recorder = self.channels.pop(rec.recorder_channel)
            recorder.gone = True
        if keep:
            self._write_recording(rec, seconds)
        self._emit(rec.app, "RecordingFinished" if keep else "RecordingFailed",
                   recording=recording_snapshot(rec, int(seconds)))

    def _write_recording(self, rec: LiveRecording, seconds: float) -> None:
        directory = self.config.recordings_dir
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{rec.name}.{rec.format}").write_bytes(silent_wav(seconds))
        except OSError as exc:
            log.error("cannot write recording %s: %s", rec.name, exc)

    def live_recording(self, name: str) -> LiveRecording:
        rec = self.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    def stop_recording(self, name: str, discard: bool = False) -> None:
        self.live_recording(name)
        self._finish_recording(name, "done" if not discard else "canceled", keep=not discard)

    def pause_recording(self, name: str, pause: bool) -> None:
        rec = self.live_recording(name)
        if pause and rec.paused_at is None:
            rec.paused_at = self._now()
            rec.state = "paused"
        elif not pause and rec.paused_at is not None:
            rec.paused_total += self._now() - rec.paused_at
            rec.paused_at = None
            rec.state = "recording"

    def _stored_path(self, name: str) -> Path | None:
        """The stored file of a recording, probing the formats the simulator records in
        (in name order): O(1), where a glob over a directory holding every past recording
        made each new recording cost O(recordings so far)."""
        directory = self.config.recordings_dir
        if "/" in name or ".." in name:
            return None
        for fmt in _STORED_FORMATS:
            path = directory / f"{name}.{fmt}"
            if path.is_file():
                return path
        return None

    def stored_recordings(self) -> list[Json]:
        directory = self.config.recordings_dir
        if not directory.is_dir():
            return []
        return [{"format": p.suffix.lstrip("."), "name": p.stem}
                for p in sorted(directory.iterdir()) if p.is_file()]

    def stored_recording(self, name: str) -> tuple[Json, Path]:
        path = self._stored_path(name)
        if path is None:
            raise AriError(404, "Recording not found")
        return {"format": path.suffix.lstrip("."), "name": path.stem}, path

    def delete_stored(self, name: str) -> None:
        _, path = self.stored_recording(name)
        path.unlink(missing_ok=True)

    def copy_stored(self, name: str, destination: str) -> Json:
        info, path = self.stored_recording(name)
        if not destination or "/" in destination:
            raise AriError(400, "Invalid destination recording name")
        if self._stored_path(destination) is not None:
            raise AriError(409, "A recording with the same name already exists on the system")
        target = path.with_name(f"{destination}{path.suffix}")
        target.write_bytes(path.read_bytes())
        return {"format": info["format"], "name": destination}

    def stored_seconds(self, name: str) -> float:
        return wav_seconds(self.stored_recording(name)[1])

    # ------------------------------------------------------------ phone side
    def phone_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        ch = self.channel(channel_id)
        gap = (duration_ms + 100) / 1000.0
        for i, digit in enumerate(digits):
            if digit not in "0123456789*#ABCD":
                raise AriError(400, f"Invalid DTMF digit {digit!r}")
            self._after(ch, gap * i + duration_ms / 1000.0,
                        _bind(self._dtmf_received, ch, digit, duration_ms))

    def _dtmf_received(self, ch: Channel, digit: str, duration_ms: int) -> None:
        if not ch.gone:
            self._ch_event(ch, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)

    # --------------------------------------------------------------- transfers
    def phone_refer(self, channel_id: str, to: str) -> list[str]:
        """The phone on `channel_id` sends a SIP REFER (blind transfer to extension `to`).

        `core` handling (the default): Asterisk swaps a Local pair into the bridge and its
        ;2 half runs the dialplan into Stasis; returns the pair's ids (;1, ;2). `ari-only`
        (PJSIP_TRANSFER_HANDLING()): only ChannelTransfer is reported; returns [].
        """
        ch = self.channel(channel_id)
        if not ch.is_pjsip or ch.state != "Up":
            raise AriError(409, "REFER needs an answered SIP call")
        if not to or not to.isprintable() or len(to) > 80:
            raise AriError(400, "Refer-To extension is required")
        if ch.transfer_handling == "ari-only":
            self._refer_to_app(ch, to)
            return []
        one, two = self._blind_transfer(ch, to)
        return [one.id, two.id]

    def _referred_by(self, ch: Channel) -> Json:
        out: Json = {"source_channel": self.snap(ch)}
        if ch.bridge is not None:
            br = self.bridges[ch.bridge]
            if len(br.members) == 2:  # ast_bridge_peer(): only a two-party bridge has one
                other = next(m for m in br.members if m != ch.id)
                out["connected_channel"] = self.snap(self.channels[other])
            out["bridge"] = self.bsnap(br)
        return out

    def _transfer_event(self, ch: Channel, refer: Refer, state: str | None) -> None:
        fields: Json = {"refer_to": {"requested_destination": {"destination": refer.destination}},
                        "referred_by": self._referred_by(ch)}
        if state is not None:
            fields["state"] = state
        self._emit(ch.app, "ChannelTransfer", **fields)

    def _refer_to_app(self, ch: Channel, to: str) -> None:
        refer = Refer(to)
        self._transfer_event(ch, refer, None)
        ch.refer = refer
        if ch.bridge is not None:
            # res_pjsip_refer's framehook reconfigures the bridge and rules out native RTP.
            br = self.bridges[ch.bridge]
            self._peer_round(br)
            self._retech(br)

    def transfer_progress(self, channel_id: str, state: str) -> None:
        """POST /channels/{id}/transfer_progress: NOTIFY the phone, report ChannelTransfer.
        Without a REFER waiting for the app it does nothing (204)."""
        ch = self.channel(channel_id)
        refer = ch.refer
        if refer is None or refer.done:
            return
        if state != "channel_progress":
            refer.done = True  # answered / unavailable / declined end the REFER
        self._transfer_event(ch, refer, state)

    def _blind_transfer(self, ch: Channel, exten: str) -> tuple[Channel, Channel]:
        """Asterisk's own blind transfer of a bridged leg (bridge.c blind_transfer_bridge),
        in agent_phone_blind_transfer's order."""
        if ch.bridge is None:
            raise AriError(409, "REFER refused: the channel is not in a bridge")
        context = self.config.agents_context
        try:
            routed = exten_matches(self.config.transfer_pattern, exten)
        except PatternError as exc:
            raise AriError(500, f"transfer_pattern: {exc}") from exc
        if not routed:
            raise AriError(404, f"REFER refused: no extension {exten} in context {context}")
        app, first_arg = self.config.transfer_app
        if app not in self.apps:
            raise AriError(409, f"REFER refused: Stasis application {app} not registered")
        br = self.bridges[ch.bridge]
        before = self.bsnap(br)
        peers = [self.channels[m] for m in br.members
                 if m != ch.id and self.channels[m].tech != "Recorder"]
        transferee = peers[0] if len(peers) == 1 else None
        ch.held = False
        self._ch_event(ch, "ChannelUnhold")
        if transferee is not None:
            self._setvar(ch, "BLINDTRANSFER", transferee.name)
        for peer in peers:
            self._setvar(peer, "BLINDTRANSFER", ch.name)
        one, two = self._local_pair(exten, context)
        for half in (one, two):
            half.variables["BLINDTRANSFER"] = ch.name  # set before the app sees them
        replacement = self.snap(one)
        # ;2 runs [agents] _1XXX => Stasis(hotline,transfer,${EXTEN}).
        two.state = "Ring"
        self._enter_stasis(two, app, [first_arg, exten], via_dialplan=True, dialplan_event=False)
        # ;1 is imparted into the Stasis bridge in the transferer's place.
        one.app = br.app or ch.app
        one.in_stasis = True
        one.app_name, one.app_data = "Stasis", one.app or ""
        self._ch_event(one, "StasisStart", args=[], replace_channel=self.snap(ch))
        at = br.members.index(ch.id)
        self._leave_bridge(ch)
        one.replaces = ch.id
        self._enter_bridge(br, one, at)
        self._peer_round(br)
        if transferee is not None:
            identity = (transferee.caller_name, transferee.caller_number)
            if (one.connected_name, one.connected_number) != identity:
                one.connected_name, one.connected_number = identity
                self._ch_event(one, "ChannelConnectedLine")
            two.pending_caller = identity  # chan_local copies it to ;2 without publishing
        self._peer_round(br)
        fields: Json = {"bridge": before, "channel": self.snap(ch), "replace_channel": replacement,
                        "context": context, "exten": exten, "is_external": True,
                        "result": "Success"}
        if transferee is not None:
            fields["transferee"] = self.snap(transferee)
        self._emit(br.app or ch.app, "BridgeBlindTransfer", **fields)
        self._retech(br)
        return one, two

    def _local_pair(self, exten: str, context: str) -> tuple[Channel, Channel]:
        base = f"Local/{exten}@{context}-{self._unreal_seq:08x}"
        self._unreal_seq += 1
        one, two = (self._new_channel(
            tech="Local", resource=f"{exten}@{context}", channel_id=None, state="Down",
            context=context, exten=exten, priority=1, protocol_id="", name=f"{base};{n}",
        ) for n in (1, 2))
        one.local_partner, two.local_partner = two.id, one.id
        return one, two

    def move(self, channel_id: str, app: str, app_args: str) -> None:
        ch = self.stasis_channel(channel_id)
        if app not in self.apps:
            raise AriError(422, "Application not registered")
        self._leave_bridge(ch)
        ch.in_stasis = False
        self._ch_event(ch, "StasisEnd")
        ch.app = app
        ch.in_stasis = True
        self._ch_event(ch, "StasisStart", args=[a for a in app_args.split(",") if a])

    def continue_in_dialplan(self, channel_id: str, extension: str | None) -> None:
        ch = self.stasis_channel(channel_id)
        self._leave_bridge(ch)
        self._leave_stasis(ch)
        entry = self.config.dialplan.get(extension or "")
        if entry is not None and entry.app in self.apps:
            ch.exten = extension or ch.exten
            self._enter_stasis(ch, entry.app, entry.args, via_dialplan=True, dialplan_event=True)
            return
        # Falling off the end of the dialplan hangs the channel up.
        self._ch_event(ch, "ChannelHangupRequest")
        self._destroy(ch, 16, None)

    def endpoint_list(self) -> list[Json]:
        out = []
        for key, behaviour in sorted(self.endpoints.items()):
            tech, _, resource = key.partition("/")
            out.append(self.endpoint_json(tech, resource, behaviour))
        return out

    def endpoint_json(self, tech: str, resource: str,
                      behaviour: EndpointBehaviour | None = None) -> Json:
        behaviour = behaviour or self.endpoints.get(f"{tech}/{resource}")
        if behaviour is None:
            raise AriError(404, "Endpoint not found")
        ids = [c.id for c in self.channels.values()
               if c.tech == tech and c.resource == resource and not c.gone]
        return {"channel_ids": ids, "resource": resource,
                "state": "offline" if behaviour.unavailable else "online", "technology": tech}

    def application(self, name: str) -> Json:
        if name not in self.apps:
            raise AriError(404, "Application not found")
        return {
            "bridge_ids": sorted(b.id for b in self.bridges.values() if b.app == name),
            "channel_ids": [c.id for c in self.channels.values()
                            if c.app == name and not c.gone and c.tech != "Recorder"],
            "device_names": [], "endpoint_ids": [], "events_allowed": [],
            "events_disallowed": [], "name": name,
        }

    def visible_channels(self) -> list[Json]:
        return [self.snap(c) for c in self.channels.values()
                if not c.gone and c.tech != "Recorder"]

    def live_channel_count(self) -> int:
        return sum(1 for c in self.channels.values() if not c.gone)


def _bind(fn: Callable[[Channel, str, int], None], ch: Channel, digit: str,
          duration_ms: int) -> Callable[[], None]:
    return lambda: fn(ch, digit, duration_ms)


def _ts(wall: float) -> str:
    return format_ari_timestamp(wall)
