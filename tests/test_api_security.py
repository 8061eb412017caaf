"""Findings of the API's security probe, each pinned: devices are configured phones only;
forwarded headers are believed from configured proxies only; bodies are authenticated,
bounded and timed before anything parses them; URL credentials are redacted; 422s never
echo input; ids with a trailing newline are refused everywhere."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from typing import Any

import aiohttp
import orjson
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ari_app.api import create_api, serve_api
from ari_app.api.admin_routes import redact_url
from ari_app.api.auth import LoginThrottle
from ari_app.api.server import uvicorn_options
from ari_app.config.settings import Config, ConfigError, HttpSettings, parse_config
from tests.test_api_fakes import (
    PASSWORDS,
    PINS,
    ROLE_USER,
    FakeClock,
    FakeControl,
    ListSink,
    basic,
    bearer,
    call_app,
    make_config,
)


class Rig:
    def __init__(self, config: Config | None = None, throttle: LoginThrottle | None = None):
        self.clock = FakeClock()
        self.config = config or make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.sink = ListSink()
        self.app = create_api(
            self.config, self.fake, self.sink, clock=self.clock, throttle=throttle
        )


def _with_http(config: Config, **http: Any) -> Config:
    return config.model_copy(update={"http": config.http.model_copy(update=http)})


# 2. Devices: configured phones only --------------------------------------------------------

OFF_SITE = [
    "PJSIP/01012345678@pstn",  # chan_pjsip dials this out through the trunk
    "PJSIP/trunk/01012345678",
    "Local/1001@hotline-agents",
    "Local/1001",
    "PJSIP/9999",  # the right shape, but no configured phone
    "SIP/1001",  # a configured endpoint under another technology
    "PJSIP/1001\n",
    "PJSIP/1001&PJSIP/pstn",
    "PJSIP/sup,30",
]


def _device_routes(app: Any) -> list[tuple[str, str]]:
    """Every route whose body has a `device` field (found, not listed by hand)."""
    out = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        model = route.body_field.field_info.annotation
        if (
            isinstance(model, type)
            and issubclass(model, BaseModel)
            and "device" in model.model_fields
        ):
            out.extend((method, route.path) for method in route.methods)
    return sorted(out)


def test_the_routes_taking_a_device_are_known() -> None:
    assert _device_routes(Rig().app) == [
        ("POST", "/agents/{agent_id}/login"),
        ("POST", "/agents/{agent_id}/monitor"),
        ("POST", "/calls/{call_id}/monitor"),
    ]


_DEVICE_CALLS = {
    "/agents/{agent_id}/login": ("ann", "/agents/1001/login", {"pin": PINS["1001"]}),
    "/agents/{agent_id}/monitor": ("sue", "/agents/1001/monitor", {"mode": "listen"}),
    "/calls/{call_id}/monitor": ("sue", "/calls/c1/monitor", {"mode": "listen"}),
}


@pytest.mark.parametrize("device", OFF_SITE)
@pytest.mark.parametrize("route", sorted(_DEVICE_CALLS))
async def test_every_device_route_refuses_what_is_not_a_configured_phone(
    route: str, device: str
) -> None:
    rig = Rig()
    rig.fake.set_state("1001", "logged_out") if route.endswith("login") else None
    user, path, body = _DEVICE_CALLS[route]
    reply = await call_app(
        rig.app, "POST", path, headers=basic(user), json={**body, "device": device}
    )
    assert reply.status == 422, reply.body
    assert reply.json()["error"] == "invalid_request"
    assert device.encode() not in reply.body
    assert rig.fake.sessions == {}
    if route.endswith("login"):
        assert rig.fake.agent_info["1001"].state == "logged_out"
    assert not any("device=" + device in r.detail for r in rig.sink.records)


@pytest.mark.parametrize("route", sorted(_DEVICE_CALLS))
async def test_configured_phones_are_accepted(route: str) -> None:
    rig = Rig()
    user, path, body = _DEVICE_CALLS[route]
    device = "PJSIP/1001" if route.endswith("login") else "PJSIP/sup"
    if route.endswith("login"):
        rig.fake.set_state("1001", "logged_out")
    reply = await call_app(
        rig.app, "POST", path, headers=basic(user), json={**body, "device": device}
    )
    assert reply.status in (200, 201), reply.body


def test_config_phones_are_validated() -> None:
    base = {"users": [{"name": "s", "password_hash": _hash(), "role": "supervisor"}]}
    for device in ("PJSIP/sup@ctx", "Local/2001", "PJSIP/trunk/0101", "PJSIP/sup\n", "sup"):
        data = {"users": [{**base["users"][0], "device": device}]}
        with pytest.raises(ConfigError) as err:
            parse_config(data)
        assert any(e.startswith("users[0].device:") for e in err.value.errors), device
    assert parse_config({"users": [{**base["users"][0], "device": "PJSIP/sup2001"}]})


def _hash() -> str:
    from ari_app.domain.passwords import hash_secret

    return hash_secret("x", iterations=1000)


# 3. Forwarded headers: from configured proxies only ----------------------------------------


def test_uvicorn_trusts_no_forwarded_headers_by_default() -> None:
    assert uvicorn_options(HttpSettings())["proxy_headers"] is False
    opts = uvicorn_options(HttpSettings(trusted_proxies=("10.0.0.5", "10.1.0.0/24")))
    assert opts == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "10.1.0.0/24"],
        "timeout_keep_alive": 5,
    }
    with pytest.raises(ConfigError) as err:
        parse_config({"http": {"trusted_proxies": ["*"]}})
    assert err.value.errors[0].startswith("http.trusted_proxies:")


async def _failed_logins_through_server(
    config: Config, caplog: pytest.LogCaptureFixture
) -> tuple[LoginThrottle, list[int]]:
    """Four wrong passwords over real loopback, each with another forged X-Forwarded-For."""
    throttle = LoginThrottle(per_user_ip=100, per_ip=3)
    rig = Rig(config, throttle)
    server = await serve_api(rig.app, "127.0.0.1", 0)
    statuses = []
    try:
        async with aiohttp.ClientSession() as http:
            for i in range(4):
                headers = {**basic("sue", f"guess-{i}"), "X-Forwarded-For": f"203.0.113.{i}"}
                async with http.get(f"http://127.0.0.1:{server.port}/me", headers=headers) as r:
                    statuses.append(r.status)
    finally:
        await asyncio.wait_for(server.stop(), timeout=10)
    return throttle, statuses


async def test_a_forged_forwarded_for_does_not_change_the_throttle_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ari_app.api")
    throttle, statuses = await _failed_logins_through_server(make_config(), caplog)
    assert statuses == [401, 401, 401, 429]  # one address, whatever the header says
    assert {ip for _, ip in throttle._fails} == {"127.0.0.1"}
    assert "203.0.113." not in caplog.text
    assert "from 127.0.0.1" in caplog.text


async def test_forwarded_for_is_believed_from_a_configured_proxy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = _with_http(make_config(), trusted_proxies=("127.0.0.1",))
    throttle, statuses = await _failed_logins_through_server(config, caplog)
    assert statuses == [401, 401, 401, 401]
    assert {ip for _, ip in throttle._fails} == {f"203.0.113.{i}" for i in range(4)}


# 4. Bodies: authenticated, bounded and timed before parsing --------------------------------


class CountingBody:
    """An ASGI `receive` streaming `total` bytes in 64 KiB chunks, counting what is read."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.read = 0
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.read >= self.total:
            await asyncio.sleep(3600)  # a client waiting for its answer
        chunk = min(65536, self.total - self.read)
        self.read += chunk
        return {"type": "http.request", "body": b"x" * chunk, "more_body": self.read < self.total}


