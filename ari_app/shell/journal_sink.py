"""Agent states as `HotlineAgentState` journal events, so the KPI fold sees wrap-up and
pauses from the journal alone (timestamps in ARI's format, from the engine's loop clock).

`JournalAgentStates` only translates and hands over; the journal (or the live KPI fold, or
both through `EventFanout`) does the rest. SQL records come from
`ari_app.records.sink.RecordsEventSink`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol

from ari_app.ari.timestamps import format_ari_timestamp
from ari_app.domain.events import AgentState, AgentStateChanged, DomainEvent

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


class EventFanout:
    """One ordered stream of events to several consumers (the journal file, the live KPI
    fold): the engine's own `Hotline*` events must reach both exactly as its ARI events do."""

    def __init__(self, *targets: Journal) -> None:
        self.targets = targets

    def append(self, event: Mapping[str, Any]) -> None:
        for target in self.targets:
            target.append(event)
