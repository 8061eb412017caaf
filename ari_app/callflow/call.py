"""One hotline call: its state, the legs and media it holds, and the facts its summary is
built from.

A call's state changes only through `Call.move`, which checks `TRANSITIONS` and refuses an
illegal move (h11's `_state.py` is the model): a bug then ends that one call instead of
leaving it in a state nothing expects. The legs (caller, agent), the call's bridge and its
recording are small states of their own (`Leg`, `BridgeState`, `RecordingState`); the
yes/no questions the flow asks (`caller_up`, `agent_up`, `legs_down`, `recording_done`) are
derived from them. Which move to make is decided by the call flow (ari_app.callflow), which
also sees agents and queues; this module keeps the per-call facts honest (times, offers,
talk and hold by segments across transfers) and turns them into a `CallSummary`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from ari_app.callflow.transfer.machine import Transfer
from ari_app.domain.events import (
    CallSummary,
    OfferResult,
    OfferSummary,
    Outcome,
    SurveyOutcome,
    TransferSummary,
)
from ari_app.domain.privacy import mask


class CallState(StrEnum):
    QUEUED = "queued"  # waiting in a queue; an offer to one agent may be ringing
    GREETING = "greeting"  # an agent answered; the caller hears the greeting
    BRIDGED = "bridged"  # caller and agent (or a transfer's target) talk
    TRANSFERRING = "transferring"  # a transfer runs (announcement, target ringing, consult)
    OVERFLOW = "overflow"  # not for an agent: a prompt, then hang-up or voicemail
    SURVEY = "survey"  # the agent hung up first; the caller answers the post-call survey
    ENDING = "ending"  # over; waiting for the legs and the recording to be confirmed gone
    FINISHED = "finished"  # forgotten by the flow (its summary may wait for the wrap-up)


TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.QUEUED: frozenset(
        # (QUEUED -> SURVEY: an adopted caller who was answering the survey)
        {CallState.QUEUED, CallState.GREETING, CallState.OVERFLOW, CallState.SURVEY,
         CallState.ENDING}
    ),
    CallState.GREETING: frozenset({CallState.BRIDGED, CallState.ENDING}),
    CallState.BRIDGED: frozenset({CallState.TRANSFERRING, CallState.SURVEY, CallState.ENDING}),
    CallState.TRANSFERRING: frozenset(
        {CallState.BRIDGED, CallState.QUEUED, CallState.OVERFLOW, CallState.ENDING}
    ),
    CallState.OVERFLOW: frozenset({CallState.ENDING}),
    CallState.SURVEY: frozenset({CallState.ENDING}),
    CallState.ENDING: frozenset({CallState.FINISHED}),
    CallState.FINISHED: frozenset(),
}


class IllegalMove(RuntimeError):
    """A move `TRANSITIONS` does not allow: a bug in the call flow, never bad input."""


class Leg(StrEnum):
    NONE = "none"  # no such leg yet (no agent answered, or the agent left)
    UP = "up"
    GONE = "gone"


class BridgeState(StrEnum):
    NONE = "none"
    UP = "up"
    DESTROYED = "destroyed"


class RecordingState(StrEnum):
    NONE = "none"
    RUNNING = "running"
    DONE = "done"  # finished, failed or given up on


@dataclass(slots=True)
class Offer:
    agent_id: str
    channel_id: str
    started_at: float
    ringing_at: float | None = None
    ended_at: float | None = None
    result: OfferResult | None = None

    def close(self, result: OfferResult, now: float, period: float) -> OfferSummary:
        self.ended_at = now
        self.result = result
        return self.summary(period)

    def summary(self, period: float) -> OfferSummary:
        ended = self.ended_at if self.ended_at is not None else self.started_at
        return OfferSummary(
            agent_id=self.agent_id,
            channel_id=self.channel_id,
            started_at=self.started_at,
            ringing_at=self.ringing_at,
            ended_at=ended,
            rings=rings_heard(self.ringing_at, ended, period),
            result=self.result or OfferResult.CANCELLED,
        )


# Q.850 causes of an agent (or transfer target) leg that ended before answer.
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({18, 19, 21})


def leg_result(cause: object) -> OfferResult:
    """Why a leg ended before answer, from its hang-up cause."""
    if cause in _BUSY_CAUSES:
        return OfferResult.BUSY
    if cause in _NO_ANSWER_CAUSES:
        return OfferResult.RONA
    return OfferResult.UNAVAILABLE


def rings_heard(ringing_at: float | None, until: float, period: float) -> int:
    """Ring k starts (k−1)·P after ringing starts, so 0 s → 1 ring, P s → 2 rings."""
    if ringing_at is None or period <= 0:
        return 0
    return math.floor(max(0.0, until - ringing_at) / period + 1e-9) + 1


@dataclass(slots=True)
class Call:
    call_id: str
    caller_channel: str
    queue: str
    vip: bool
    arrived_at: float
    seq: int
    caller_answered: bool = False  # we answered the caller's channel (never undone)
    state: CallState = CallState.QUEUED
    offer: Offer | None = None
    offers: list[OfferSummary] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    agent_id: str = ""
    agent_channel: str = ""
    caller_leg: Leg = Leg.UP
    agent_leg: Leg = Leg.NONE
    answered_at: float | None = None
    bridged_at: float | None = None
    talk_ended_at: float | None = None
    overflow_at: float | None = None
    ended_at: float | None = None
    outcome: Outcome | None = None
    hangup_by: str = ""
    overflow: str = ""
    bridge_id: str = ""
    bridge: BridgeState = BridgeState.NONE
    recording: str = ""
    recording_format: str = ""
    recording_state: RecordingState = RecordingState.NONE
    recording_seconds: float | None = None
    recorder: str = ""  # the snoop channel the call's recording runs on (`rec-<call>`)
    playbacks: dict[str, str] = field(default_factory=dict)
    after_prompt: str = ""
    caller_number: str = field(default="", repr=False)
    playback_seq: int = 0
    moh: bool = False
    queues_visited: list[str] = field(default_factory=list)
    wrapup_started: float | None = None
    wrapup_ended: float | None = None
    offer_seq: int = 0
    used_legs: set[str] = field(default_factory=set)  # leg ids of before a restart
    # transfers: the one running, those done; legs of the target (ringing or consulting)
    transfer: Transfer | None = None
    transfers: list[TransferSummary] = field(default_factory=list)
    xfer_offer: Offer | None = None  # the target leg (an agent's or an outside number's)
    consult_bridge: str = ""
    local_one: str = ""  # a phone REFER's Local pair: ;1 replaced the agent in the bridge
    local_two: str = ""  # ;2 entered Stasis with args transfer,<exten>
    aux_up: set[str] = field(default_factory=set)  # target legs, Local halves still up
    aux_channels: list[str] = field(default_factory=list)  # all of them, to forget at the end
    external: bool = False  # the caller was handed to an outside number
    taken_by: str = ""  # the first agent who answered (the record's agent)
    wrapup_agent: str = ""  # the agent whose wrap-up closes the summary
    xfer_seq: int = 0
    monitor_seq: int = 0
    # talk and hold, by segments: a transfer ends one agent's talk and starts another's
    talk_total: float = 0.0
    talk_from: float | None = None
    hold_total: float = 0.0
    hold_from: float | None = None
    survey: SurveyOutcome = SurveyOutcome.NOT_OFFERED

    def play(self, kind: str, *, once: bool = False) -> str:
        """A playback id, remembered with its purpose: `greet-<call>` as in the traces for
        once-per-call prompts, `<kind>-<call>-<n>` for repeated ones."""
        self.playback_seq += 1
        pid = f"{kind}-{self.call_id}" if once else f"{kind}-{self.call_id}-{self.playback_seq}"
        self.playbacks[pid] = kind
        return pid

    def agent_channel_id(self, agent_id: str) -> str:
        """`agent-<agent>-<call>` as in the traces; a re-offer to the same agent gets `-<n>`."""
        self.offer_seq += 1
        base = f"agent-{agent_id}-{self.call_id}"
        if base in self.used_legs or any(o.agent_id == agent_id for o in self.offers):
            return f"{base}-{self.offer_seq}"
        return base

    def move(self, to: CallState) -> None:
        """The one way a call changes state. Raises IllegalMove."""
        if to not in TRANSITIONS[self.state]:
            raise IllegalMove(f"call {self.call_id}: {self.state} -> {to} is not allowed")
        self.state = to

    @property
    def live(self) -> bool:
        return self.state not in (CallState.ENDING, CallState.FINISHED)

    @property
    def caller_up(self) -> bool:
        return self.caller_leg is Leg.UP

    @property
    def agent_up(self) -> bool:
        return self.agent_leg is Leg.UP

    @property
    def bridge_up(self) -> bool:
        return self.bridge is BridgeState.UP

    @property
    def recording_done(self) -> bool:
        return self.recording_state is not RecordingState.RUNNING

    @property
    def legs_down(self) -> bool:
        return not (self.caller_up or self.agent_up or self.aux_up)

    def agent_joined(self, channel_id: str) -> None:
        """`channel_id` is now the call's agent side (an agent, or a transfer's target)."""
        self.agent_channel = channel_id
        self.agent_leg = Leg.UP

    def agent_left(self) -> None:
        if self.agent_leg is Leg.UP:
            self.agent_leg = Leg.GONE

    def caller_left(self) -> None:
        self.caller_leg = Leg.GONE

    def bridged(self, bridge_id: str) -> None:
        self.bridge_id = bridge_id
        self.bridge = BridgeState.UP

    def unbridged(self) -> bool:
        """The call's bridge goes; False if it was not up (nothing to destroy)."""
        if self.bridge is not BridgeState.UP:
            return False
        self.bridge = BridgeState.DESTROYED
        return True

    def recording_started(self, name: str, fmt: str) -> None:
        self.recording = name
        self.recording_format = fmt
        self.recording_state = RecordingState.RUNNING

    def recording_ended(self) -> None:
        if self.recording_state is RecordingState.RUNNING:
            self.recording_state = RecordingState.DONE

    def talk_starts(self, now: float) -> None:
        if self.talk_from is None:
            self.talk_from = now

    def talk_stops(self, now: float) -> None:
        if self.talk_from is not None:
            self.talk_total += max(0.0, now - self.talk_from)
            self.talk_from = None

    def hold_starts(self, now: float) -> None:
        if self.hold_from is None:
            self.hold_from = now

    def hold_stops(self, now: float) -> None:
        if self.hold_from is not None:
            self.hold_total += max(0.0, now - self.hold_from)
            self.hold_from = None

    def summary(self) -> CallSummary:
        ended = self.ended_at if self.ended_at is not None else self.arrived_at
        waited_until = ended
        if self.answered_at is not None:
            waited_until = self.answered_at
        elif self.overflow_at is not None:
            waited_until = self.overflow_at
        talk_end = self.talk_ended_at if self.talk_ended_at is not None else ended
        talk = self.talk_total
        if self.talk_from is not None:
            talk += max(0.0, talk_end - self.talk_from)
        hold = self.hold_total
        if self.hold_from is not None:
            hold += max(0.0, talk_end - self.hold_from)
        wrapup = 0.0
        if self.wrapup_started is not None and self.wrapup_ended is not None:
            wrapup = max(0.0, self.wrapup_ended - self.wrapup_started)
        return CallSummary(
            call_id=self.call_id,
            queue=self.queue,
            caller=mask(self.caller_number),
            caller_number=self.caller_number,
            vip=self.vip,
            arrived_at=self.arrived_at,
            answered_at=self.answered_at,
            bridged_at=self.bridged_at,
            ended_at=ended,
            outcome=self.outcome or Outcome.FAILED,
            hangup_by=self.hangup_by,
            overflow=self.overflow,
            wait_seconds=max(0.0, waited_until - self.arrived_at),
            talk_seconds=talk,
            hold_seconds=hold,
            wrapup_seconds=wrapup,
            agent_id=self.taken_by or self.agent_id,
            offers=tuple(self.offers),
            recording=self.recording,
            queues_visited=tuple(self.queues_visited),
            transfers=tuple(self.transfers),
            survey=self.survey,
        )
