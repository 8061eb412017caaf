"""Records to rows, written idempotently: INSERT ... ON CONFLICT DO NOTHING on both
SQLite and PostgreSQL, so a replayed record is stored once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, or_
from sqlalchemy.dialects import postgresql, sqlite

from ari_app.domain.events import Outcome
from ari_app.records import models
from ari_app.records.types import (
    AgentStateRecord,
    AuditRecord,
    CallRecord,
    OfferRecord,
    Record,
    RecordingRecord,
    SurveyRecord,
    TransferRecord,
)

Row = dict[str, Any]
_TABLES: dict[str, Table] = {
    "call": models.Call.__table__,  # type: ignore[dict-item]
    "offer": models.Offer.__table__,  # type: ignore[dict-item]
    "agent_state": models.AgentState.__table__,  # type: ignore[dict-item]
    "recording": models.Recording.__table__,  # type: ignore[dict-item]
    "transfer": models.Transfer.__table__,  # type: ignore[dict-item]
    "audit": models.AuditEntry.__table__,  # type: ignore[dict-item]
    "survey": models.SurveyResult.__table__,  # type: ignore[dict-item]
}
_AGENTS: Table = models.Agent.__table__  # type: ignore[assignment]
_CALLS: Table = models.Call.__table__  # type: ignore[assignment]
_LIVE = str(Outcome.IN_PROGRESS)
# rows a later record may still complete: live, or marked interrupted by a restart whose
# adoption was slower than the call's own end
_OPEN = (_LIVE, str(Outcome.INTERRUPTED))


def to_row(record: Record, caller_number_storage: str) -> Row:
    """The row for a record whose caller number (if any) is already in stored form."""
    match record:
        case CallRecord():
            return {
                "call_id": record.call_id, "site": record.site, "queue": record.queue,
                "caller_number": record.caller_number,
                "caller_number_storage": caller_number_storage,
                "arrival_at": record.arrival, "answered_at": record.answer,
                "ended_at": record.end, "outcome": str(record.outcome),
                "wait_seconds": record.wait_seconds, "talk_seconds": record.talk_seconds,
                "hold_seconds": record.hold_seconds, "wrapup_seconds": record.wrapup_seconds,
                "agent_id": record.agent_id, "transferred": record.transferred,
                "survey": str(record.survey),
            }
        case OfferRecord():
            return {
                "call_id": record.call_id, "seq": record.seq, "agent_id": record.agent_id,
                "channel_id": record.channel_id, "created_at": record.created,
                "ringing_at": record.ringing, "answered_at": record.answered,
                "ended_at": record.ended, "ring_seconds": record.ring_seconds,
                "rings": record.rings, "result": str(record.result),
            }
        case AgentStateRecord():
            return {
                "record_id": record.record_id, "agent_id": record.agent_id,
                "state": record.state, "reason": record.reason, "device": record.device,
                "at": record.at,
            }
        case RecordingRecord():
            return {
                "name": record.name, "call_id": record.call_id, "path": record.path,
                "format": record.format, "duration_seconds": record.duration_seconds,
                "sha256": record.sha256, "size_bytes": record.size,
                "created_at": record.created, "retention_until": record.retention_until,
            }
        case TransferRecord():
            return {
                "record_id": record.record_id, "call_id": record.call_id,
                "kind": record.kind, "from_agent": record.from_agent,
                "target": record.target, "at": record.at, "result": record.result,
            }
        case AuditRecord():
            return {
                "record_id": record.record_id, "actor": record.actor, "role": record.role,
                "action": record.action, "object_type": record.object_type,
                "object_id": record.object_id, "at": record.at, "detail": record.detail,
            }
        case SurveyRecord():
            return {
                "call_id": record.call_id, "site": record.site, "queue": record.queue,
                "agent_id": record.agent_id, "outcome": str(record.outcome),
                "answers": orjson.dumps(list(record.answers)).decode(),
                "score": record.score, "started_at": record.started,
                "ended_at": record.ended,
            }


def latest_agent_states(records: Sequence[Record]) -> list[Row]:
    """Each agent's newest state in a batch (an upsert may touch a row only once)."""
    latest: dict[str, AgentStateRecord] = {}
    for r in records:
        if isinstance(r, AgentStateRecord):
            seen = latest.get(r.agent_id)
            if seen is None or r.at >= seen.at:
                latest[r.agent_id] = r
    return [
        {"agent_id": r.agent_id, "state": r.state, "reason": r.reason, "device": r.device,
         "state_since": r.at}
        for r in latest.values()
    ]


def _upsert_calls(conn: Connection, dialect: Any, rows: list[Row]) -> None:
    """A call's row is written when it starts (outcome `in_progress`), updated while it
    is live and completed when it ends; a finished row is never changed again, so a
    replayed or late record cannot undo an ending (an `interrupted` one can still be
    completed). One row per call in a statement."""
    latest: dict[str, Row] = {}
    for row in rows:
        seen = latest.get(row["call_id"])
        if seen is None or seen["outcome"] == _LIVE or row["outcome"] != _LIVE:
            latest[row["call_id"]] = row
    stmt = dialect.insert(_CALLS)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["call_id"],
            set_={c.name: stmt.excluded[c.name] for c in _CALLS.columns if c.name != "call_id"},
            # spelled out: an IN list cannot go into an executemany statement
            where=or_(*(_CALLS.c.outcome == o for o in _OPEN)),
        ),
        list(latest.values()),
    )


def write_batch(conn: Connection, records: Sequence[Record], caller_number_storage: str) -> None:
    """Insert a batch in the caller's transaction; rows already there are left alone."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    by_type: dict[str, list[Row]] = {}
    for r in records:
        by_type.setdefault(r.record_type, []).append(to_row(r, caller_number_storage))
    calls = by_type.pop("call", None)
    if calls:
        _upsert_calls(conn, dialect, calls)
    for record_type, rows in by_type.items():
        table = _TABLES[record_type]
        keys = [c.name for c in table.primary_key.columns]
        conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=keys), rows)
    agents = latest_agent_states(records)
    if agents:
        stmt = dialect.insert(_AGENTS)
        newer = stmt.excluded.state_since >= _AGENTS.c.state_since
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["agent_id"],
                set_={c: stmt.excluded[c] for c in ("state", "reason", "device", "state_since")},
                where=newer,
            ),
            agents,
        )
