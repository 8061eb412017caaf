"""What an agent asks for, from the API or a phone's feature code: log in, log out,
pause, unpause, end wrap-up early. Refusals are `AgentError`s with a code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ari_app.callflow.agents import Agent, AgentError
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import CancelTimer
from ari_app.domain.events import AgentState

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow


class AgentActions:
    """Agents' own requests, applied to the registry and the queues."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow

    def login(
        self, agent_id: str, pin: str, device: str, now: float, *, verified: bool | None = None
    ) -> None:
        """Raises AgentError (bad_credentials, already_logged_in, device_in_use).

        `verified`: the shell already checked the PIN (in a thread: PBKDF2 is slow)."""
        event = self.desk.agents.login(agent_id, pin, device, now, verified=verified)
        self.flow.offering.agent_changed(event)
        self.flow.offering.dispatch(now)

    def logout(self, agent_id: str, now: float) -> None:
        desk = self.desk
        agent = desk.agents.require(agent_id)
        was_wrapping = agent.state is AgentState.WRAPUP
        call_id = agent.call_id
        event = desk.agents.logout(agent_id, now)
        if was_wrapping:
            desk.emit(CancelTimer(("wrapup", agent_id)))
            self.flow.ending.wrapup_finished(call_id, agent_id, now)
        self.flow.offering.agent_changed(event)
        for q in desk.queues:
            if agent.serves(q) and not desk.agents.logged_in_for(q):
                for entry in desk.waiting[q]:
                    self.flow.overflow.start(desk.calls[entry.call_id], "no_agents", now)

    def pause(self, agent_id: str, reason: str, now: float) -> None:
        event = self.logged_in(agent_id).pause(reason, now)
        if event is not None:
            self.flow.offering.agent_changed(event)

    def unpause(self, agent_id: str, now: float) -> None:
        event = self.logged_in(agent_id).unpause(now)
        if event is not None:
            self.flow.offering.agent_changed(event)
            self.flow.offering.dispatch(now)

    def end_wrapup(self, agent_id: str, now: float) -> None:
        agent = self.logged_in(agent_id)
        if agent.state is not AgentState.WRAPUP:
            raise AgentError("not_in_wrapup", f"agent {agent_id} is not in wrap-up")
        self.desk.emit(CancelTimer(("wrapup", agent_id)))
        self.flow.ending.wrapup_timer(agent_id, now)

    def logged_in(self, agent_id: str) -> Agent:
        agent = self.desk.agents.require(agent_id)
        if not agent.logged_in:
            raise AgentError("not_logged_in", f"agent {agent_id} is not logged in")
        return agent
