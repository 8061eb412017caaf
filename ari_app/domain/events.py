"""Domain events: the edges of a call's and an agent's life, for sinks outside call control.

Sinks (SQL records, MQTT, the event journal, the recordings index) implement `EventSink`;
the engine hands them these immutable values and never waits for them. `caller` fields are
masked (last 4 digits at most); the full number travels only in `caller_number`
(repr-hidden) for the records writer, which stores it full, masked or hashed per config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class AgentState(StrEnum):
    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    RINGING = "ringing"
    TALKING = "talking"
    WRAPUP = "wrap-up"
    PAUSED = "paused"


class Outcome(StrEnum):
    """How a call ended. The one list: SQL records (`calls.outcome`), MQTT and the API
    use these spellings as they are."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOW = "overflow"  # in the records schema; the call flow does not end calls so (yet)
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    CLOSED = "closed"
    BLOCKED = "blocked"
    TRANSFERRED = "transferred"  # handed to an outside number: no agent of ours ended it
    FAILED = "failed"
    IN_PROGRESS = "in_progress"  # records only: the call is live (written when it starts)
    INTERRUPTED = "interrupted"  # records only: cut by a crash, no engine could adopt it


class OfferResult(StrEnum):
    """How one offer to an agent ended (SQL records' `offers.result` spells them so)."""

    ANSWERED = "answered"
    RONA = "rona"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    CANCELLED = "cancelled"
    FAILED = "failed"  # in the records schema; the call flow says `unavailable` instead


class SurveyOutcome(StrEnum):
    """How a call's post-call satisfaction survey ended (records, MQTT, API spell it so)."""

    COMPLETED = "completed"  # every question answered
    PARTIAL = "partial"  # some answered, then silence, bad keys or a hang-up
    NO_INPUT = "no_input"  # nothing answered: silence after the retry
    INVALID = "invalid"  # nothing answered: a wrong key after the retry
    DECLINED = "declined"  # the caller hung up before answering anything
    NOT_OFFERED = "not_offered"  # the caller hung up first, survey off, or transferred out


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent_id: str
    state: AgentState
    previous: AgentState
    at: float
    reason: str = ""
    call_id: str = ""
    device: str = ""


@dataclass(frozen=True, slots=True)
class OfferSummary:
    """One attempt to reach an agent: how long the phone rang and how it ended."""

    agent_id: str
    channel_id: str
    started_at: float
    ringing_at: float | None
    ended_at: float
    rings: int
    result: OfferResult

    @property
    def ring_seconds(self) -> float:
        return 0.0 if self.ringing_at is None else max(0.0, self.ended_at - self.ringing_at)


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """A finished call recording, for the recordings index (which adds path and checksum)."""

    name: str
    format: str
    call_id: str
    queue: str
    agent_id: str
    caller: str
    started_at: float
    ended_at: float
    duration_seconds: float


@dataclass(frozen=True, slots=True)
class TransferSummary:
    """One transfer attempt of a call. `kind`: blind, attended or phone; `target`: the
    records' form (`queue:NAME`, `agent:ID` or an endpoint); `label`: what was asked
    (a department's name...); `result`: completed, cancelled or failed."""

    kind: str
    from_agent: str
    target: str
    label: str
    started_at: float
    ended_at: float
    result: str
    reason: str = ""
    to_agent: str = ""


@dataclass(frozen=True, slots=True)
class CallSummary:
    """A call from arrival to the end of the agent's wrap-up; times are epoch seconds."""

    call_id: str
    queue: str
    caller: str
    vip: bool
    arrived_at: float
    answered_at: float | None
    bridged_at: float | None
    ended_at: float
    outcome: Outcome
    hangup_by: str
    overflow: str
    wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    wrapup_seconds: float
    agent_id: str
    offers: tuple[OfferSummary, ...]
    recording: str
    queues_visited: tuple[str, ...]
    caller_number: str = field(default="", repr=False)
    transfers: tuple[TransferSummary, ...] = ()
    survey: SurveyOutcome = SurveyOutcome.NOT_OFFERED

    @property
    def transferred(self) -> bool:
        """At least one transfer completed (the caller reached the target)."""
        return any(t.result == "completed" for t in self.transfers)


