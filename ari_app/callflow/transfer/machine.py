"""One transfer of a call, as a pure state machine (no I/O, no clock, no ids).

The core (ari_app.callflow.switchboard) feeds it what happened — the announcement finished,
the target answered, the target failed, the agent or the caller hung up, someone asked to
complete or cancel — and it answers with the `Do` steps the core must carry out (play, dial,
bridge, hand the caller back...). Turning steps into ARI commands needs the call's channels
and bridges, so that stays in the core; what a transfer *decides* lives here and is tested
with plain function calls.

Kinds: `blind` (the agent leaves at once; the caller hears the department's announcement,
then is queued, or the target is dialled and joins the caller), `attended` (the agent
consults the target while the caller is on hold; complete, cancel, or the target
declines), `phone` (the agent's phone sent a SIP REFER: Asterisk's own blind transfer
via a Local channel pair, or `ari-only` where the agent stays until the target answers).

Rules for hang-ups (docs/transfers.md):
- the caller hangs up at any step: the transfer fails, the target leg is dropped;
- the agent hangs up while consulting: the transfer completes (target answered) or goes
  on as a blind one (target still ringing: it joins the caller when it answers, the
  caller goes back to the queue if it does not);
- the target declines, is busy, never answers (timer) or hangs up while consulting: the
  caller goes back to the agent (if the agent is still there) or back to the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class TransferError(Exception):
    """A transfer request was refused. `code`: not_found, invalid_state or conflict."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Kind(StrEnum):
    BLIND = "blind"
    ATTENDED = "attended"
    PHONE = "phone"


class TargetKind(StrEnum):
    QUEUE = "queue"
    AGENT = "agent"
    EXTERNAL = "external"


class Phase(StrEnum):
    ANNOUNCING = "announcing"
    DIALLING = "dialling"
    CONSULTING = "consulting"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Do(StrEnum):
    ANNOUNCE = "announce"  # play the department's announcement to the caller
    MOVE = "move"  # queue the caller in the target queue (arrival time kept)
    DIAL = "dial"  # dial the target (agent phone or outside number)
    CONSULT = "consult"  # the target answered: it talks with the agent, caller on hold
    JOIN = "join"  # the target joins the caller; a transferring agent still there leaves
    RETURN = "return"  # drop the target; the agent is back with the caller
    REQUEUE = "requeue"  # drop the target; the caller goes back to the call's queue
    DROP = "drop"  # the caller is gone: drop the target


ACTIVE = frozenset({Phase.ANNOUNCING, Phase.DIALLING, Phase.CONSULTING})


@dataclass(frozen=True, slots=True)
class Target:
    """Where a transfer goes. `name`: the queue, the agent id, or the endpoint to dial;
    `label`: what people asked for (a department's name, `queue:NAME`, `agent:ID`)."""

    kind: TargetKind
    name: str
    label: str
    announce: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        """The records' form: `queue:NAME`, `agent:ID` or the endpoint."""
        return self.name if self.kind is TargetKind.EXTERNAL else f"{self.kind}:{self.name}"


def parse_target(text: str, announce: tuple[str, ...] = (), label: str = "") -> Target:
    """`queue:NAME`, `agent:ID` or an endpoint (`PJSIP/trunk/number`)."""
    kind, _, rest = text.partition(":")
    if kind == "queue" and rest:
        return Target(TargetKind.QUEUE, rest, label or text, announce)
    if kind == "agent" and rest:
        return Target(TargetKind.AGENT, rest, label or text, announce)
    if "/" in text and ":" not in text:
        return Target(TargetKind.EXTERNAL, text, label or text, announce)
    raise TransferError("not_found", f"{text!r} is not a transfer target")


