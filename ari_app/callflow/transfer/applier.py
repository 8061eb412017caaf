"""Transfers carried out on a call: the steps the `Transfer` machine
(ari_app.callflow.transfer.machine) decides — announce, dial the target, consult, join,
return to the agent, move to a queue — applied to the call's channels and bridges.

Requests come from an agent through the API (ari_app.callflow.transfer.requests) or from
a phone's REFER (ari_app.callflow.transfer.phone); the call flow around a transfer
(queueing, music on hold, wrap-up, the end of talk) is reached through the `Flow`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ari_app.callflow.agents import Agent
from ari_app.callflow.call import Call, CallState, Offer, leg_result
from ari_app.callflow.desk import Desk
from ari_app.callflow.transfer.machine import Do, Kind, Target, TargetKind, Transfer
from ari_app.domain.commands import (
    AGENT_ID,
    CALL_ID,
    QUEUE,
    ROLE,
    TRANSFER_HANDLING,
    AddToBridge,
    CancelTimer,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    Play,
    RemoveFromBridge,
    SetVar,
    StartTimer,
    StopRecording,
    TransferProgress,
)
from ari_app.domain.events import (
    AgentState,
    OfferResult,
    TransferCompleted,
    TransferFailed,
    TransferStarted,
    TransferSummary,
)

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class Transfers:
    """Every transfer in flight, on its call."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def start(
        self, call: Call, kind: Kind, target: Target, now: float, *, agent_stays: bool = False
    ) -> None:
        t, steps = Transfer.start(kind, target, call.agent_id, now, agent_stays=agent_stays)
        cid = call.call_id
        call.transfer = t
        call.move(CallState.TRANSFERRING)
        self.desk.publish(
            TransferStarted(cid, str(kind), t.from_agent, target.address, target.label, now)
        )
        self.desk.call_state(call, "transferring", now, agent_id=call.agent_id)
        if kind is Kind.ATTENDED:
            # the agent steps into a consultation bridge; the caller stays in the call's
            # bridge (its recording goes on) and hears music on hold
            xb = f"xfer-{cid}"
            call.consult_bridge = xb
            self.desk.add_bridge(xb, call)
            call.talk_stops(now)
            call.hold_starts(now)
            self.desk.emit(
                RemoveFromBridge(call.bridge_id, call.agent_channel, call_id=cid),
                CreateBridge(xb, call_id=cid),
                AddToBridge(xb, (call.agent_channel,), call_id=cid),
            )
            self.flow.arrival.moh(call, self.desk.queues[call.queue], True)
        elif not t.agent_present:
            self.release_agent(call, now)
        self.do(call, steps, now)

    def do(self, call: Call, steps: list[Do], now: float) -> None:
        """Carry out what the transfer machine decided."""
        t = call.transfer
        if t is None:
            return
        cid = call.call_id
        for step in steps:
            if step is Do.ANNOUNCE:
                pid = call.play("xfer")
                self.desk.add_playback(pid, call)
                media = self.desk.render(t.target.announce, call)
                self.desk.emit(Play(call.caller_channel, pid, media, call_id=cid))
            elif step is Do.MOVE:
                if t.agent_present:
                    self.release_agent(
                        call, now, remove_from=call.bridge_id, progress=t.kind is Kind.PHONE
                    )
                self._close(call, now)
                self._requeue(call, t.target.name, now)
            elif step is Do.DIAL:
                self._dial_target(call, now)
            elif step is Do.CONSULT and call.xfer_offer is not None:
                self.desk.emit(
                    AddToBridge(call.consult_bridge, (call.xfer_offer.channel_id,), call_id=cid)
                )
                self.desk.call_state(call, "consulting", now, agent_id=call.agent_id)
            elif step is Do.JOIN:
                self._join_target(call, now)
            elif step is Do.RETURN:
                self._back_to_agent(call, now)
            elif step is Do.REQUEUE:
                self._drop_target(call, now)
                self._close(call, now)
                self._requeue(call, call.queue, now)
            elif step is Do.DROP:
                self._drop_target(call, now)
        if call.transfer is t and not t.active:
            self._close(call, now)

    def _close(self, call: Call, now: float) -> None:
        t = call.transfer
        if t is None:
            return
        call.transfer = None
        done = t.result == "completed"
        to_agent = t.target.name if done and t.target.kind is TargetKind.AGENT else ""
        call.transfers.append(
            TransferSummary(
                kind=str(t.kind),
                from_agent=t.from_agent,
                target=t.target.address,
                label=t.target.label,
                started_at=t.started_at,
                ended_at=t.ended_at if t.ended_at is not None else now,
                result=t.result,
                reason=t.reason,
                to_agent=to_agent,
            )
        )
        args = (call.call_id, str(t.kind), t.from_agent, t.target.address, t.target.label, now)
        if done:
            self.desk.publish(TransferCompleted(*args, to_agent=to_agent))
        else:
            self.desk.count("transfers_failed")
            self.desk.publish(TransferFailed(*args, result=t.result, reason=t.reason))

    def release_agent(
        self, call: Call, now: float, *, remove_from: str = "", progress: bool = False
    ) -> None:
        """The transferring agent leaves the call (to wrap-up); the caller stays."""
        cid = call.call_id
        since = call.talk_from if call.talk_from is not None else (call.bridged_at or now)
        call.talk_stops(now)
        self.flow.monitoring.end_for_call(cid, "agent_left", now, agent_channel=call.agent_channel)
        if call.agent_up:
            if progress:
                self.desk.emit(
                    TransferProgress(call.agent_channel, "channel_answered", call_id=cid)
                )
            if remove_from:
                self.desk.emit(RemoveFromBridge(remove_from, call.agent_channel, call_id=cid))
            self.desk.emit(Hangup(call.agent_channel, call_id=cid))
            call.agent_left()
        agent = self.desk.agents.get(call.agent_id)
        if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
            self.flow.ending.start_wrapup(call, agent, now, since)
        call.agent_id = ""
        call.agent_channel = ""

    def _requeue(self, call: Call, queue_name: str, now: float) -> None:
        """The caller waits in a queue again (a transfer to it, or a failed one), keeping
        their original arrival (and place) and staying in the call's bridge."""
        cid = call.call_id
        for leg in (call.local_two, call.local_one):
            if leg and leg in call.aux_up:
                self.desk.emit(Hangup(leg, call_id=cid))  # the other half follows
                break
        call.local_one = call.local_two = ""
        if not call.agent_up:
            call.agent_id = ""
            call.agent_channel = ""
        if queue_name != call.queue:
            call.queue = queue_name
            call.queues_visited.append(queue_name)
            self.desk.emit(SetVar(call.caller_channel, QUEUE, queue_name, call_id=cid))
        queue = self.desk.queues[queue_name]
        if self.desk.agents.logged_in_for(queue_name):
            self.flow.arrival.enqueue(call, queue, now)
        else:
            self.flow.overflow.start(call, "no_agents", now)

    def _dial_target(self, call: Call, now: float) -> None:
        t = call.transfer
        if t is None:
            return
        cid = call.call_id
        queue = self.desk.queues[call.queue]
        target = t.target
        originator = call.local_two or call.caller_channel
        call.xfer_seq += 1
        agent: Agent | None = None
        if target.kind is TargetKind.AGENT:
            agent = self.desk.agents.get(target.name)
            if agent is None or agent.state is not AgentState.AVAILABLE:
                self.do(call, t.target_failed("unavailable", now), now)
                return
            channel_id = call.agent_channel_id(agent.id)
            endpoint, app_args = agent.device, "agent"
            variables = {AGENT_ID: agent.id, CALL_ID: cid, QUEUE: call.queue, ROLE: "agent"}
            self.flow.offering.agent_changed(agent.offer(cid, now))
        else:
            channel_id = f"ext-{cid}-{call.xfer_seq}"
            endpoint, app_args = target.name, "external"
            variables = {CALL_ID: cid, ROLE: "external"}
        call.xfer_offer = Offer(agent.id if agent else "", channel_id, now)
        call.aux_up.add(channel_id)
        call.aux_channels.append(channel_id)
        self.desk.attach(channel_id, call)
        ring = self.desk.ring_seconds(queue) + self.desk.limits.setup_seconds
        self.desk.emit(
            CreateChannel(
                channel_id=channel_id,
                endpoint=endpoint,
                app=self.desk.app,
                app_args=app_args,
                originator=originator,
                variables=variables,
                call_id=cid,
            )
        )
        if agent is not None and self.desk.phone_transfers == "ari-only":
            self.desk.emit(SetVar(channel_id, TRANSFER_HANDLING, "ari-only", call_id=cid))
        self.desk.emit(
            Dial(channel_id, caller=originator, timeout=math.ceil(ring), call_id=cid),
            StartTimer(("xfer", cid), ring),
        )
        if not t.agent_present and not call.local_two:
            self.flow.arrival.moh(call, queue, True)

    def ringing(self, call: Call, now: float) -> None:
        offer = call.xfer_offer
        if offer is None or offer.ringing_at is not None or offer.result is not None:
            return
        offer.ringing_at = now
        self.desk.emit(
            StartTimer(("xfer", call.call_id), self.desk.ring_seconds(self.desk.queues[call.queue]))
        )

    def answered(self, call: Call, now: float) -> None:
        offer = call.xfer_offer
        t = call.transfer
        if offer is None or offer.result is not None:
            return
        cid = call.call_id
        if t is None or not t.active:
            self.desk.emit(Hangup(offer.channel_id, call_id=cid))
            return
        self.desk.emit(CancelTimer(("xfer", cid)))
        summary = offer.close(OfferResult.ANSWERED, now, self.desk.periods[call.queue])
        if offer.agent_id:
            call.offers.append(summary)
            agent = self.desk.agents.get(offer.agent_id)
            if agent is not None and agent.state is AgentState.RINGING and agent.call_id == cid:
                self.flow.offering.agent_changed(agent.answered(cid, now))
        self.do(call, t.answered(now), now)

    def leg_failed(self, call: Call, result: OfferResult, now: float, *, hangup: bool) -> None:
        """The target did not answer: busy, declined, unreachable, or no answer in time."""
        offer = call.xfer_offer
        if offer is None or offer.result is not None:
            return
        cid = call.call_id
        self.desk.emit(CancelTimer(("xfer", cid)))
        self._offer_closed(call, offer, result, now)
        if hangup and offer.channel_id in call.aux_up:
            self.desk.emit(Hangup(offer.channel_id, call_id=cid))
        reason = {
            OfferResult.RONA: "no_answer",
            OfferResult.BUSY: "busy",
            OfferResult.CANCELLED: "declined",
        }.get(result, "unavailable")
        if call.transfer is not None:
            self.do(call, call.transfer.target_failed(reason, now), now)

    def _offer_closed(self, call: Call, offer: Offer, result: OfferResult, now: float) -> None:
        summary = offer.close(result, now, self.desk.periods[call.queue])
        if not offer.agent_id:
            return
        call.offers.append(summary)
        agent = self.desk.agents.get(offer.agent_id)
        if (
            agent is not None
            and agent.state is AgentState.RINGING
            and agent.call_id == call.call_id
        ):
            # a transfer that was not picked up does not count as a RONA
            self.flow.offering.agent_changed(agent.offer_ended(now, rona=False, pause_after=0))

    def leg_gone(self, call: Call, ev: Mapping[str, Any], now: float) -> None:
        offer = call.xfer_offer
        if offer is None:
            return
        kind = ev.get("type")
        if offer.result is None:
            if kind == "ChannelHangupRequest":
                return  # Dial status or ChannelDestroyed say why
            self.leg_failed(call, leg_result(ev.get("cause")), now, hangup=False)
        elif call.transfer is not None and call.transfer.active:
            # the target hung up while consulting
            self.do(call, call.transfer.target_failed("target_hangup", now), now)

    def _drop_target(self, call: Call, now: float) -> None:
        """Let go of the target leg (ringing: cancelled; consulted: to wrap-up)."""
        offer = call.xfer_offer
        if offer is None:
            return
        cid = call.call_id
        call.xfer_offer = None
        self.desk.emit(CancelTimer(("xfer", cid)))
        if offer.result is None:
            self._offer_closed(call, offer, OfferResult.CANCELLED, now)
        elif offer.result is OfferResult.ANSWERED:
            agent = self.desk.agents.get(offer.agent_id)
            if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
                self.flow.ending.start_wrapup(call, agent, now, None)
        if offer.channel_id in call.aux_up:
            self.desk.emit(Hangup(offer.channel_id, call_id=cid))

    def _join_target(self, call: Call, now: float) -> None:
        """The target answered (blind) or the consultation is completed: the target joins
        the caller in the call's bridge (a REFER's Local half: in its own bridge), a
        transferring agent still there leaves, and the target becomes the call's party."""
        t = call.transfer
        offer = call.xfer_offer
        if t is None or offer is None:
            return
        cid = call.call_id
        target = offer.channel_id
        self.flow.arrival.moh(call, self.desk.queues[call.queue], False)
        call.hold_stops(now)
        if call.local_two:
            xb = f"xfer-{cid}"
            call.consult_bridge = xb
            self.desk.add_bridge(xb, call)
            self.desk.emit(
                CreateBridge(xb, call_id=cid),
                AddToBridge(xb, (call.local_two, target), call_id=cid),
            )
        else:
            if call.consult_bridge:
                self.desk.emit(RemoveFromBridge(call.consult_bridge, target, call_id=cid))
            self.desk.emit(AddToBridge(call.bridge_id, (target,), call_id=cid))
        if call.agent_up and call.agent_channel != target:
            phone = t.kind is Kind.PHONE
            self.release_agent(
                call, now, remove_from=call.bridge_id if phone else "", progress=phone
            )
        if call.consult_bridge and not call.local_two:
            self.desk.emit(DestroyBridge(call.consult_bridge, call_id=cid))
            self.desk.drop_bridge(call.consult_bridge)
            call.consult_bridge = ""
        call.aux_up.discard(target)
        call.xfer_offer = None
        call.agent_joined(target)
        if offer.agent_id:
            call.agent_id = offer.agent_id
            call.talk_starts(now)
        else:
            call.external = True
            call.agent_id = ""
        call.move(CallState.BRIDGED)
        self.desk.call_state(call, "bridged", now, agent_id=call.agent_id)

    def _back_to_agent(self, call: Call, now: float) -> None:
        """Back to the agent (cancelled, or the target declined / failed / hung up)."""
        t = call.transfer
        cid = call.call_id
        self._drop_target(call, now)
        if call.consult_bridge:
            xb = call.consult_bridge
            self.desk.emit(
                RemoveFromBridge(xb, call.agent_channel, call_id=cid),
                AddToBridge(call.bridge_id, (call.agent_channel,), call_id=cid),
                DestroyBridge(xb, call_id=cid),
            )
            self.desk.drop_bridge(xb)
            call.consult_bridge = ""
            self.flow.arrival.moh(call, self.desk.queues[call.queue], False)
            call.hold_stops(now)
            call.talk_starts(now)
        if t is not None and t.kind is Kind.PHONE:
            self.desk.emit(TransferProgress(call.agent_channel, "channel_declined", call_id=cid))
        call.move(CallState.BRIDGED)
        self.desk.call_state(call, "bridged", now, agent_id=call.agent_id)

    def timer(self, call_id: str, now: float) -> None:
        call = self.desk.calls.get(call_id)
        offer = call.xfer_offer if call is not None else None
        if call is None or offer is None or offer.result is not None:
            return
        result = OfferResult.RONA if offer.ringing_at is not None else OfferResult.UNAVAILABLE
        self.leg_failed(call, result, now, hangup=True)

    def release_extras(self, call: Call, now: float) -> None:
        """The call is ending: whatever a transfer or a monitor left behind goes too."""
        cid = call.call_id
        t = call.transfer
        if t is not None and t.active:
            self.do(call, t.caller_gone(now), now)
        self._close(call, now)
        self._drop_target(call, now)
        for leg in (call.local_two, call.local_one):
            if leg and leg in call.aux_up:
                self.desk.emit(Hangup(leg, call_id=cid))
                break
        if call.consult_bridge:
            self.desk.emit(DestroyBridge(call.consult_bridge, call_id=cid))
            call.consult_bridge = ""
        if call.unbridged():
            if (call.recording and not call.recording_done and call.recording.startswith("call-")
                    and not call.recorder):  # a bridge's recording (adopted from before)
                self.desk.emit(StopRecording(call.recording, call_id=cid))
            self.desk.emit(DestroyBridge(call.bridge_id, call_id=cid))
        self.flow.monitoring.end_for_call(cid, "call_ended", now)
        self.flow.phone_transfers.forget_call(cid)