async def _raw_asgi(
    app: Any, path: str, headers: dict[str, str], receive: Any
) -> tuple[int, dict[str, Any]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    out: dict[str, Any] = {"body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return out["status"], orjson.loads(out["body"])


TEN_MB = 10 * 1024 * 1024
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "framing", [{"transfer-encoding": "chunked"}, {"content-length": str(TEN_MB)}]
)
async def test_an_unauthenticated_body_is_refused_unread(framing: dict[str, str]) -> None:
    rig = Rig()
    body = CountingBody(TEN_MB)
    status, _ = await _raw_asgi(rig.app, "/agents/1001/pause", {**JSON, **framing}, body)
    assert status in (401, 413)
    assert (body.calls, body.read) == (0, 0)  # never read, so never parsed
    status, _ = await _raw_asgi(
        rig.app, "/agents/1001/pause", {**JSON, **framing, **basic("sue", "wrong")}, body
    )
    assert status in (401, 413)
    assert (body.calls, body.read) == (0, 0)


async def test_a_declared_oversize_body_is_413_unread_even_with_credentials() -> None:
    rig = Rig()
    body = CountingBody(TEN_MB)
    headers = {**JSON, "content-length": str(TEN_MB), **basic("sue")}
    status, answer = await _raw_asgi(rig.app, "/agents/1001/pause", headers, body)
    assert (status, answer["error"]) == (413, "too_large")
    assert body.calls == 0


async def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    rig = Rig()
    body = CountingBody(TEN_MB)
    headers = {**JSON, "transfer-encoding": "chunked", **basic("sue")}
    status, answer = await _raw_asgi(rig.app, "/agents/1001/pause", headers, body)
    assert (status, answer["error"]) == (413, "too_large")
    assert body.read <= rig.config.http.max_body_bytes + 65536


async def test_an_authenticated_small_body_still_works_with_bearer_too() -> None:
    rig = Rig()
    token = (await call_app(rig.app, "POST", "/auth/token", headers=basic("sue"))).json()
    reply = await call_app(
        rig.app,
        "POST",
        "/agents/1001/pause",
        headers=bearer(token["access_token"]),
        json={"reason": "lunch"},
    )
    assert (reply.status, reply.json()["state"]) == (200, "paused")


async def _request(port: int, head: str, body: bytes = b"") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), timeout=5)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]), answer


