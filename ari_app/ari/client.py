"""`AriClient`: one aiohttp session for ARI's REST calls and its event WebSocket.

Lifetime is an `async with` block (like aiomqtt's Client). REST auth is HTTP Basic in a
header, so credentials never appear in URLs, logs, exception strings or reprs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
import orjson
from yarl import URL

from ari_app.ari.errors import (
    AriConnectionError,
    AriRequestInfo,
    error_for_status,
    scrub_params,
)
from ari_app.ari.events import Event, EventParser

log = logging.getLogger(__name__)

EventsAuth = Literal["basic", "api_key"]


def encode_param(value: Any) -> str:
    """ARI query values: booleans as true/false, lists comma-joined (allowMultiple)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ",".join(encode_param(v) for v in value)
    return str(value)


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    return {k: encode_param(v) for k, v in params.items() if v is not None}


def ari_base_url(base_url: str) -> URL:
    """`http://host:8088` or `.../ari` to `http://host:8088/ari`, userinfo dropped."""
    url = URL(base_url)
    url = url.with_user(None).with_password(None).with_query(None).with_fragment(None)
    path = url.path.rstrip("/")
    if not path.endswith("/ari"):
        path += "/ari"
    return url.with_path(path)


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


@dataclass
class ClientStats:
    requests: int = 0
    http_errors: int = 0
    connection_errors: int = 0
    event_sockets_opened: int = 0


class EventSocket:
    """An open `/ari/events` WebSocket; iterate it for parsed events until it closes."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, parser: EventParser) -> None:
        self._ws = ws
        self._parser = parser

    @property
    def closed(self) -> bool:
        return self._ws.closed

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        parse = self._parser.parse
        while True:
            msg = await self._ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT or msg.type is aiohttp.WSMsgType.BINARY:
                event = parse(msg.data)
                if event is not None:
                    return event
                continue
            if msg.type is aiohttp.WSMsgType.ERROR:
                raise AriConnectionError(f"event socket error: {type(msg.data).__name__}")
            raise StopAsyncIteration  # CLOSE / CLOSING / CLOSED (heartbeat timeout too)

    async def close(self) -> None:
        await self._ws.close()


class AriClient:
    """ARI over HTTP + WebSocket: `request()` sends any REST request (the engine's
    commands each know theirs), `connect_events()` / `events()` give the app's events."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        app: str,
        *,
        timeout: float = 10.0,
        events_auth: EventsAuth = "basic",
        heartbeat: float | None = 10.0,
        subscribe_all: bool = False,
        parser: EventParser | None = None,
    ) -> None:
        self.base_url = ari_base_url(base_url)
        self.app = app
        self._username = username
        self._password = password
        self._timeout = timeout
        self._events_auth = events_auth
        self.heartbeat = heartbeat
        self.subscribe_all = subscribe_all
        self.parser = parser or EventParser()
        self.stats = ClientStats()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"AriClient(base_url={str(self.base_url)!r}, app={self.app!r})"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": aiohttp.encode_basic_auth(
                    self._username, self._password)},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            raise AriConnectionError("AriClient is not open (use `async with AriClient(...)`)")
        return self._session

    def _url(self, path: str) -> URL:
        return URL(str(self.base_url) + path, encoded=True)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Any,
    ) -> bytes:
        session = self._require_session()
        query = encode_params(params)
        info = AriRequestInfo(method, path, scrub_params(query))
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        self.stats.requests += 1
        try:
            async with session.request(
                method, self._url(path), params=query, data=data, headers=headers
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.connection_errors += 1
            raise AriConnectionError(f"ARI request failed: {type(exc).__name__}", info) from None
        log.debug("ARI %s %s -> %d", method, path, status)
        if status >= 400:
            self.stats.http_errors += 1
            raise error_for_status(info, status, _decode(raw))
        return raw

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """Any ARI call: `path` without `/ari` (e.g. `/channels/{id}/answer`); JSON `body`.

        Returns the decoded JSON (None for 204). Raises AriHttpError subclasses by status
        and AriConnectionError when Asterisk cannot be reached.
        """
        return _decode(await self._send(method, path, params, body))

    async def request_bytes(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> bytes:
        """Like `request()` but the raw body (stored recording files)."""
        return await self._send(method, path, params, None)

    def events_url(self) -> URL:
        scheme = "wss" if self.base_url.scheme == "https" else "ws"
        return self.base_url.with_scheme(scheme).with_path(self.base_url.path + "/events")

    async def connect_events(self) -> EventSocket:
        """Open the app's event WebSocket (the app is registered with Asterisk while open)."""
        session = self._require_session()
        params = {"app": self.app}
        if self.subscribe_all:
            params["subscribeAll"] = "true"
        if self._events_auth == "api_key":
            params["api_key"] = f"{self._username}:{self._password}"
        try:
            ws = await session.ws_connect(
                self.events_url(), params=params, heartbeat=self.heartbeat, autoping=True
            )
        except aiohttp.WSServerHandshakeError as exc:
            self.stats.connection_errors += 1
            raise AriConnectionError(
                f"event socket handshake failed: HTTP {exc.status}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.stats.connection_errors += 1
            raise AriConnectionError(
                f"event socket connect failed: {type(exc).__name__}") from None
        self.stats.event_sockets_opened += 1
        return EventSocket(ws, self.parser)

    async def events(self) -> AsyncIterator[Event]:
        """Events of this app until the socket closes (no reconnect: see SupervisedConnection)."""
        socket = await self.connect_events()
        try:
            async for event in socket:
                yield event
        finally:
            await socket.close()
