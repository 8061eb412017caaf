"""The console's server side without a browser: its role × route matrix (every console route
has a row), sessions (cookie attributes, CSRF, Origin, throttle, logout), the audit rows of
its actions, the event stream over a real server (snapshot, deltas, resume by Last-Event-ID
with nothing lost or doubled, a fresh snapshot when it cannot, each viewer's scope) and
today's figures from KPI facts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from fastapi import FastAPI

from ari_app.api import create_api
from ari_app.api.control import TransferTarget
from ari_app.api.server import serve_api
from ari_app.console import Board, mount_console
from ari_app.console.figures import TodayFigures
from ari_app.shell.demo import DEMO_PASSWORD, console_line, demo_config
from kpi.facts import CallAbandoned, CallAnswered, LegAnswered, LegUnanswered
from kpi.params import make_params
from tests.test_api_fakes import (
    PASSWORDS,
    FakeClock,
    FakeControl,
    ListSink,
    call_app,
    make_config,
)

PARAMS = make_params(3, "cn", sl_seconds=20)
ROLES = ("agent", "team_lead", "supervisor")
USER = {"agent": "ann", "team_lead": "tina", "supervisor": "sue"}


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.audit = ListSink()
        self.app: FastAPI = create_api(self.config, self.fake, self.audit, clock=self.clock)
        self.board = Board(self.config, self.fake, PARAMS, now=lambda: 1_800_000_000.0)
        mount_console(self.app, self.board)

    async def login(self, user: str, password: str | None = None) -> tuple[int, dict[str, str]]:
        reply = await call_app(self.app, "POST", "/console/login", json={
            "user": user, "password": password or PASSWORDS[user]})
        if reply.status != 200:
            return reply.status, {}
        cookie = reply.headers["set-cookie"].split(";")[0]
        info = await call_app(self.app, "GET", "/console/api/session",
                              headers={"cookie": cookie})
        return 200, {"cookie": cookie, "x-csrf-token": info.json()["csrf"]}

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: Any = None) -> Any:
        return await call_app(self.app, method, path, headers=headers, json=body)


# (method, path) -> (the roles that may, the path to try, a body)
MINE = {"agent", "team_lead", "supervisor"}
COACH = {"team_lead", "supervisor"}
TABLE: dict[tuple[str, str], tuple[set[str], str, Any]] = {
    ("GET", "/console/wallboard"): (COACH, "/console/wallboard", None),
    ("GET", "/console/agent"): ({"agent"}, "/console/agent", None),
    ("GET", "/console/api/session"): (MINE, "/console/api/session", None),
    ("POST", "/console/logout"): (MINE, "/console/logout", None),
    ("GET", "/console/api/events"): (MINE, "", None),  # a stream: tested on its own below
    ("POST", "/console/api/agents/{agent_id}/login"): (
        {"agent"}, "/console/api/agents/1001/login", {"pin": "1234"}),
    ("POST", "/console/api/agents/{agent_id}/logout"): (
        MINE, "/console/api/agents/1001/logout", None),
    ("POST", "/console/api/agents/{agent_id}/pause"): (
        MINE, "/console/api/agents/1001/pause", {"reason": "午餐"}),
    ("POST", "/console/api/agents/{agent_id}/unpause"): (
        MINE, "/console/api/agents/1001/unpause", None),
    ("POST", "/console/api/agents/{agent_id}/wrapup/end"): (
        MINE, "/console/api/agents/1001/wrapup/end", None),
    ("POST", "/console/api/calls/{call_id}/monitor"): (
        COACH, "/console/api/calls/c1/monitor", {"mode": "listen"}),
    ("POST", "/console/api/agents/{agent_id}/monitor"): (
        COACH, "/console/api/agents/1001/monitor", {"mode": "listen"}),
    ("POST", "/console/api/monitor/{session_id}/mode"): (
        COACH, "/console/api/monitor/{sid}/mode", {"mode": "barge"}),
    ("POST", "/console/api/monitor/{session_id}/stop"): (
        COACH, "/console/api/monitor/{sid}/stop", None),
    ("POST", "/console/api/calls/{call_id}/transfer"): (
        MINE, "/console/api/calls/c1/transfer", {"kind": "blind", "target": "billing"}),
    ("POST", "/console/api/calls/{call_id}/transfer/complete"): (
        MINE, "/console/api/calls/c1/transfer/complete", None),
    ("POST", "/console/api/calls/{call_id}/transfer/cancel"): (
        MINE, "/console/api/calls/c1/transfer/cancel", None),
}
PUBLIC = {("GET", "/console"), ("GET", "/console/login"), ("POST", "/console/login"),
          ("GET", "/console/static/{name}")}


def console_routes(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/console"):
            for method in (getattr(route, "methods", None) or set()) - {"HEAD"}:
                found.add((method, path))
    return found


def test_every_console_route_is_in_the_table() -> None:
    assert console_routes(Rig().app) == set(TABLE) | PUBLIC


def test_the_api_routes_are_unchanged_by_the_console() -> None:
    rig = Rig()
    doc = rig.app.openapi()
    assert not [p for p in doc["paths"] if p.startswith("/console")]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(k for k in TABLE if k[1] != "/console/api/events"))
async def test_console_role_matrix(route: tuple[str, str], role: str) -> None:
    rig = Rig()
    method, _ = route
    allowed, path, body = TABLE[route]
    user = USER[role]
    if "login" in path:
        rig.fake.set_state("1001", "logged_out")
    if "unpause" in path:
        rig.fake.set_state("1001", "paused")
    if "wrapup" in path:
        rig.fake.set_state("1001", "wrapup")
    if "{sid}" in path:
        path = path.format(sid=rig.fake.add_session(by=user))
    if path.endswith(("complete", "cancel")):
        await rig.fake.transfer("c1", "attended", TransferTarget("queue", "billing"))
    status, headers = await rig.login(user)
    assert status == 200
    reply = await rig.request(method, path, headers, body)
    if role in allowed:
        # tina has no phone configured: a monitoring leg cannot be dialled for her (422)
        assert reply.status in (200, 201, 204) or (user == "tina" and "monitor" in path
                                                   and reply.status == 422), reply.body
    else:
        assert reply.status == 403, reply.body


async def test_admins_have_no_console_and_strangers_get_nothing() -> None:
    rig = Rig()
    status, _ = await rig.login("adam")
    assert status == 403
    assert (await rig.login("sue", "wrong"))[0] == 401
    assert (await rig.login("nobody", "x"))[0] == 401
    page = await call_app(rig.app, "GET", "/console/wallboard")
    assert (page.status, page.headers["location"]) == (303, "/console/login")
    reply = await call_app(rig.app, "GET", "/console/api/session")
    assert reply.status == 401
    assert "Basic" not in reply.headers.get("www-authenticate", "")  # no browser prompt
    # the API's credentials do not open the console
    reply = await call_app(rig.app, "GET", "/console/api/session",
                           headers={"authorization": "Basic c3VlOnN1ZS1wdw=="})
    assert reply.status == 401


async def test_cookie_csrf_origin_and_logout() -> None:
    rig = Rig()
    reply = await call_app(rig.app, "POST", "/console/login",
                           json={"user": "sue", "password": PASSWORDS["sue"]})
    cookie = reply.headers["set-cookie"]
    for part in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console"):
        assert part in cookie
    _, headers = await rig.login("sue")
    pause = "/console/api/agents/1002/pause"
    rig.fake.set_state("1002", "available")
    no_csrf = {"cookie": headers["cookie"]}
    reply = await rig.request("POST", pause, no_csrf, {"reason": "x"})
    assert reply.status == 403
    assert rig.fake.agent_info["1002"].state == "available"
    wrong = {**headers, "x-csrf-token": "nope"}
    assert (await rig.request("POST", "/console/api/agents/1002/unpause", wrong)).status == 403
    cross = {**headers, "origin": "https://evil.example", "host": "hotline.example"}
    assert (await rig.request("POST", pause, cross, {"reason": "x"})).status == 403
    same = {**headers, "origin": "https://hotline.example", "host": "hotline.example"}
    assert (await rig.request("POST", pause, same, {"reason": "x"})).status == 200
    assert rig.fake.agent_info["1002"].state == "paused"
    # a body from a stranger is refused before it is read
    reply = await rig.request("POST", pause, {}, {"reason": "x" * 10})
    assert reply.status == 401
    reply = await rig.request("POST", "/console/logout", headers)
    assert reply.status == 204
    assert "Max-Age=0" in reply.headers["set-cookie"]
    assert (await rig.request("GET", "/console/api/session", headers)).status == 401


async def test_failed_logins_are_throttled_as_the_apis() -> None:
    rig = Rig()
    for _ in range(5):
        assert (await rig.login("sue", "wrong"))[0] == 401
    assert (await rig.login("sue"))[0] == 429
    assert rig.app.state.api_context.throttle.failures_total == 5


async def test_console_actions_are_audited_as_in_the_api() -> None:
    rig = Rig()
    _, sue = await rig.login("sue")
    reply = await rig.request("POST", "/console/api/calls/c1/monitor", sue, {"mode": "whisper"})
    assert reply.status == 200, reply.body
    sid = reply.json()["session_id"]
    await rig.request("POST", f"/console/api/monitor/{sid}/stop", sue)
    _, tina = await rig.login("tina")
    assert (await rig.request("POST", "/console/api/agents/2001/logout", tina)).status == 403
    assert (await rig.request("POST", "/console/api/agents/1001/logout", sue)).status == 200
    assert rig.audit.actions() == [
        ("sue", "monitor.start", "c1", "ok"),
        ("sue", "monitor.stop", sid, "ok"),
        ("tina", "agent.logout", "2001", "denied"),
        ("sue", "agent.logout", "1001", "ok"),
    ]
    assert "mode=whisper device=PJSIP/sup via=console" in rig.audit.records[0].detail


# The event stream ----------------------------------------------------------------------


class Stream:
    """One SSE connection to the real server, read message by message."""

    def __init__(self, http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
        self.http, self.url, self.headers = http, url, headers
        self.response: aiohttp.ClientResponse | None = None
        self.last_id = ""

    async def open(self, last_id: str = "") -> Stream:
        headers = {"cookie": self.headers["cookie"]}
        if last_id:
            headers["last-event-id"] = last_id
        self.response = await self.http.get(self.url, headers=headers)
        assert self.response.status == 200
        return self

    async def next(self, within: float = 5.0) -> tuple[str, dict[str, Any]]:
        assert self.response is not None
        fields: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), within)).decode()
            if not line:
                raise EOFError
            line = line.rstrip("\n")
            if not line:
                if "data" in fields:
                    self.last_id = fields.get("id", self.last_id)
                    return fields.get("event", "message"), orjson.loads(fields["data"])
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


@pytest.fixture
async def served() -> AsyncIterator[tuple[Rig, str]]:
    rig = Rig()
    async with rig.board:
        server = await serve_api(rig.app, "127.0.0.1", 0)
        try:
            yield rig, f"http://127.0.0.1:{server.port}"
        finally:
            rig.board.close()
            await server.stop()


async def test_stream_snapshot_deltas_and_resume(served: tuple[Rig, str]) -> None:
    rig, base = served
    _, sue = await rig.login("sue")
    async with aiohttp.ClientSession() as http:
        stream = await Stream(http, f"{base}/console/api/events", sue).open()
        kind, snap = await stream.next()
        assert kind == "snapshot"
        assert {"agent/1001", "agent/2001", "call/c3", "queue/support"} <= set(snap["items"])
        seq = snap["seq"]

        rig.fake.set_state("1002", "paused")
        rig.board.touch()
        kind, delta = await stream.next()
        assert (kind, delta["key"], delta["value"]["state"]) == ("delta", "agent/1002", "paused")
        assert delta["after"] == seq
        resume_at = stream.last_id
        stream.close()

        # changes while no stream is open
        rig.fake.set_state("1002", "available")
        rig.board.touch()
        await asyncio.sleep(0.05)
        del rig.fake.calls["c3"]
        rig.board.touch()
        await asyncio.sleep(0.05)

        again = await Stream(http, f"{base}/console/api/events", sue).open(resume_at)
        kind, resumed = await again.next()
        assert (kind, resumed["seq"]) == ("resumed", delta["seq"])
        got = [await again.next()]
        while got[-1][1]["key"] != "call/c3":
            got.append(await again.next())
        keys = [d["key"] for _, d in got]
        assert keys[0] == "agent/1002"
        assert got[-1][1]["value"] is None  # gone
        assert len(keys) == len(set(keys))  # nothing twice
        after = delta["seq"]
        for _, d in got:  # nothing lost: each says which one came before it
            assert d["after"] == after
            after = d["seq"]
        again.close()

        # an id from another engine run (or long gone) gets a fresh snapshot
        other = await Stream(http, f"{base}/console/api/events", sue).open("feedbeef:3")
        kind, snap = await other.next()
        assert kind == "snapshot"
        assert "call/c3" not in snap["items"]
        other.close()


async def test_each_viewer_sees_only_its_scope(served: tuple[Rig, str]) -> None:
    rig, base = served
    async with aiohttp.ClientSession() as http:
        views = {}
        for role, user in USER.items():
            _, headers = await rig.login(user)
            stream = await Stream(http, f"{base}/console/api/events", headers).open()
            _, snap = await stream.next()
            views[role] = (stream, set(snap["items"]))
        assert views["agent"][1] == {"agent/1001", "stats/agent/1001", "call/c1"}
        tina = views["team_lead"][1]
        assert {"agent/1001", "agent/1002", "call/c1", "queue/support"} <= tina
        assert not {"agent/2001", "call/c2", "call/c3"} & tina  # other team, queued call
        assert {"agent/2001", "call/c3"} <= views["supervisor"][1]

        # c1 moves to 2001 (blue): tina is told it is gone, sue sees the move
        from dataclasses import replace

        rig.fake.calls["c1"] = replace(rig.fake.calls["c1"], agent_id="2001")
        rig.board.touch()
        _, d = await views["team_lead"][0].next()
        assert (d["key"], d["value"]) == ("call/c1", None)
        _, d = await views["supervisor"][0].next()
        assert (d["key"], d["value"]["agent_id"]) == ("call/c1", "2001")
        for stream, _ in views.values():
            stream.close()


async def test_logout_and_the_engine_stopping_end_the_stream(served: tuple[Rig, str]) -> None:
    rig, base = served
    _, sue = await rig.login("sue")
    async with aiohttp.ClientSession() as http:
        stream = await Stream(http, f"{base}/console/api/events", sue).open()
        await stream.next()
        await rig.request("POST", "/console/logout", sue)
        rig.board.touch()
        rig.fake.set_state("1002", "paused")
        async def read_to_end() -> None:
            while True:
                await stream.next()

        with pytest.raises(EOFError):
            await read_to_end()
        refused = await http.get(f"{base}/console/api/events", headers={"cookie": sue["cookie"]})
        assert refused.status == 401


# Figures, demo ---------------------------------------------------------------------------


def ms(hour: int, minute: int = 0, day: int = 23) -> int:
    tz = ZoneInfo("Asia/Shanghai")
    return int(datetime(2026, 11, day, hour, minute, tzinfo=tz).timestamp() * 1000)


def test_todays_figures_from_the_folds_facts() -> None:
    f = TodayFigures(PARAMS, ZoneInfo("Asia/Shanghai"))
    f.feed([
        LegUnanswered("1001", ms(9), 15_000, ""),  # RONA
        LegAnswered("1002", ms(9), 6_000), CallAnswered("support", ms(9), 25_000),  # ring 2
        CallAnswered("support", ms(10), 8_000), LegAnswered("1001", ms(10), 16_000),  # late
        CallAbandoned("support", ms(10, 5), 3_000),
    ])
    q = f.queue("support")
    assert (q["answered"], q["abandoned"], q["within_threshold"], q["within_rings"]) == (2, 1, 1, 1)
    assert q["service_level"] == 0.5
    assert q["average_wait_seconds"] == 16.5
    a1, a2 = f.agent("1001"), f.agent("1002")
    assert (a1["answered"], a1["within_rings"], a1["rona"], a1["rona_streak"]) == (1, 0, 1, 0)
    assert (a2["answered"], a2["within_rings"], a2["average_ring_seconds"]) == (1, 1, 6.0)
    series = f.series("support")
    assert [(h["hour"], h["service_level"], h["by_ring"]) for h in series["hours"]] == [
        (9, 0.0, [0, 1, 0, 0]), (10, 1.0, [0, 0, 0, 1])]
    f.feed([LegUnanswered("1001", ms(11), 20_000, ""), LegUnanswered("1001", ms(11), 20_000, "")])
    assert f.agent("1001")["rona_streak"] == 2
    # the next day starts from zero (the streak goes on)
    f.feed([CallAnswered("support", ms(8, day=24), 1_000)])
    assert f.queue("support")["answered"] == 1
    assert f.agent("1001")["rona"] == 0
    assert f.agent("1001")["rona_streak"] == 2
    f.feed([CallAnswered("support", ms(23, day=23), 1_000)])  # late news of yesterday
    assert f.queue("support")["answered"] == 1


async def test_the_demo_prints_the_console_and_its_logins_work(tmp_path: Any) -> None:
    line = console_line("http://127.0.0.1:8123")
    assert line.startswith("console: http://localhost:8123/console ")
    assert "user demo" in line
    assert "user li" in line
    config = demo_config(tmp_path)
    clock = FakeClock(datetime(2026, 11, 23, tzinfo=UTC))
    app = create_api(config, FakeControl(config, clock), ListSink(), clock=clock)
    mount_console(app, Board(config, FakeControl(config, clock), PARAMS, now=lambda: 0.0))
    for user, landing in (("demo", "/console/wallboard"), ("li", "/console/agent")):
        reply = await call_app(app, "POST", "/console/login",
                               json={"user": user, "password": DEMO_PASSWORD})
        assert (reply.status, reply.json()["next"]) == (200, landing)


async def test_thresholds_per_queue_turn_tiles_red() -> None:
    from ari_app.config.settings import WallboardThresholds

    base = make_config()
    strict = WallboardThresholds(longest_wait_seconds=30, service_level_target=0.9, rona_streak=1)
    config = base.model_copy(update={"queues": tuple(
        q.model_copy(update={"wallboard": strict}) if q.name == "support" else q
        for q in base.queues)})
    clock = FakeClock()
    board = Board(config, FakeControl(config, clock), PARAMS, now=lambda: 0.0)
    board.facts([
        CallAnswered("support", ms(9), 25_000), LegAnswered("1002", ms(9), 6_000),
        CallAnswered("support", ms(9, 5), 2_000), LegAnswered("1002", ms(9, 5), 2_000),
        LegUnanswered("1001", ms(9, 10), 15_000, ""),
    ])
    await board.refresh()
    assert board.items["queue/support"]["thresholds"] == {
        "longest_wait_seconds": 30, "service_level_target": 0.9, "rona_streak": 1}
    assert board.items["stats/queue/support"]["service_level"] == 0.5
    assert board.items["stats/queue/support"]["alert_service_level"] is True
    assert board.items["stats/agent/1001"]["alert_rona"] is True  # 1001 serves support only
    assert board.items["stats/agent/1002"]["alert_rona"] is False
    assert board.items["queue/billing"]["thresholds"]["service_level_target"] == 0.8
    assert board.items["stats/queue/billing"]["alert_service_level"] is False  # no answer yet
