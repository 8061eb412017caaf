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
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool

from ari_app.api import create_api
from ari_app.api.access import Policy
from ari_app.api.callback_routes import CallbackDesk
from ari_app.api.control import TransferInfo
from ari_app.api.workorder_routes import WorkOrderDesk
from ari_app.callbacks import State
from ari_app.records import models
from ari_app.records.callbacks import SqlCallbackStore
from ari_app.records.surveys import SqlSurveyStore
from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders import machine
from ari_app.workorders.model import DEFAULT_LIMITS, OrderType, Origin, Urgency
from ari_app.workorders.service import NewOrder, WorkOrders
from tests.callback_rig import callback, desk
from tests.qa_rig import (
    form_body,
    matrix_call,
    matrix_evaluation,
    matrix_knowledge,
    matrix_no_form,
    qa_desk,
    quality_form,
)
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
from tests.workorder_rig import Cn2026

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


ANN = machine.Actor("ann", "agent")
STEPS: dict[str, list[machine.Action]] = {
    "accepted": [],
    "assigned": [machine.Assign("billing")],
    "acknowledged": [machine.Assign("billing"), machine.Acknowledge()],
    "in_progress": [machine.Assign("billing"), machine.Acknowledge(), machine.Start()],
}
STEPS["paused"] = [*STEPS["in_progress"], machine.Pause("waiting for the caller")]
STEPS["extension"] = [*STEPS["in_progress"], machine.RequestExtension(2, "meter")]
STEPS["closed"] = [*STEPS["in_progress"], machine.Close("refund")]


def _order(state: str) -> Callable[[FakeControl, str], dict[str, str]]:
    """A work order of agent 1001 (ann, team red) in the state the route needs."""

    def setup(fake: FakeControl, user: str) -> dict[str, str]:
        desk: WorkOrderDesk = fake.workorders  # type: ignore[attr-defined]
        now = fake.clock()
        new = NewOrder(OrderType.COMPLAINT, "billing", Urgency.NORMAL, "账单不对",
                       Origin.CALL, "ann", "1001", "red", "c1")
        order, _ = desk.service.create(new, ANN, now)
        for action in STEPS[state]:
            desk.service.act(order.order_id, action, ANN, now)
        return {"order_id": order.order_id}

    return setup


def _memory_db() -> Engine:
    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    models.Base.metadata.create_all(engine)
    return engine


def workorder_desk() -> WorkOrderDesk:
    store = SqlWorkOrderStore(_memory_db())
    return WorkOrderDesk(WorkOrders(store, Cn2026(), "Asia/Shanghai"), store)


def _callback(fake: FakeControl, user: str) -> dict[str, str]:
    """A pending callback in ann's queue that ann (agent 1001) asked for."""
    callbacks: CallbackDesk = fake.callbacks  # type: ignore[attr-defined]
    cid = f"cb-m{next(_CALLBACK_IDS)}"
    cb = callback(cid, "support", at=fake.clock().timestamp(), requested_by="agent:1001",
                  state=State.REQUESTED)
    callbacks.engine.schedule(cb, 2)
    return {"callback_id": cid}