def _auth(user: str) -> str:
    pw = PASSWORDS[user]
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


async def test_a_body_shorter_than_its_length_gets_408_within_the_timeout() -> None:
    config = _with_http(make_config(), body_timeout_seconds=0.3)
    server = await serve_api(Rig(config).app, "127.0.0.1", 0)
    try:
        head = (
            "POST /agents/1001/pause HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {_auth('sue')}\r\nContent-Length: 100\r\n\r\n"
        )
        started = time.monotonic()
        status, answer = await _request(server.port, head, b'{"reason":')
        assert status == 408
        assert b'"timeout"' in answer
        assert time.monotonic() - started < 4  # the 0.3 s timeout, not uvicorn's nothing
    finally:
        await asyncio.wait_for(server.stop(), timeout=10)


async def test_a_huge_unauthenticated_body_does_not_stall_the_loop() -> None:
    """Through uvicorn: a 10 MB chunked body without credentials is answered 401 at once;
    /healthz stays quick meanwhile (the body is never read, let alone parsed)."""
    server = await serve_api(Rig().app, "127.0.0.1", 0)
    sent = 0
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /agents/1001/pause HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )

        answer = asyncio.create_task(reader.read(65536))

        async def pump() -> None:
            nonlocal sent
            chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
            try:
                while sent < TEN_MB and not answer.done():
                    writer.write(chunk)
                    await writer.drain()
                    sent += 65536
            except (ConnectionError, OSError):
                pass  # the server answered and closed the connection on us

        pumping = asyncio.create_task(pump())
        latencies = []
        async with aiohttp.ClientSession() as http:
            for _ in range(5):
                started = time.monotonic()
                async with http.get(f"http://127.0.0.1:{server.port}/healthz") as r:
                    assert r.status == 200
                latencies.append(time.monotonic() - started)
        reply = await asyncio.wait_for(answer, timeout=5)
        assert reply.split(b" ", 2)[1] == b"401"
        await asyncio.wait_for(pumping, timeout=10)
        writer.close()
        assert max(latencies) < 0.5, latencies  # was 0.62 s while 10 MB were parsed
    finally:
        await asyncio.wait_for(server.stop(), timeout=10)


