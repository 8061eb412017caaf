"""The callback routes on the real call-flow core and a real SQLite records file: who may
ask for a callback on which call or number, deadlines in working days, who sees which
callbacks (masked), the audited number, cancelling, bad input, and one round trip over a
real socket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fastapi import FastAPI

from ari_app.api import create_api
from ari_app.api.server import serve_api
from ari_app.callbacks import State
from ari_app.records.callbacks import SqlCallbackStore
from tests.callback_rig import callback, changed, desk, records, with_queues
from tests.test_api_fakes import (
    FakeClock,
    FakeControl,
    ListSink,
    basic,
    call_app,
    make_config,
)

NOW = "2026-11-23T08:00:00Z"  # Monday, 16:00 in Asia/Shanghai


class Api:
    def __init__(self, tmp_path: Path) -> None:
        # ann (1001, red) serves support; 1002 (red) and bob (2001, blue) serve billing
        self.config = with_queues(make_config(), a1001=("support",), a1002=("billing",),
                                  a2001=("billing",))
        self.clock = FakeClock()
        self.store: SqlCallbackStore = records(tmp_path)
        self.desk = desk(self.config, self.store, self.clock)
        self.audit = ListSink()
        self.app: FastAPI = create_api(self.config, FakeControl(self.config, self.clock),
                                       self.audit, clock=self.clock, callbacks=self.desk)

    async def call(self, user: str, method: str, path: str, body: Any = None) -> tuple[
        int, Any
    ]:
        reply = await call_app(self.app, method, path, headers=basic(user), json=body)
        return reply.status, reply.json()

    async def schedule(self, user: str, **body: Any) -> dict[str, Any]:
        status, out = await self.call(user, "POST", "/callbacks", body)
        assert status == 201, out
        assert isinstance(out, dict)
        return out

    def book(self) -> set[str]:
        """The callbacks the engine's core holds (pending)."""
        return set(self.desk.engine.rig.core.flow.callbacks.pending.book)  # type: ignore[attr-defined]


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return Api(tmp_path)


async def test_an_agent_asks_for_a_callback_on_a_call_they_handled(api: Api) -> None:
    cb = await api.schedule("ann", call_id="c1", reason="账单有误，请回电")
    assert cb["queue"] == "support"  # the call's
    assert cb["caller"] == "*******1234"
    assert cb["state"] == "due"  # the queue is open (no hours): due now, no agent free
    assert cb["kind"] == "scheduled"
    assert cb["requested_by"] == "agent:1001"
    assert cb["call_id"] == "c1"
    assert cb["max_attempts"] == 3  # the queue's settings
    # the default 2 working days: the end of Wednesday 11-25 in Asia/Shanghai
    assert cb["due_by"] == "2026-11-25T15:59:59Z"
    assert cb["requested_at"] == NOW
    assert api.book() == {cb["callback_id"]}
    # the records hold it, the number in full while pending (it must be dialled)
    stored = api.store.get(cb["callback_id"])
    assert stored is not None
    assert stored.caller_number == "13800001234"
    assert stored.state is State.DUE
    # audited, the number masked
    (row,) = api.audit.records
    assert (row.actor, row.action, row.object_type) == ("ann", "callback.schedule", "callback")
    assert row.detail == (f"outcome=ok callback={cb['callback_id']} queue=support "
                          "within_days=2 call=c1 caller=\"*******1234\"")
    assert "13800001234" not in str(api.audit.records)


async def test_deadlines_in_working_days_and_the_queue_by_default(api: Api) -> None:
    same_day = await api.schedule("tina", call_id="c2", reason="x", within_days=0)
    assert (same_day["queue"], same_day["due_by"]) == ("billing", "2026-11-23T15:59:59Z")
    five = await api.schedule("sue", number="13700009999", queue="support", reason="x",
                              within_days=5)
    assert five["due_by"] == "2026-11-30T15:59:59Z"  # Mon 11-23 + 5 working days: Mon 11-30
    assert five["requested_by"] == "user:sue"
    assert five["caller"] == "*******9999"


async def test_agents_ask_only_for_their_own_calls_and_queues(api: Api) -> None:
    status, out = await api.call("ann", "POST", "/callbacks", {"call_id": "c2", "reason": "x"})
    assert (status, out["error"]) == (403, "forbidden")
    assert "not handled by you" in out["detail"]
    status, out = await api.call("ann", "POST", "/callbacks",
                                 {"number": "13800001234", "queue": "billing", "reason": "x"})
    assert (status, out["detail"]) == (403, "you do not serve queue billing")
    assert api.book() == set()
    assert [(r.actor, r.detail.split()[0]) for r in api.audit.records] == [
        ("ann", "outcome=denied"), ("ann", "outcome=denied")]
    # bob may, for his own call; and an agent for a number into their own queue
    assert (await api.schedule("bob", call_id="c2", reason="x"))["queue"] == "billing"
    assert (await api.schedule("ann", number="13800001234", reason="x"))["queue"] == "support"
    # admins do not ask for callbacks
    status, _ = await api.call("adam", "POST", "/callbacks", {"number": "123456", "reason": "x"})
    assert status == 403


