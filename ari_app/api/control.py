"""What the API asks of the engine: the `EngineControl` protocol, its values and errors.

The API never touches calls, channels or the recordings store itself; it asks the engine
through this protocol (implemented by the call-flow engine, faked in-memory in the tests).
Values are plain frozen dataclasses so the engine needs no web framework to build them;
FastAPI derives the published response schemas from them.

Every method is async and either returns a value or raises one of the `ControlError`
subclasses below, whose message is shown to the client as is: say what is wrong in the
user's terms ("agent 1001 is already logged in on PJSIP/1001"), never internals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Literal, Protocol

from ari_app.domain.events import AgentState

# The API's published spellings (a contract: clients read them). Where the domain has the
# same concept, the mapping from the domain's vocabulary is below, and only there.
ApiAgentState = Literal["logged_out", "available", "ringing", "on_call", "wrapup", "paused"]
CallPhase = Literal["queued", "offering", "talking", "on_hold", "transferring"]
"""What the API shows of a live call (derived from the call flow's `CallState`)."""
ApiTransferKind = Literal["blind", "attended"]
"""The transfers the API can start (a phone's own REFER transfer is `phone` elsewhere)."""
TransferState = Literal["announcing", "consulting", "completed", "cancelled"]
TransferTargetKind = Literal["department", "queue", "agent"]
MonitorMode = Literal["listen", "whisper", "barge"]

API_AGENT_STATES: Mapping[AgentState, ApiAgentState] = MappingProxyType({
    AgentState.LOGGED_OUT: "logged_out",
    AgentState.AVAILABLE: "available",
    AgentState.RINGING: "ringing",
    AgentState.TALKING: "on_call",
    AgentState.WRAPUP: "wrapup",
    AgentState.PAUSED: "paused",
})
"""Each domain agent state as the API spells it."""


class ControlError(Exception):
    """A refusal by the engine; `status` and `code` are what the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ControlError):
    """No such agent, call, monitoring session or recording (any more)."""

    status = 404
    code = "not_found"


class Conflict(ControlError):
    """The request clashes with the current state: double login, agent busy, a transfer
    already running, a device already in use."""

    status = 409
    code = "conflict"


class InvalidState(ControlError):
    """The object exists but is in a state the action does not apply to (unpause an agent
    who is not paused, complete a transfer that is not consulting)."""

    status = 422
    code = "invalid_state"


class Forbidden(ControlError):
    """The engine refuses on its own grounds (wrong agent PIN, device not allowed)."""

    status = 403
    code = "forbidden"


@dataclass(frozen=True, slots=True)
class AgentInfo:
    agent_id: str
    name: str
    team: str
    state: ApiAgentState
    reason: str = ""
    device: str = ""
    since: datetime | None = None
    queues: tuple[str, ...] = ()
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class CallInfo:
    """A live call. `caller` is as the engine's caller-number policy allows it to be shown
    (masked unless configured otherwise)."""

    call_id: str
    queue: str
    caller: str
    state: CallPhase
    arrival: datetime
    answered: datetime | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueInfo:
    name: str
    waiting: int
    longest_wait_seconds: float
    agents_logged_in: int
    agents_available: int


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """A transfer destination already checked against the configuration: a department of
    the directory (`departments[].name`), a queue, or an agent."""

    kind: TransferTargetKind
    name: str


@dataclass(frozen=True, slots=True)
class TransferInfo:
    call_id: str
    kind: ApiTransferKind
    target: str
    state: TransferState


@dataclass(frozen=True, slots=True)
class MonitorTarget:
    """What to monitor: a call by id, or whatever call an agent is on."""

    kind: Literal["call", "agent"]
    id: str


@dataclass(frozen=True, slots=True)
class MonitorSession:
    session_id: str
    call_id: str
    agent_id: str
    mode: MonitorMode
    device: str
    started_by: str
    started: datetime


@dataclass(frozen=True, slots=True)
class IndexedRecording:
    """A recording as the recordings index has it (the domain's `RecordingInfo` is the
    engine's news of a finished recording, before the index adds size and checksum)."""

    name: str
    call_id: str
    format: str
    duration_seconds: float
    size: int
    sha256: str
    created: datetime


@dataclass(frozen=True, slots=True)
class RecordingStream:
    """An opened recording: its metadata, MIME type and its bytes, read as they are sent."""

    info: IndexedRecording
    content_type: str
    chunks: AsyncIterator[bytes]


class EngineControl(Protocol):
    """Everything the API may ask of the engine. Identifiers reaching these methods have
    passed the API's syntax checks; existence and state are the engine's to check."""

    # agents
    async def agent(self, agent_id: str) -> AgentInfo: ...
    async def agents(self) -> Sequence[AgentInfo]: ...
    async def login(self, agent_id: str, pin: str, device: str) -> AgentInfo:
        """Verify `pin` against the agent's `pin_hash` (Forbidden if wrong), Conflict if
        already logged in (or the device is taken)."""
        ...

    async def logout(self, agent_id: str, by: str) -> AgentInfo:
        """`by` is the API user's name (the agent's own user, or a lead/supervisor)."""
        ...

    async def pause(self, agent_id: str, reason: str) -> AgentInfo: ...
    async def unpause(self, agent_id: str) -> AgentInfo: ...
    async def end_wrapup(self, agent_id: str) -> AgentInfo: ...

    # calls and transfers
    async def call(self, call_id: str) -> CallInfo: ...
    async def live_calls(self) -> Sequence[CallInfo]: ...
    async def queues(self) -> Sequence[QueueInfo]: ...
    async def transfer(
        self, call_id: str, kind: ApiTransferKind, target: TransferTarget
    ) -> TransferInfo: ...
    async def complete_transfer(self, call_id: str) -> TransferInfo: ...
    async def cancel_transfer(self, call_id: str) -> TransferInfo: ...

    # supervision
    async def monitor(
        self, target: MonitorTarget, mode: MonitorMode, device: str, by: str
    ) -> MonitorSession:
        """Dial `device` and bridge it with a snoop on the agent leg; returns once the
        session exists (the supervisor's phone may still be ringing)."""
        ...

    async def monitor_session(self, session_id: str) -> MonitorSession: ...
    async def change_monitor_mode(self, session_id: str, mode: MonitorMode) -> MonitorSession: ...
    async def stop_monitor(self, session_id: str) -> None: ...

    # recordings (through the recordings index)
    async def recordings(self, call_id: str | None, limit: int) -> Sequence[IndexedRecording]:
        """Newest first, at most `limit`."""
        ...

    async def recording(self, name: str) -> IndexedRecording: ...
    async def open_recording(self, name: str, by: str, role: str) -> RecordingStream:
        """Open through the recordings index (`ari_app.api.recordings.open_indexed` does it),
        which writes its own access row too."""
        ...
