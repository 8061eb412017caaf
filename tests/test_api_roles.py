"""Role × route matrix and ownership. The table below is the access policy as the tests
expect it, written independently of the code; every route of the app must appear in it
(a new route fails `test_every_route_is_in_the_table` until its row is written)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from ari_app.api import create_api
from ari_app.api.access import Policy
from ari_app.api.control import TransferInfo
from tests.test_api_fakes import (
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

ROLES = ("agent", "team_lead", "supervisor", "admin")
PUBLIC = {("GET", "/healthz"), ("GET", "/openapi.json")}
MINE = {"agent", "team_lead", "supervisor"}
COACH = {"team_lead", "supervisor"}


def _consulting(fake: FakeControl, user: str) -> dict[str, str]:
    fake.transfers["c1"] = TransferInfo("c1", "attended", "queue:billing", "consulting")
    return {}


def _state(state: str) -> Callable[[FakeControl, str], dict[str, str]]:
    def setup(fake: FakeControl, user: str) -> dict[str, str]:
        fake.set_state("1001", state)  # type: ignore[arg-type]
        return {}

    return setup


def _own_session(fake: FakeControl, user: str) -> dict[str, str]:
    return {"session_id": fake.add_session(by=user)}


def _nothing(fake: FakeControl, user: str) -> dict[str, str]:
    return {}


@dataclass
class Row:
    allowed: set[str]
    path: str
    body: Any = None
    ok: int = 200
    setup: Callable[[FakeControl, str], dict[str, str]] = field(default=_nothing)


MONITOR_BODY = {"mode": "listen", "device": "PJSIP/sup"}
TABLE: dict[tuple[str, str], Row] = {
    ("POST", "/auth/token"): Row(set(ROLES), "/auth/token"),
    ("DELETE", "/auth/token"): Row(set(ROLES), "/auth/token", ok=204),
    ("GET", "/me"): Row(set(ROLES), "/me"),
    ("GET", "/agents"): Row(MINE, "/agents"),
    ("GET", "/agents/{agent_id}"): Row(MINE, "/agents/1001"),
    ("POST", "/agents/{agent_id}/login"): Row(
        {"agent"},
        "/agents/1001/login",
        {"pin": PINS["1001"], "device": "PJSIP/1001"},
        setup=_state("logged_out"),
    ),
    ("POST", "/agents/{agent_id}/logout"): Row(MINE, "/agents/1001/logout"),
    ("POST", "/agents/{agent_id}/pause"): Row(MINE, "/agents/1001/pause", {"reason": "午餐"}),
    ("POST", "/agents/{agent_id}/unpause"): Row(
        MINE, "/agents/1001/unpause", setup=_state("paused")
    ),
    ("POST", "/agents/{agent_id}/wrapup/end"): Row(
        MINE, "/agents/1001/wrapup/end", setup=_state("wrapup")
    ),
    ("GET", "/calls"): Row(MINE, "/calls"),
    ("GET", "/calls/{call_id}"): Row(MINE, "/calls/c1"),
    ("POST", "/calls/{call_id}/transfer"): Row(
        MINE, "/calls/c1/transfer", {"kind": "attended", "target": "billing"}
    ),
    ("POST", "/calls/{call_id}/transfer/complete"): Row(
        MINE, "/calls/c1/transfer/complete", setup=_consulting
    ),
    ("POST", "/calls/{call_id}/transfer/cancel"): Row(
        MINE, "/calls/c1/transfer/cancel", setup=_consulting
    ),
    ("GET", "/queues"): Row(COACH, "/queues"),
    ("POST", "/calls/{call_id}/monitor"): Row(COACH, "/calls/c1/monitor", MONITOR_BODY, 201),
    ("POST", "/agents/{agent_id}/monitor"): Row(COACH, "/agents/1001/monitor", MONITOR_BODY, 201),
    ("GET", "/monitor/{session_id}"): Row(COACH, "/monitor/{session_id}", setup=_own_session),
    ("PATCH", "/monitor/{session_id}"): Row(
        COACH, "/monitor/{session_id}", {"mode": "barge"}, setup=_own_session
    ),
    ("DELETE", "/monitor/{session_id}"): Row(
        COACH, "/monitor/{session_id}", ok=204, setup=_own_session
    ),
    ("GET", "/recordings"): Row({"supervisor"}, "/recordings?call_id=c1&limit=5"),
    ("GET", "/recordings/{name}"): Row({"supervisor"}, "/recordings/rec-c1"),
    ("GET", "/recordings/{name}/audio"): Row({"supervisor"}, "/recordings/rec-c1/audio"),
    ("GET", "/admin/config"): Row({"admin"}, "/admin/config"),
    ("GET", "/admin/users"): Row({"admin"}, "/admin/users"),
}


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.sink = ListSink()
        self.app = create_api(self.config, self.fake, self.sink, clock=self.clock)

    async def token(self, user: str) -> str:
        reply = await call_app(self.app, "POST", "/auth/token", headers=basic(user))
        assert reply.status == 200, reply.body
        token: str = reply.json()["access_token"]
        return token

    def reset(self) -> None:
        self.fake.reset()
        self.sink.records.clear()


@pytest.fixture(scope="module")
def shared() -> Rig:
    """One app for the matrix (building one takes ~60 ms); its fake is reset per case."""
    return Rig()


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        methods = getattr(route, "methods", None) or set()
        for method in methods - {"HEAD", "OPTIONS"}:
            found.add((method, getattr(route, "path", "")))
    return found


ALL_ROUTES = sorted(_routes(Rig().app) - PUBLIC)


def test_every_route_is_in_the_table() -> None:
    assert _routes(Rig().app) - PUBLIC == set(TABLE)


def test_every_guarded_route_has_one_policy_matching_the_table() -> None:
    for route in Rig().app.routes:
        if not isinstance(route, APIRoute) or (next(iter(route.methods)), route.path) in PUBLIC:
            continue
        policies = [d.call for d in route.dependant.dependencies if isinstance(d.call, Policy)]
        assert len(policies) == 1, route.path
        for method in route.methods:
            assert set(policies[0].roles) == TABLE[(method, route.path)].allowed, route.path


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
async def test_no_or_wrong_credentials_get_401(method: str, path: str) -> None:
    rig = Rig()
    row = TABLE[(method, path)]
    target = row.path.format(session_id="m1")
    for headers in ({}, basic("sue", "wrong"), basic("nobody", "x"), bearer("not-a-token")):
        reply = await call_app(rig.app, method, target, headers=headers, json=row.body)
        assert reply.status == 401, (headers, reply.body)
        assert reply.json()["error"] == "unauthorized"
        assert "Basic" in reply.headers["www-authenticate"]


@pytest.mark.parametrize("auth", ["basic", "bearer"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
async def test_role_matrix(method: str, path: str, role: str, auth: str, shared: Rig) -> None:
    rig = shared
    rig.reset()
    row = TABLE[(method, path)]
    user = ROLE_USER[role]
    headers = basic(user) if auth == "basic" else bearer(await rig.token(user))
    target = row.path.format(**row.setup(rig.fake, user))
    reply = await call_app(rig.app, method, target, headers=headers, json=row.body)
    if auth == "bearer" and (method, path) == ("POST", "/auth/token"):
        assert reply.status == 401, "a token must not mint tokens"
    elif role in row.allowed:
        assert reply.status == row.ok, reply.body
    else:
        assert reply.status == 403, reply.body
        assert reply.json()["error"] == "forbidden"


async def test_public_routes_need_no_credentials() -> None:
    rig = Rig()
    assert (await call_app(rig.app, "GET", "/healthz")).json() == {"status": "ok"}
    doc = (await call_app(rig.app, "GET", "/openapi.json")).json()
    assert set(doc["components"]["securitySchemes"]) == {"HTTPBasic", "HTTPBearer"}


# Ownership -------------------------------------------------------------------------------


async def _status(rig: Rig, user: str, method: str, path: str, body: Any = None) -> int:
    return (await call_app(rig.app, method, path, headers=basic(user), json=body)).status


async def test_agent_acts_on_itself_only() -> None:
    rig = Rig()
    for other in ("1002", "2001"):
        assert await _status(rig, "ann", "POST", f"/agents/{other}/pause", {"reason": "x"}) == 403
        assert await _status(rig, "ann", "GET", f"/agents/{other}") == 403
    assert rig.fake.agent_info["2001"].state == "on_call"
    assert await _status(rig, "ann", "POST", "/agents/1001/pause", {"reason": "x"}) == 200
    assert rig.fake.agent_info["1001"].state == "paused"
    # another agent's call: neither seen nor transferable
    assert await _status(rig, "ann", "GET", "/calls/c2") == 403
    transfer = {"kind": "blind", "target": "billing"}
    assert await _status(rig, "ann", "POST", "/calls/c2/transfer", transfer) == 403
    assert "c2" not in rig.fake.transfers


async def test_an_agent_id_is_logged_in_by_its_own_user_only() -> None:
    rig = Rig()
    rig.fake.set_state("1001", "logged_out")
    body = {"pin": PINS["1001"], "device": "PJSIP/1001"}
    assert await _status(rig, "bob", "POST", "/agents/1001/login", body) == 403
    assert await _status(rig, "tina", "POST", "/agents/1001/login", body) == 403
    assert rig.fake.agent_info["1001"].state == "logged_out"


async def test_team_lead_acts_on_own_team_only() -> None:
    rig = Rig()
    rig.fake.set_state("1002", "available")
    assert await _status(rig, "tina", "POST", "/agents/1002/pause", {"reason": "x"}) == 200
    assert await _status(rig, "tina", "POST", "/agents/2001/pause", {"reason": "x"}) == 403
    assert rig.fake.agent_info["2001"].state == "on_call"
    assert await _status(rig, "tom", "POST", "/agents/2001/pause", {"reason": "x"}) == 200
    assert await _status(rig, "tina", "POST", "/agents/2001/logout") == 403
    assert await _status(rig, "tina", "POST", "/calls/c2/monitor", MONITOR_BODY) == 403
    assert await _status(rig, "tina", "POST", "/agents/2001/monitor", MONITOR_BODY) == 403
    assert rig.fake.sessions == {}
    # a queued call has no agent, hence no team: supervisors only
    assert await _status(rig, "tina", "GET", "/calls/c3") == 403
    assert await _status(rig, "sue", "GET", "/calls/c3") == 200


async def test_lists_are_filtered_to_the_callers_scope() -> None:
    rig = Rig()

    async def ids(user: str, path: str, key: str) -> set[str]:
        reply = await call_app(rig.app, "GET", path, headers=basic(user))
        return {item[key] for item in reply.json()}

    assert await ids("ann", "/calls", "call_id") == {"c1"}
    assert await ids("bob", "/calls", "call_id") == {"c2"}
    assert await ids("tina", "/calls", "call_id") == {"c1"}
    assert await ids("sue", "/calls", "call_id") == {"c1", "c2", "c3"}
    assert await ids("ann", "/agents", "agent_id") == {"1001"}
    assert await ids("tina", "/agents", "agent_id") == {"1001", "1002"}
    assert await ids("tom", "/agents", "agent_id") == {"2001"}
    assert await ids("sue", "/agents", "agent_id") == {"1001", "1002", "2001"}


async def test_monitoring_sessions_belong_to_who_started_them() -> None:
    rig = Rig()
    sues = rig.fake.add_session(by="sue")
    tinas = rig.fake.add_session(by="tina")
    assert await _status(rig, "tina", "PATCH", f"/monitor/{sues}", {"mode": "barge"}) == 403
    assert await _status(rig, "tina", "DELETE", f"/monitor/{sues}") == 403
    assert rig.fake.sessions[sues].mode == "listen"
    assert await _status(rig, "sue", "PATCH", f"/monitor/{tinas}", {"mode": "whisper"}) == 200
    assert rig.fake.sessions[tinas].mode == "whisper"