async def test_a_call_whose_number_is_gone_needs_a_number(api: Api) -> None:
    status, out = await api.call("ann", "POST", "/callbacks", {"call_id": "c9", "reason": "x"})
    assert status == 422
    assert out["detail"].startswith("body.number: call c9's number is no longer kept")
    cb = await api.schedule("ann", call_id="c9", number="02112345678", reason="x")
    assert (cb["caller"], cb["call_id"], cb["queue"]) == ("*******5678", "c9", "support")


@pytest.mark.parametrize(("body", "status", "where"), [
    ({"reason": "x"}, 422, "body"),  # neither call nor number
    ({"call_id": "nope", "reason": "x"}, 404, ""),
    ({"number": "13800001234", "queue": "sales", "reason": "x"}, 422, "body.queue"),
    ({"number": "13800001234", "reason": "x"}, 422, "body.queue"),  # two queues: say which
    ({"number": "12ab5678", "queue": "support", "reason": "x"}, 422, "number"),
    ({"number": "12", "queue": "support", "reason": "x"}, 422, "number"),
    ({"number": "13800001234", "queue": "support", "reason": ""}, 422, "reason"),
    ({"number": "13800001234", "queue": "support"}, 422, "reason"),
    ({"number": "13800001234", "queue": "support", "reason": "x", "within_days": 31}, 422,
     "within_days"),
    ({"number": "13800001234", "queue": "support", "reason": "x", "agent": "1001"}, 422,
     "body"),
])
async def test_bad_requests_are_refused_clearly(api: Api, body: dict[str, Any], status: int,
                                                where: str) -> None:
    got, out = await api.call("sue", "POST", "/callbacks", body)
    assert got == status, out
    text = out["detail"] + " ".join(f["location"] for f in out.get("fields", []))
    assert where in text
    assert "12ab5678" not in str(out)
    assert "13800001234" not in str(out)
    assert api.book() == set()


async def test_each_role_sees_its_own_callbacks_masked(api: Api) -> None:
    a = (await api.schedule("ann", call_id="c1", reason="a"))["callback_id"]  # support
    b = (await api.schedule("sue", number="13700001111", queue="billing", reason="b"))[
        "callback_id"]
    c = (await api.schedule("bob", call_id="c2", reason="c"))["callback_id"]  # billing
    api.clock.advance(60)
    d = (await api.schedule("tom", number="13700002222", queue="support", reason="d"))[
        "callback_id"]  # blue's lead, for the support queue blue does not serve

    async def ids(user: str, query: str = "") -> list[str]:
        status, out = await api.call(user, "GET", f"/callbacks{query}")
        assert status == 200, out
        assert all(x["caller"].startswith("*******") for x in out)
        return [x["callback_id"] for x in out]

    assert await ids("sue") == [d, *sorted([a, b, c])]  # newest first (a, b, c: same time)
    assert set(await ids("ann")) == {a, d}  # the support queue
    assert set(await ids("bob")) == {b, c}  # billing
    assert set(await ids("tina")) == {a, b, c, d}  # red serves both queues
    assert set(await ids("tom")) == {b, c, d}  # billing, and the one tom asked for
    assert set(await ids("sue", "?queue=billing")) == {b, c}
    assert await ids("sue", "?state=answered") == []
    assert set(await ids("sue", "?state=due&state=waiting")) == {a, b, c, d}
    assert len(await ids("sue", "?limit=2")) == 2
    status, _ = await api.call("adam", "GET", "/callbacks")
    assert status == 403
    # one callback: in the view, or 403; unknown: 404
    status, one = await api.call("ann", "GET", f"/callbacks/{a}")
    assert (status, one["reason"], one["attempt_log"]) == (200, "a", [])
    assert (await api.call("bob", "GET", f"/callbacks/{a}"))[0] == 403
    assert (await api.call("tom", "GET", f"/callbacks/{d}"))[0] == 200
    assert (await api.call("sue", "GET", "/callbacks/nope"))[0] == 404
    assert (await api.call("ann", "GET", "/callbacks/nope"))[0] == 404
    assert (await api.call("sue", "GET", "/callbacks/a%2Fb"))[0] in (404, 422)


