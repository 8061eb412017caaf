"""The imperative shell: aiohttp serving ARI (/ari/...), its events websocket and the
simulator's control API (/sim/...), around the pure-ish `Pbx` state machine.

Events a REST call causes are flushed to every websocket before its response is sent,
as Asterisk usually does; with `timing.reorder` (pbxsim.timing) a seeded share of answers
goes out first and those events after it, still in order before any later event.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import resource
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from ari_app.ari.spec import AriSpec, load_spec
from pbxsim.channels import HANGUP_BY
from pbxsim.config import RINGING_ORDERS, EndpointBehaviour, SimConfig, valid_seconds
from pbxsim.core import AriError
from pbxsim.dtmf import (
    DEFAULT_DURATION_MS,
    DtmfError,
    DtmfPress,
    check_digits,
    check_duration,
    parse_script,
)
from pbxsim.model import Json
from pbxsim.pbx import Pbx
from pbxsim.rest import RestResult, handle
from pbxsim.timing import Timing, TimingError, timing_from_mapping

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 5.0


@dataclass
class _Client:
    apps: tuple[str, ...]
    ws: web.WebSocketResponse
    queue: asyncio.Queue[Json | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


@dataclass
class HubStats:
    ws_connected: int = 0
    ws_dropped: int = 0
    ws_open: int = 0
    bad_requests: int = 0
    rest_requests: int = 0
    timer_errors: int = 0


class Simulator:
    """An ARI-speaking PBX. `await start()` serves it; the phone-side methods inject traffic."""

    def __init__(self, config: SimConfig | None = None, spec: AriSpec | None = None) -> None:
        self.config = config or SimConfig()
        self.request_log: list[str] | None = None  # "METHOD /path" of every REST request, if set
        self.spec = spec or load_spec()
        self.hub = HubStats()
        self._clients: list[_Client] = []
        self.pbx = Pbx(self.config, self._now, self._later, self._deliver)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._held: list[tuple[str, Json]] | None = None  # events behind a REST answer

    # ------------------------------------------------------------- clock
    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _later(self, delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, self._guarded, fn)

    def _guarded(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            self.hub.timer_errors += 1
            log.exception("simulated PBX timer failed")

    # ------------------------------------------------------------- events
    def _deliver(self, app: str, event: Json) -> None:
        if self._held is not None:
            self._held.append((app, event))
            return
        for client in self._clients:
            if app in client.apps:
                client.queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every websocket has been handed the events queued so far."""
        for client in list(self._clients):
            try:
                await asyncio.wait_for(client.queue.join(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("websocket client too slow; dropping it")
                await self._drop(client)

    async def _writer(self, client: _Client) -> None:
        while True:
            event = await client.queue.get()
            try:
                if event is None:
                    return
                await client.ws.send_str(orjson.dumps(event).decode())
            except (ConnectionError, RuntimeError) as exc:
                log.info("websocket send failed: %s", exc)
                self.hub.ws_dropped += 1
                self._forget(client)
                _drain_queue(client.queue)
                return
            finally:
                client.queue.task_done()

    def _forget(self, client: _Client) -> None:
        if client in self._clients:
            self._clients.remove(client)
            self.hub.ws_open -= 1
            for app in client.apps:
                left = self.pbx.apps.get(app, 0) - 1
                if left <= 0:
                    self.pbx.apps.pop(app, None)
                    # Guessed worst case: Asterisk keeps the filter on the app object,
                    # which it destroys once unregistered with nothing subscribed; an app
                    # must set it again on every connect.
                    self.pbx.event_filters.pop(app, None)
                else:
                    self.pbx.apps[app] = left

    async def _drop(self, client: _Client) -> None:
        self.hub.ws_dropped += 1
        self._forget(client)
        _drain_queue(client.queue)
        if client.task is not None:
            client.task.cancel()
        await client.ws.close()

    async def cut_websockets(self) -> int:
        """Cut every event websocket now (a network cut or an Asterisk HTTP restart, for
        tests and benches): their apps are unregistered at once, as in Asterisk, so
        `Stasis()` of a caller arriving before the client reconnects fails. Returns how
        many were cut."""
        clients = list(self._clients)
        for client in clients:
            await self._drop(client)
        return len(clients)

    # ------------------------------------------------------------- http
    def _authorised(self, request: web.Request) -> bool:
        key = request.query.get("api_key")
        if key is None:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                key = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
        user, sep, password = key.partition(":")
        return bool(sep) and self.config.users.get(user) == password

    async def _events(self, request: web.Request) -> web.StreamResponse:
        apps = tuple(a for a in request.query.get("app", "").split(",") if a)
        if not apps:
            self.hub.bad_requests += 1
            return web.json_response({"message": "Missing parameter app"}, status=400)
        ws = web.WebSocketResponse(heartbeat=None)
        if not ws.can_prepare(request).ok:
            return web.json_response({"message": "Upgrade required"}, status=426)
        await ws.prepare(request)
        client = _Client(apps, ws)
        self._clients.append(client)
        self.hub.ws_connected += 1
        self.hub.ws_open += 1
        for app in apps:
            self.pbx.apps[app] = self.pbx.apps.get(app, 0) + 1
        client.task = asyncio.create_task(self._writer(client))
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if client in self._clients:
                if ws.close_code not in (None, 1000) or ws.exception() is not None:
                    self.hub.ws_dropped += 1
                self._forget(client)
                client.queue.put_nowait(None)
            if client.task is not None and not client.task.done():
                client.task.cancel()
        return ws

    async def _ari(self, request: web.Request) -> web.StreamResponse:
        self.hub.rest_requests += 1
        if self.request_log is not None:
            self.request_log.append(f"{request.method} /{request.match_info['tail']}")
        body: Any = None
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                self.hub.bad_requests += 1
                return web.json_response({"message": "Failed to parse body as JSON"}, status=400)
        path = "/" + request.match_info["tail"]
        if self._held is None and self.pbx.timing.answer_first():
            return await self._answer_first(request, path, body)
        result = handle(self.spec, self.pbx, request.method, path, request.query, body)
        if result.status >= 400:
            self.hub.bad_requests += 1
        await self.drain()
        return _response(result)

    async def _answer_first(self, request: web.Request, path: str,
                            body: Any) -> web.StreamResponse:
        """The REST answer, sent before the events its request caused; those (and any that
        come meanwhile) are held back, then delivered in their order."""
        self._held = []
        try:
            result = handle(self.spec, self.pbx, request.method, path, request.query, body)
            if result.status >= 400:
                self.hub.bad_requests += 1
            response = _response(result)
            await response.prepare(request)
            await response.write_eof()
        finally:
            held, self._held = self._held, None
            for app, event in held:
                self._deliver(app, event)
        return response

    @web.middleware
    async def _auth(self, request: web.Request,
                    handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if request.path.startswith("/ari") and not self._authorised(request):
            return web.json_response(
                {"message": "Authentication required"}, status=401,
                headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except AriError as exc:
            self.hub.bad_requests += 1
            return web.json_response(exc.body, status=exc.status)

    # ------------------------------------------------------------- control API
    async def _control_json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json() if (await request.read()).strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise AriError(400, "Failed to parse body as JSON") from exc
        if not isinstance(data, dict):
            raise AriError(400, "Request body must be a JSON object")
        return data

    async def _sim_endpoint(self, request: web.Request) -> web.Response:
        data = await self._control_json(request)
        after = data.get("answer_after", 2.0)
        if after is not None and (not isinstance(after, int | float) or after < 0):
            raise AriError(400, "answer_after must be seconds >= 0 or null")
        order = data.get("ringing_order")
        if order is not None and order not in RINGING_ORDERS:
            raise AriError(400, f"ringing_order must be one of {', '.join(RINGING_ORDERS)} or null")
        hangup_after = data.get("hangup_after")
        if not valid_seconds(hangup_after):
            raise AriError(400, "hangup_after must be seconds >= 0 or null")
        behaviour = self.set_endpoint(
            f"{request.match_info['tech']}/{request.match_info['resource']}",
            EndpointBehaviour(None if after is None else float(after),
                              bool(data.get("busy", False)), bool(data.get("unavailable", False)),
                              order, None if hangup_after is None else float(hangup_after)),
        )
        return web.json_response(behaviour.as_json())

    async def _sim_call(self, request: web.Request) -> web.Response:
        data = await self._control_json(request)
        caller, exten = data.get("caller"), data.get("exten")
        if not isinstance(caller, str) or not isinstance(exten, str):
            raise AriError(400, "caller and exten (strings) are required")
        patience, talk = data.get("patience"), data.get("talk")
        for name, value in (("patience", patience), ("talk", talk)):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise AriError(400, f"{name} must be seconds >= 0 or null")
        hangup_by = data.get("hangup_by", "caller")
        if hangup_by not in HANGUP_BY:
            raise AriError(400, f"hangup_by must be one of {', '.join(HANGUP_BY)}")
        try:
            dtmf = parse_script(data.get("dtmf"))
        except DtmfError as exc:
            raise AriError(400, str(exc)) from exc
        channel_id = self.place_call(
            caller, exten, patience=None if patience is None else float(patience),
            talk=None if talk is None else float(talk),
            caller_name=str(data.get("caller_name", "")), hangup_by=str(hangup_by), dtmf=dtmf,
        )
        await self.drain()
        return web.json_response({"id": channel_id}, status=201)

    async def _sim_hangup(self, request: web.Request) -> web.Response:
        self.phone_hangup(request.match_info["id"])
        await self.drain()
        return web.Response(status=204)

    async def _sim_dtmf(self, request: web.Request) -> web.Response:
        data = await self._control_json(request)
        try:
            digits = check_digits(data.get("digits"))
            duration_ms = check_duration(data.get("duration_ms", DEFAULT_DURATION_MS))
        except DtmfError as exc:
            raise AriError(400, str(exc)) from exc
        self.phone_dtmf(request.match_info["id"], digits, duration_ms)
        return web.Response(status=204)

    async def _sim_refer(self, request: web.Request) -> web.Response:
        data = await self._control_json(request)
        to = data.get("to")
        if not isinstance(to, str) or not to:
            raise AriError(400, "to (extension string) is required")
        if "id" in request.match_info:
            channel_id = request.match_info["id"]
        else:
            channel_id = self.endpoint_channel(
                f"{request.match_info['tech']}/{request.match_info['resource']}")
        created = self.phone_refer(channel_id, to)
        await self.drain()
        handling = "core" if created else "ari-only"
        return web.json_response({"channel": channel_id, "handling": handling,
                                  "local_channels": created}, status=202)

    async def _sim_timing(self, request: web.Request) -> web.Response:
        if request.method == "PUT":
            try:
                self.set_timing(timing_from_mapping(await self._control_json(request)))
            except TimingError as exc:
                raise AriError(400, str(exc)) from exc
        return web.json_response(self.config.timing.as_json())

    async def _sim_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def app(self) -> web.Application:
        application = web.Application(middlewares=[self._auth])
        application.router.add_get("/ari/events", self._events)
        application.router.add_route("*", "/ari/{tail:.*}", self._ari)
        application.router.add_put("/sim/endpoints/{tech}/{resource}", self._sim_endpoint)
        application.router.add_post("/sim/calls", self._sim_call)
        application.router.add_post("/sim/channels/{id}/hangup", self._sim_hangup)
        application.router.add_post("/sim/channels/{id}/dtmf", self._sim_dtmf)
        application.router.add_post("/sim/channels/{id}/refer", self._sim_refer)
        application.router.add_post("/sim/endpoints/{tech}/{resource}/refer", self._sim_refer)
        application.router.add_get("/sim/stats", self._sim_stats)
        application.router.add_get("/sim/timing", self._sim_timing)
        application.router.add_put("/sim/timing", self._sim_timing)
        return application

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self.pbx.started = self.pbx.wall()
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        for client in list(self._clients):
            self._forget(client)
            client.queue.put_nowait(None)
            await client.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------- phone side
    def set_endpoint(self, endpoint: str, behaviour: EndpointBehaviour) -> EndpointBehaviour:
        if "/" not in endpoint:
            raise AriError(400, "endpoint must be TECH/resource")
        self.pbx.endpoints[endpoint] = behaviour
        return behaviour

    def set_timing(self, timing: Timing) -> Timing:
        """Asterisk's asynchrony from now on (pbxsim.timing); draws restart from the seed."""
        self.pbx.set_timing(timing)
        return timing

    def place_call(self, caller: str, exten: str, *, patience: float | None = None,
                   talk: float | None = None, caller_name: str = "",
                   hangup_by: str = "caller", dtmf: Sequence[DtmfPress] = ()) -> str:
        """An inbound call (see `ChannelLifecycle.place_call` for `hangup_by` and `dtmf`)."""
        return self.pbx.place_call(caller, exten, patience=patience, talk=talk,
                                   caller_name=caller_name, hangup_by=hangup_by, dtmf=dtmf).id

    def phone_hangup(self, channel_id: str) -> None:
        self.pbx.phone_hangup(channel_id)

    def phone_dtmf(self, channel_id: str, digits: str, duration_ms: int = 100) -> None:
        self.pbx.phone_dtmf(channel_id, digits, duration_ms)

    def phone_refer(self, channel_id: str, to: str) -> list[str]:
        """The phone on the channel blind-transfers it to extension `to` (SIP REFER);
        returns the Local pair's ids under `core` handling, [] under `ari-only`."""
        return self.pbx.phone_refer(channel_id, to)

    def endpoint_channel(self, endpoint: str) -> str:
        """The one live channel of a phone (its current call)."""
        tech, _, resource = endpoint.partition("/")
        ids = self.pbx.endpoint_json(tech, resource)["channel_ids"]
        if not ids:
            raise AriError(404, f"{endpoint} has no call")
        if len(ids) > 1:
            raise AriError(409, f"{endpoint} has {len(ids)} calls; refer on a channel id")
        return str(ids[0])

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {**asdict(self.pbx.stats), **asdict(self.hub)}
        out["channels"] = self.pbx.live_channel_count()
        out["bridges"] = len(self.pbx.bridges)
        out["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return out


def _response(result: RestResult) -> web.Response:
    if result.file is not None:
        return web.Response(body=result.file.read_bytes(), content_type="audio/wav")
    if result.status == 204:
        return web.Response(status=204)
    return web.json_response(result.body, status=result.status)


def _drain_queue(queue: asyncio.Queue[Json | None]) -> None:
    while not queue.empty():
        queue.get_nowait()
        queue.task_done()
