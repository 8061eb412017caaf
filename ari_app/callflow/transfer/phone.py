"""A phone's own transfer (SIP REFER). With "core" handling Asterisk does it and the
engine sees a Local pair: ;2 enters Stasis with args transfer,<exten> and ;1 replaces the
agent in the call's bridge, in either order. With "ari-only" Asterisk leaves the REFER to
the engine as ChannelTransfer and the engine dials the target itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.transfer.machine import Kind, Target, TargetKind, parse_target
from ari_app.domain.commands import CancelTimer, Hangup, StartTimer, TransferProgress

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class PhoneTransfers:
    """REFERs from agents' phones, and the Local halves not yet linked to a call."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self.pending_local: dict[str, tuple[str, str]] = {}  # Local base name -> (;2 id, exten)
        self.local_waiting: dict[str, str] = {}  # Local base name -> call whose ;1 came first

    def blind_transfer(self, ev: Mapping[str, Any], now: float) -> None:
        """BridgeBlindTransfer: Asterisk did a phone's blind transfer itself. Usually the
        Local ;1 half's StasisStart (with replace_channel) came first; if not, link it."""
        self.desk.count("phone_blind_transfers")
        replaced = ev.get("replace_channel")
        channel_id = ev["channel"]["id"]
        if isinstance(replaced, Mapping) and self.desk.owns(channel_id):
            call = self.desk.call_of(channel_id)
            if call is not None and not self.desk.owns(replaced["id"]):
                self.local_half_one(replaced, channel_id, now)

    def channel_transfer(self, ev: Mapping[str, Any], now: float) -> None:
        """`ari-only`: the agent's phone sent REFER and Asterisk left it to us. Events with
        a `state` echo our own /transfer_progress reports."""
        if ev.get("state"):
            return
        desk = self.desk
        source = ev["referred_by"]["source_channel"]["id"]
        dest = str(
            (ev.get("refer_to") or {}).get("requested_destination", {}).get("destination") or ""
        )
        call = desk.call_of(source)
        if call is None or source != call.agent_channel or not call.agent_up:
            desk.count("unknown_transfer")
            return
        cid = call.call_id
        desk.emit(TransferProgress(source, "channel_progress", call_id=cid))
        if call.state is not CallState.BRIDGED or (call.transfer and call.transfer.active):
            desk.count("transfer_refused")
            desk.emit(TransferProgress(source, "channel_declined", call_id=cid))
            return
        self.flow.transfers.start(call, Kind.PHONE, self.target(dest), now, agent_stays=True)

    def target(self, exten: str) -> Target:
        """Where a phone's REFER goes: an agent id, a queue (name or number), a department;
        anything else is an agent that cannot be reached (the transfer fails)."""
        if self.desk.agents.get(exten) is not None:
            return Target(TargetKind.AGENT, exten, f"agent:{exten}")
        queue = self.desk.queues.get(exten) or self.desk.config.queue_for_number(exten)
        if queue is not None:
            return Target(TargetKind.QUEUE, queue.name, f"queue:{queue.name}")
        for d in self.desk.config.departments:
            if d.name == exten:
                return parse_target(d.target, d.announce, label=d.name)
        return Target(TargetKind.AGENT, exten, exten)

    def local_half_two(self, ch: Mapping[str, Any], args: list[Any], now: float) -> None:
        """The ;2 half of a REFER's Local pair entered Stasis (args transfer,<exten>). It
        comes before anything links it to a call: hold it until its ;1 half (which
        replaced the agent in the call's bridge) shows which call it is."""
        two = ch["id"]
        exten = str(args[1]) if len(args) > 1 else ""
        base = str(ch.get("name") or "").rpartition(";")[0]
        cid = self.local_waiting.pop(base, None) if base else None
        call = self.desk.calls.get(cid) if cid else None
        if call is not None:
            self._phone_transfer_core(call, two, exten, now)
            return
        self.pending_local[base or two] = (two, exten)
        self.desk.emit(StartTimer(("local", two), self.desk.limits.local_claim_seconds))

    def local_half_one(self, ch: Mapping[str, Any], replaced: str, now: float) -> None:
        call = self.desk.call_of(replaced)
        one = ch["id"]
        if call is None or self.desk.owns(one):
            return
        cid = call.call_id
        call.aux_up.add(one)
        call.aux_channels.append(one)
        self.desk.attach(one, call)
        if replaced != call.agent_channel or not call.agent_up:
            self.desk.count("unsupported_transfer")  # e.g. the caller's own phone
            self.desk.note("warning", f"call {cid}: a REFER from a leg that is not the agent's")
            return
        call.local_one = one
        base = str(ch.get("name") or "").rpartition(";")[0]
        pending = self.pending_local.pop(base, None)
        if pending is None:
            self.local_waiting[base] = cid
            return
        self.desk.emit(CancelTimer(("local", pending[0])))
        self._phone_transfer_core(call, pending[0], pending[1], now)

    def _phone_transfer_core(self, call: Call, two: str, exten: str, now: float) -> None:
        cid = call.call_id
        call.local_two = two
        call.aux_up.add(two)
        call.aux_channels.append(two)
        self.desk.attach(two, call)
        if call.state is not CallState.BRIDGED or (call.transfer and call.transfer.active):
            self.desk.count("transfer_refused")
            self.desk.emit(Hangup(two, call_id=cid))
            return
        self.flow.transfers.start(call, Kind.PHONE, self.target(exten), now)

    def local_timer(self, two: str, now: float) -> None:
        for base, (pending, _) in list(self.pending_local.items()):
            if pending == two:
                del self.pending_local[base]
                self.desk.count("unclaimed_local")
                self.desk.emit(Hangup(two))

    def local_leg_gone(self, call: Call, ev: Mapping[str, Any], now: float) -> None:
        if ev.get("type") == "ChannelHangupRequest":
            return
        t = call.transfer
        if t is not None and t.active:
            # the Local pair broke while the target was rung: the caller goes back
            self.flow.transfers.do(call, t.target_failed("local_gone", now), now)
        elif call.state is CallState.BRIDGED and call.local_two:
            # the caller talks to the target through the Local pair: its end ends the call
            call.hangup_by = "agent"
            self.flow.ending.end_talk(call, now)


    def forget_call(self, call_id: str) -> None:
        for base, waiting in list(self.local_waiting.items()):
            if waiting == call_id:
                del self.local_waiting[base]
