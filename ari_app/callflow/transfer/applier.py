"""Transfers carried out on the switchboard's calls: an agent's blind and attended
transfers (API), and a phone's REFER (the Local pair of "core" handling, or
ChannelTransfer with "ari-only").

`Transfer` (ari_app.callflow.transfer.machine) decides one transfer's steps as a pure state
machine; this module carries them out on the call's channels and bridges, dials the target,
and keeps the REFER's Local halves until they are linked to a call. The call flow around it
(queueing, music on hold, wrap-up, the end of talk) stays in ari_app.callflow.switchboard
and is reached through `CallFlow`; commands go to the switchboard's shared list."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ari_app.callflow.agents import Agent, AgentRegistry
from ari_app.callflow.call import Call, CallState, Offer, leg_result
from ari_app.callflow.supervision.applier import Monitoring
from ari_app.callflow.transfer.machine import (
    Do,
    Kind,
    Target,
    TargetKind,
    Transfer,
    TransferError,
    parse_target,
)
from ari_app.config.settings import Config, QueueSettings
from ari_app.domain.commands import (
    AGENT_ID,
    CALL_ID,
    QUEUE,
    ROLE,
    TRANSFER_HANDLING,
    AddToBridge,
    CancelTimer,
    Command,
    CreateBridge,
    CreateChannel,
    DestroyBridge,
    Dial,
    Hangup,
    Play,
    Publish,
    RemoveFromBridge,
    SetVar,
    StartTimer,
    StopRecording,
    TransferProgress,
)
from ari_app.domain.events import (
    AgentState,
    AgentStateChanged,
    CallStateChanged,
    DomainEvent,
    OfferResult,
    TransferCompleted,
    TransferFailed,
    TransferStarted,
    TransferSummary,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallFlow:
    """The steps of the call flow (ari_app.callflow.switchboard) a transfer uses. Each appends its
    commands to the shared list."""

    moh: Callable[[Call, QueueSettings, bool], None]
    render: Callable[[tuple[str, ...], Call], tuple[str, ...]]
    ring_seconds: Callable[[QueueSettings], float]
    enqueue: Callable[[Call, QueueSettings, float], None]
    overflow: Callable[[Call, str, float], None]
    start_wrapup: Callable[[Call, Agent, float, float | None], None]
    end_talk: Callable[[Call, float], None]
    agent_changed: Callable[[AgentStateChanged], None]


class Transfers:
    """Every transfer in flight (on its call) and the REFER Local halves not yet claimed."""

    def __init__(
        self,
        *,
        config: Config,
        queues: Mapping[str, QueueSettings],
        agents: AgentRegistry,
        calls: Mapping[str, Call],
        setup_seconds: float,
        local_claim_seconds: float,
        phone_transfers: str,
        periods: Mapping[str, float],
        channels: dict[str, str],
        bridges: dict[str, str],
        playbacks: dict[str, str],
        monitoring: Monitoring,
        flow: CallFlow,
        out: list[Command],
        counters: Counter[str],
    ) -> None:
        """`channels`, `bridges`, `playbacks`: the switchboard's own maps (id -> call id)."""
        self.config = config
        self.app = config.engine.app
        self.queues = queues
        self.agents = agents
        self.calls = calls
        self.setup_seconds = setup_seconds
        self.local_claim_seconds = local_claim_seconds
        self.phone_transfers = phone_transfers
        self.periods = periods
        self.channels = channels
        self.bridges = bridges
        self.playbacks = playbacks
        self.monitoring = monitoring
        self.flow = flow
        self.out = out
        self.counters = counters
        self.pending_local: dict[str, tuple[str, str]] = {}  # Local base name -> (;2 id, exten)
        self.local_waiting: dict[str, str] = {}  # Local base name -> call whose ;1 came first

    # ------------------------------------------------------------------ requests (API)

    def resolve_target(self, kind: str, name: str) -> Target:
        """An API target — a department of the directory, a queue or an agent — as a
        `Target`. Raises TransferError(not_found)."""
        if kind == "department":
            for d in self.config.departments:
                if d.name == name:
                    return parse_target(d.target, d.announce, label=d.name)
            raise TransferError("not_found", f"no department named {name}")
        if kind == "queue":
            if name not in self.queues:
                raise TransferError("not_found", f"no queue named {name}")
            return Target(TargetKind.QUEUE, name, f"queue:{name}")
        if kind == "agent":
            if self.agents.get(name) is None:
                raise TransferError("not_found", f"no agent {name}")
            return Target(TargetKind.AGENT, name, f"agent:{name}")
        raise TransferError("not_found", f"unknown transfer target kind {kind!r}")

    def request(self, call_id: str, kind: str, target: Target, now: float) -> None:
        """An agent's blind or attended transfer. Raises TransferError."""
        call = self._live_call(call_id)
        try:
            how = Kind(kind)
        except ValueError:
            raise TransferError("invalid_state", f"unknown transfer kind {kind!r}") from None
        if call.transfer is not None and call.transfer.active:
            raise TransferError("conflict", f"call {call_id} is already being transferred")
        if call.state is not CallState.BRIDGED or not call.agent_up:
            raise TransferError("invalid_state", f"call {call_id} is not talking with an agent")
        if target.kind is TargetKind.AGENT:
            agent = self.agents.get(target.name)
            if agent is None:
                raise TransferError("not_found", f"no agent {target.name}")
            if agent.id == call.agent_id:
                raise TransferError("invalid_state", f"agent {agent.id} already has this call")
            if agent.state is not AgentState.AVAILABLE:
                raise TransferError("conflict", f"agent {agent.id} is {agent.state}")
        elif target.kind is TargetKind.QUEUE and target.name not in self.queues:
            raise TransferError("not_found", f"no queue named {target.name}")
        self.start(call, how, target, now)

    def complete(self, call_id: str, now: float) -> None:
        call = self._live_call(call_id)
        if call.transfer is None:
            raise TransferError("invalid_state", f"call {call_id} has no consultation running")
        self.do(call, call.transfer.complete(now), now)

    def cancel(self, call_id: str, now: float) -> None:
        call = self._live_call(call_id)
        if call.transfer is None:
            raise TransferError("invalid_state", f"call {call_id} has no consultation running")
        self.do(call, call.transfer.cancel(now), now)

    def _live_call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None or call.state in (CallState.ENDING, CallState.WRAPUP):
            raise TransferError("not_found", f"no live call {call_id}")
        return call

    def phone_target(self, exten: str) -> Target:
        """Where a phone's REFER goes: an agent id, a queue (name or number), a department;
        anything else is an agent that cannot be reached (the transfer fails)."""
        if self.agents.get(exten) is not None:
            return Target(TargetKind.AGENT, exten, f"agent:{exten}")
        queue = self.queues.get(exten) or self.config.queue_for_number(exten)
        if queue is not None:
            return Target(TargetKind.QUEUE, queue.name, f"queue:{queue.name}")
        for d in self.config.departments:
            if d.name == exten:
                return parse_target(d.target, d.announce, label=d.name)
        return Target(TargetKind.AGENT, exten, exten)

    # ------------------------------------------------------------------ the steps

    def start(
        self, call: Call, kind: Kind, target: Target, now: float, *, agent_stays: bool = False
    ) -> None:
        t, steps = Transfer.start(kind, target, call.agent_id, now, agent_stays=agent_stays)
        cid = call.call_id
        call.transfer = t
        call.state = CallState.TRANSFERRING
        self._publish(
            TransferStarted(cid, str(kind), t.from_agent, target.address, target.label, now)
        )
        self._call_state(call, "transferring", now, agent_id=call.agent_id)
        if kind is Kind.ATTENDED:
            # the agent steps into a consultation bridge; the caller stays in the call's
            # bridge (its recording goes on) and hears music on hold
            xb = f"xfer-{cid}"
            call.consult_bridge = xb
            self.bridges[xb] = cid
            call.talk_stops(now)
            call.hold_starts(now)
            self.out += [
                RemoveFromBridge(call.bridge_id, call.agent_channel, call_id=cid),
                CreateBridge(xb, call_id=cid),
                AddToBridge(xb, (call.agent_channel,), call_id=cid),
            ]
            self.flow.moh(call, self.queues[call.queue], True)
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
                self.playbacks[pid] = cid
                media = self.flow.render(t.target.announce, call)
                self.out.append(Play(call.caller_channel, pid, media, call_id=cid))
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
                self.out.append(
                    AddToBridge(call.consult_bridge, (call.xfer_offer.channel_id,), call_id=cid)
                )
                self._call_state(call, "consulting", now, agent_id=call.agent_id)
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
            self._publish(TransferCompleted(*args, to_agent=to_agent))
        else:
            self.counters["transfers_failed"] += 1
            self._publish(TransferFailed(*args, result=t.result, reason=t.reason))

    def release_agent(
        self, call: Call, now: float, *, remove_from: str = "", progress: bool = False
    ) -> None:
        """The transferring agent leaves the call (to wrap-up); the caller stays."""
        cid = call.call_id
        since = call.talk_from if call.talk_from is not None else (call.bridged_at or now)
        call.talk_stops(now)
        self.monitoring.end_for_call(cid, "agent_left", now, agent_channel=call.agent_channel)
        if call.agent_up:
            if progress:
                self.out.append(
                    TransferProgress(call.agent_channel, "channel_answered", call_id=cid)
                )
            if remove_from:
                self.out.append(RemoveFromBridge(remove_from, call.agent_channel, call_id=cid))
            self.out.append(Hangup(call.agent_channel, call_id=cid))
            call.agent_up = False
        agent = self.agents.get(call.agent_id)
        if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
            self.flow.start_wrapup(call, agent, now, since)
        call.agent_id = ""
        call.agent_channel = ""

    def _requeue(self, call: Call, queue_name: str, now: float) -> None:
        """The caller waits in a queue again (a transfer to it, or a failed one), keeping
        their original arrival (and place) and staying in the call's bridge."""
        cid = call.call_id
        for leg in (call.local_two, call.local_one):
            if leg and leg in call.aux_up:
                self.out.append(Hangup(leg, call_id=cid))  # the other half follows
                break
        call.local_one = call.local_two = ""
        if not call.agent_up:
            call.agent_id = ""
            call.agent_channel = ""
        if queue_name != call.queue:
            call.queue = queue_name
            call.queues_visited.append(queue_name)
            self.out.append(SetVar(call.caller_channel, QUEUE, queue_name, call_id=cid))
        queue = self.queues[queue_name]
        if self.agents.logged_in_for(queue_name):
            self.flow.enqueue(call, queue, now)
        else:
            self.flow.overflow(call, "no_agents", now)

    def _dial_target(self, call: Call, now: float) -> None:
        t = call.transfer
        if t is None:
            return
        cid = call.call_id
        queue = self.queues[call.queue]
        target = t.target
        originator = call.local_two or call.caller_channel
        call.xfer_seq += 1
        agent: Agent | None = None
        if target.kind is TargetKind.AGENT:
            agent = self.agents.get(target.name)
            if agent is None or agent.state is not AgentState.AVAILABLE:
                self.do(call, t.target_failed("unavailable", now), now)
                return
            channel_id = call.agent_channel_id(agent.id)
            endpoint, app_args = agent.device, "agent"
            variables = {AGENT_ID: agent.id, CALL_ID: cid, QUEUE: call.queue, ROLE: "agent"}
            self.flow.agent_changed(agent.offer(cid, now))
        else:
            channel_id = f"ext-{cid}-{call.xfer_seq}"
            endpoint, app_args = target.name, "external"
            variables = {CALL_ID: cid, ROLE: "external"}
        call.xfer_offer = Offer(agent.id if agent else "", channel_id, now)
        call.aux_up.add(channel_id)
        call.aux_channels.append(channel_id)
        self.channels[channel_id] = cid
        ring = self.flow.ring_seconds(queue) + self.setup_seconds
        self.out.append(
            CreateChannel(
                channel_id=channel_id,
                endpoint=endpoint,
                app=self.app,
                app_args=app_args,
                originator=originator,
                variables=variables,
                call_id=cid,
            )
        )
        if agent is not None and self.phone_transfers == "ari-only":
            self.out.append(SetVar(channel_id, TRANSFER_HANDLING, "ari-only", call_id=cid))
        self.out += [
            Dial(channel_id, caller=originator, timeout=math.ceil(ring), call_id=cid),
            StartTimer(("xfer", cid), ring),
        ]
        if not t.agent_present and not call.local_two:
            self.flow.moh(call, queue, True)

    def ringing(self, call: Call, now: float) -> None:
        offer = call.xfer_offer
        if offer is None or offer.ringing_at is not None or offer.result is not None:
            return
        offer.ringing_at = now
        self.out.append(
            StartTimer(("xfer", call.call_id), self.flow.ring_seconds(self.queues[call.queue]))
        )

    def answered(self, call: Call, now: float) -> None:
        offer = call.xfer_offer
        t = call.transfer
        if offer is None or offer.result is not None:
            return
        cid = call.call_id
        if t is None or not t.active:
            self.out.append(Hangup(offer.channel_id, call_id=cid))
            return
        self.out.append(CancelTimer(("xfer", cid)))
        summary = offer.close(OfferResult.ANSWERED, now, self.periods[call.queue])
        if offer.agent_id:
            call.offers.append(summary)
            agent = self.agents.get(offer.agent_id)
            if agent is not None and agent.state is AgentState.RINGING and agent.call_id == cid:
                self.flow.agent_changed(agent.answered(cid, now))
        self.do(call, t.answered(now), now)

    def leg_failed(self, call: Call, result: OfferResult, now: float, *, hangup: bool) -> None:
        """The target did not answer: busy, declined, unreachable, or no answer in time."""
        offer = call.xfer_offer
        if offer is None or offer.result is not None:
            return
        cid = call.call_id
        self.out.append(CancelTimer(("xfer", cid)))
        self._offer_closed(call, offer, result, now)
        if hangup and offer.channel_id in call.aux_up:
            self.out.append(Hangup(offer.channel_id, call_id=cid))
        reason = {
            OfferResult.RONA: "no_answer",
            OfferResult.BUSY: "busy",
            OfferResult.CANCELLED: "declined",
        }.get(result, "unavailable")
        if call.transfer is not None:
            self.do(call, call.transfer.target_failed(reason, now), now)

    def _offer_closed(self, call: Call, offer: Offer, result: OfferResult, now: float) -> None:
        summary = offer.close(result, now, self.periods[call.queue])
        if not offer.agent_id:
            return
        call.offers.append(summary)
        agent = self.agents.get(offer.agent_id)
        if (
            agent is not None
            and agent.state is AgentState.RINGING
            and agent.call_id == call.call_id
        ):
            # a transfer that was not picked up does not count as a RONA
            self.flow.agent_changed(agent.offer_ended(now, rona=False, pause_after=0))

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
        self.out.append(CancelTimer(("xfer", cid)))
        if offer.result is None:
            self._offer_closed(call, offer, OfferResult.CANCELLED, now)
        elif offer.result is OfferResult.ANSWERED:
            agent = self.agents.get(offer.agent_id)
            if agent is not None and agent.state is AgentState.TALKING and agent.call_id == cid:
                self.flow.start_wrapup(call, agent, now, None)
        if offer.channel_id in call.aux_up:
            self.out.append(Hangup(offer.channel_id, call_id=cid))

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
        self.flow.moh(call, self.queues[call.queue], False)
        call.hold_stops(now)
        if call.local_two:
            xb = f"xfer-{cid}"
            call.consult_bridge = xb
            self.bridges[xb] = cid
            self.out += [
                CreateBridge(xb, call_id=cid),
                AddToBridge(xb, (call.local_two, target), call_id=cid),
            ]
        else:
            if call.consult_bridge:
                self.out.append(RemoveFromBridge(call.consult_bridge, target, call_id=cid))
            self.out.append(AddToBridge(call.bridge_id, (target,), call_id=cid))
        if call.agent_up and call.agent_channel != target:
            phone = t.kind is Kind.PHONE
            self.release_agent(
                call, now, remove_from=call.bridge_id if phone else "", progress=phone
            )
        if call.consult_bridge and not call.local_two:
            self.out.append(DestroyBridge(call.consult_bridge, call_id=cid))
            self.bridges.pop(call.consult_bridge, None)
            call.consult_bridge = ""
        call.aux_up.discard(target)
        call.xfer_offer = None
        call.agent_channel = target
        call.agent_up = True
        if offer.agent_id:
            call.agent_id = offer.agent_id
            call.talk_starts(now)
        else:
            call.external = True
            call.agent_id = ""
        call.state = CallState.BRIDGED
        self._call_state(call, "bridged", now, agent_id=call.agent_id)

    def _back_to_agent(self, call: Call, now: float) -> None:
        """Back to the agent (cancelled, or the target declined / failed / hung up)."""
        t = call.transfer
        cid = call.call_id
        self._drop_target(call, now)
        if call.consult_bridge:
            xb = call.consult_bridge
            self.out += [
                RemoveFromBridge(xb, call.agent_channel, call_id=cid),
                AddToBridge(call.bridge_id, (call.agent_channel,), call_id=cid),
                DestroyBridge(xb, call_id=cid),
            ]
            self.bridges.pop(xb, None)
            call.consult_bridge = ""
            self.flow.moh(call, self.queues[call.queue], False)
            call.hold_stops(now)
            call.talk_starts(now)
        if t is not None and t.kind is Kind.PHONE:
            self.out.append(TransferProgress(call.agent_channel, "channel_declined", call_id=cid))
        call.state = CallState.BRIDGED
        self._call_state(call, "bridged", now, agent_id=call.agent_id)

    def timer(self, call_id: str, now: float) -> None:
        call = self.calls.get(call_id)
        offer = call.xfer_offer if call is not None else None
        if call is None or offer is None or offer.result is not None:
            return
        result = OfferResult.RONA if offer.ringing_at is not None else OfferResult.UNAVAILABLE
        self.leg_failed(call, result, now, hangup=True)

    # ------------------------------------------------------------------ phone REFER (core)

    def local_half_two(self, ch: Mapping[str, Any], args: list[Any], now: float) -> None:
        """The ;2 half of a REFER's Local pair entered Stasis (args transfer,<exten>). It
        comes before anything links it to a call: hold it until its ;1 half (which
        replaced the agent in the call's bridge) shows which call it is."""
        two = ch["id"]
        exten = str(args[1]) if len(args) > 1 else ""
        base = str(ch.get("name") or "").rpartition(";")[0]
        cid = self.local_waiting.pop(base, None) if base else None
        call = self.calls.get(cid) if cid else None
        if call is not None:
            self._phone_transfer_core(call, two, exten, now)
            return
        self.pending_local[base or two] = (two, exten)
        self.out.append(StartTimer(("local", two), self.local_claim_seconds))

    def local_half_one(self, ch: Mapping[str, Any], replaced: str, now: float) -> None:
        call = self._call_of(replaced)
        one = ch["id"]
        if call is None or one in self.channels:
            return
        cid = call.call_id
        call.aux_up.add(one)
        call.aux_channels.append(one)
        self.channels[one] = cid
        if replaced != call.agent_channel or not call.agent_up:
            self.counters["unsupported_transfer"] += 1  # e.g. the caller's own phone
            log.warning("call %s: a REFER from a leg that is not the agent's", cid)
            return
        call.local_one = one
        base = str(ch.get("name") or "").rpartition(";")[0]
        pending = self.pending_local.pop(base, None)
        if pending is None:
            self.local_waiting[base] = cid
            return
        self.out.append(CancelTimer(("local", pending[0])))
        self._phone_transfer_core(call, pending[0], pending[1], now)

    def _phone_transfer_core(self, call: Call, two: str, exten: str, now: float) -> None:
        cid = call.call_id
        call.local_two = two
        call.aux_up.add(two)
        call.aux_channels.append(two)
        self.channels[two] = cid
        if call.state is not CallState.BRIDGED or (call.transfer and call.transfer.active):
            self.counters["transfer_refused"] += 1
            self.out.append(Hangup(two, call_id=cid))
            return
        self.start(call, Kind.PHONE, self.phone_target(exten), now)

    def local_timer(self, two: str, now: float) -> None:
        for base, (pending, _) in list(self.pending_local.items()):
            if pending == two:
                del self.pending_local[base]
                self.counters["unclaimed_local"] += 1
                self.out.append(Hangup(two))

    def local_leg_gone(self, call: Call, ev: Mapping[str, Any], now: float) -> None:
        if ev.get("type") == "ChannelHangupRequest":
            return
        t = call.transfer
        if t is not None and t.active:
            # the Local pair broke while the target was rung: the caller goes back
            self.do(call, t.target_failed("local_gone", now), now)
        elif call.state is CallState.BRIDGED and call.local_two:
            # the caller talks to the target through the Local pair: its end ends the call
            call.hangup_by = "agent"
            self.flow.end_talk(call, now)

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
                self.out.append(Hangup(leg, call_id=cid))
                break
        if call.consult_bridge:
            self.out.append(DestroyBridge(call.consult_bridge, call_id=cid))
            call.consult_bridge = ""
        if call.bridge_id and not call.bridge_destroyed:
            call.bridge_destroyed = True
            if call.recording and not call.recording_done and call.recording.startswith("call-"):
                self.out.append(StopRecording(call.recording, call_id=cid))
            self.out.append(DestroyBridge(call.bridge_id, call_id=cid))
        self.monitoring.end_for_call(cid, "call_ended", now)
        for base, waiting in list(self.local_waiting.items()):
            if waiting == cid:
                del self.local_waiting[base]

    def _call_of(self, channel_id: str) -> Call | None:
        call_id = self.channels.get(channel_id)
        return self.calls.get(call_id) if call_id else None

    def _call_state(self, call: Call, state: str, now: float, *, agent_id: str = "") -> None:
        self._publish(CallStateChanged(call.call_id, call.queue, state, now, agent_id, 0))

    def _publish(self, event: DomainEvent) -> None:
        self.out.append(Publish(event))