@dataclass(frozen=True, slots=True)
class CallProgress:
    """A live call's facts so far, at arrival and at answer: the record is written when
    the call starts, and a new engine adopting the call after a restart reads them back."""

    call_id: str
    queue: str
    caller: str
    arrived_at: float
    answered_at: float | None = None
    agent_id: str = ""
    caller_number: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class CallEnded:
    summary: CallSummary


@dataclass(frozen=True, slots=True)
class RecordingReady:
    recording: RecordingInfo


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The caller asked to be called back (overflow action `callback`)."""

    call_id: str
    queue: str
    caller: str
    at: float
    caller_number: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class CallbackChanged:
    """A callback was requested or moved (due, dialling, answered, retry, failed,
    cancelled...): its whole record after the change (`ari_app.callbacks.Callback`), for
    the records (which keep pending ones across a restart) and MQTT. `caller` is masked;
    the full number only in the repr-hidden `caller_number`. Times are epoch seconds."""

    callback_id: str
    kind: str  # in_queue, scheduled, follow_up
    queue: str
    state: str
    caller: str
    reason: str
    requested_by: str
    call_id: str
    requested_at: float
    first_arrival: float
    not_before: float
    due_by: float | None
    due_at: float | None
    max_attempts: int
    retry_seconds: float
    attempts: int
    last_result: str
    answered_call_id: str
    answered_at: float | None
    agent_id: str
    order_id: str
    at: float
    caller_number: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class CallbackAttempted:
    """One dial of a callback's caller ended: `result` answered, no_answer, busy, failed."""

    callback_id: str
    attempt: int
    queue: str
    agent_id: str
    call_id: str  # the attempt's call (`cb-<callback>-<attempt>`)
    started_at: float
    ended_at: float
    result: str


@dataclass(frozen=True, slots=True)
class SurveyFinished:
    """A post-call survey ended (published at once; a low score alerts supervisors)."""

    call_id: str
    queue: str
    agent_id: str  # the last agent who talked to the caller
    outcome: SurveyOutcome
    answers: tuple[int | None, ...]  # per question; None: not answered
    score: float | None  # the mean of the answers given; None when there are none
    started_at: float
    ended_at: float


@dataclass(frozen=True, slots=True)
class CallStateChanged:
    """Live view: a call moved (queued, ringing, greeting, bridged, overflow, ended...)."""

    call_id: str
    queue: str
    state: str
    at: float
    agent_id: str = ""
    position: int = 0


@dataclass(frozen=True, slots=True)
class TransferStarted:
    call_id: str
    kind: str
    from_agent: str
    target: str
    label: str
    at: float


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    """The caller reached the target (`to_agent` when the target is one of our agents;
    empty for a queue, where the next agent is not known yet, or an outside number)."""

    call_id: str
    kind: str
    from_agent: str
    target: str
    label: str
    at: float
    to_agent: str = ""


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """`result`: cancelled (the agent took the caller back) or failed; `reason`: busy,
    no_answer, declined, unavailable, target_hangup, caller_hangup, cancelled..."""

    call_id: str
    kind: str
    from_agent: str
    target: str
    label: str
    at: float
    result: str
    reason: str


@dataclass(frozen=True, slots=True)
class MonitorStarted:
    session_id: str
    call_id: str
    agent_id: str
    mode: str
    device: str
    started_by: str
    at: float


@dataclass(frozen=True, slots=True)
class MonitorModeChanged:
    session_id: str
    call_id: str
    mode: str
    previous: str
    at: float


@dataclass(frozen=True, slots=True)
class MonitorEnded:
    """`reason`: stopped, supervisor_hangup, no_answer, call_ended, agent_left, snoop_gone."""

    session_id: str
    call_id: str
    reason: str
    at: float


DomainEvent = (
    AgentStateChanged
    | CallProgress
    | CallEnded
    | RecordingReady
    | CallbackRequested
    | SurveyFinished
    | CallbackChanged
    | CallbackAttempted
    | CallStateChanged
    | TransferStarted
    | TransferCompleted
    | TransferFailed
    | MonitorStarted
    | MonitorModeChanged
    | MonitorEnded
)


class EventSink(Protocol):
    """Receives domain events. Must return at once (queue internally); may not raise."""

    def publish(self, event: DomainEvent) -> None: ...
