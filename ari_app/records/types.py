"""The records the engine produces, and the sink that takes them.

Plain frozen dataclasses so the call-flow core can build them without touching the
database. Outcomes and offer results are the domain's (`ari_app.domain.events`), spelled
as they are. Every record carries an idempotency key (`key`): writing the same record twice
stores it once, which is what lets the writer replay its spool after an outage safely.
Times are timezone-aware (UTC); a naive datetime is a producer bug and fails at once.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, Protocol

from ari_app.domain.events import OfferResult, Outcome, SurveyOutcome

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
SURVEY_OUTCOMES: tuple[str, ...] = tuple(o.value for o in SurveyOutcome)
OFFER_RESULTS: tuple[str, ...] = tuple(r.value for r in OfferResult)
TransferKind = Literal["blind", "attended", "phone"]
TransferResult = Literal["completed", "failed", "cancelled"]

TRANSFER_KINDS: tuple[TransferKind, ...] = ("blind", "attended", "phone")
TRANSFER_RESULTS: tuple[TransferResult, ...] = ("completed", "failed", "cancelled")


def _new_id() -> str:
    return str(uuid.uuid4())


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One inbound call, written when it ends. `caller_number` is as received; the
    writer stores it full, masked or hashed as configured."""

    record_type: ClassVar[str] = "call"
    call_id: str
    site: str
    queue: str
    caller_number: str
    arrival: datetime
    answer: datetime | None
    end: datetime | None
    outcome: Outcome
    wait_seconds: float = 0.0
    talk_seconds: float = 0.0
    hold_seconds: float = 0.0
    wrapup_seconds: float = 0.0
    agent_id: str | None = None
    transferred: bool = False
    survey: SurveyOutcome = SurveyOutcome.NOT_OFFERED

    def __post_init__(self) -> None:
        _aware("arrival", self.arrival)
        _aware("answer", self.answer)
        _aware("end", self.end)
        _one_of("outcome", self.outcome, OUTCOMES)
        object.__setattr__(self, "outcome", Outcome(self.outcome))  # from the spool: a str
        _one_of("survey", self.survey, SURVEY_OUTCOMES)
        object.__setattr__(self, "survey", SurveyOutcome(self.survey))

    @property
    def key(self) -> tuple[str, ...]:
        return (self.call_id,)


@dataclass(frozen=True, slots=True)
class OfferRecord:
    """One attempt to give a call to an agent (a leg): the `seq`-th offer of `call_id`."""

    record_type: ClassVar[str] = "offer"
    call_id: str
    seq: int
    agent_id: str
    channel_id: str
    created: datetime
    ringing: datetime | None
    answered: datetime | None
    ended: datetime | None
    ring_seconds: float
    rings: int
    result: OfferResult

    def __post_init__(self) -> None:
        for name in ("created", "ringing", "answered", "ended"):
            _aware(name, getattr(self, name))
        _one_of("result", self.result, OFFER_RESULTS)
        object.__setattr__(self, "result", OfferResult(self.result))  # from the spool: a str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.call_id, str(self.seq))


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    """An agent's state change (login, pause with reason, ...). `record_id` (a uuid,
    fresh by default) travels with the record, so a replayed row is recognised."""

    record_type: ClassVar[str] = "agent_state"
    agent_id: str
    state: str
    reason: str
    device: str
    at: datetime
    record_id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        _aware("at", self.at)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.record_id,)


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    """A finished call recording; `name` is Asterisk's recording name, unique per site."""

    record_type: ClassVar[str] = "recording"
    name: str
    call_id: str
    path: str
    format: str
    duration_seconds: float
    sha256: str
    size: int
    created: datetime
    retention_until: datetime

    def __post_init__(self) -> None:
        _aware("created", self.created)
        _aware("retention_until", self.retention_until)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer attempt (blind, attended, or to an outside phone number)."""

    record_type: ClassVar[str] = "transfer"
    call_id: str
    kind: TransferKind
    from_agent: str
    target: str
    at: datetime
    result: TransferResult
    record_id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        _aware("at", self.at)
        _one_of("kind", self.kind, TRANSFER_KINDS)
        _one_of("result", self.result, TRANSFER_RESULTS)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.record_id,)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who did what to which object, when (the rules' access-rights trail)."""

    record_type: ClassVar[str] = "audit"
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    at: datetime
    detail: str = ""
    record_id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        _aware("at", self.at)

    @property
    def key(self) -> tuple[str, ...]:
        return (self.record_id,)


@dataclass(frozen=True, slots=True)
class SurveyRecord:
    """A call's post-call survey, written as soon as it ends (`SurveyFinished`); one per
    call. `answers` per question in order, None where not answered; `score` their mean."""

    record_type: ClassVar[str] = "survey"
    call_id: str
    site: str
    queue: str
    agent_id: str
    outcome: SurveyOutcome
    answers: tuple[int | None, ...]
    score: float | None
    started: datetime
    ended: datetime

    def __post_init__(self) -> None:
        _aware("started", self.started)
        _aware("ended", self.ended)
        _one_of("outcome", self.outcome, SURVEY_OUTCOMES)
        object.__setattr__(self, "outcome", SurveyOutcome(self.outcome))
        answers = tuple(self.answers)  # from the spool: a list
        for a in answers:
            if a is not None and (isinstance(a, bool) or not isinstance(a, int)
                                  or not 0 <= a <= 9):
                raise ValueError(f"survey answer {a!r} is not a key 0-9 or None")
        object.__setattr__(self, "answers", answers)
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError(f"survey score {self.score!r} is not a number")

    @property
    def key(self) -> tuple[str, ...]:
        return (self.call_id,)


Record = (
    CallRecord | OfferRecord | AgentStateRecord | RecordingRecord | TransferRecord | AuditRecord
    | SurveyRecord
)
RECORD_TYPES: tuple[type[Record], ...] = (
    CallRecord, OfferRecord, AgentStateRecord, RecordingRecord, TransferRecord, AuditRecord,
    SurveyRecord,
)


class RecordSink(Protocol):
    """Where producers hand records. `submit` is synchronous, non-blocking, never raises:
    call control must not wait on, or fail because of, persistence."""

    def submit(self, record: Record) -> None: ...
