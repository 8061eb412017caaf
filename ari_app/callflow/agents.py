"""Agents: the registry from config and each agent's life as a small state machine.

States: logged-out → available ⇄ ringing → talking → wrap-up → available, and paused.
Every transition returns the `AgentStateChanged` it caused, so the caller (the pure core)
decides what to publish; nothing here does I/O or reads a clock. Login rules follow the
centre's security rule that an agent ID is never lent: one agent ID on one device, one
device per agent ID, PIN checked against the configured hash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ari_app.config.settings import AgentSettings
from ari_app.domain.events import AgentState, AgentStateChanged
from ari_app.domain.passwords import verify_secret

RONA_REASON = "rona"


class AgentError(Exception):
    """An agent action was refused; `code` is stable for APIs, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class Agent:
    settings: AgentSettings
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    idle_since: float = 0.0
    device: str = ""
    reason: str = ""
    call_id: str = ""
    calls_taken: int = 0
    consecutive_ronas: int = 0
    pause_after_call: str = ""
    cool_until: float = 0.0
    skills: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.settings.id

    @property
    def logged_in(self) -> bool:
        return self.state is not AgentState.LOGGED_OUT

    def serves(self, queue: str) -> bool:
        """An agent with no queues listed serves every queue."""
        return not self.settings.queues or queue in self.settings.queues

    def _move(
        self, state: AgentState, now: float, reason: str = "", call_id: str = ""
    ) -> AgentStateChanged:
        previous = self.state
        self.state = state
        self.since = now
        self.reason = reason
        self.call_id = call_id
        if state is AgentState.AVAILABLE:
            self.idle_since = now
        return AgentStateChanged(
            agent_id=self.id,
            state=state,
            previous=previous,
            at=now,
            reason=reason,
            call_id=call_id,
            device=self.device,
        )

    def offer(self, call_id: str, now: float) -> AgentStateChanged:
        if self.state is not AgentState.AVAILABLE:
            raise AgentError("not_available", f"agent {self.id} is {self.state}")
        return self._move(AgentState.RINGING, now, call_id=call_id)

    def offer_ended(self, now: float, *, rona: bool, pause_after: int) -> AgentStateChanged:
        """The offer was not answered; a RONA counts, a cancel or busy phone does not."""
        if rona:
            self.consecutive_ronas += 1
            if pause_after and self.consecutive_ronas >= pause_after:
                self.consecutive_ronas = 0
                self.pause_after_call = ""
                return self._move(AgentState.PAUSED, now, reason=RONA_REASON)
        if self.pause_after_call:
            reason, self.pause_after_call = self.pause_after_call, ""
            return self._move(AgentState.PAUSED, now, reason=reason)
        return self._move(AgentState.AVAILABLE, now)

    def answered(self, call_id: str, now: float) -> AgentStateChanged:
        self.consecutive_ronas = 0
        self.calls_taken += 1
        return self._move(AgentState.TALKING, now, call_id=call_id)

    def call_finished(self, now: float) -> AgentStateChanged:
        return self._move(AgentState.WRAPUP, now, call_id=self.call_id)

    def wrapup_done(self, now: float) -> AgentStateChanged:
        if self.pause_after_call:
            reason, self.pause_after_call = self.pause_after_call, ""
            return self._move(AgentState.PAUSED, now, reason=reason)
        return self._move(AgentState.AVAILABLE, now)

    def login(self, device: str, now: float) -> AgentStateChanged:
        self.device = device
        self.consecutive_ronas = 0
        return self._move(AgentState.AVAILABLE, now)

    def logout(self, now: float) -> AgentStateChanged:
        if self.state in (AgentState.RINGING, AgentState.TALKING):
            raise AgentError("on_call", f"agent {self.id} is on a call; log out after it")
        event = self._move(AgentState.LOGGED_OUT, now)
        self.device = ""
        self.pause_after_call = ""
        return event

    def pause(self, reason: str, now: float) -> AgentStateChanged | None:
        """Pause now, or after the current call (ringing, talking, wrap-up)."""
        reason = reason or "break"
        if self.state is AgentState.AVAILABLE or self.state is AgentState.PAUSED:
            return self._move(AgentState.PAUSED, now, reason=reason)
        self.pause_after_call = reason
        return None

    def unpause(self, now: float) -> AgentStateChanged | None:
        self.pause_after_call = ""
        if self.state is not AgentState.PAUSED:
            return None
        self.consecutive_ronas = 0
        return self._move(AgentState.AVAILABLE, now)


class AgentRegistry:
    """All configured agents, who is logged in where, and the set of available ones."""

    def __init__(
        self,
        settings: Iterable[AgentSettings],
        verify: Callable[[str, str], bool] = verify_secret,
    ) -> None:
        self._agents: dict[str, Agent] = {}
        for s in settings:
            self._agents[s.id] = Agent(settings=s, skills=dict(s.skills))
        self._order = list(self._agents)
        self._by_device: dict[str, str] = {}
        self._verify = verify

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def require(self, agent_id: str) -> Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise AgentError("unknown_agent", f"no agent {agent_id!r}")
        return agent

    def index(self, agent_id: str) -> int:
        return self._order.index(agent_id)

    @property
    def order(self) -> list[str]:
        return self._order

    def on_device(self, device: str) -> Agent | None:
        agent_id = self._by_device.get(device)
        return self._agents.get(agent_id) if agent_id else None

    def check_pin(self, agent_id: str, pin: str) -> bool:
        """Slow on purpose (PBKDF2): shells run it in a thread, then pass `verified`."""
        agent = self._agents.get(agent_id)
        if agent is None or not agent.settings.pin_hash:
            return False
        return self._verify(pin, agent.settings.pin_hash)

    def login(
        self, agent_id: str, pin: str, device: str, now: float, *, verified: bool | None = None
    ) -> AgentStateChanged:
        agent = self._agents.get(agent_id)
        ok = self.check_pin(agent_id, pin) if verified is None else verified
        # The same answer for an unknown ID and a wrong PIN: IDs are not to be probed.
        if agent is None or not ok:
            raise AgentError("bad_credentials", "invalid agent ID or PIN")
        device = device or agent.settings.endpoint
        if agent.logged_in:
            raise AgentError(
                "already_logged_in",
                f"agent {agent_id} is already logged in on {agent.device}; log out there first",
            )
        holder = self.on_device(device)
        if holder is not None:
            raise AgentError("device_in_use", f"device {device} is in use by agent {holder.id}")
        self._by_device[device] = agent_id
        return agent.login(device, now)

    def restore(
        self,
        agent_id: str,
        device: str,
        state: AgentState,
        reason: str,
        since: float,
        *,
        call_id: str = "",
    ) -> Agent:
        """Put an agent back as a restart found them (saved session, adopted call): no
        transition happened, so no event."""
        agent = self.require(agent_id)
        device = device or agent.device or agent.settings.endpoint
        if agent.device and agent.device != device:
            self._by_device.pop(agent.device, None)
        agent.device = device
        agent.state = state
        agent.reason = reason
        agent.since = since
        agent.call_id = call_id
        if state is AgentState.AVAILABLE:
            agent.idle_since = since
        self._by_device[device] = agent_id
        return agent

    def logout(self, agent_id: str, now: float) -> AgentStateChanged:
        agent = self.require(agent_id)
        if not agent.logged_in:
            raise AgentError("not_logged_in", f"agent {agent_id} is not logged in")
        device = agent.device
        event = agent.logout(now)
        self._by_device.pop(device, None)
        return event

    def logged_in_for(self, queue: str) -> bool:
        return any(a.logged_in and a.serves(queue) for a in self._agents.values())
