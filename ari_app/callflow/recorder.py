"""The call's recording: a snoop channel on the caller (`spy=both`), recorded through ARI.

Once caller and agent are bridged, the recorder asks for `POST /channels/{caller}/snoop`
(`snoopId` `rec-<call>`, appArgs `recorder`) and, once the snoop is in Stasis (the shell's
StasisGate holds the request until its StasisStart), `POST /channels/rec-<call>/record` as
`call-<call>`. The snoop is an audiohook on the caller's channel, so the call's bridge stays
a two-party bridge Asterisk passes frames through instead of a three-party bridge it must
mix (a bridge recorder is a third member: softmix); and it follows the caller wherever the
caller goes — a consultation, a blind transfer back to a queue, hold, a phone's REFER —
until the caller's channel goes, when Asterisk hangs the snoop up by itself and the
recording finishes (RecordingFinished): no stop request is needed.

The recorder's requests have a lane of their own (`owner` `rec-<call>`): waiting for the
snoop to enter Stasis never holds up the call's own requests, and a failed snoop or record
leaves the call going on unrecorded (counted `recording_failed`), never ends it.
See docs/records.md for the choice and its trade-offs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callflow.call import Call
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import (
    RECORDER_ARGS,
    AriCommand,
    Hangup,
    RecordSnoop,
    Snoop,
)

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


def recorder_id(call_id: str) -> str:
    return f"rec-{call_id}"


def recording_name(call_id: str) -> str:
    return f"call-{call_id}"


class Recorder:
    """Starts a call's recording and answers for its requests."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def start(self, call: Call) -> None:
        """Record the call from now on (the caller and the agent have just been bridged)."""
        desk = self.desk
        cid = call.call_id
        name = recording_name(cid)
        snoop = recorder_id(cid)
        fmt = desk.queues[call.queue].record_format
        call.recording_started(name, fmt)
        call.recorder = snoop
        desk.add_recording(name, call)
        desk.attach(snoop, call)
        desk.emit(
            Snoop(call.caller_channel, snoop, "both", "none", desk.app, RECORDER_ARGS,
                  call_id=cid, owner=snoop),
            RecordSnoop(snoop, name, fmt, call_id=cid, owner=snoop),
        )

    def adopted(self, call: Call, snoop: str, name: str) -> None:
        """After a restart: the call's recording runs on this snoop; it goes on."""
        desk = self.desk
        call.recording_started(name, desk.queues[call.queue].record_format)
        call.recorder = snoop
        desk.add_recording(name, call)
        desk.attach(snoop, call)

    @staticmethod
    def owns(command: AriCommand) -> bool:
        """A request of a call's recorder (its snoop, its record, its hang-up)."""
        return bool(command.owner) and command.owner.startswith("rec-")

    def failed(self, command: AriCommand, status: int, now: float) -> None:
        """The snoop or its recording could not start: the call goes on unrecorded."""
        desk = self.desk
        call = desk.calls.get(command.call_id)
        if call is None or not isinstance(command, Snoop | RecordSnoop):
            return  # the call is over, or a hang-up of a snoop already gone
        snoop = command.snoop_id if isinstance(command, Snoop) else command.channel_id
        if not call.recorder or call.recorder != snoop:
            return  # this recorder already failed (its record follows its snoop's fate)
        desk.count("recording_failed")
        desk.note("warning", f"call {call.call_id}: not recorded "
                             f"({type(command).__name__} answered {status or 'nothing'})")
        desk.take_recording(call.recording)
        call.recording = ""
        call.recording_ended()
        if isinstance(command, RecordSnoop):
            desk.emit(Hangup(snoop, call_id=call.call_id, owner=snoop))  # a snoop for nothing
        call.recorder = ""
        desk.detach(snoop)  # its last events, if any, are no strays
        self.flow.ending.maybe_finalise(call, now)
