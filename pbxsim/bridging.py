"""Bridges: create / destroy, adding and removing channels, and the reconfiguration
passes (BRIDGEPEER / BRIDGEPVTCALLID, technology changes) Asterisk reports on the way.
"""

from __future__ import annotations

from collections.abc import Callable

from pbxsim.core import AriError, PbxCore
from pbxsim.model import Bridge, Channel, Json

BRIDGE_TYPES = frozenset(
    {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}
)


class Bridging(PbxCore):
    """Bridge resources and membership, with Asterisk's reconfiguration passes."""

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
            if not ch.in_stasis:
                raise AriError(422, "Channel not in Stasis application")
            chans.append(ch)
        if any(ch.bridge != br.id for ch in chans):
            raise AriError(422, "Channel not in this bridge")
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
