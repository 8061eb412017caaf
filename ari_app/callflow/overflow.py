"""A caller no agent will take (closed, no agents, waited too long): another queue, or a
prompt and then voicemail, a callback request or the end of the call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import (
    QUEUE,
    Answer,
    Hangup,
    Play,
    RecordChannel,
    SetVar,
    StartTimer,
    StopRecording,
)
from ari_app.domain.events import CallbackRequested, OfferResult, Outcome
from ari_app.domain.privacy import mask

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow

_DEFAULT_MEDIA = {
    "voicemail": ("sound:vm-intro",),
    "callback": ("sound:queue-callback",),
}


class Overflow:
    """The queue's overflow action and the prompts that end a call without an agent."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def start(self, call: Call, reason: str, now: float) -> None:
        desk = self.desk
        queue = desk.queues[call.queue]
        if call.offer is not None:
            self.flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
        if call.call_id in desk.waiting[queue.name]:
            self.flow.arrival.leave_queue(call)
        call.overflow = reason
        desk.count(f"overflow_{reason}")
        action = queue.overflow.action
        if action == "queue" and len(call.queues_visited) <= desk.limits.overflow_hops:
            target = desk.queues[queue.overflow.target]
            self.flow.arrival.stop_queue_audio(call)
            call.queue = target.name
            call.queues_visited.append(target.name)
            desk.emit(SetVar(call.caller_channel, QUEUE, target.name, call_id=call.call_id))
            desk.call_state(call, f"overflow:{target.name}", now)
            if desk.agents.logged_in_for(target.name):
                self.flow.arrival.enqueue(call, target, now)
            else:
                self.start(call, "no_agents", now)
            self.flow.offering.dispatch(now)
            return
        if action == "voicemail":
            outcome, then = Outcome.VOICEMAIL, "voicemail"
        elif action == "callback":
            outcome, then = Outcome.CALLBACK, "hangup"
            desk.publish(
                CallbackRequested(
                    call.call_id,
                    call.queue,
                    mask(call.caller_number),
                    now,
                    caller_number=call.caller_number,
                )
            )
            self.flow.callbacks.from_overflow(call, now)
        else:
            outcome, then = Outcome.CLOSED, "hangup"
        media = queue.overflow.media or _DEFAULT_MEDIA.get(action, queue.closed_media)
        self.prompt_then(call, media, outcome, then, now)
        self.flow.offering.dispatch(now)

    def prompt_then(
        self, call: Call, media: tuple[str, ...], outcome: Outcome, then: str, now: float
    ) -> None:
        """Answer if needed, play `media`, then hang up or record a voicemail."""
        desk = self.desk
        cid = call.call_id
        self.flow.arrival.stop_queue_audio(call)
        call.move(CallState.OVERFLOW)
        call.overflow_at = now
        call.outcome = outcome
        call.after_prompt = then
        if not call.caller_answered:
            call.caller_answered = True
            desk.emit(Answer(call.caller_channel, call_id=cid))
        desk.call_state(call, str(outcome), now)
        limits = desk.limits
        desk.emit(
            StartTimer(("overflow", cid), limits.prompt_seconds + limits.voicemail_seconds)
        )
        rendered = desk.render(media, call)
        if rendered:
            pid = call.play("prompt")
            desk.add_playback(pid, call)
            desk.emit(Play(call.caller_channel, pid, rendered, call_id=cid))
        else:
            self.after_prompt(call, now)

    def after_prompt(self, call: Call, now: float) -> None:
        desk = self.desk
        cid = call.call_id
        if not call.caller_up:
            return
        if call.after_prompt == "voicemail":
            name = f"vm-{cid}"
            call.recording_started(name, desk.queues[call.queue].record_format)
            desk.add_recording(name, call)
            desk.emit(
                RecordChannel(
                    call.caller_channel,
                    name,
                    call.recording_format,
                    desk.limits.voicemail_seconds,
                    call_id=cid,
                )
            )
        else:
            desk.emit(Hangup(call.caller_channel, call_id=cid))
            self.flow.ending.finish(call, now)

    def timer(self, call_id: str, now: float) -> None:
        call = self.desk.calls.get(call_id)
        if call is not None and call.state is CallState.OVERFLOW:
            self.desk.count("overflow_timeout")
            if call.recording and not call.recording_done:
                self.desk.emit(StopRecording(call.recording, call_id=call_id))
            self.desk.emit(Hangup(call.caller_channel, call_id=call_id))
            self.flow.ending.finish(call, now)

    def voicemail_failed(self, call: Call, now: float) -> None:
        if call.caller_up:
            self.desk.emit(Hangup(call.caller_channel, call_id=call.call_id))
        self.flow.ending.finish(call, now)