async def test_a_callback_with_its_attempts(api: Api) -> None:
    from ari_app.domain.events import CallbackAttempted

    t = api.clock().timestamp()
    cb = callback("cb-x", at=t, state=State.RETRY, attempts=1, agent_id="1001")
    api.store.write([changed(cb), CallbackAttempted("cb-x", 1, "support", "1001",
                                                    "cb-x-a1-1", t + 5, t + 35, "no_answer")])
    status, out = await api.call("ann", "GET", "/callbacks/cb-x")
    assert status == 200, out
    assert (out["state"], out["attempts"], out["agent_id"]) == ("retry", 1, "1001")
    assert out["attempt_log"] == [{
        "attempt": 1, "agent_id": "1001", "call_id": "cb-x-a1-1",
        "started_at": "2026-11-23T08:00:05Z", "ended_at": "2026-11-23T08:00:35Z",
        "result": "no_answer"}]


async def test_the_full_number_for_supervisors_only_and_audited(api: Api) -> None:
    cid = (await api.schedule("ann", call_id="c1", reason="x"))["callback_id"]
    api.audit.records.clear()
    for user in ("ann", "tina", "adam"):
        assert (await api.call(user, "GET", f"/callbacks/{cid}/number"))[0] == 403
    status, out = await api.call("sue", "GET", f"/callbacks/{cid}/number")
    assert (status, out) == (200, {"callback_id": cid, "number": "13800001234"})
    assert api.audit.actions() == [
        ("ann", "callback.number", cid, "denied"), ("tina", "callback.number", cid, "denied"),
        ("adam", "callback.number", cid, "denied"), ("sue", "callback.number", cid, "ok")]
    # over: the records keep it masked, nothing to show
    assert (await api.call("sue", "POST", f"/callbacks/{cid}/cancel"))[0] == 200
    status, out = await api.call("sue", "GET", f"/callbacks/{cid}/number")
    assert (status, out["error"]) == (422, "invalid_state")
    stored = api.store.get(cid)
    assert stored is not None
    assert stored.caller_number == "*******1234"


async def test_cancel_by_a_supervisor_or_the_agent_who_asked(api: Api) -> None:
    mine = (await api.schedule("ann", call_id="c1", reason="x"))["callback_id"]
    theirs = (await api.schedule("sue", number="13700001111", queue="support", reason="y"))[
        "callback_id"]
    api.audit.records.clear()
    # not ann's (she sees it: her queue), not a team lead's to cancel, not bob's
    assert (await api.call("ann", "POST", f"/callbacks/{theirs}/cancel"))[0] == 403
    assert (await api.call("tina", "POST", f"/callbacks/{mine}/cancel"))[0] == 403
    assert (await api.call("bob", "POST", f"/callbacks/{mine}/cancel"))[0] == 403
    assert api.book() == {mine, theirs}
    status, out = await api.call("ann", "POST", f"/callbacks/{mine}/cancel")
    assert (status, out["state"], out["last_result"]) == (200, "cancelled", "cancelled by ann")
    status, out = await api.call("sue", "POST", f"/callbacks/{theirs}/cancel")
    assert (status, out["state"]) == (200, "cancelled")
    assert api.book() == set()
    # twice: over, nothing to cancel
    status, out = await api.call("sue", "POST", f"/callbacks/{mine}/cancel")
    assert (status, out["error"]) == (422, "invalid_state")
    assert (await api.call("sue", "POST", "/callbacks/nope/cancel"))[0] == 404
    assert api.audit.actions() == [
        ("ann", "callback.cancel", theirs, "denied"),
        ("tina", "callback.cancel", mine, "denied"),
        ("bob", "callback.cancel", mine, "denied"),
        ("ann", "callback.cancel", mine, "ok"),
        ("sue", "callback.cancel", theirs, "ok"),
        ("sue", "callback.cancel", mine, "failed"),
        ("sue", "callback.cancel", "nope", "failed"),
    ]
    assert api.store.get(mine) is not None
    assert api.store.get(mine).state is State.CANCELLED  # type: ignore[union-attr]


async def test_an_agent_cannot_cancel_while_it_is_being_dialled(api: Api) -> None:
    t = api.clock().timestamp()
    api.store.write([changed(callback("cb-d", at=t, state=State.DIALLING, attempts=1,
                                      requested_by="agent:1001", agent_id="1002"))])
    status, out = await api.call("ann", "POST", "/callbacks/cb-d/cancel")
    assert (status, out["error"]) == (409, "conflict")
    assert "being dialled" in out["detail"]
    assert api.audit.actions() == [("ann", "callback.cancel", "cb-d", "failed")]


async def test_over_a_real_socket(api: Api) -> None:
    server = await serve_api(api.app, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession(headers=basic("ann")) as http:
            async with http.post(f"{url}/callbacks",
                                 json={"call_id": "c1", "reason": "请回电"}) as r:
                assert r.status == 201
                made = await r.json()
            async with http.get(f"{url}/callbacks/{made['callback_id']}") as r:
                assert r.status == 200
                assert (await r.json())["reason"] == "请回电"
            async with http.post(f"{url}/callbacks", json={"reason": "x", "bogus": 1}) as r:
                assert r.status == 422
    finally:
        await server.stop()
