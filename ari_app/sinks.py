"""Adapters from the call flow's domain events to the stores that keep them.

- `RecordsSink`: call, offer and agent-state records for the SQL writer (ari_app.records);
- `JournalAgentStates`: `HotlineAgentState` lines in the ARI event journal, so the KPI fold
  replays wrap-up and pauses from the journal alone (timestamps in ARI's format, taken
  from the engine's loop clock).
Both only translate and hand over; the writer and the journal do the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from ari_app.ari.timestamps import format_ari_timestamp
from ari_app.domain import (
    AgentState,
    AgentStateChanged,
    CallEnded,
    DomainEvent,
    Outcome,
)
from ari_app.records.types import (
    AgentStateRecord,
    CallRecord,
    OfferRecord,
    RecordSink,
)
from ari_app.records.types import Outcome as RecordOutcome

_JOURNAL_STATES = {
    AgentState.AVAILABLE: "available",
    AgentState.PAUSED: "paused",
    AgentState.WRAPUP: "wrapup",
    AgentState.LOGGED_OUT: "logout",
}


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _outcome(outcome: Outcome, overflow: str) -> RecordOutcome:
    if outcome is Outcome.ANSWERED:
        return "answered"
    if outcome is Outcome.ABANDONED:
        return "abandoned"
    if outcome is Outcome.CLOSED and overflow == "closed_hours":
        return "closed"
    if outcome in (Outcome.VOICEMAIL, Outcome.CALLBACK, Outcome.CLOSED):
        return "overflow"
    return "failed"


class RecordsSink:
    def __init__(self, records: RecordSink, site: str) -> None:
        self.records = records
        self.site = site

    def publish(self, event: DomainEvent) -> None:
        if isinstance(event, CallEnded):
            s = event.summary
            arrival = _dt(s.arrived_at)
            assert arrival is not None
            self.records.submit(
                CallRecord(
                    call_id=s.call_id,
                    site=self.site,
                    queue=s.queue,
                    caller_number=s.caller_number,
                    arrival=arrival,
                    answer=_dt(s.answered_at),
                    end=_dt(s.ended_at),
                    outcome=_outcome(s.outcome, s.overflow),
                    wait_seconds=s.wait_seconds,
                    talk_seconds=s.talk_seconds,
                    hold_seconds=s.hold_seconds,
                    wrapup_seconds=s.wrapup_seconds,
                    agent_id=s.agent_id or None,
                )
            )
            for seq, o in enumerate(s.offers, 1):
                created = _dt(o.started_at)
                assert created is not None
                self.records.submit(
                    OfferRecord(
                        call_id=s.call_id,
                        seq=seq,
                        agent_id=o.agent_id,
                        channel_id=o.channel_id,
                        created=created,
                        ringing=_dt(o.ringing_at),
                        answered=_dt(o.ended_at) if o.result == "answered" else None,
                        ended=_dt(o.ended_at),
                        ring_seconds=o.ring_seconds,
                        rings=o.rings,
                        result=o.result.value,
                    )
                )
        elif isinstance(event, AgentStateChanged):
            at = _dt(event.at)
            assert at is not None
            self.records.submit(
                AgentStateRecord(
                    agent_id=event.agent_id,
                    state=str(event.state),
                    reason=event.reason,
                    device=event.device,
                    at=at,
                )
            )


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
        state = _JOURNAL_STATES.get(event.state)
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
