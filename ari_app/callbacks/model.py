"""One callback and its state machine.

States (`TRANSITIONS`; any other move raises `IllegalMove`):

    requested → waiting | due          (due at once when the queue is open)
    waiting   → due                    (its time came and the queue is open)
    due       → dialling | waiting     (an agent is reserved; the queue closed meanwhile)
    dialling  → answered | retry | failed | due
                                       (the caller answered; no answer, busy or failed with
                                        attempts left; the last attempt; the attempt never
                                        reached the caller: the reserved agent did not answer)
    retry     → due | waiting          (after `retry_seconds`)
    any open state → cancelled

Values are frozen: every move returns a new `Callback`, so the applier, the records and the
tests all see the same snapshots. Times are epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class Kind(StrEnum):
    IN_QUEUE = "in_queue"  # a waiting caller pressed the key: keep their place
    SCHEDULED = "scheduled"  # "within N working days": overflow action, an agent, the API
    FOLLOW_UP = "follow_up"  # a closed work order's follow-up (回访)


class State(StrEnum):
    REQUESTED = "requested"
    WAITING = "waiting"
    DUE = "due"
    DIALLING = "dialling"
    ANSWERED = "answered"
    RETRY = "retry"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptResult(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # unreachable, congestion, a refused dial


OPEN_STATES = frozenset(
    {State.REQUESTED, State.WAITING, State.DUE, State.DIALLING, State.RETRY}
)
"""Pending: an engine restart loads these back."""

TRANSITIONS: dict[State, frozenset[State]] = {
    State.REQUESTED: frozenset({State.WAITING, State.DUE, State.CANCELLED}),
    State.WAITING: frozenset({State.DUE, State.CANCELLED}),
    State.DUE: frozenset({State.DIALLING, State.WAITING, State.CANCELLED}),
    State.DIALLING: frozenset(
        {State.ANSWERED, State.RETRY, State.FAILED, State.DUE, State.CANCELLED}
    ),
    State.RETRY: frozenset({State.DUE, State.WAITING, State.CANCELLED}),
    State.ANSWERED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
}


class IllegalMove(ValueError):
    """A move the table does not allow (cancelling an answered callback...)."""


@dataclass(frozen=True, slots=True)
class Callback:
    id: str
    kind: Kind
    queue: str
    caller_number: str = field(repr=False)
    reason: str
    requested_by: str  # "caller", "overflow", "agent:1001", "user:ann"
    call_id: str  # the call it came from ("" from the API without a call)
    requested_at: float
    first_arrival: float  # the original call's arrival (the request's time without a call)
    not_before: float  # the next dial may not start earlier (the request, a retry delay)
    due_by: float | None = None  # scheduled: the end of the Nth working day
    max_attempts: int = 3
    retry_seconds: float = 600.0
    state: State = State.REQUESTED
    attempts: int = 0
    due_at: float | None = None  # when it (last) became due: a scheduled one's order key
    last_result: str = ""
    answered_call_id: str = ""
    answered_at: float | None = None
    agent_id: str = ""  # the agent it is assigned to (who asked for it, or who dialled)
    order_id: str = ""  # a follow-up's work order
    updated_at: float = 0.0

    @property
    def pending(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def order_key(self) -> float:
        """Its place among the queue's waiting callers. An in-queue callback keeps its
        caller's arrival; any other takes the time it became due, never earlier, so it cannot
        overtake callers who were waiting before then."""
        if self.kind is Kind.IN_QUEUE:
            return self.first_arrival
        return self.due_at if self.due_at is not None else float("inf")

    def _move(self, to: State, now: float, **changes: object) -> Callback:
        if to not in TRANSITIONS[self.state]:
            raise IllegalMove(f"callback {self.id}: {self.state} -> {to} is not allowed")
        return replace(self, state=to, updated_at=now, **changes)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the moves

    def became_due(self, at: float, now: float) -> Callback:
        """Its time came (`at`: the instant it did: `not_before` or the queue's opening)."""
        return self._move(State.DUE, now, due_at=max(at, self.not_before))

    def window_closed(self, now: float) -> Callback:
        return self._move(State.WAITING, now, due_at=None)

    def wait(self, now: float) -> Callback:
        """Requested while the queue is closed (or before `not_before`)."""
        return self._move(State.WAITING, now)

    def dialling(self, agent_id: str, now: float) -> Callback:
        """An agent is reserved for it; the attempt counts once the caller is dialled."""
        return self._move(State.DIALLING, now, agent_id=agent_id)

    def caller_dialled(self, now: float) -> Callback:
        if self.state is not State.DIALLING:
            raise IllegalMove(f"callback {self.id}: dialled while {self.state}")
        return replace(self, attempts=self.attempts + 1, updated_at=now)

    def released(self, now: float) -> Callback:
        """The reserved agent was lost before the caller was dialled: due again, with its
        place (its `due_at`) kept; no attempt used."""
        return self._move(State.DUE, now)

    def attempt_ended(
        self, result: AttemptResult, now: float, *, call_id: str = ""
    ) -> Callback:
        """The caller answered, or did not: retry after `retry_seconds` while attempts are
        left, else failed."""
        if result is AttemptResult.ANSWERED:
            return self._move(
                State.ANSWERED, now, last_result=result.value, answered_call_id=call_id,
                answered_at=now,
            )
        if self.attempts >= self.max_attempts:
            return self._move(State.FAILED, now, last_result=result.value)
        return self._move(
            State.RETRY, now, last_result=result.value, not_before=now + self.retry_seconds,
            due_at=None,
        )

    def cancelled(self, now: float, why: str = "cancelled") -> Callback:
        return self._move(State.CANCELLED, now, last_result=why)