# 6. Redaction, no echo, ids ---------------------------------------------------------------


def test_every_url_credential_is_redacted() -> None:
    assert (
        redact_url("postgresql+psycopg://hotline@db:5432/h?password=q-secret&sslmode=require")
        == "postgresql+psycopg://hotline@db:5432/h?password=***&sslmode=require"
    )
    assert redact_url("postgresql://u:p%40ss@db/h") == "postgresql://u:***@db/h"
    assert redact_url("http://a:b@x/p?Token=t&api_key=k&x=1") == (
        "http://a:***@x/p?Token=***&api_key=***&x=1"
    )
    assert redact_url("sqlite:///var/hotline.sqlite3") == "sqlite:///var/hotline.sqlite3"


async def test_admin_config_redacts_query_passwords() -> None:
    config = make_config().model_copy(
        update={
            "database": make_config().database.model_copy(
                update={
                    "url": "postgresql://hotline:ui-secret@db/h?password=q-secret&sslmode=require"
                }
            )
        }
    )
    rig = Rig(config)
    reply = await call_app(rig.app, "GET", "/admin/config", headers=basic("adam"))
    assert reply.status == 200
    assert b"q-secret" not in reply.body
    assert b"ui-secret" not in reply.body
    assert reply.json()["database"]["url"] == (
        "postgresql://hotline:***@db/h?password=***&sslmode=require"
    )


MARK = "ZQXJ7731mark"
# Invalid for every field's pattern (a newline) or the right shape but not configured.
MARKED = [f"{MARK}\n<x>", f"PJSIP/{MARK}", f"queue:{MARK}", f"agent:{MARK[:8]}", MARK]


def _body_routes(app: Any) -> list[tuple[str, str, type[BaseModel]]]:
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            model = route.body_field.field_info.annotation
            assert isinstance(model, type)
            assert issubclass(model, BaseModel)
            for method in route.methods:
                out.append((method, route.path, model))
    return out


_PATH_VALUES = {"agent_id": "1001", "call_id": "c1", "session_id": "m1"}
_USER = {"/agents/{agent_id}/login": "ann"}


async def test_no_422_echoes_input_in_any_field_of_any_body() -> None:
    rig = Rig()
    routes = _body_routes(rig.app)
    assert {path for _, path, _ in routes} >= {
        "/agents/{agent_id}/login",
        "/agents/{agent_id}/pause",
        "/calls/{call_id}/transfer",
        "/calls/{call_id}/monitor",
        "/agents/{agent_id}/monitor",
        "/monitor/{session_id}",
    }
    checked = 0
    for method, path, model in routes:
        rig.fake.reset()
        rig.fake.add_session("sue")
        rig.fake.set_state("1001", "logged_out")
        url = path.format(**_PATH_VALUES)
        user = _USER.get(path, "sue")
        fields = list(model.model_fields)
        bodies: list[Any] = [{MARK: "x"}, {**dict.fromkeys(fields, "1"), MARK: 1}]
        for name in fields:
            for marked in MARKED:
                bodies.append({f: (marked if f == name else MARK) for f in fields})
        for body in bodies:
            reply = await call_app(rig.app, method, url, headers=basic(user), json=body)
            if reply.status == 422:
                checked += 1
                assert MARK.encode() not in reply.body, (path, body, reply.body)
                assert MARK[:8].encode() not in reply.body, (path, body, reply.body)
    assert checked > 60
    assert not any(MARK in r.detail for r in rig.sink.records if "outcome=ok" in r.detail)


def _id_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and "{" in route.path:
            for method in route.methods:
                out.append((method, route.path))
    return sorted(out)


