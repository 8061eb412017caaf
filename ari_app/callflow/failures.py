"""A REST request of the call flow failed: what that means for the call (or the
monitoring session, or the feature call) that sent it.

A channel that vanished (404) or left Stasis (409, 422) is a leg gone; a prompt that could
not play is a prompt finished; a bridge that cannot be made ends the talk; a recording
that cannot start leaves the call unrecorded. A failure answer for a command whose owner
is already gone does nothing."""

from __future__ import annotations

from ari_app.callflow.call import CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.flow import Flow
from ari_app.domain.commands import (
    GONE_STATUSES,
    AddToBridge,
    Answer,
    AriCommand,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    Play,
    RecordBridge,
    RecordChannel,
    RemoveFromBridge,
    Ring,
    SetVar,
    StartMoh,
    TransferProgress,
)
from ari_app.domain.events import OfferResult


class Failures:
    """Maps a failed command back to its owner and lets that owner react."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def failed(self, command: AriCommand, status: int, now: float) -> None:
        desk, flow = self.desk, self.flow
        if command.call_id in flow.features.channels:
            flow.features.failed(command, status, now)
            return
        if flow.callbacks.failed(command, status, now):
            return
        if flow.recorder.owns(command):
            # the call's recorder: a failure leaves the call unrecorded, never ends it
            flow.recorder.failed(command, status, now)
            return
        if command.owner:
            # a monitoring session's request: it concerns that session only, never the call
            session = flow.monitoring.owner_of(command)
            if session is None:
                desk.count("stale_failures")  # the session ended before the answer came
            elif not isinstance(command, Hangup | DestroyBridge | SetVar):
                desk.count("monitor_failed")
                flow.monitoring.end(session, "failed", now)
            return
        call = desk.calls.get(command.call_id)
        if call is None:
            return
        gone = status in GONE_STATUSES
        if isinstance(command, RemoveFromBridge | TransferProgress):
            return  # the channel already left; the REFER already ended
        offer = call.xfer_offer
        if (
            isinstance(command, CreateChannel | Dial)
            and offer
            and offer.channel_id == command.channel_id
        ):
            call.aux_up.discard(command.channel_id)
            flow.transfers.leg_failed(
                call, OfferResult.UNAVAILABLE, now, hangup=isinstance(command, Dial)
            )
            return
        if isinstance(command, Hangup):
            if gone:
                flow.ending.leg_gone(command.channel_id, {}, now)
        elif isinstance(command, CreateChannel | Dial):
            if call.offer is not None and call.offer.channel_id == command.channel_id:
                hangup = isinstance(command, Dial)
                flow.offering.end(call, OfferResult.UNAVAILABLE, now, hangup=hangup)
                flow.offering.dispatch(now)
        elif isinstance(command, Play):
            if command.channel_id == call.caller_channel and gone:
                flow.ending.leg_gone(call.caller_channel, {}, now)
            else:
                desk.drop_playback(command.playback_id)
                flow.answering.playback_done(call, command.playback_id, now)
        elif isinstance(command, SetVar | Ring | Answer | StartMoh | RecordChannel):
            if gone and command.channel_id == call.caller_channel:
                flow.ending.leg_gone(call.caller_channel, {}, now)
            elif isinstance(command, RecordChannel):
                desk.take_recording(command.name)
                call.recording_ended()
                flow.overflow.voicemail_failed(call, now)
        elif isinstance(command, CreateBridge | AddToBridge):
            desk.count("bridge_failed")
            if call.state in (CallState.BRIDGED, CallState.TRANSFERRING):
                call.hangup_by = "engine"
                flow.ending.end_talk(call, now)
        elif isinstance(command, RecordBridge):
            desk.take_recording(command.name)
            call.recording = ""
            call.recording_ended()
            flow.ending.maybe_finalise(call, now)