@dataclass(slots=True)
class Transfer:
    """One transfer. `agent_present`: the transferring agent is still on the call (attended,
    or a REFER left to the app) — decides whether a failure goes back to the agent or to
    the queue, and whether a join must release the agent."""

    kind: Kind
    target: Target
    from_agent: str
    started_at: float
    agent_present: bool
    phase: Phase = Phase.DIALLING
    target_answered: bool = False
    ended_at: float | None = None
    reason: str = ""
    history: list[Phase] = field(default_factory=list)

    @classmethod
    def start(
        cls, kind: Kind, target: Target, from_agent: str, now: float, *, agent_stays: bool = False
    ) -> tuple[Transfer, list[Do]]:
        """`agent_stays`: a phone transfer handled by the app (`ari-only`)."""
        if kind is Kind.ATTENDED and target.kind is TargetKind.QUEUE:
            raise TransferError(
                "invalid_state",
                "an attended transfer needs someone to consult: choose an agent or a"
                " number, or transfer to the queue blind",
            )
        present = kind is Kind.ATTENDED or (kind is Kind.PHONE and agent_stays)
        t = cls(kind, target, from_agent, now, present)
        if kind is Kind.BLIND and target.announce:
            t._to(Phase.ANNOUNCING)
            return t, [Do.ANNOUNCE]
        return t, t._move(now)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    @property
    def result(self) -> str:
        """For records: completed, cancelled or failed (only once it is over)."""
        return str(self.phase)

    def _to(self, phase: Phase, now: float | None = None, reason: str = "") -> None:
        self.history.append(self.phase)
        self.phase = phase
        if phase not in ACTIVE:
            self.ended_at = now
            self.reason = reason or str(phase)

    def _move(self, now: float) -> list[Do]:
        if self.target.kind is TargetKind.QUEUE:
            self._to(Phase.COMPLETED, now)
            return [Do.MOVE]
        self._to(Phase.DIALLING)
        return [Do.DIAL]

    # -- what happened
    def announced(self, now: float) -> list[Do]:
        if self.phase is not Phase.ANNOUNCING:
            return []
        return self._move(now)

    def answered(self, now: float) -> list[Do]:
        """The target picked up."""
        if self.phase is not Phase.DIALLING:
            return []
        self.target_answered = True
        if self.kind is Kind.ATTENDED and self.agent_present:
            self._to(Phase.CONSULTING)
            return [Do.CONSULT]
        self._to(Phase.COMPLETED, now)
        return [Do.JOIN]

    def target_failed(self, reason: str, now: float) -> list[Do]:
        """Busy, declined, unreachable, no answer (timer), or hung up while consulting."""
        if self.phase not in (Phase.DIALLING, Phase.CONSULTING):
            return []
        self._to(Phase.FAILED, now, reason)
        return [Do.RETURN] if self.agent_present else [Do.REQUEUE]

    def agent_gone(self, now: float) -> list[Do]:
        """The transferring agent hung up during the transfer."""
        if not self.active or not self.agent_present:
            return []
        self.agent_present = False
        if self.phase is Phase.CONSULTING:
            self._to(Phase.COMPLETED, now, "agent_hangup")
            return [Do.JOIN]
        return []  # still ringing: goes on as a blind transfer

    def caller_gone(self, now: float) -> list[Do]:
        if not self.active:
            return []
        self._to(Phase.FAILED, now, "caller_hangup")
        return [Do.DROP]

    # -- what was asked
    def complete(self, now: float) -> list[Do]:
        if self.kind is not Kind.ATTENDED or not self.active:
            raise TransferError("invalid_state", "there is no consultation to complete")
        if self.phase is not Phase.CONSULTING:
            raise TransferError("invalid_state", "the target has not answered yet")
        self._to(Phase.COMPLETED, now)
        return [Do.JOIN]

    def cancel(self, now: float) -> list[Do]:
        if self.kind is not Kind.ATTENDED or not self.active or not self.agent_present:
            raise TransferError("invalid_state", "there is no consultation to cancel")
        self._to(Phase.CANCELLED, now, "cancelled")
        return [Do.RETURN]
