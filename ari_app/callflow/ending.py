"""The end of a call: a leg hangs up, talk ends, the agent wraps up, and the call is
forgotten once its legs and recording are confirmed gone (or a timer gives up waiting).
The call's summary is published when the agent who ended it finishes wrap-up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ari_app.callflow.agents import Agent
from ari_app.callflow.call import Call, CallState, leg_result
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import (
    CancelTimer,
    DestroyBridge,
    Hangup,
    StartTimer,
    StopRecording,
)
from ari_app.domain.events import (
    AgentState,
    CallEnded,
    OfferResult,
    Outcome,
    RecordingInfo,
    RecordingReady,
)
from ari_app.domain.privacy import mask

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class Ending:
    """Hang-ups, the end of talk, wrap-up and the call's final summary."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self.wrapping: dict[str, Call] = {}  # finished calls whose summary waits for wrap-up

    # ------------------------------------------------------------------ a leg is gone

    def leg_gone(self, channel_id: str, ev: Mapping[str, Any], now: float) -> None:
        desk, flow = self.desk, self.flow
        call = desk.call_of(channel_id)
        if call is None:
            desk.detach(channel_id)
            return
        if channel_id in call.aux_up and ev.get("type") != "ChannelHangupRequest":
            call.aux_up.discard(channel_id)
        if channel_id == call.caller_channel:
            if call.caller_up:
                call.caller_left()
                self._caller_gone(call, now)
        elif call.xfer_offer is not None and call.xfer_offer.channel_id == channel_id:
            flow.transfers.leg_gone(call, ev, now)
        elif channel_id and channel_id in (call.local_one, call.local_two):
            flow.phone_transfers.local_leg_gone(call, ev, now)
        elif call.offer is not None and call.offer.channel_id == channel_id:
            if ev.get("type") == "ChannelHangupRequest":
                return  # wait for Dial status or ChannelDestroyed: they say why
            flow.offering.end(call, leg_result(ev.get("cause")), now, hangup=False)
            flow.offering.dispatch(now)
        elif channel_id == call.agent_channel and call.agent_up:
            call.agent_left()
            self._agent_gone(call, now)
        if call.state is CallState.ENDING:
            self.maybe_finalise(call, now)

    def _caller_gone(self, call: Call, now: float) -> None:
        flow = self.flow
        state = call.state
        if state is CallState.TRANSFERRING and call.transfer is not None:
            call.hangup_by = "caller"
            flow.transfers.do(call, call.transfer.caller_gone(now), now)
            self.end_talk(call, now)
        elif state is CallState.QUEUED:
            # queued again after a transfer: the call was answered, not abandoned
            call.outcome = self._answered_outcome(call) if call.taken_by else Outcome.ABANDONED
            call.hangup_by = "caller"
            if call.offer is not None:
                flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
            flow.arrival.leave_queue(call)
            self.finish(call, now)
            flow.offering.dispatch(now)
        elif state in (CallState.GREETING, CallState.BRIDGED):
            call.hangup_by = "caller"
            self.end_talk(call, now)
        elif state is CallState.OVERFLOW:
            call.hangup_by = "caller"
            self.finish(call, now)
        elif state is CallState.SURVEY:
            flow.surveys.caller_gone(call, now)

    def _agent_gone(self, call: Call, now: float) -> None:
        if call.state in (CallState.GREETING, CallState.BRIDGED):
            call.hangup_by = "agent"
            self.end_talk(call, now)
        elif call.state is CallState.TRANSFERRING and call.transfer is not None:
            t = call.transfer
            was_present = t.agent_present
            steps = t.agent_gone(now)
            if was_present:
                self.flow.transfers.release_agent(call, now)
            if t.active:
                self.flow.arrival.moh(call, self.desk.queues[call.queue], True)
            self.flow.transfers.do(call, steps, now)

    @staticmethod
    def _answered_outcome(call: Call) -> Outcome:
        return Outcome.TRANSFERRED if call.external else Outcome.ANSWERED

    # ------------------------------------------------------------------ talk ends

    def end_talk(self, call: Call, now: float) -> None:
        """Either side left an answered call: clear the other side, agent to wrap-up."""
        desk = self.desk
        cid = call.call_id
        call.outcome = self._answered_outcome(call)
        call.talk_ended_at = now
        since = call.talk_from if call.talk_from is not None else (call.bridged_at or now)
        call.talk_stops(now)
        call.hold_stops(now)
        for pid in list(call.playbacks):
            desk.drop_playback(pid)
        call.playbacks.clear()
        desk.emit(CancelTimer(("greeting", cid)), CancelTimer(("talk", cid)))
        survey = self.flow.surveys.wanted(call)
        if call.recording and not call.recording_done and not call.recorder:
            # (a recording on the recorder snoop needs no stop: the snoop ends with the
            # caller's channel, hung up just below or already gone)
            desk.emit(StopRecording(call.recording, call_id=cid))
        if survey and call.recorder and not call.recording_done:
            # the caller stays for the survey: the talk's recording ends with its snoop
            desk.emit(Hangup(call.recorder, call_id=cid, owner=call.recorder))
        if call.caller_up and not survey:
            desk.emit(Hangup(call.caller_channel, call_id=cid))
        if call.agent_up:
            desk.emit(Hangup(call.agent_channel, call_id=cid))
        if call.unbridged():
            desk.emit(DestroyBridge(call.bridge_id, call_id=cid))
        agent = desk.agents.get(call.agent_id)
        if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
            call.wrapup_started = now
            call.wrapup_agent = agent.id
            self.start_wrapup(call, agent, now, since)
        if survey:
            self.flow.surveys.start(call, now)
        else:
            self.finish(call, now)

    def start_wrapup(self, call: Call, agent: Agent, now: float, since: float | None) -> None:
        """`since`: when this agent's talk with the caller began, for the handling-time
        average (None: the agent only consulted, not a handled call)."""
        desk = self.desk
        self.flow.offering.agent_changed(agent.call_finished(now))
        wrapup = desk.queues[call.queue].wrapup_seconds
        if since is not None:
            desk.handling[call.queue].add((now - since) + wrapup)
        if wrapup > 0:
            desk.emit(StartTimer(("wrapup", agent.id), wrapup))
        else:
            self.wrapup_timer(agent.id, now)

    def talk_timer(self, call_id: str, now: float) -> None:
        call = self.desk.calls.get(call_id)
        if call is not None and call.state is CallState.BRIDGED:
            self.desk.count("talk_timeout")
            call.hangup_by = "engine"
            self.end_talk(call, now)

    # ------------------------------------------------------------------ the call is over

    def finish(self, call: Call, now: float) -> None:
        if call.state is CallState.ENDING:
            return
        self.flow.transfers.release_extras(call, now)
        call.move(CallState.ENDING)
        call.ended_at = now
        self.desk.emit(StartTimer(("cleanup", call.call_id), self.desk.limits.cleanup_seconds))
        self.desk.call_state(call, "ended", now, agent_id=call.agent_id)
        self.maybe_finalise(call, now)

    def maybe_finalise(self, call: Call, now: float, *, force: bool = False) -> None:
        desk = self.desk
        if call.state is not CallState.ENDING:
            return
        if not force and not (call.legs_down and call.recording_done):
            return
        cid = call.call_id
        desk.emit(CancelTimer(("cleanup", cid)))
        call.move(CallState.FINISHED)
        desk.drop_call(cid)
        legs = [
            call.caller_channel,
            call.agent_channel,
            *(o.channel_id for o in call.offers),
            *call.aux_channels,
            call.recorder,
        ]
        if force:
            legs += desk.channels_of(cid)
        for leg in legs:
            desk.detach(leg)
        for pid in call.playbacks:
            desk.drop_playback(pid)
        desk.drop_bridge(call.bridge_id)
        desk.drop_bridge(call.consult_bridge)
        if call.recording:
            desk.take_recording(call.recording)
            desk.publish(RecordingReady(self._recording_info(call, now)))
        if call.wrapup_started is not None and call.wrapup_ended is None:
            self.wrapping[cid] = call  # the summary waits for the agent's wrap-up
        else:
            desk.publish(CallEnded(call.summary()))

    @staticmethod
    def _recording_info(call: Call, now: float) -> RecordingInfo:
        started = call.bridged_at or call.answered_at or call.arrived_at
        ended = call.talk_ended_at or call.ended_at or now
        duration = call.recording_seconds
        return RecordingInfo(
            name=call.recording,
            format=call.recording_format,
            call_id=call.call_id,
            queue=call.queue,
            agent_id=call.agent_id,
            caller=mask(call.caller_number),
            started_at=started,
            ended_at=ended,
            duration_seconds=duration if duration is not None else ended - started,
        )

    def recording_finished(self, call: Call, duration: object, failed: bool, now: float) -> None:
        if failed:
            self.desk.count("recording_failed")
        call.recording_seconds = float(duration) if isinstance(duration, int | float) else None
        call.recording_ended()
        if call.state is CallState.OVERFLOW and call.caller_up:
            self.desk.emit(Hangup(call.caller_channel, call_id=call.call_id))
            self.finish(call, now)
        self.maybe_finalise(call, now)

    def cleanup_timer(self, call_id: str, now: float) -> None:
        desk = self.desk
        call = desk.calls.get(call_id)
        if call is None or call.state is not CallState.ENDING:
            return
        desk.count("cleanup_forced")
        desk.note("warning", f"call {call_id}: legs or recording not confirmed gone; forgotten")
        if call.caller_up:
            desk.emit(Hangup(call.caller_channel, call_id=call_id))
        if call.agent_up:
            desk.emit(Hangup(call.agent_channel, call_id=call_id))
        if call.recorder and not call.recording_done:
            desk.emit(Hangup(call.recorder, call_id=call_id, owner=call.recorder))
        call.caller_left()
        call.agent_left()
        call.recording_ended()
        self.maybe_finalise(call, now, force=True)

    # ------------------------------------------------------------------ wrap-up

    def wrapup_timer(self, agent_id: str, now: float) -> None:
        agent = self.desk.agents.get(agent_id)
        if agent is None or agent.state is not AgentState.WRAPUP:
            return
        call_id = agent.call_id
        self.flow.offering.agent_changed(agent.wrapup_done(now))
        self.wrapup_finished(call_id, agent_id, now)
        self.flow.offering.dispatch(now)

    def wrapup_finished(self, call_id: str, agent_id: str, now: float) -> None:
        """Only the wrap-up of the agent who ended the call closes its summary; an agent
        who transferred the call away wraps up on their own."""
        call = self.desk.calls.get(call_id)
        if call is not None:
            if call.wrapup_agent == agent_id:
                call.wrapup_ended = now
            return
        call = self.wrapping.get(call_id)
        if call is not None and call.wrapup_agent == agent_id:
            del self.wrapping[call_id]
            call.wrapup_ended = now
            self.desk.publish(CallEnded(call.summary()))

    # ------------------------------------------------------------------ a bug met an event

    def fail(self, call: Call, now: float) -> None:
        """A bug met this call: end it rather than leave it stuck."""
        flow = self.flow
        if call.state is CallState.FINISHED:
            return
        call.outcome = call.outcome or Outcome.FAILED
        if call.offer is not None:
            flow.offering.end(call, OfferResult.CANCELLED, now, hangup=True)
        if call.call_id in self.desk.waiting[call.queue]:
            flow.arrival.leave_queue(call)
        if call.state in (CallState.GREETING, CallState.BRIDGED, CallState.TRANSFERRING):
            self.end_talk(call, now)
        else:
            if call.caller_up:
                self.desk.emit(Hangup(call.caller_channel, call_id=call.call_id))
            self.finish(call, now)