_CALLBACK_IDS = iter(range(1_000_000))


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
    ("POST", "/workorders"): Row(
        MINE, "/workorders", {"type": "complaint", "category": "billing", "request": "账单不对",
                              "call_id": "c1", "caller": "13800001234"}, 201
    ),
    ("GET", "/workorders"): Row(MINE, "/workorders"),
    ("GET", "/workorders/report"): Row(
        {"supervisor"}, "/workorders/report?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"
    ),
    ("GET", "/workorders/{order_id}"): Row(
        MINE, "/workorders/{order_id}", setup=_order("accepted")
    ),
    ("POST", "/workorders/{order_id}/assign"): Row(
        COACH, "/workorders/{order_id}/assign", {"department": "billing"},
        setup=_order("accepted"),
    ),
    ("POST", "/workorders/{order_id}/acknowledge"): Row(
        MINE, "/workorders/{order_id}/acknowledge", setup=_order("assigned")
    ),
    ("POST", "/workorders/{order_id}/start"): Row(
        MINE, "/workorders/{order_id}/start", setup=_order("acknowledged")
    ),
    ("POST", "/workorders/{order_id}/pause"): Row(
        MINE, "/workorders/{order_id}/pause", {"reason": "等待来电人补充材料"},
        setup=_order("in_progress"),
    ),
    ("POST", "/workorders/{order_id}/resume"): Row(
        MINE, "/workorders/{order_id}/resume", setup=_order("paused")
    ),
    ("POST", "/workorders/{order_id}/return"): Row(
        MINE, "/workorders/{order_id}/return", {"reason": "not ours"}, setup=_order("assigned")
    ),
    ("POST", "/workorders/{order_id}/extension"): Row(
        MINE, "/workorders/{order_id}/extension", {"days": 2, "reason": "meter"},
        setup=_order("in_progress"),
    ),
    ("POST", "/workorders/{order_id}/extension/grant"): Row(
        {"supervisor"}, "/workorders/{order_id}/extension/grant", setup=_order("extension")
    ),
    ("POST", "/workorders/{order_id}/extension/refuse"): Row(
        {"supervisor"}, "/workorders/{order_id}/extension/refuse", {"reason": "no"},
        setup=_order("extension"),
    ),
    ("POST", "/workorders/{order_id}/close"): Row(
        MINE, "/workorders/{order_id}/close", {"result": "refund"}, setup=_order("in_progress")
    ),
    ("POST", "/workorders/{order_id}/follow-up/schedule"): Row(
        MINE, "/workorders/{order_id}/follow-up/schedule", {}, setup=_order("closed")
    ),
    ("POST", "/workorders/{order_id}/follow-up"): Row(
        MINE, "/workorders/{order_id}/follow-up", {"satisfied": False, "note": "还是不对"},
        setup=_order("closed"),
    ),
    ("POST", "/workorders/{order_id}/archive"): Row(
        COACH, "/workorders/{order_id}/archive", setup=_order("closed")
    ),
    ("GET", "/admin/workorders/limits"): Row({"admin"}, "/admin/workorders/limits"),
    ("PUT", "/admin/workorders/limits"): Row(
        {"admin"}, "/admin/workorders/limits", DEFAULT_LIMITS.as_json()
    ),
    ("GET", "/surveys"): Row(MINE, "/surveys?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"),
    # Callbacks (docs/callbacks.md)
    ("POST", "/callbacks"): Row(MINE, "/callbacks", {"call_id": "c1", "reason": "请回电"}, 201),
    ("GET", "/callbacks"): Row(MINE, "/callbacks"),
    ("GET", "/callbacks/{callback_id}"): Row(MINE, "/callbacks/{callback_id}", setup=_callback),
    ("GET", "/callbacks/{callback_id}/number"): Row(
        {"supervisor"}, "/callbacks/{callback_id}/number", setup=_callback
    ),
    ("POST", "/callbacks/{callback_id}/cancel"): Row(
        {"agent", "supervisor"}, "/callbacks/{callback_id}/cancel", setup=_callback
    ),
    # Quality assurance (docs/qa.md)
    ("GET", "/qa/forms"): Row({"team_lead", "supervisor", "admin"}, "/qa/forms"),
    ("POST", "/qa/forms"): Row(
        {"admin"}, "/qa/forms", {**form_body(quality_form()), "form_id": "matrix"}, 201,
        setup=matrix_no_form,
    ),
    ("GET", "/qa/forms/{form_id}"): Row(
        {"team_lead", "supervisor", "admin"}, "/qa/forms/{form_id}", setup=matrix_no_form
    ),
    ("PUT", "/qa/forms/{form_id}"): Row(
        {"admin"}, "/qa/forms/{form_id}", form_body(quality_form(), with_id=False),
        setup=matrix_no_form,
    ),
    ("POST", "/qa/evaluations"): Row(
        COACH, "/qa/evaluations", {"call_id": "qa-c1", "form_id": "call-quality",
                                   "answers": {"a1": 4}}, 201, setup=matrix_call,
    ),
    ("GET", "/qa/evaluations"): Row(MINE, "/qa/evaluations"),
    ("GET", "/qa/evaluations/{evaluation_id}"): Row(
        MINE, "/qa/evaluations/{evaluation_id}", setup=matrix_evaluation("submitted")
    ),
    ("PUT", "/qa/evaluations/{evaluation_id}"): Row(
        COACH, "/qa/evaluations/{evaluation_id}", {"answers": {"a2": None}},
        setup=matrix_evaluation("draft"),
    ),
    ("POST", "/qa/evaluations/{evaluation_id}/submit"): Row(
        COACH, "/qa/evaluations/{evaluation_id}/submit", setup=matrix_evaluation("complete")
    ),
    ("GET", "/qa/calibration"): Row(COACH, "/qa/calibration?call_id=qa-c1", setup=matrix_call),
    ("GET", "/qa/sample"): Row({"supervisor"}, "/qa/sample?month=2026-11&per_agent=2"),
    ("GET", "/qa/report"): Row(
        {"supervisor"}, "/qa/report?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"
    ),
    ("GET", "/qa/knowledge"): Row(MINE, "/qa/knowledge"),
    ("POST", "/qa/knowledge/{form_id}/answers"): Row(
        {"agent"}, "/qa/knowledge/{form_id}/answers", {"answers": {"q1": 1, "q2": 0, "q3": 2}},
        201, setup=matrix_knowledge,
    ),
    ("GET", "/qa/knowledge/results"): Row(MINE, "/qa/knowledge/results"),
}


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.fake.workorders = workorder_desk()  # type: ignore[attr-defined]
        self.fake.qa = qa_desk(  # type: ignore[attr-defined]
            {a.id: a.team for a in self.config.agents if a.team})
        self.fake.callbacks = desk(  # type: ignore[attr-defined]
            self.config, SqlCallbackStore(_memory_db()), self.clock)
        self.sink = ListSink()
        self.app = create_api(self.config, self.fake, self.sink, clock=self.clock,
                              workorders=self.fake.workorders,  # type: ignore[attr-defined]
                              qa=self.fake.qa,  # type: ignore[attr-defined]
                              surveys=SqlSurveyStore(_memory_db()),
                              callbacks=self.fake.callbacks)  # type: ignore[attr-defined]

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
    target = row.path.format(session_id="m1", order_id="wo-1", evaluation_id="qe-1",
                             form_id="f1", callback_id="cb-1")
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


