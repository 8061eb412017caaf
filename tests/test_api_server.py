"""The API served by uvicorn inside the caller's event loop, over real loopback sockets."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from ari_app.api import create_api, serve_api
from tests.test_api_fakes import FakeClock, FakeControl, ListSink, basic, make_config


def _app():  # type: ignore[no-untyped-def]
    clock = FakeClock()
    config = make_config()
    return create_api(config, FakeControl(config, clock), ListSink(), clock=clock)


async def test_serves_in_the_running_loop_and_stops() -> None:
    server = await serve_api(_app(), "127.0.0.1", 0)
    assert server.port > 0
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as r:
                assert (r.status, await r.json()) == (200, {"status": "ok"})
                assert "server" not in r.headers
            async with http.get(f"{base}/me") as r:
                assert r.status == 401
            async with http.post(f"{base}/auth/token", headers=basic("sue")) as r:
                token = (await r.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{base}/calls", headers=headers) as r:
                assert r.status == 200
                assert {c["call_id"] for c in await r.json()} == {"c1", "c2", "c3"}
            async with http.get(f"{base}/recordings/rec-c1/audio", headers=headers) as r:
                assert await r.read() == b"RIFF"
    finally:
        await asyncio.wait_for(server.stop(), timeout=10)
    assert not server.running
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz"):
            pass


async def test_a_taken_port_is_an_oserror_not_an_exit() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            await serve_api(_app(), "127.0.0.1", port)
