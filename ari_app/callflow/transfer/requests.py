"""An agent's transfer requests through the API: blind or attended to a department, a
queue or an agent, and completing or cancelling a consultation. Refusals are
`TransferError`s with a code the API maps to its answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.transfer.machine import Kind, Target, TargetKind, TransferError, parse_target
from ari_app.domain.events import AgentState

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class TransferRequests:
    """Checks an agent's request against the call and starts the transfer."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def resolve_target(self, kind: str, name: str) -> Target:
        """An API target — a department of the directory, a queue or an agent — as a
        `Target`. Raises TransferError(not_found)."""
        if kind == "department":
            for d in self.desk.config.departments:
                if d.name == name:
                    return parse_target(d.target, d.announce, label=d.name)
            raise TransferError("not_found", f"no department named {name}")
        if kind == "queue":
            if name not in self.desk.queues:
                raise TransferError("not_found", f"no queue named {name}")
            return Target(TargetKind.QUEUE, name, f"queue:{name}")
        if kind == "agent":
            if self.desk.agents.get(name) is None:
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
            agent = self.desk.agents.get(target.name)
            if agent is None:
                raise TransferError("not_found", f"no agent {target.name}")
            if agent.id == call.agent_id:
                raise TransferError("invalid_state", f"agent {agent.id} already has this call")
            if agent.state is not AgentState.AVAILABLE:
                raise TransferError("conflict", f"agent {agent.id} is {agent.state}")
        elif target.kind is TargetKind.QUEUE and target.name not in self.desk.queues:
            raise TransferError("not_found", f"no queue named {target.name}")
        self.flow.transfers.start(call, how, target, now)

    def complete(self, call_id: str, now: float) -> None:
        call = self._live_call(call_id)
        if call.transfer is None:
            raise TransferError("invalid_state", f"call {call_id} has no consultation running")
        self.flow.transfers.do(call, call.transfer.complete(now), now)

    def cancel(self, call_id: str, now: float) -> None:
        call = self._live_call(call_id)
        if call.transfer is None:
            raise TransferError("invalid_state", f"call {call_id} has no consultation running")
        self.flow.transfers.do(call, call.transfer.cancel(now), now)

    def _live_call(self, call_id: str) -> Call:
        call = self.desk.calls.get(call_id)
        if call is None or not call.live:
            raise TransferError("not_found", f"no live call {call_id}")
        return call

