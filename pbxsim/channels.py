"""A channel's life outside dialing: inbound calls, answer, hold, hangup (ours and the
phone's), destruction, DTMF from the phone, moving between apps and the dialplan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pbxsim.core import AriError, PbxCore
from pbxsim.dtmf import DtmfError, DtmfPress, check_digits, check_duration, schedule
from pbxsim.model import (
    CAUSE_TEXT,
    HANGUP_REASONS,
    SOFTHANGUP_APPUNLOAD,
    SOFTHANGUP_EXPLICIT,
    Channel,
    qos_values,
)

log = logging.getLogger(__name__)

HANGUP_BY = ("caller", "agent")


def mask_number(number: str) -> str:
    """Caller numbers never go to logs in full."""
    return "*" * max(0, len(number) - 4) + number[-4:]


class ChannelLifecycle(PbxCore):
    """Inbound calls, channel operations from Stasis, hangups and destruction."""

    def place_call(self, caller: str, exten: str, *, patience: float | None = None,
                   talk: float | None = None, caller_name: str = "",
                   hangup_by: str = "caller", dtmf: Sequence[DtmfPress] = ()) -> Channel:
        """A caller on the trunk dials `exten`; the dialplan sends it into Stasis.

        Once its channel is answered: `dtmf` is keyed as scripted, and after `talk`
        seconds the caller hangs up, or with `hangup_by="agent"` every answered phone
        bridged with it does instead (the caller stays; no such phone: the caller hangs up).
        """
        entry = self.config.dialplan.get(exten)
        if entry is None:
            raise AriError(404, f"No such extension {exten}")
        if hangup_by not in HANGUP_BY:
            raise AriError(400, f"hangup_by must be one of {', '.join(HANGUP_BY)}")
        tech, _, resource = self.config.trunk.partition("/")
        ch = self._new_channel(
            tech=tech, resource=resource, channel_id=None, state="Ring", context=entry.context,
            exten=exten, priority=entry.priority,
            protocol_id=f"1-{10000 + self._seq}@{self.config.trunk_host}",
        )
        ch.caller_name, ch.caller_number = caller_name, caller
        ch.inbound = True
        ch.talk = talk
        ch.hangup_by = hangup_by
        ch.dtmf = tuple(dtmf)
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

    def _set_up(self, ch: Channel) -> None:
        if ch.state == "Up":
            return
        ch.state = "Up"
        ch.answered_at = self._now()
        self._ch_event(ch, "ChannelStateChange")
        if not ch.inbound:
            return
        if ch.talk is not None:
            self._after(ch, ch.talk, lambda: self._talk_over(ch))
        for press in ch.dtmf:
            self._key_in(ch, press.after, press.digits, press.duration_ms)

    def _talk_over(self, ch: Channel) -> None:
        """An inbound call's `talk` ran out: its caller hangs up, or (hangup_by agent) the
        answered phones bridged with it do, leaving the caller up."""
        if ch.gone:
            return
        if ch.hangup_by == "agent":
            phones = self._bridged_phones(ch)
            if phones:
                for phone in phones:
                    self.phone_hangup(phone.id)
                return
        self.phone_hangup(ch.id)

    def _bridged_phones(self, ch: Channel) -> list[Channel]:
        """Answered SIP channels (not trunk callers) in `ch`'s bridge, other than `ch`."""
        if ch.bridge is None or ch.bridge not in self.bridges:
            return []
        members = (self.channels.get(m) for m in self.bridges[ch.bridge].members)
        return [m for m in members if m is not None and m is not ch and not m.gone
                and m.is_pjsip and not m.inbound and m.state == "Up"]

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
        if ch.ari_created and ch.state == "Down":
            # races/create_dial_race: a created channel never dialled is hung up by its own
            # thread once Stasis() returns, and chan_pjsip declines it (SIP 603). Before its
            # StasisStart (timing) there is no Stasis to return from: guessed, not observed.
            was_in_stasis = ch.in_stasis
            self._leave_all(ch)
            if was_in_stasis:
                self._ch_event(ch, "ChannelHangupRequest", cause=cause, tech_cause=603)
            self._destroy(ch, cause, 603)
            return
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
        self._leave_all(ch)
        self._destroy(ch, cause, tech_cause)

    def _leave_all(self, ch: Channel) -> None:
        """Leave bridge (ending its recordings if none but recorders remain), media, Stasis."""
        bridge_id = ch.bridge
        self._leave_bridge(ch)
        self._stop_channel_media(ch)
        self._leave_stasis(ch)
        if bridge_id is not None:
            self._finish_orphan_recordings(self.bridges.get(bridge_id))

    def _stop_channel_media(self, ch: Channel) -> None:
        for pb_id in list(ch.playbacks):
            self._finish_playback(pb_id)
        for name in list(ch.recordings):
            self._finish_recording(name)

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
            self._snooped_gone(ch)  # its audiohooks are detached: the snoops end
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

    def phone_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        """The phone keys `digits` now (all checked before any is sent)."""
        ch = self.channel(channel_id)
        try:
            check_digits(digits)
            check_duration(duration_ms)
        except DtmfError as exc:
            raise AriError(400, str(exc)) from exc
        self._key_in(ch, 0.0, digits, duration_ms)

    def _key_in(self, ch: Channel, after: float, digits: str, duration_ms: int) -> None:
        for at, digit in schedule(after, digits, duration_ms):
            self._after(ch, at, _bind(self._dtmf_received, ch, digit, duration_ms))

    def _dtmf_received(self, ch: Channel, digit: str, duration_ms: int) -> None:
        # Stasis subscribes the app to the channel from StasisStart to StasisEnd only.
        if not ch.gone and ch.in_stasis:
            self._ch_event(ch, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)

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


def _bind(fn: Callable[[Channel, str, int], None], ch: Channel, digit: str,
          duration_ms: int) -> Callable[[], None]:
    return lambda: fn(ch, digit, duration_ms)
