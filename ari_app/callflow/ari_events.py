"""ARI events to the rooms of the call flow: which room an event concerns, by the channel,
playback or recording it names. Events about channels the flow does not know are counted
(or ignored when they are the last words of a call it already forgot)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ari_app.callflow.call import CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.feature_codes.machine import is_feature
from ari_app.callflow.flow import Flow
from ari_app.callflow.supervision.applier import DTMF_MODES
from ari_app.callflow.supervision.machine import MonitorError
from ari_app.domain.commands import Hangup
from ari_app.domain.events import OfferResult

_DIAL_RESULTS = {
    "BUSY": OfferResult.BUSY,
    "NOANSWER": OfferResult.RONA,
    "CHANUNAVAIL": OfferResult.UNAVAILABLE,
    "CONGESTION": OfferResult.UNAVAILABLE,
    "DONTCALL": OfferResult.UNAVAILABLE,
    "INVALIDARGS": OfferResult.UNAVAILABLE,
}

Handler = Callable[[Mapping[str, Any], float], None]


class AriEvents:
    """One handler per ARI event type the call flow acts on."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self.handlers: dict[str, Handler] = {
            "StasisStart": self.stasis_start,
            "StasisEnd": self.leg_event,
            "ChannelDestroyed": self.leg_event,
            "ChannelHangupRequest": self.leg_event,
            "ChannelStateChange": self.state_change,
            "Dial": self.dial,
            "PlaybackFinished": self.playback_finished,
            "RecordingFinished": self.recording_finished,
            "RecordingFailed": self.recording_finished,
            "BridgeBlindTransfer": flow.phone_transfers.blind_transfer,
            "ChannelTransfer": flow.phone_transfers.channel_transfer,
            "ChannelDtmfReceived": self.dtmf,
        }

    def known(self, channel_id: str) -> bool:
        """A leg, target, snoop or supervisor phone the flow created or took in."""
        flow = self.flow
        return (
            self.desk.owns(channel_id)
            or channel_id in flow.monitoring.channels
            or channel_id in flow.features.channels
        )

    def stasis_start(self, ev: Mapping[str, Any], now: float) -> None:
        ch = ev["channel"]
        channel_id = ch["id"]
        if self.known(channel_id):
            return
        args = ev.get("args") or []
        if is_feature(args):
            self.flow.features.start(ch, args, now)
            return
        if args and args[0] == "transfer":
            self.flow.phone_transfers.local_half_two(ch, args, now)
            return
        replaced = ev.get("replace_channel")
        if isinstance(replaced, Mapping) and self.desk.owns(replaced.get("id", "")):
            self.flow.phone_transfers.local_half_one(ch, replaced["id"], now)
            return
        if args and args[0] in (
            "agent", "supervisor", "snoop", "external", "recorder", "callback"
        ):
            self.desk.count(f"orphan_{args[0]}_leg")
            self.desk.emit(Hangup(channel_id))
            return
        self.flow.arrival.new_call(ch, args, now)

    def leg_event(self, ev: Mapping[str, Any], now: float) -> None:
        kind = ev["type"]
        if kind == "ChannelHangupRequest" and ev.get("soft"):
            return
        channel_id = ev["channel"]["id"]
        flow = self.flow
        if channel_id in flow.monitoring.channels:
            flow.monitoring.leg_gone(channel_id, now)
            return
        if channel_id in flow.features.channels:
            flow.features.gone(channel_id, now)
            return
        if not self.desk.owns(channel_id):
            if kind == "ChannelDestroyed" and not self.desk.forgotten(channel_id):
                self.desk.count("unknown_channel")
            return
        if flow.callbacks.on_leg_gone(channel_id, kind, ev.get("cause"), now):
            return
        flow.ending.leg_gone(channel_id, ev, now)

    def state_change(self, ev: Mapping[str, Any], now: float) -> None:
        ch = ev["channel"]
        flow = self.flow
        if ch["id"] in flow.monitoring.channels:
            if ch["state"] == "Up":
                flow.monitoring.answered(ch["id"], now)
            return
        call = self.desk.call_of(ch["id"])
        if call is None:
            return
        if flow.callbacks.on_state(call, ch["id"], ch["state"], now):
            return
        if call.xfer_offer is not None and call.xfer_offer.channel_id == ch["id"]:
            if ch["state"] == "Ringing":
                flow.transfers.ringing(call, now)
            elif ch["state"] == "Up":
                flow.transfers.answered(call, now)
            return
        if ch["state"] == "Ringing":
            flow.offering.ringing(call, ch["id"], now)
        elif ch["state"] == "Up" and ch["id"] != call.caller_channel:
            flow.answering.agent_answered(call, ch["id"], now)

    def dial(self, ev: Mapping[str, Any], now: float) -> None:
        peer = ev["peer"]["id"]
        status = ev.get("dialstatus") or ""
        flow = self.flow
        if peer in flow.monitoring.channels:
            if status == "ANSWER":
                flow.monitoring.answered(peer, now)
            return
        call = self.desk.call_of(peer)
        if call is None or not status:
            return
        if flow.callbacks.on_dial(call, peer, status, now):
            return
        if call.xfer_offer is not None and call.xfer_offer.channel_id == peer:
            if status == "RINGING":
                flow.transfers.ringing(call, now)
            elif status == "ANSWER":
                flow.transfers.answered(call, now)
            else:
                result = _DIAL_RESULTS.get(status, OfferResult.UNAVAILABLE)
                flow.transfers.leg_failed(call, result, now, hangup=True)
            return
        if status == "RINGING":
            flow.offering.ringing(call, peer, now)
        elif status == "ANSWER":
            flow.answering.agent_answered(call, peer, now)
        elif call.offer is not None and call.offer.channel_id == peer:
            result = _DIAL_RESULTS.get(status, OfferResult.UNAVAILABLE)
            flow.offering.end(call, result, now, hangup=True)
            flow.offering.dispatch(now)

    def playback_finished(self, ev: Mapping[str, Any], now: float) -> None:
        pid = ev["playback"]["id"]
        if pid in self.flow.features.playbacks:
            self.flow.features.prompt_done(pid, now)
            return
        call = self.desk.take_playback(pid)
        if call is not None:
            self.flow.answering.playback_done(call, pid, now)

    def recording_finished(self, ev: Mapping[str, Any], now: float) -> None:
        rec = ev["recording"]
        call = self.desk.take_recording(rec["name"])
        if call is not None:
            failed = ev["type"] == "RecordingFailed"
            self.flow.ending.recording_finished(call, rec.get("duration"), failed, now)

    def dtmf(self, ev: Mapping[str, Any], now: float) -> None:
        channel_id = ev["channel"]["id"]
        digit = str(ev["digit"])
        flow = self.flow
        feature = flow.features.channels.get(channel_id)
        if feature is not None:
            flow.features.digit(feature, digit, now)
            return
        session = flow.monitoring.of_channel(channel_id)
        if session is not None and session.phone_channel == channel_id:
            mode = DTMF_MODES.get(digit)
            if mode is None:
                return
            try:
                flow.monitoring.change(session, mode, now)
            except MonitorError:
                self.desk.count("monitor_dtmf_refused")
            return
        call = self.desk.call_of(channel_id)
        if call is None or channel_id != call.caller_channel:
            return
        if call.state is CallState.SURVEY:
            flow.surveys.digit(call, digit, now)
        elif call.state is CallState.QUEUED:
            flow.callbacks.digit(call, digit, now)