_ID_BODIES = {
    "/agents/{agent_id}/login": {"pin": PINS["1001"], "device": "PJSIP/1001"},
    "/agents/{agent_id}/pause": {"reason": "lunch"},
    "/calls/{call_id}/transfer": {"kind": "blind", "target": "billing"},
    "/calls/{call_id}/monitor": {"mode": "listen", "device": "PJSIP/sup"},
    "/agents/{agent_id}/monitor": {"mode": "listen", "device": "PJSIP/sup"},
    "/monitor/{session_id}": {"mode": "whisper"},
}
_IDS = {"agent_id": "1001", "call_id": "c1", "session_id": "m1", "name": "rec-c1"}


@pytest.mark.parametrize("role", sorted(ROLE_USER))
async def test_ids_with_a_trailing_newline_are_refused_on_every_route(role: str) -> None:
    rig = Rig()
    routes = _id_routes(rig.app)
    assert len(routes) >= 15
    for method, path in routes:
        for param in _IDS:
            if "{" + param + "}" not in path:
                continue
            rig.fake.reset()
            sid = rig.fake.add_session("sue")
            ids = {**_IDS, "session_id": sid}
            ids[param] = ids[param] + "\n"  # as uvicorn decodes %0A
            url = path.format(**ids)
            body = _ID_BODIES.get(path) if method in ("POST", "PATCH") else None
            if path.endswith("/login"):
                rig.fake.set_state("1001", "logged_out")
            before = len(rig.sink.records)
            reply = await call_app(rig.app, method, url, headers=basic(ROLE_USER[role]), json=body)
            assert reply.status == 422, (role, method, url, reply.status)
            assert rig.sink.records[before:] == [], (method, url)
            assert rig.fake.transfers == {}
            assert set(rig.fake.sessions) == {sid}
    rig.fake.reset()
    reply = await call_app(rig.app, "GET", "/recordings?call_id=c1%0A", headers=basic("sue"))
    assert reply.status == 422
    assert not any("\n" in r.object_id or "\n" in r.detail for r in rig.sink.records)


# Logs: no password, token or PIN -------------------------------------


async def test_api_logs_hold_no_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = Rig()
    server = await serve_api(rig.app, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    secrets: list[str] = [*PASSWORDS.values(), *PINS.values()]
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/auth/token", headers=basic("sue")) as r:
                token = (await r.json())["access_token"]
            secrets.append(token)
            for headers in (basic("sue", "wrong-pw-1"), basic("nobody", "wrong-pw-2")):
                async with http.get(f"{base}/me", headers=headers) as r:
                    assert r.status == 401
            secrets += ["wrong-pw-1", "wrong-pw-2", "nobody"]
            async with http.get(f"{base}/calls", headers=bearer(token)) as r:
                calls = await r.json()
            rig.fake.set_state("1001", "logged_out")
            async with http.post(
                f"{base}/agents/1001/login",
                headers=basic("ann"),
                json={"pin": "9999", "device": "PJSIP/1001"},
            ) as r:
                assert r.status == 403
            secrets.append("9999")
    finally:
        await asyncio.wait_for(server.stop(), timeout=10)
    text = caplog.text
    for secret in secrets:
        assert secret not in text, secret
    # The API never sees a full caller number: the engine shows callers masked.
    assert calls
    assert all(c["caller"].startswith("****") for c in calls)


def test_config_endpoints_and_spans_must_match_whole() -> None:
    """`re.match` with `$` let a trailing newline through; the config uses `fullmatch`."""
    with pytest.raises(ConfigError) as err:
        parse_config({"agents": [{"id": "1001", "endpoint": "PJSIP/agent1001\n"}]})
    assert err.value.errors[0].startswith("agents[0].endpoint:")
    with pytest.raises(ConfigError) as err:
        parse_config({"feature_codes": {"supervisor_endpoints": ["PJSIP/agent1004\n"]}})
    assert err.value.errors[0].startswith("feature_codes.supervisor_endpoints:")
    hours = {"weekly": {"mon": ["08:00-12:00\n"]}}
    with pytest.raises(ConfigError):
        parse_config({"queues": [{"name": "q", "hours": hours}]})
