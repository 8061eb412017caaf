"""The engine's own journal events, so the KPI fold sees from the journal alone what the
channel events do not say (timestamps in ARI's format, from the engine's loop clock):

- agent states as `HotlineAgentState`: wrap-up and pauses;
- every completed transfer as `HotlineTransfer` (`call_id`: the call's HOTLINE_CALL_ID),
  whatever its kind: blind or attended through the API, or the phone's own REFER. Asterisk
  reports only some of them itself (`BridgeBlindTransfer`, `ChannelTransfer`); the engine
  carries most out with plain bridge moves, which the fold cannot tell from a hand-over.
  The fold marks a call transferred once however many of these it sees (kpi/transfers.py).

`JournalAgentStates` only translates and hands over; the journal (or the live KPI fold, or
both through `EventFanout`) does the rest. SQL records come from
`ari_app.records.sink.RecordsEventSink`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

from ari_app.domain.events import AgentState, AgentStateChanged, DomainEvent, TransferCompleted
from ari_app.domain.timestamps import format_ari_timestamp

JOURNAL_AGENT_STATES: Mapping[AgentState, str] = MappingProxyType({
    AgentState.AVAILABLE: "available",
    AgentState.PAUSED: "paused",
    AgentState.WRAPUP: "wrapup",
    AgentState.LOGGED_OUT: "logout",
})
"""Each domain agent state as the journal's `HotlineAgentState` spells it (a contract: the
KPI fold reads these, `kpi.fold.AGENT_STATES`, plus `login` on leaving logged-out).
Ringing and talking have no line: the fold sees them in the channel events."""


class Journal(Protocol):
    def append(self, event: Mapping[str, Any]) -> None: ...


class JournalAgentStates:
    def __init__(self, journal: Journal, app: str) -> None:
        self.journal = journal
        self.app = app

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, TransferCompleted):
            self.journal.append(transfer_line(self.app, event))
            return
        if not isinstance(event, AgentStateChanged):
            return
        states = []
        if event.previous is AgentState.LOGGED_OUT and event.state is not AgentState.LOGGED_OUT:
            states.append("login")
        state = JOURNAL_AGENT_STATES.get(event.state)
        if state is not None:
            states.append(state)
        for s in states:
            self.journal.append(
                {
                    "type": "HotlineAgentState",
                    "application": self.app,
                    "timestamp": format_ari_timestamp(event.at),
                    "agent_id": event.agent_id,
                    "state": s,
                    "reason": event.reason,
                    "call_id": event.call_id,
                }
            )


def transfer_line(app: str, event: TransferCompleted) -> dict[str, Any]:
    """`HotlineTransfer` as the KPI fold reads it (docs/kpi.md, "Engine events"): `call_id`
    names the call (its HOTLINE_CALL_ID); `kind`, `from_agent`, `to_agent` and `target` are
    for people reading the journal (the fold ignores them). No `channel`: the domain event
    does not name the leg that handed over, and that leg is hung up (or left the call's
    bridge) as the transfer completes, which ends its talk in the fold anyway."""
    return {
        "type": "HotlineTransfer",
        "application": app,
        "timestamp": format_ari_timestamp(event.at),
        "call_id": event.call_id,
        "kind": event.kind,
        "from_agent": event.from_agent,
        "to_agent": event.to_agent,
        "target": event.target,
    }


class EventFanout:
    """One ordered stream of events to several consumers (the journal file, the live KPI
    fold): the engine's own `Hotline*` events must reach both exactly as its ARI events do."""

    def __init__(self, *targets: Journal) -> None:
        self.targets = targets

    def append(self, event: Mapping[str, Any]) -> None:
        for target in self.targets:
            target.append(event)
