"""Topics and JSON payloads of the live events (docs/mqtt.md), as pure functions.

Every payload carries `"v": 1`; a consumer that sees another version knows the shape
changed. Caller numbers are masked here, whatever the caller passes in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ari_app.domain.events import CallbackAttempted, CallbackChanged, SurveyFinished
from ari_app.domain.privacy import mask
from ari_app.survey.machine import LOW_SCORE, satisfied

VERSION = 1
_SEGMENT = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
_EVENT = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
Scalar = str | int | float | bool | None


class MessageError(ValueError):
    """An event that cannot become a message (e.g. an id with `/`, `+` or `#`)."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool
    qos: int = 1


def iso(at: datetime | float) -> str:
    """UTC with milliseconds and a Z: `2026-11-23T08:00:00.000Z`."""
    dt = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    if dt.tzinfo is None:
        raise MessageError("naive datetime")
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _segment(kind: str, value: str) -> str:
    if not _SEGMENT.match(value):
        raise MessageError(f"{kind} {value!r} cannot be a topic segment")
    return value


def _dump(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body)


def call_event(
    site: str,
    call_id: str,
    event: str,
    at: datetime | float,
    *,
    queue: str,
    agent_id: str = "",
    caller: str = "",
    extra: Mapping[str, Scalar] | None = None,
) -> Message:
    """`hotline/{site}/calls/{call_id}/{event}`, not retained (a stream, not a state)."""
    if not _EVENT.match(event):
        raise MessageError(f"event {event!r} must be lower-case letters, digits, - or _")
    topic = f"hotline/{_segment('site', site)}/calls/{_segment('call_id', call_id)}/{event}"
    body: dict[str, Any] = {"v": VERSION, "site": site, "call_id": call_id, "event": event,
                            "at": iso(at), "queue": queue}
    if agent_id:
        body["agent_id"] = agent_id
    if caller:
        body["caller"] = mask(caller)
    for key, value in (extra or {}).items():
        if key in body or key == "caller_number":
            raise MessageError(f"extra field {key!r} is reserved")
        body[key] = value
    return Message(topic, _dump(body), retain=False)


def agent_state(
    site: str,
    agent_id: str,
    state: str,
    at: datetime | float,
    *,
    reason: str = "",
    call_id: str = "",
) -> Message:
    """`hotline/{site}/agents/{agent_id}/state`, retained: a new subscriber sees it."""
    topic = f"hotline/{_segment('site', site)}/agents/{_segment('agent_id', agent_id)}/state"
    body: dict[str, Any] = {"v": VERSION, "site": site, "agent_id": agent_id, "state": state,
                            "reason": reason, "at": iso(at)}
    if call_id:
        body["call_id"] = call_id
    return Message(topic, _dump(body), retain=True)


def queue_stats(
    site: str, queue: str, at: datetime | float, stats: Mapping[str, Scalar]
) -> Message:
    """`hotline/{site}/queues/{queue}/stats`, retained, refreshed every few seconds."""
    topic = f"hotline/{_segment('site', site)}/queues/{_segment('queue', queue)}/stats"
    body: dict[str, Any] = {"v": VERSION, "site": site, "queue": queue, "at": iso(at)}
    for key, value in stats.items():
        if key in body:
            raise MessageError(f"stats field {key!r} is reserved")
        body[key] = value
    return Message(topic, _dump(body), retain=True)


def workorder_event(
    site: str,
    order_id: str,
    event: str,
    at: datetime | float,
    *,
    order_type: str,
    department: str,
    state: str,
    actor: str,
    due_at: datetime,
) -> Message:
    """`hotline/{site}/workorders/{order_id}/{event}` (create, assign, remind, escalate,
    close, follow_up...), not retained. No caller data: the order's id, kind and clock."""
    if not _EVENT.match(event):
        raise MessageError(f"event {event!r} must be lower-case letters, digits, - or _")
    topic = (
        f"hotline/{_segment('site', site)}/workorders/{_segment('order_id', order_id)}/{event}"
    )
    body = {"v": VERSION, "site": site, "order_id": order_id, "event": event, "at": iso(at),
            "type": order_type, "department": department, "state": state, "actor": actor,
            "due_at": iso(due_at)}
    return Message(topic, _dump(body), retain=False)


def survey_messages(site: str, event: SurveyFinished) -> list[Message]:
    """`hotline/{site}/surveys/{call_id}/finished`, and when the score is at or below
    `LOW_SCORE` also `hotline/{site}/alerts/{call_id}/survey_low_score` for supervisors;
    neither retained. No caller data at all: the call's id leads to it for those allowed."""
    site_seg, call_seg = _segment("site", site), _segment("call_id", event.call_id)
    score = None if event.score is None else round(event.score, 3)
    body: dict[str, Any] = {
        "v": VERSION, "site": site, "call_id": event.call_id, "event": "finished",
        "at": iso(event.ended_at), "queue": event.queue, "agent_id": event.agent_id,
        "outcome": event.outcome.value, "answers": list(event.answers), "score": score,
        "satisfied": satisfied(event.outcome, event.score),
        "started_at": iso(event.started_at),
    }
    out = [Message(f"hotline/{site_seg}/surveys/{call_seg}/finished", _dump(body), retain=False)]
    if event.score is not None and event.score <= LOW_SCORE:
        alert: dict[str, Any] = {
            "v": VERSION, "site": site, "call_id": event.call_id, "alert": "survey_low_score",
            "at": iso(event.ended_at), "queue": event.queue, "agent_id": event.agent_id,
            "score": score, "threshold": LOW_SCORE, "outcome": event.outcome.value,
            "answers": list(event.answers),
        }
        out.append(Message(f"hotline/{site_seg}/alerts/{call_seg}/survey_low_score",
                           _dump(alert), retain=False))
    return out


def callback_message(site: str, event: CallbackChanged | CallbackAttempted) -> Message:
    """`hotline/{site}/callbacks/{callback_id}/{state}` after each move (requested, waiting,
    due, dialling, answered, retry, failed, cancelled) and `.../attempt` when a dial of the
    caller ends; not retained. The caller masked; no reason (free text: the API shows it to
    those allowed)."""
    seg = f"hotline/{_segment('site', site)}/callbacks/{_segment('callback_id', event.callback_id)}"
    if isinstance(event, CallbackAttempted):
        body: dict[str, Any] = {
            "v": VERSION, "site": site, "callback_id": event.callback_id, "event": "attempt",
            "at": iso(event.ended_at), "queue": event.queue, "attempt": event.attempt,
            "agent_id": event.agent_id, "call_id": event.call_id,
            "started_at": iso(event.started_at), "result": event.result,
        }
        return Message(f"{seg}/attempt", _dump(body), retain=False)
    if not _EVENT.match(event.state):
        raise MessageError(f"state {event.state!r} cannot be an event")
    body = {
        "v": VERSION, "site": site, "callback_id": event.callback_id, "event": event.state,
        "at": iso(event.at), "kind": event.kind, "queue": event.queue, "state": event.state,
        "caller": mask(event.caller_number or event.caller),
        "requested_by": event.requested_by, "call_id": event.call_id,
        "order_id": event.order_id, "attempts": event.attempts,
        "max_attempts": event.max_attempts, "last_result": event.last_result,
        "agent_id": event.agent_id,
        "due_by": None if event.due_by is None else iso(event.due_by),
        "answered_call_id": event.answered_call_id,
    }
    return Message(f"{seg}/{event.state}", _dump(body), retain=False)
