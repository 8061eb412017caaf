"""Test doubles for the API: an in-memory EngineControl, an audit sink, a settable clock and
a small in-process ASGI client (httpx is not installed). The tests at the bottom check the
fake keeps the protocol's contract, so the API tests' 409/422 cases mean something."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from ari_app.api.control import (
    AgentInfo,
    ApiAgentState,
    ApiTransferKind,
    CallInfo,
    Conflict,
    EngineControl,
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
from ari_app.config.settings import Config, parse_config
from ari_app.domain.passwords import hash_secret, verify_secret
from ari_app.records.types import AuditRecord

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PASSWORDS = {
    "ann": "ann-pw",  # agent 1001, team red
    "bob": "bob-pw",  # agent 2001, team blue
    "tina": "tina-pw",  # team lead, red
    "tom": "tom-pw",  # team lead, blue
    "sue": "sue-pw",  # supervisor
    "adam": "adam-pw",  # admin
}
PINS = {"1001": "1234", "1002": "2345", "2001": "3456"}
# Users acting in each role in the matrix (their own agent / team / sessions).
ROLE_USER = {"agent": "ann", "team_lead": "tina", "supervisor": "sue", "admin": "adam"}


def _h(secret: str) -> str:
    return hash_secret(secret, iterations=1000)


def make_config() -> Config:
    return parse_config(
        {
            "ari": {"password": {"value": "ari-secret"}},
            "database": {"url": "postgresql://hotline:db-secret@db/hotline"},
            "mqtt": {"password": {"env": "MQTT_PASSWORD"}},
            "queues": [{"name": "support", "numbers": ["12345"]}, {"name": "billing"}],
            "agents": [
                {
                    "id": "1001",
                    "endpoint": "PJSIP/1001",
                    "team": "red",
                    "pin_hash": _h("1234"),
                    "queues": ["support"],
                },
                {"id": "1002", "endpoint": "PJSIP/1002", "team": "red", "pin_hash": _h("2345")},
                {"id": "2001", "endpoint": "PJSIP/2001", "team": "blue", "pin_hash": _h("3456")},
            ],
            "departments": [
                {"name": "billing", "target": "queue:billing"},
                {"name": "legal", "target": "PJSIP/trunk/81234567"},
            ],
            "users": [
                {
                    "name": "ann",
                    "password_hash": _h("ann-pw"),
                    "role": "agent",
                    "agent_id": "1001",
                    "team": "red",
                },
                {
                    "name": "bob",
                    "password_hash": _h("bob-pw"),
                    "role": "agent",
                    "agent_id": "2001",
                    "team": "blue",
                },
                {
                    "name": "tina",
                    "password_hash": _h("tina-pw"),
                    "role": "team_lead",
                    "team": "red",
                },
                {"name": "tom", "password_hash": _h("tom-pw"), "role": "team_lead", "team": "blue"},
                {
                    "name": "sue",
                    "password_hash": _h("sue-pw"),
                    "role": "supervisor",
                    "device": "PJSIP/sup",  # the supervisors' phone monitoring may dial
                },
                {"name": "adam", "password_hash": _h("adam-pw"), "role": "admin"},
            ],
        }
    )


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class ListSink:
    records: list[AuditRecord] = field(default_factory=list)

    def submit(self, record: AuditRecord) -> None:
        self.records.append(record)

    def actions(self) -> list[tuple[str, str, str, str]]:
        """(actor, action, object_id, outcome) of each row."""
        return [
            (r.actor, r.action, r.object_id, r.detail.split()[0].removeprefix("outcome="))
            for r in self.records
        ]


class FakeControl:
    """An engine in a dict: three agents, two live calls (c1 on 1001, c2 on 2001), one
    queued call (c3), one recording. State rules follow the protocol's docstrings."""

    def __init__(self, config: Config, clock: FakeClock) -> None:
        self.config = config
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.agent_info = {
            "1001": AgentInfo("1001", "Ann", "red", "on_call", device="PJSIP/1001", call_id="c1"),
            "1002": AgentInfo("1002", "Al", "red", "logged_out"),
            "2001": AgentInfo("2001", "Bob", "blue", "on_call", device="PJSIP/2001", call_id="c2"),
        }
        self.calls = {
            "c1": CallInfo("c1", "support", "****5678", "talking", T0, T0, "1001"),
            "c2": CallInfo("c2", "support", "****4321", "talking", T0, T0, "2001"),
            "c3": CallInfo("c3", "support", "****1111", "queued", T0),
        }
        self.transfers: dict[str, TransferInfo] = {}
        self.sessions: dict[str, MonitorSession] = {}
        self.recording_info = {
            "rec-c1": IndexedRecording("rec-c1", "c1", "wav", 12.5, 4, "ab" * 32, T0),
        }
        self.opened: list[tuple[str, str]] = []
        self.logouts: list[tuple[str, str]] = []
        self._ids = itertools.count(1)

    # helpers for tests
    def set_state(self, agent_id: str, state: ApiAgentState) -> None:
        self.agent_info[agent_id] = replace(self.agent_info[agent_id], state=state)

    def add_session(self, by: str, call_id: str = "c1") -> str:
        call = self.calls[call_id]
        sid = f"m{next(self._ids)}"
        self.sessions[sid] = MonitorSession(
            sid, call_id, call.agent_id or "", "listen", "PJSIP/sup", by, self.clock()
        )
        return sid

    # EngineControl
    async def agent(self, agent_id: str) -> AgentInfo:
        try:
            return self.agent_info[agent_id]
        except KeyError:
            raise NotFound(f"no agent {agent_id}") from None

    async def agents(self) -> Sequence[AgentInfo]:
        return list(self.agent_info.values())

    async def login(self, agent_id: str, pin: str, device: str) -> AgentInfo:
        info = await self.agent(agent_id)
        settings = next(a for a in self.config.agents if a.id == agent_id)
        if not verify_secret(pin, settings.pin_hash):
            raise Forbidden("wrong PIN")
        if info.state != "logged_out":
            raise Conflict(f"agent {agent_id} is already logged in on {info.device}")
        self.agent_info[agent_id] = replace(info, state="available", device=device)
        return self.agent_info[agent_id]

    async def logout(self, agent_id: str, by: str) -> AgentInfo:
        info = await self.agent(agent_id)
        if info.state == "logged_out":
            raise InvalidState(f"agent {agent_id} is not logged in")
        self.logouts.append((agent_id, by))
        self.agent_info[agent_id] = replace(info, state="logged_out", device="", call_id=None)
        return self.agent_info[agent_id]

    async def pause(self, agent_id: str, reason: str) -> AgentInfo:
        info = await self.agent(agent_id)
        if info.state == "logged_out":
            raise InvalidState(f"agent {agent_id} is not logged in")
        self.agent_info[agent_id] = replace(info, state="paused", reason=reason)
        return self.agent_info[agent_id]

    async def unpause(self, agent_id: str) -> AgentInfo:
        info = await self.agent(agent_id)
        if info.state != "paused":
            raise InvalidState(f"agent {agent_id} is not paused")
        self.agent_info[agent_id] = replace(info, state="available", reason="")
        return self.agent_info[agent_id]

    async def end_wrapup(self, agent_id: str) -> AgentInfo:
        info = await self.agent(agent_id)
        if info.state != "wrapup":
            raise InvalidState(f"agent {agent_id} is not in wrap-up")
        self.agent_info[agent_id] = replace(info, state="available")
        return self.agent_info[agent_id]

    async def call(self, call_id: str) -> CallInfo:
        try:
            return self.calls[call_id]
        except KeyError:
            raise NotFound(f"no live call {call_id}") from None

    async def live_calls(self) -> Sequence[CallInfo]:
        return list(self.calls.values())

    async def queues(self) -> Sequence[QueueInfo]:
        return [QueueInfo("support", 1, 30.0, 2, 0), QueueInfo("billing", 0, 0.0, 0, 0)]

    async def transfer(
        self, call_id: str, kind: ApiTransferKind, target: TransferTarget
    ) -> TransferInfo:
        call = await self.call(call_id)
        if call.agent_id is None:
            raise InvalidState(f"call {call_id} is not with an agent")
        if call_id in self.transfers:
            raise Conflict(f"call {call_id} is already being transferred")
        state: TransferState = "announcing" if kind == "blind" else "consulting"
        info = TransferInfo(call_id, kind, f"{target.kind}:{target.name}", state)
        self.transfers[call_id] = info
        return info

    async def _consulting(self, call_id: str) -> TransferInfo:
        await self.call(call_id)
        info = self.transfers.get(call_id)
        if info is None or info.state != "consulting":
            raise InvalidState(f"call {call_id} has no attended transfer in progress")
        return info

    async def complete_transfer(self, call_id: str) -> TransferInfo:
        info = replace(await self._consulting(call_id), state="completed")
        del self.transfers[call_id]
        return info

    async def cancel_transfer(self, call_id: str) -> TransferInfo:
        info = replace(await self._consulting(call_id), state="cancelled")
        del self.transfers[call_id]
        return info

    async def monitor(
        self, target: MonitorTarget, mode: MonitorMode, device: str, by: str
    ) -> MonitorSession:
        if target.kind == "agent":
            agent = await self.agent(target.id)
            if agent.call_id is None:
                raise InvalidState(f"agent {target.id} is not on a call")
            call_id = agent.call_id
        else:
            call_id = target.id
        call = await self.call(call_id)
        if call.agent_id is None:
            raise InvalidState(f"call {call_id} is not with an agent")
        if any(s.device == device for s in self.sessions.values()):
            raise Conflict(f"device {device} is already monitoring")
        sid = f"m{next(self._ids)}"
        session = MonitorSession(sid, call_id, call.agent_id, mode, device, by, self.clock())
        self.sessions[sid] = session
        return session

    async def monitor_session(self, session_id: str) -> MonitorSession:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise NotFound(f"no monitoring session {session_id}") from None

    async def change_monitor_mode(self, session_id: str, mode: MonitorMode) -> MonitorSession:
        session = replace(await self.monitor_session(session_id), mode=mode)
        self.sessions[session_id] = session
        return session

    async def stop_monitor(self, session_id: str) -> None:
        await self.monitor_session(session_id)
        del self.sessions[session_id]

    async def recordings(self, call_id: str | None, limit: int) -> Sequence[IndexedRecording]:
        found = [r for r in self.recording_info.values() if call_id in (None, r.call_id)]
        return found[:limit]

    async def recording(self, name: str) -> IndexedRecording:
        try:
            return self.recording_info[name]
        except KeyError:
            raise NotFound(f"no recording {name}") from None

    async def open_recording(self, name: str, by: str, role: str) -> RecordingStream:
        info = await self.recording(name)
        self.opened.append((name, by))

        async def chunks() -> AsyncIterator[bytes]:
            yield b"RI"
            yield b"FF"

        return RecordingStream(info, "audio/wav", chunks())


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def basic(user: str, password: str | None = None) -> dict[str, str]:
    pw = PASSWORDS[user] if password is None else password
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def call_app(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    client: str = "10.0.0.1",
    on_start: Callable[[], None] | None = None,
) -> Reply:
    """One request through the ASGI app in this event loop, as uvicorn would make it."""
    body = b"" if json is None else orjson.dumps(json)
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if json is not None:
        raw_headers.append((b"content-type", b"application/json"))
    path_only, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": (client, 50000),
        "server": ("testserver", 80),
    }
    sent = False
    done = asyncio.Event()
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # like a real client: disconnects only once the response is complete
            await done.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            if on_start is not None:
                on_start()
            out["status"] = message["status"]
            out["headers"] = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    done.set()
    return Reply(out["status"], out["headers"], out["body"])


# The fake's own contract ---------------------------------------------------------------


def test_fake_control_is_an_engine_control() -> None:
    clock = FakeClock()
    control: EngineControl = FakeControl(make_config(), clock)
    assert control is not None


async def test_fake_control_refuses_double_login_and_wrong_pin() -> None:
    fake = FakeControl(make_config(), FakeClock())
    with pytest.raises(Forbidden):
        await fake.login("1002", "0000", "PJSIP/1002")
    info = await fake.login("1002", PINS["1002"], "PJSIP/1002")
    assert info.state == "available"
    with pytest.raises(Conflict):
        await fake.login("1002", PINS["1002"], "PJSIP/1002")


async def test_fake_control_attended_transfer_needs_consultation() -> None:
    fake = FakeControl(make_config(), FakeClock())
    with pytest.raises(InvalidState):
        await fake.complete_transfer("c1")
    await fake.transfer("c1", "attended", TransferTarget("queue", "billing"))
    with pytest.raises(Conflict):
        await fake.transfer("c1", "blind", TransferTarget("queue", "billing"))
    assert (await fake.cancel_transfer("c1")).state == "cancelled"
