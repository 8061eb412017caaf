"""A tiny stand-in for Asterisk's ARI HTTP server that replays recorded traces.

Tests (ours and the engine's) use it to drive AriClient over real HTTP and WebSocket on
loopback: canned REST responses (e.g. the `rest_errors` trace), event frames pushed on
demand, sockets dropped on demand, every request recorded. It checks credentials the way
Asterisk does (HTTP Basic or `api_key=user:pass`). Not a simulator: see pbxsim for that.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import WSMsgType, web


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the /ari prefix
    params: dict[str, str]
    body: Any


@dataclass
class CannedResponse:
    status: int
    body: Any = None


@dataclass
class ReplayStats:
    ws_connects: int = 0
    ws_rejected: int = 0
    http_unauthorized: int = 0
    frames_sent: int = 0
    ws_params: list[dict[str, str]] = field(default_factory=list)
    ws_attempt_times: list[float] = field(default_factory=list)  # loop.time() of each try


def _params_key(params: Mapping[str, Any] | None) -> frozenset[tuple[str, str]] | None:
    if not params:
        return None
    return frozenset((k, str(v).lower() if isinstance(v, bool) else str(v))
                     for k, v in params.items())


def load_trace(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(event lines, request probe lines) of a trace file, in file order."""
    events: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            item = orjson.loads(line)
            (probes if item.get("probe") == "request" else events).append(item)
    return events, probes


class ReplayServer:
    """`await start()` -> base URL; `respond()` cans REST answers; `send()` pushes frames."""

    def __init__(self, *, username: str, password: str) -> None:
        self._username = username
        self._password = password
        self.requests: list[RecordedRequest] = []
        self.responses: dict[tuple[str, str, frozenset[tuple[str, str]] | None],
                             CannedResponse] = {}
        self.stats = ReplayStats()
        self.refuse_ws = False
        self._sockets: list[web.WebSocketResponse] = []
        self._frozen: list[web.WebSocketResponse] = []
        self._connected = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def respond(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Can an answer; with `params` it only serves requests with exactly those."""
        self.responses[(method.upper(), path, _params_key(params))] = CannedResponse(status, body)

    def respond_from_probes(self, probes: Iterable[Mapping[str, Any]]) -> None:
        """Can the responses a trace recorded for its requests."""
        for p in probes:
            self.respond(str(p["method"]), str(p["path"]), int(p["status"]), p.get("response"),
                         params=p.get("params") or None)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("GET", "/ari/events", self._events)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = int(self._runner.addresses[0][1])
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        for ws in self._frozen:
            if ws._req is not None and ws._req.transport is not None:
                ws._req.transport.abort()
        self._frozen.clear()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorized(self, request: web.Request) -> bool:
        key = request.query.get("api_key")
        if key is not None:
            return key == f"{self._username}:{self._password}"
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return False
        return decoded == f"{self._username}:{self._password}"

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            self.stats.http_unauthorized += 1
            return web.json_response({"message": "Authentication required"}, status=401)
        path = "/" + request.match_info["tail"]
        raw = await request.read()
        body = orjson.loads(raw) if raw else None
        self.requests.append(RecordedRequest(request.method, path, dict(request.query), body))
        canned = self.responses.get((request.method, path, _params_key(request.query)))
        if canned is None:
            canned = self.responses.get((request.method, path, None))
        if canned is None:
            return web.json_response({"message": "Resource not found"}, status=404)
        if canned.status == 204 or canned.body is None:
            return web.Response(status=canned.status)
        if isinstance(canned.body, bytes):
            return web.Response(status=canned.status, body=canned.body,
                                content_type="application/octet-stream")
        return web.Response(status=canned.status, body=orjson.dumps(canned.body),
                            content_type="application/json")

    async def _events(self, request: web.Request) -> web.StreamResponse:
        async with self._connected:
            self.stats.ws_attempt_times.append(asyncio.get_running_loop().time())
            self._connected.notify_all()
        if not self._authorized(request) or self.refuse_ws:
            self.stats.ws_rejected += 1
            return web.json_response({"message": "Authentication required"}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.stats.ws_connects += 1
        self.stats.ws_params.append({k: v for k, v in request.query.items() if k != "api_key"})
        async with self._connected:
            self._sockets.append(ws)
            self._connected.notify_all()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    @property
    def connections(self) -> int:
        return len(self._sockets)

    async def wait_connections(self, total_connects: int) -> None:
        """Until `total_connects` sockets have been accepted since start (one open)."""
        async with self._connected:
            await self._connected.wait_for(
                lambda: self.stats.ws_connects >= total_connects and bool(self._sockets))

    async def wait_attempts(self, attempts: int) -> None:
        """Until `attempts` event-socket handshakes (accepted or refused) were seen."""
        async with self._connected:
            await self._connected.wait_for(
                lambda: len(self.stats.ws_attempt_times) >= attempts)

    async def send(self, frame: str | bytes | Mapping[str, Any]) -> None:
        """Push one frame (a dict is JSON-encoded) to every open event socket."""
        data = frame if isinstance(frame, str | bytes) else orjson.dumps(frame)
        for ws in list(self._sockets):
            if isinstance(data, bytes):
                await ws.send_str(data.decode("utf-8", "replace"))
            else:
                await ws.send_str(data)
            self.stats.frames_sent += 1

    def freeze(self) -> None:
        """Stop reading every event socket (a half-open peer: pings go unanswered)."""
        for ws in list(self._sockets):
            self._sockets.remove(ws)
            self._frozen.append(ws)
            if ws._req is not None and ws._req.transport is not None:
                ws._req.transport.pause_reading()

    async def drop(self, *, abrupt: bool = True) -> None:
        """Break every event socket: abort the TCP connection, or close it cleanly."""
        for ws in list(self._sockets):
            self._sockets.remove(ws)
            if abrupt and ws._req is not None and ws._req.transport is not None:
                ws._req.transport.abort()
            else:
                await ws.close()
