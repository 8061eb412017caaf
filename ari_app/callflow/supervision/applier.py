"""Supervisors' monitoring sessions carried out on the switchboard's live calls.

`Monitor` (ari_app.callflow.supervision.machine) decides one session's commands; this module
owns every session, knows which channels and spy bridges belong to which, and checks a
request against the call it targets. Kept apart from the switchboard so the call flow reads
without the supervision bookkeeping; its commands go through the desk."""

from __future__ import annotations

from dataclasses import replace

from ari_app.callflow.call import CallState
from ari_app.callflow.desk import Desk
from ari_app.callflow.supervision.machine import Mode, Monitor, MonitorError
from ari_app.domain.commands import AriCommand, Command, Publish
from ari_app.domain.events import MonitorEnded, MonitorModeChanged, MonitorStarted

DTMF_MODES = {"1": "listen", "2": "whisper", "3": "barge"}  # a supervisor's keys while monitoring


class Monitoring:
    """All monitoring sessions; each call returns nothing; commands go to the desk."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.sessions: dict[str, Monitor] = {}
        self.channels: dict[str, str] = {}  # channel id -> session id
        self.bridges: dict[str, str] = {}  # spy bridge id -> session id

    def start(
        self, call_id: str, mode: str, device: str, by: str, now: float, phone_channel: str = ""
    ) -> Monitor:
        call = self.desk.calls.get(call_id)
        if call is None or not call.live:
            raise MonitorError("not_found", f"no live call {call_id}")
        try:
            how = Mode(mode)
        except ValueError:
            raise MonitorError("invalid_state", f"unknown monitoring mode {mode!r}") from None
        live_states = (CallState.GREETING, CallState.BRIDGED, CallState.TRANSFERRING)
        if not call.agent_up or not call.agent_channel or call.state not in live_states:
            raise MonitorError("invalid_state", f"call {call_id} has no agent on it to monitor")
        if how is Mode.BARGE and not call.bridge_up:
            raise MonitorError("invalid_state", f"call {call_id} is not bridged yet")
        if any(m.device == device for m in self.sessions.values()):
            raise MonitorError("conflict", f"{device} is already monitoring a call")
        holder = self.desk.agents.on_device(device)
        if holder is not None:
            raise MonitorError("conflict", f"{device} is agent {holder.id}'s phone")
        call.monitor_seq += 1
        suffix = "" if call.monitor_seq == 1 else f"-{call.monitor_seq}"
        session = Monitor(
            session_id=f"sup-{call_id}{suffix}",
            call_id=call_id,
            agent_id=call.agent_id,
            agent_channel=call.agent_channel,
            call_bridge=call.bridge_id,
            device=device,
            started_by=by,
            started_at=now,
            mode=how,
            app=self.desk.app,
            suffix=suffix,
            phone_channel=phone_channel,
        )
        self.sessions[session.session_id] = session
        self._emit(session, session.start())
        self._track(session)
        self.desk.emit(
            Publish(
                MonitorStarted(
                    session.session_id, call_id, call.agent_id, str(how), device, by, now
                )
            )
        )
        return session

    def change(self, session: Monitor, mode: str, now: float) -> None:
        session_id = session.session_id
        try:
            how = Mode(mode)
        except ValueError:
            raise MonitorError("invalid_state", f"unknown monitoring mode {mode!r}") from None
        call = self.desk.calls.get(session.call_id)
        if how is Mode.BARGE:
            if call is None or not call.bridge_up:
                raise MonitorError("invalid_state", f"call {session.call_id} is not bridged")
            session.call_bridge = call.bridge_id
        previous = session.mode
        self._emit(session, session.change(how))
        self._track(session)
        if how is not previous:
            self.desk.emit(
                Publish(
                    MonitorModeChanged(session_id, session.call_id, str(how), str(previous), now)
                )
            )

    def session(self, session_id: str) -> Monitor:
        session = self.sessions.get(session_id)
        if session is None:
            raise MonitorError("not_found", f"no monitoring session {session_id}")
        return session

    def of_channel(self, channel_id: str) -> Monitor | None:
        return self.sessions.get(self.channels.get(channel_id, ""))

    def _track(self, session: Monitor) -> None:
        for channel_id in session.channels():
            self.channels[channel_id] = session.session_id
        if session.spy_bridge_made:
            self.bridges[session.spy_bridge] = session.session_id

    def answered(self, channel_id: str, now: float) -> None:
        session = self.sessions.get(self.channels[channel_id])
        if session is not None and channel_id == session.supervisor_channel:
            self._emit(session, session.answered(now))

    def leg_gone(self, channel_id: str, now: float) -> None:
        session = self.of_channel(channel_id)
        if session is None:
            self.channels.pop(channel_id, None)
            return
        self._emit(session, session.channel_gone(channel_id, now))
        if not session.live:
            self._closed(session, now)

    def end(self, session: Monitor, reason: str, now: float) -> None:
        self._emit(session, session.end(reason, now))
        self._closed(session, now)

    def _closed(self, session: Monitor, now: float) -> None:
        if self.sessions.pop(session.session_id, None) is None:
            return
        for channel_id in session.channels():
            if self.channels.pop(channel_id, None) is not None:
                self.desk.forget(channel_id)
        self.bridges.pop(session.spy_bridge, None)
        self.desk.emit(
            Publish(MonitorEnded(session.session_id, session.call_id, session.end_reason, now))
        )

    def end_for_call(
        self, call_id: str, reason: str, now: float, *, agent_channel: str = ""
    ) -> None:
        """End the call's sessions (only those on `agent_channel`, if given)."""
        if not self.sessions:
            return
        for session in list(self.sessions.values()):
            if session.call_id == call_id and agent_channel in ("", session.agent_channel):
                self.end(session, reason, now)

    def _emit(self, session: Monitor, commands: list[Command]) -> None:
        """A session's requests carry its id as their owner: a failure answer that comes
        back after the session ended then finds no owner and never reaches the call."""
        self.desk.emit(
            *(
                replace(c, owner=session.session_id) if isinstance(c, AriCommand) else c
                for c in commands
            )
        )

    def owner_of(self, command: AriCommand) -> Monitor | None:
        """The live session a (failed) command was sent for, if any."""
        session = self.sessions.get(command.owner) if command.owner else None
        return session if session is not None and session.live else None
