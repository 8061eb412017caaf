"""AriClient against a replaying fake ARI server over real HTTP/WebSocket on loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ari_app.ari.client import AriClient, ari_base_url
from ari_app.ari.errors import (
    AriBadRequest,
    AriConflict,
    AriConnectionError,
    AriHttpError,
    AriNotFound,
    AriNotInStasis,
    AriPreconditionFailed,
    AriServerError,
)
from tests.ari_support.replay import ReplayServer, load_trace
from tests.ari_support.resources import typed

USER, PASSWORD = "hotline-app", "S3cr3t-pw-xyz"


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    srv = ReplayServer(username=USER, password=PASSWORD)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def client(server: ReplayServer) -> AsyncIterator[AriClient]:
    async with AriClient(server.base_url, USER, PASSWORD, "hotline") as c:
        yield c


def test_base_url_normalised_and_userinfo_dropped() -> None:
    assert str(ari_base_url("http://127.0.0.1:8088")) == "http://127.0.0.1:8088/ari"
    assert str(ari_base_url("http://127.0.0.1:8088/ari/")) == "http://127.0.0.1:8088/ari"
    assert str(ari_base_url("http://u:pw@h:8088")) == "http://h:8088/ari"


async def test_rest_errors_trace_maps_to_typed_errors(
    server: ReplayServer, client: AriClient, traces_dir: Path
) -> None:
    _, probes = load_trace(traces_dir / "rest_errors.jsonl")
    server.respond_from_probes(probes)
    expected = {400: AriBadRequest, 404: AriNotFound, 500: AriServerError}
    failing = [p for p in probes if p["status"] >= 400]
    assert {p["status"] for p in failing} == {400, 404, 500}
    for p in failing:
        with pytest.raises(AriHttpError) as info:
            await client.request(p["method"], p["path"], params=p["params"])
        err = info.value
        assert type(err) is expected[p["status"]]
        assert err.status == p["status"]
        assert err.method == p["method"]
        assert err.path == p["path"]
        assert dict(err.params) == {k: str(v) for k, v in p["params"].items()}
        body = p["response"]
        assert err.message == body.get("message", body.get("error"))
        assert err.message in str(err)
        assert p["path"] in str(err)
    ok = next(p for p in probes if p["status"] == 200 and p["path"] == "/applications/hotline")
    app = await typed(client).applications.get("hotline")
    assert app == ok["response"]


async def test_typed_methods_raise_typed_errors(server: ReplayServer, client: AriClient) -> None:
    not_in_stasis = {"message": "Channel not in Stasis application"}
    server.respond("POST", "/channels/c1/answer", 409, not_in_stasis)
    server.respond("POST", "/channels/c1/ring", 412, {"message": "Channel in invalid state"})
    server.respond("POST", "/bridges/b1/addChannel", 422, not_in_stasis)
    with pytest.raises(AriConflict):
        await typed(client).channels.answer("c1")
    with pytest.raises(AriPreconditionFailed):
        await typed(client).channels.ring("c1")
    with pytest.raises(AriNotInStasis) as info:
        await typed(client).bridges.add_channel("b1", ["c1", "c2"])
    assert info.value.params == {"channel": "c1,c2"}
    with pytest.raises(AriNotFound) as nf:  # unknown path: the fake answers 404 like Asterisk
        await typed(client).playbacks.get("nope")
    assert nf.value.message == "Resource not found"


async def test_originate_sends_variables_in_body(server: ReplayServer, client: AriClient,
                                                 traces_dir: Path) -> None:
    _, probes = load_trace(traces_dir / "agent_busy.jsonl")
    server.respond_from_probes(probes)
    probe = probes[0]
    channel = await typed(client).channels.originate(
        "PJSIP/agent1003", app="hotline", app_args="agent", channel_id="agent-1003-a",
        timeout=10, variables={"HOTLINE_AGENT_ID": "1003", "HOTLINE_ROLE": "agent"})
    assert channel["id"] == "agent-1003-a"
    sent = server.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/channels")
    assert sent.params == {k: str(v) for k, v in probe["params"].items()}
    assert sent.body == probe["body"]


async def test_stored_file_bytes_and_204(server: ReplayServer, client: AriClient) -> None:
    server.respond("GET", "/recordings/stored/call-1/file", 200, b"RIFF\x00\x01wav")
    server.respond("DELETE", "/recordings/stored/call-1", 204)
    assert await typed(client).recordings.get_stored_file("call-1") == b"RIFF\x00\x01wav"
    assert await typed(client).recordings.delete_stored("call-1") is None
    assert server.requests[-1].method == "DELETE"


async def test_connection_error_is_typed_and_names_request() -> None:
    async with AriClient("http://127.0.0.1:9", USER, PASSWORD, "hotline", timeout=2) as c:
        with pytest.raises(AriConnectionError) as info:
            await typed(c).channels.answer("c1")
    assert info.value.request is not None
    assert info.value.request.path == "/channels/c1/answer"


async def test_wrong_password_is_an_http_error_without_credentials(server: ReplayServer) -> None:
    async with AriClient(server.base_url, USER, "wrong-pw-123", "hotline") as c:
        with pytest.raises(AriHttpError) as info:
            await typed(c).channels.list()
    assert info.value.status == 401
    assert "wrong-pw-123" not in str(info.value) + repr(info.value)


async def test_events_over_websocket_with_bad_frames(
    server: ReplayServer, client: AriClient, traces_dir: Path
) -> None:
    events, _ = load_trace(traces_dir / "full_call.jsonl")
    received: list[dict[str, object]] = []

    async def consume() -> None:
        async for event in client.events():
            received.append(event)
            if len(received) == len(events) + 1:
                return

    task = asyncio.create_task(consume())
    await asyncio.wait_for(server.wait_connections(1), 5)
    assert server.stats.ws_params[-1] == {"app": "hotline"}
    await server.send(events[0])
    for bad in ("{not json", "[1, 2]", '"text"', '{"no_type": 1}', '{"type": 7}'):
        await server.send(bad)
    await server.send({"type": "FutureThing", "application": "hotline"})
    for event in events[1:]:
        await server.send(event)
    await asyncio.wait_for(task, 5)
    assert received[0] == events[0]
    assert received[1]["type"] == "FutureThing"
    assert received[2:] == events[1:]
    stats = client.parser.stats
    assert (stats.malformed, stats.not_object, stats.missing_type) == (1, 2, 2)
    assert stats.unknown_type == 1
    assert stats.parsed == len(events) + 1


async def test_events_api_key_auth(server: ReplayServer) -> None:
    async with AriClient(server.base_url, USER, PASSWORD, "hotline", events_auth="api_key") as c:
        socket = await c.connect_events()
        await asyncio.wait_for(server.wait_connections(1), 5)
        await socket.close()
    assert server.stats.ws_connects == 1


async def test_credentials_never_logged_or_shown(
    server: ReplayServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.respond("POST", "/channels/c1/answer", 404, {"message": "Channel not found"})
    texts: list[str] = []
    for auth in ("basic", "api_key"):
        client = AriClient(server.base_url, USER, PASSWORD, "hotline", events_auth=auth)  # type: ignore[arg-type]
        texts.append(repr(client))
        async with client:
            with pytest.raises(AriNotFound) as nf:
                await typed(client).channels.answer("c1")
            texts += [str(nf.value), repr(nf.value)]
            server.refuse_ws = True
            with pytest.raises(AriConnectionError) as ce:
                await client.connect_events()
            texts += [str(ce.value), repr(ce.value)]
            server.refuse_ws = False
            await server.send("{broken")
    texts += [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    blob = "\n".join(texts)
    assert "Channel not found" in blob
    assert PASSWORD not in blob
    assert f"{USER}:{PASSWORD}" not in blob


def test_caller_numbers_masked_in_error_text() -> None:
    from ari_app.ari.errors import AriRequestInfo, error_for_status

    err = error_for_status(
        AriRequestInfo("POST", "/channels", {"endpoint": "PJSIP/13900001234@trunk"}),
        500, {"error": "Allocation failed"})
    assert "13900001234" not in str(err)
    assert "*******1234@trunk" in str(err)
    short = AriRequestInfo("POST", "/channels/c1/dtmf", {"dtmf": "1234"})
    assert str(short) == "POST /channels/c1/dtmf?dtmf=****"  # <= 4 digits: all masked
