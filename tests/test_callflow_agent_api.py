"""The engine's agent HTTP API: login rules, pause with reason, refusals with clear errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ari_app.agent_api import make_app
from ari_app.engine import Engine
from tests.callflow_rig import T0, make_config


class NullAri:
    """No PBX: agent actions with no waiting caller send no requests."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        self.sent.append((method, path))
        return None


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    engine = Engine(make_config(), NullAri(), clock=lambda: T0, ring_period=lambda c: 5.0)
    async with TestClient(TestServer(make_app(engine))) as c:
        yield c
    await engine.close()


async def post(client: TestClient[Any, Any], path: str, body: Any) -> tuple[int, Any]:
    resp = await client.post(path, json=body)
    return resp.status, await resp.json()


async def test_login_pause_unpause_logout(client: TestClient[Any, Any]) -> None:
    status, body = await post(
        client, "/agents/1001/login", {"pin": "4321", "device": "PJSIP/agent1001"}
    )
    assert status == 200
    assert body["state"] == "available"
    assert body["device"] == "PJSIP/agent1001"
    status, body = await post(client, "/agents/1001/pause", {"pin": "4321", "reason": "lunch"})
    assert (status, body["state"], body["reason"]) == (200, "paused", "lunch")
    status, body = await post(client, "/agents/1001/unpause", {"pin": "4321"})
    assert (status, body["state"]) == (200, "available")
    status, body = await post(client, "/agents/1001/wrapup/end", {"pin": "4321"})
    assert (status, body["error"]) == (409, "not_in_wrapup")
    status, body = await post(client, "/agents/1001/logout", {"pin": "4321"})
    assert (status, body["state"]) == (200, "logged-out")
    resp = await client.get("/agents")
    listing = await resp.json()
    assert [a["agent_id"] for a in listing] == ["1001", "1002", "1003", "1004"]
    assert all("pin" not in str(a).lower() for a in listing)


async def test_second_login_is_refused_with_a_clear_error(client: TestClient[Any, Any]) -> None:
    assert (await post(client, "/agents/1001/login", {"pin": "4321"}))[0] == 200
    status, body = await post(
        client, "/agents/1001/login", {"pin": "4321", "device": "PJSIP/agent1002"}
    )
    assert status == 409
    assert body["error"] == "already_logged_in"
    assert "already logged in on PJSIP/agent1001" in body["message"]
    status, body = await post(
        client, "/agents/1002/login", {"pin": "4321", "device": "PJSIP/agent1001"}
    )
    assert status == 409
    assert body == {
        "error": "device_in_use",
        "message": "device PJSIP/agent1001 is in use by agent 1001",
    }


async def test_bad_credentials_and_bad_requests(client: TestClient[Any, Any]) -> None:
    wrong_pin = await post(client, "/agents/1001/login", {"pin": "0000"})
    unknown = await post(client, "/agents/7777/login", {"pin": "4321"})
    assert (
        wrong_pin
        == unknown
        == (401, {"error": "bad_credentials", "message": "invalid agent ID or PIN"})
    )
    assert (await post(client, "/agents/1001/pause", {"pin": "0000"}))[0] == 401
    status, body = await post(client, "/agents/1001/login", {"device": "x"})
    assert (status, body["error"]) == (400, "bad_request")
    resp = await client.post("/agents/1001/login", data=b"{not json")
    assert resp.status == 400
    status, body = await post(client, "/agents/1001/login", ["pin"])
    assert (status, body["error"]) == (400, "bad_json")
    status, body = await post(client, "/agents/1001/logout", {"pin": "4321"})
    assert (status, body["error"]) == (409, "not_logged_in")
