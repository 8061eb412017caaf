"""`SwitchboardControl`: the API's `EngineControl` protocol (ari_app.api.control) over the
running call-flow engine.

A thin adapter: it reads the `Switchboard`'s state (agents, calls, queues, transfers,
monitoring sessions) into the API's values and forwards actions to the `Engine`, turning
the core's refusals (`AgentError`, `TransferError`, `MonitorError`, by code) into the
API's `NotFound` / `Conflict` / `InvalidState` / `Forbidden`. It runs on the engine's
own event loop, so reads need no locking; the slow parts (PIN hashing, the recordings
index) run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import NoReturn

from ari_app.api.control import (
    API_AGENT_STATES,
    AgentInfo,
    ApiTransferKind,
    CallInfo,
    CallPhase,
    Conflict,
    ControlError,
    Forbidden,
    IndexedRecording,
    InvalidState,
    MonitorMode,
    MonitorSession,
    MonitorTarget,
    NotFound,
    QueueInfo,
    RecordingStream,
    TransferInfo,
    TransferState,
    TransferTarget,
)
from ari_app.api.recordings import indexed_for_call, indexed_recording, open_indexed
from ari_app.callflow.agents import Agent, AgentError
from ari_app.callflow.call import Call
from ari_app.callflow.call import CallState as Flow
from ari_app.callflow.supervision.machine import Mode, Monitor, MonitorError
from ari_app.callflow.transfer.machine import Kind, Phase, TransferError
from ari_app.domain.events import AgentState
from ari_app.domain.privacy import mask
from ari_app.shell.engine import Engine
from recordings.index import RecordingIndex

log = logging.getLogger(__name__)

DURABLE_WAIT_SECONDS = 2.0  # a database slower than this: answer anyway (the spool keeps it)

_MODES: dict[Mode, MonitorMode] = {
    Mode.LISTEN: "listen",
    Mode.WHISPER: "whisper",
    Mode.BARGE: "barge",
}
_BY_CODE: dict[str, type[ControlError]] = {
    "not_found": NotFound,
    "unknown_agent": NotFound,
    "conflict": Conflict,
    "already_logged_in": Conflict,
    "device_in_use": Conflict,
    "on_call": Conflict,
    "not_available": Conflict,
    "invalid_state": InvalidState,
    "not_logged_in": InvalidState,
    "not_in_wrapup": InvalidState,
    "bad_credentials": Forbidden,
}


def _refused(exc: AgentError | TransferError | MonitorError) -> NoReturn:
    raise _BY_CODE.get(exc.code, InvalidState)(exc.message) from None


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SwitchboardControl:
    """`ari_app.api.control.EngineControl` for a running `Engine`. `index`: the recordings
    index (None: no recordings are served)."""

    def __init__(
        self,
        engine: Engine,
        index: RecordingIndex | None = None,
        durable: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`durable`: waits until what was just decided is on disk (the records writer's
        `wait_idle`): an agent's own action is answered only once it survives a restart."""
        self.engine = engine
        self.core = engine.core
        self.index = index
        self._durable = durable
        self._queue_names = tuple(self.core.queues)

    async def _saved(self) -> None:
        if self._durable is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._durable(), DURABLE_WAIT_SECONDS)

    # ------------------------------------------------------------------ agents

    def _agent(self, agent_id: str) -> Agent:
        agent = self.core.agents.get(agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id}")
        return agent

    def _agent_info(self, agent: Agent) -> AgentInfo:
        busy = agent.state in (AgentState.RINGING, AgentState.TALKING, AgentState.WRAPUP)
        return AgentInfo(
            agent_id=agent.id,
            name=agent.settings.name,
            team=agent.settings.team,
            state=API_AGENT_STATES[agent.state],
            reason=agent.reason,
            device=agent.device,
            since=_at(agent.since) if agent.logged_in else None,
            queues=agent.settings.queues or self._queue_names,
            call_id=agent.call_id if busy and agent.call_id else None,
        )

    async def agent(self, agent_id: str) -> AgentInfo:
        return self._agent_info(self._agent(agent_id))

    async def agents(self) -> Sequence[AgentInfo]:
        return [self._agent_info(a) for a in self.core.agents]

    async def login(self, agent_id: str, pin: str, device: str) -> AgentInfo:
        agent = self._agent(agent_id)
        try:
            await self.engine.login_checked(agent_id, pin, device)
        except AgentError as exc:
            _refused(exc)
        await self._saved()
        return self._agent_info(agent)

    async def logout(self, agent_id: str, by: str) -> AgentInfo:
        agent = self._agent(agent_id)
        try:
            self.engine.logout(agent_id)
        except AgentError as exc:
            _refused(exc)
        log.info("agent %s logged out by %s", agent_id, by)
        await self._saved()
        return self._agent_info(agent)

    async def pause(self, agent_id: str, reason: str) -> AgentInfo:
        agent = self._agent(agent_id)
        try:
            self.engine.pause(agent_id, reason)
        except AgentError as exc:
            _refused(exc)
        await self._saved()
        return self._agent_info(agent)

    async def unpause(self, agent_id: str) -> AgentInfo:
        agent = self._agent(agent_id)
        if agent.state is not AgentState.PAUSED and not agent.pause_after_call:
            raise InvalidState(f"agent {agent_id} is not paused")
        try:
            self.engine.unpause(agent_id)
        except AgentError as exc:
            _refused(exc)
        await self._saved()
        return self._agent_info(agent)

    async def end_wrapup(self, agent_id: str) -> AgentInfo:
        agent = self._agent(agent_id)
        try:
            self.engine.end_wrapup(agent_id)
        except AgentError as exc:
            _refused(exc)
        return self._agent_info(agent)

    # ------------------------------------------------------------------ calls

    def _live(self, call_id: str) -> Call:
        call = self.core.calls.get(call_id)
        if call is None or call.state in (Flow.ENDING, Flow.FINISHED):
            raise NotFound(f"no live call {call_id}")
        return call

    def _call_state(self, call: Call) -> CallPhase:
        t = call.transfer
        if call.state is Flow.TRANSFERRING and t is not None:
            return "on_hold" if t.kind is Kind.ATTENDED and call.hold_from else "transferring"
        if call.state in (Flow.GREETING, Flow.BRIDGED):
            return "talking"
        return "offering" if call.offer is not None else "queued"

    def _call_info(self, call: Call) -> CallInfo:
        full = self.core.config.engine.caller_number_storage == "full"
        return CallInfo(
            call_id=call.call_id,
            queue=call.queue,
            caller=call.caller_number if full else mask(call.caller_number),
            state=self._call_state(call),
            arrival=_at(call.arrived_at),
            answered=_at(call.answered_at) if call.answered_at is not None else None,
            agent_id=call.agent_id or None,
        )

    async def call(self, call_id: str) -> CallInfo:
        return self._call_info(self._live(call_id))

    async def live_calls(self) -> Sequence[CallInfo]:
        return [
            self._call_info(c)
            for c in self.core.calls.values()
            if c.state not in (Flow.ENDING, Flow.FINISHED)
        ]

    async def queues(self) -> Sequence[QueueInfo]:
        now = self.engine.now()
        out = []
        for name in self._queue_names:
            waiting = [self.core.calls[e.call_id] for e in self.core.waiting[name]]
            serving = [a for a in self.core.agents if a.logged_in and a.serves(name)]
            out.append(
                QueueInfo(
                    name=name,
                    waiting=len(waiting),
                    longest_wait_seconds=max((now - c.arrived_at for c in waiting), default=0.0),
                    agents_logged_in=len(serving),
                    agents_available=sum(a.state is AgentState.AVAILABLE for a in serving),
                )
            )
        return out

    # ------------------------------------------------------------------ transfers

    def _transfer_info(self, call_id: str, kind: ApiTransferKind, label: str) -> TransferInfo:
        """What became of the transfer just asked for. A blind transfer is `completed` for
        the agent once they are out of the call (the target may still be ringing)."""
        call = self.core.calls.get(call_id)
        state: TransferState = "completed"
        if call is not None and call.transfer is not None:
            phase = call.transfer.phase
            if phase is Phase.ANNOUNCING:
                state = "announcing"
            elif call.transfer.kind is Kind.ATTENDED:
                state = "consulting"
        elif call is not None and call.transfers:
            state = "completed" if call.transfers[-1].result == "completed" else "cancelled"
        return TransferInfo(call_id=call_id, kind=kind, target=label, state=state)

    def _label(self, target: TransferTarget) -> str:
        return target.name if target.kind == "department" else f"{target.kind}:{target.name}"

    async def transfer(
        self, call_id: str, kind: ApiTransferKind, target: TransferTarget
    ) -> TransferInfo:
        self._live(call_id)
        try:
            self.engine.transfer(call_id, kind, target.kind, target.name)
        except TransferError as exc:
            _refused(exc)
        return self._transfer_info(call_id, kind, self._label(target))

    async def complete_transfer(self, call_id: str) -> TransferInfo:
        call = self._live(call_id)
        label = call.transfer.target.label if call.transfer else ""
        try:
            self.engine.complete_transfer(call_id)
        except TransferError as exc:
            _refused(exc)
        return self._transfer_info(call_id, "attended", label)

    async def cancel_transfer(self, call_id: str) -> TransferInfo:
        call = self._live(call_id)
        label = call.transfer.target.label if call.transfer else ""
        try:
            self.engine.cancel_transfer(call_id)
        except TransferError as exc:
            _refused(exc)
        return TransferInfo(call_id=call_id, kind="attended", target=label, state="cancelled")

    # ------------------------------------------------------------------ supervision

    def _session_info(self, session: Monitor) -> MonitorSession:
        return MonitorSession(
            session_id=session.session_id,
            call_id=session.call_id,
            agent_id=session.agent_id,
            mode=_MODES[session.mode],
            device=session.device,
            started_by=session.started_by,
            started=_at(session.started_at),
        )

    def _session(self, session_id: str) -> Monitor:
        session = self.core.monitors.get(session_id)
        if session is None:
            raise NotFound(f"no monitoring session {session_id}")
        return session

    async def monitor(
        self, target: MonitorTarget, mode: MonitorMode, device: str, by: str
    ) -> MonitorSession:
        if target.kind == "agent":
            agent = self._agent(target.id)
            if agent.state is not AgentState.TALKING or not agent.call_id:
                raise InvalidState(f"agent {target.id} is not on a call")
            call_id = agent.call_id
        else:
            call_id = target.id
        self._live(call_id)
        try:
            session = self.engine.monitor(call_id, mode, device, by)
        except MonitorError as exc:
            _refused(exc)
        return self._session_info(session)

    async def monitor_session(self, session_id: str) -> MonitorSession:
        return self._session_info(self._session(session_id))

    async def change_monitor_mode(self, session_id: str, mode: MonitorMode) -> MonitorSession:
        session = self._session(session_id)
        try:
            self.engine.change_monitor(session_id, mode)
        except MonitorError as exc:
            _refused(exc)
        return self._session_info(session)

    async def stop_monitor(self, session_id: str) -> None:
        self._session(session_id)
        try:
            self.engine.stop_monitor(session_id)
        except MonitorError as exc:
            _refused(exc)

    # ------------------------------------------------------------------ recordings

    def _index(self) -> RecordingIndex:
        if self.index is None:
            raise NotFound("recordings are not available on this engine")
        return self.index

    async def recordings(self, call_id: str | None, limit: int) -> Sequence[IndexedRecording]:
        if call_id is None or self.index is None:
            return []  # the index cannot list every recording yet
        return await asyncio.to_thread(indexed_for_call, self.index, call_id, limit)

    async def recording(self, name: str) -> IndexedRecording:
        return await asyncio.to_thread(indexed_recording, self._index(), name)

    async def open_recording(self, name: str, by: str, role: str) -> RecordingStream:
        return await open_indexed(self._index(), name, by, role)
