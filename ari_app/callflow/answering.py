"""An agent answers: the offer closes, the caller hears the greeting with the agent's ID
(the agent a whisper), then caller and agent are bridged and the call is recorded (by the
recorder: ari_app.callflow.recorder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.survey.applier import PROMPT as SURVEY_PROMPT
from ari_app.callflow.survey.applier import THANKS as SURVEY_THANKS
from ari_app.domain.commands import (
    AddToBridge,
    Answer,
    CancelTimer,
    CreateBridge,
    Hangup,
    Play,
    StartTimer,
    StopPlayback,
)
from ari_app.domain.events import CallProgress, OfferResult
from ari_app.domain.privacy import mask

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class Answering:
    """From an agent's answer to the bridged, recorded call."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def agent_answered(self, call: Call, channel_id: str, now: float) -> None:
        desk = self.desk
        offer = call.offer
        if offer is None or offer.channel_id != channel_id:
            if channel_id != call.agent_channel:
                desk.count("late_answer")  # a leg we already gave up on
                desk.emit(Hangup(channel_id, call_id=call.call_id))
            return
        if call.state is not CallState.QUEUED or not call.caller_up:
            self.flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
            return
        cid = call.call_id
        call.offer = None
        call.offers.append(offer.close(OfferResult.ANSWERED, now, desk.periods[call.queue]))
        desk.emit(CancelTimer(("offer", channel_id)))
        call.agent_id = offer.agent_id
        call.agent_joined(channel_id)
        first = call.answered_at is None
        if first:
            call.answered_at = now  # a transferred caller's wait ended at the first answer
        call.taken_by = call.taken_by or offer.agent_id
        if first:
            desk.publish(
                CallProgress(cid, call.queue, mask(call.caller_number), call.arrived_at, now,
                             call.taken_by, caller_number=call.caller_number)
            )
        call.move(CallState.GREETING)
        self.flow.arrival.leave_queue(call)
        agent = desk.agents.require(offer.agent_id)
        self.flow.offering.agent_changed(agent.answered(cid, now))
        queue = desk.queues[call.queue]
        if call.caller_answered:
            self.flow.arrival.stop_queue_audio(call)
        else:
            call.caller_answered = True
            desk.emit(Answer(call.caller_channel, call_id=cid))
        greeting = desk.render(
            queue.greeting + (queue.recording_notice if queue.record else ()), call
        )
        if greeting:
            pid = call.play("greet", once=True)
            desk.add_playback(pid, call)
            desk.emit(Play(call.caller_channel, pid, greeting, call_id=cid))
        whisper = desk.render(queue.whisper, call)
        if whisper:
            pid = call.play("whisper", once=True)
            desk.add_playback(pid, call)
            desk.emit(Play(channel_id, pid, whisper, call_id=cid))
        desk.call_state(call, "greeting", now, agent_id=agent.id)
        if call.playbacks:
            desk.emit(StartTimer(("greeting", cid), desk.limits.greeting_seconds))
        else:
            self.bridge(call, now)

    def playback_done(self, call: Call, pid: str, now: float) -> None:
        """A prompt of this call finished (or could not be played): what comes next."""
        kind = call.playbacks.pop(pid, None)
        if kind is None:
            return
        queue = self.desk.queues[call.queue]
        if kind in ("greet", "whisper"):
            if call.state is CallState.GREETING and not call.playbacks:
                self.bridge(call, now)
        elif kind in ("welcome", "announce"):
            if call.state is CallState.QUEUED and not call.playbacks:
                self.flow.arrival.moh(call, queue, True)
        elif kind == "prompt" and call.state is CallState.OVERFLOW:
            self.flow.overflow.after_prompt(call, now)
        elif kind in (SURVEY_PROMPT, SURVEY_THANKS):
            self.flow.surveys.playback_done(call, kind, now)
        elif kind == "xfer" and call.transfer is not None:
            self.flow.transfers.do(call, call.transfer.announced(now), now)

    def greeting_timer(self, call_id: str, now: float) -> None:
        call = self.desk.calls.get(call_id)
        if call is not None and call.state is CallState.GREETING:
            self.desk.count("greeting_timeout")
            for pid in list(call.playbacks):
                self.desk.drop_playback(pid)
                self.desk.emit(StopPlayback(pid, call_id=call_id))
            call.playbacks.clear()
            self.bridge(call, now)

    def bridge(self, call: Call, now: float) -> None:
        desk = self.desk
        cid = call.call_id
        desk.emit(CancelTimer(("greeting", cid)))
        if not (call.caller_up and call.agent_up):
            return
        queue = desk.queues[call.queue]
        call.talk_starts(now)
        call.move(CallState.BRIDGED)
        if call.bridge_up:
            # back from a transfer to a queue: the caller never left the call's bridge and
            # its recording still runs; the new agent just joins
            desk.emit(AddToBridge(call.bridge_id, (call.agent_channel,), call_id=cid))
            desk.call_state(call, "bridged", now, agent_id=call.agent_id)
            return
        bridge_id = f"br-{cid}"
        call.bridged(bridge_id)
        desk.add_bridge(bridge_id, call)
        call.bridged_at = now
        desk.emit(
            CreateBridge(bridge_id, call_id=cid),
            AddToBridge(bridge_id, (call.caller_channel, call.agent_channel), call_id=cid),
        )
        if queue.record and not call.recorder:
            self.flow.recorder.start(call)  # a snoop on the caller, not a bridge recorder
        desk.emit(StartTimer(("talk", cid), desk.limits.talk_seconds))
        desk.call_state(call, "bridged", now, agent_id=call.agent_id)
