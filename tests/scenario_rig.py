"""The whole engine against the in-process PBX simulator, over real HTTP and WebSocket.

Use under `@pytest.mark.looptime`: the simulator, the engine and the waits all take time
from the event loop, so minutes of ringing and talking pass in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ari_app.ari.client import AriClient
from ari_app.ari.connection import ConnectionState, SupervisedConnection
from ari_app.config.settings import Config
from ari_app.domain.commands import AriRequest
from ari_app.domain.events import AgentStateChanged, CallEnded, DomainEvent, RecordingReady
from ari_app.shell.engine import Engine, ari_event_types
from pbxsim.config import EndpointBehaviour, SimConfig
from pbxsim.server import Simulator
from pbxsim.timing import Timing


class Collector:
    """An EventSink that lets a test wait for a domain event."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self._changed = asyncio.Event()

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[DomainEvent], bool], within: float = 600) -> Any:
        async def seek() -> DomainEvent:
            seen = 0
            while True:
                for ev in self.events[seen:]:
                    if predicate(ev):
                        return ev
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(seek(), within)

    async def ended(self, call_id: str | None = None, within: float = 600) -> CallEnded:
        ev: CallEnded = await self.wait_for(
            lambda e: isinstance(e, CallEnded) and call_id in (None, e.summary.call_id), within
        )
        return ev

    async def recording(self, within: float = 600) -> RecordingReady:
        ev: RecordingReady = await self.wait_for(lambda e: isinstance(e, RecordingReady), within)
        return ev

    def agent_states(self, agent_id: str) -> list[tuple[str, str]]:
        return [
            (str(e.state), e.reason)
            for e in self.events
            if isinstance(e, AgentStateChanged) and e.agent_id == agent_id
        ]


@dataclass
class Scenario:
    sim: Simulator
    engine: Engine
    sink: Collector
    requests: list[AriRequest] = field(default_factory=list)
    events: list[Mapping[str, Any]] = field(default_factory=list)  # every ARI event received

    def call(
        self,
        caller: str = "13900001",
        *,
        patience: float | None = None,
        talk: float | None = None,
        exten: str = "12345",
    ) -> str:
        return self.sim.place_call(caller, exten, patience=patience, talk=talk)

    def phone(
        self,
        agent: str,
        answer_after: float | None = 2.0,
        *,
        busy: bool = False,
        unavailable: bool = False,
    ) -> None:
        self.sim.set_endpoint(
            f"PJSIP/agent{agent}", EndpointBehaviour(answer_after, busy, unavailable)
        )

    def login(self, *agents: str) -> None:
        for a in agents:
            self.engine.login(a, "4321", f"PJSIP/agent{a}")

    def sent(self, method: str | None = None, path_part: str = "") -> list[AriRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and path_part in r.path
        ]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]


@asynccontextmanager
async def scenario(
    config: Config, recordings: Path, *, timing: Timing | None = None
) -> AsyncIterator[Scenario]:
    """`timing`: the simulator's asynchrony (default: $HOTLINE_SIM_TIMING, else none)."""
    sim_config = (
        SimConfig(recordings_dir=recordings)
        if timing is None
        else SimConfig(recordings_dir=recordings, timing=timing)
    )
    sim = Simulator(sim_config)
    base = await sim.start()
    sink = Collector()
    async with AriClient(base, "hotline", "hotline", config.engine.app) as client:
        requests: list[AriRequest] = []
        engine = Engine(config, client, sinks=[sink], clock=sim.pbx.wall, request_log=requests)
        events: list[Mapping[str, Any]] = []

        async def on_event(event: Mapping[str, Any]) -> None:
            events.append(event)
            await engine.on_event(event)

        conn = SupervisedConnection(
            client, on_event, engine.on_reconcile, event_types=ari_event_types(engine)
        )  # as `hotline run`: Asterisk sends only what the engine and the KPIs read
        async with conn:
            await asyncio.wait_for(conn.wait_for_state(ConnectionState.CONNECTED), 10)
            try:
                yield Scenario(sim, engine, sink, requests, events)
            finally:
                await engine.close()
    await sim.stop()