async def test_work_orders_belong_to_their_agent_and_team() -> None:
    rig = Rig()
    oid = _order("accepted")(rig.fake, "ann")["order_id"]
    assert await _status(rig, "bob", "GET", f"/workorders/{oid}") == 403
    assert await _status(rig, "bob", "POST", f"/workorders/{oid}/close", {"result": "x"}) == 403
    assert await _status(rig, "tom", "POST", f"/workorders/{oid}/assign",
                         {"department": "water"}) == 403
    assert await _status(rig, "tina", "POST", f"/workorders/{oid}/assign",
                         {"department": "water"}) == 200
    assert await _status(rig, "ann", "GET", "/workorders/wo-nope") == 404
    # an agent's order is the agent's and its team's; a refusal is audited
    denied = [r for r in rig.sink.records if r.object_id == oid and "denied" in r.detail]
    assert {r.actor for r in denied} == {"bob", "tom"}
    done = [r for r in rig.sink.records if r.actor == "tina" and r.object_id == oid]
    assert [r.action for r in done] == ["workorder.assign"]
    assert done[0].detail.startswith("outcome=ok")

    async def ids(user: str) -> set[str]:
        reply = await call_app(rig.app, "GET", "/workorders", headers=basic(user))
        return {item["order_id"] for item in reply.json()}

    assert await ids("ann") == {oid}
    assert await ids("tina") == {oid}
    assert await ids("bob") == set()
    assert await ids("tom") == set()
    assert await ids("sue") == {oid}
    # the caller's number is stored masked; only supervisors import (opened_at)
    body = {"type": "enquiry", "category": "water", "request": "停水了吗", "caller": "13800001234"}
    reply = await call_app(rig.app, "POST", "/workorders", headers=basic("ann"), json=body)
    assert reply.json()["caller"] == "*******1234"
    assert reply.json()["agent_id"] == "1001"
    imported = {**body, "opened_at": "2026-11-20T02:00:00Z"}
    assert await _status(rig, "ann", "POST", "/workorders", imported) == 403
    reply = await call_app(rig.app, "POST", "/workorders", headers=basic("sue"), json=imported)
    assert reply.status == 201
    assert (reply.json()["origin"], reply.json()["opened_at"]) == ("import",
                                                                  "2026-11-20T02:00:00Z")
