"""The call-flow's domain events (ari_app.domain.events) as records: an `EventSink` for the engine.

`records_for` is pure. Agent-state and transfer rows get a deterministic id (uuid5 of the
event), so the same event published twice — a journal replayed, a restart — is stored
once. A transfer's row is written when it ends (`TransferCompleted` / `TransferFailed`);
`TransferStarted` has no row of its own. A survey's row is written when it ends
(`SurveyFinished`, before the call's own end), keyed by the call; the call's row carries the
survey's outcome from its `CallEnded`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ari_app.domain.events import (
    AgentStateChanged,
    CallEnded,
    CallProgress,
    DomainEvent,
    OfferResult,
    Outcome,
    SurveyFinished,
    TransferCompleted,
    TransferFailed,
)
from ari_app.records.types import (
    AgentStateRecord,
    CallRecord,
    OfferRecord,
    Record,
    RecordSink,
    SurveyRecord,
    TransferKind,
    TransferRecord,
    TransferResult,
)

_KINDS: dict[str, TransferKind] = {"blind": "blind", "attended": "attended", "phone": "phone"}
_RESULTS: dict[str, TransferResult] = {
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
}

_NAMESPACE = uuid.UUID("6f1c3e2a-3c1e-4d43-9a59-0b6b7f0c5d11")


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _maybe(epoch: float | None) -> datetime | None:
    return None if epoch is None else _utc(epoch)


def records_for(event: DomainEvent, site: str) -> list[Record]:
    match event:
        case CallProgress():
            answered = event.answered_at
            return [
                CallRecord(
                    call_id=event.call_id, site=site, queue=event.queue,
                    caller_number=event.caller_number or event.caller,
                    arrival=_utc(event.arrived_at), answer=_maybe(answered), end=None,
                    outcome=Outcome.IN_PROGRESS,
                    wait_seconds=0.0 if answered is None else answered - event.arrived_at,
                    agent_id=event.agent_id or None,
                )
            ]
        case CallEnded(summary=s):
            out: list[Record] = [
                CallRecord(
                    call_id=s.call_id, site=site, queue=s.queue,
                    caller_number=s.caller_number or s.caller, arrival=_utc(s.arrived_at),
                    answer=_maybe(s.answered_at), end=_utc(s.ended_at),
                    outcome=s.outcome,
                    wait_seconds=s.wait_seconds, talk_seconds=s.talk_seconds,
                    hold_seconds=s.hold_seconds, wrapup_seconds=s.wrapup_seconds,
                    agent_id=s.agent_id or None, transferred=s.transferred,
                    survey=s.survey,
                )
            ]
            for seq, o in enumerate(s.offers, start=1):
                answered = o.result is OfferResult.ANSWERED
                out.append(OfferRecord(
                    call_id=s.call_id, seq=seq, agent_id=o.agent_id, channel_id=o.channel_id,
                    created=_utc(o.started_at), ringing=_maybe(o.ringing_at),
                    answered=_utc(o.ended_at) if answered else None, ended=_utc(o.ended_at),
                    ring_seconds=o.ring_seconds, rings=o.rings,
                    result=o.result,
                ))
            return out
        case AgentStateChanged():
            key = f"{event.agent_id}|{event.at!r}|{event.previous}|{event.state}|{event.call_id}"
            return [AgentStateRecord(
                agent_id=event.agent_id, state=str(event.state), reason=event.reason,
                device=event.device, at=_utc(event.at),
                record_id=str(uuid.uuid5(_NAMESPACE, key)),
            )]
        case TransferCompleted() | TransferFailed():
            result = "completed" if isinstance(event, TransferCompleted) else event.result
            key = f"{event.call_id}|{event.at!r}|{event.kind}|{event.target}|{result}"
            return [TransferRecord(
                call_id=event.call_id, kind=_KINDS.get(event.kind, "blind"),
                from_agent=event.from_agent, target=event.target, at=_utc(event.at),
                result=_RESULTS.get(result, "failed"),
                record_id=str(uuid.uuid5(_NAMESPACE, key)),
            )]
        case SurveyFinished():
            return [SurveyRecord(
                call_id=event.call_id, site=site, queue=event.queue, agent_id=event.agent_id,
                outcome=event.outcome, answers=event.answers, score=event.score,
                started=_utc(event.started_at), ended=_utc(event.ended_at),
            )]
        case _:
            return []


class RecordsEventSink:
    """`EventSink` that turns domain events into records for a `RecordSink` (the writer)."""

    def __init__(self, sink: RecordSink, site: str) -> None:
        self.sink = sink
        self.site = site

    def publish(self, event: DomainEvent) -> None:
        for record in records_for(event, self.site):
            self.sink.submit(record)
