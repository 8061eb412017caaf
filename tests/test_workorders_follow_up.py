"""A closed work order's follow-up (回访) through the callbacks feature: scheduling it makes
a `follow_up` callback linked to the order (the number from the order's call), dialled by
the real call-flow core; when the caller is reached the order's follow-up stays open for
the agent's verdict; a verdict recorded first cancels the pending callback; without a
number the follow-up is by hand. SQLite records, the real core (the pure rig)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from ari_app.api import create_api
from ari_app.api.workorder_routes import WorkOrderDesk
from ari_app.callbacks import Kind, State
from ari_app.config.site_calendar import site_calendar
from ari_app.domain.commands import CreateChannel
from ari_app.records.callbacks import SqlCallbackStore
from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders import machine
from ari_app.workorders.model import OrderType, Origin, Urgency
from ari_app.workorders.service import NewOrder, WorkOrders
from tests.callback_rig import CoreCallbacks, desk, records, with_dial, with_queues
from tests.test_api_fakes import FakeClock, FakeControl, ListSink, basic, call_app, make_config

ANN = machine.Actor("ann", "agent")


class Desk:
    def __init__(self, tmp_path: Path, *, callbacks: bool = True) -> None:
        self.config = with_dial(with_queues(make_config(), a1001=("support",)))
        self.clock = FakeClock()
        self.store: SqlCallbackStore = records(tmp_path)
        self.callbacks = desk(self.config, self.store, self.clock)
        orders = SqlWorkOrderStore(self.store.engine)
        self.orders = WorkOrderDesk(
            WorkOrders(orders, site_calendar(self.config), "Asia/Shanghai"), orders,
            callbacks=self.callbacks if callbacks else None)
        self.audit = ListSink()
        self.app: FastAPI = create_api(
            self.config, FakeControl(self.config, self.clock), self.audit, clock=self.clock,
            workorders=self.orders, callbacks=self.callbacks if callbacks else None)

    @property
    def core(self) -> CoreCallbacks:
        engine = self.callbacks.engine
        assert isinstance(engine, CoreCallbacks)
        return engine

    def closed_order(self, call_id: str = "c1") -> str:
        """Ann's complaint on `call_id`, closed."""
        now = self.clock()
        new = NewOrder(OrderType.COMPLAINT, "billing", Urgency.NORMAL, "账单不对",
                       Origin.CALL, "ann", "1001", "red", call_id)
        order, _ = self.orders.service.create(new, ANN, now)
        for action in (machine.Assign("billing"), machine.Acknowledge(), machine.Start(),
                       machine.Close("退款")):
            self.orders.service.act(order.order_id, action, ANN, now)
        return order.order_id

    async def post(self, user: str, path: str, body: Any) -> tuple[int, Any]:
        reply = await call_app(self.app, "POST", path, headers=basic(user), json=body)
        return reply.status, reply.json()

    async def get(self, user: str, path: str) -> tuple[int, Any]:
        reply = await call_app(self.app, "GET", path, headers=basic(user))
        return reply.status, reply.json()


async def test_the_follow_up_is_a_callback_linked_to_the_order(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    order_id = d.closed_order("c1")
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule",
                                 {"note": "问满意度"})
    assert status == 200, order
    assert order["state"] == "follow_up"
    cid = order["follow_up_callback"]
    assert cid == f"fu-{order_id}-0"
    cb = d.store.get(cid)
    assert cb is not None
    assert (cb.kind, cb.order_id, cb.queue, cb.call_id) == (
        Kind.FOLLOW_UP, order_id, "support", "c1")
    assert cb.caller_number == "13800001234"  # the call's caller, in full while pending
    assert cb.reason == f"回访 work order {order_id}: 问满意度"
    assert cb.requested_by == "agent:1001"
    assert cb.state is State.DUE  # nobody logged in yet
    assert [(r.action, r.detail) for r in d.audit.records] == [
        ("workorder.follow_up_start",
         f"outcome=ok action=follow_up_start callback={cid} within_days=2")]
    # the agents of the queue see it, with the order it is for
    status, shown = await d.get("ann", f"/callbacks/{cid}")
    assert (status, shown["order_id"], shown["kind"], shown["caller"]) == (
        200, order_id, "follow_up", "*******1234")

    # an agent logs in: the core dials the follow-up (agent first), the caller answers
    rig = d.core.rig
    out = rig._run(rig.core.login("1001", "1234", "PJSIP/1001", rig.now))
    [agent_leg] = [c for c in out if isinstance(c, CreateChannel)]
    assert agent_leg.variables["HOTLINE_CALLBACK"] == cid
    rig.ringing(agent_leg.channel_id)
    out = rig.answer(agent_leg.channel_id)
    [caller_leg] = [c for c in out if isinstance(c, CreateChannel)]
    assert caller_leg.endpoint == "PJSIP/13800001234@carrier"
    rig.answer(caller_leg.channel_id)
    d.core.flush()
    done = d.store.get(cid)
    assert done is not None
    assert (done.state, done.agent_id, done.order_id) == (State.ANSWERED, "1001", order_id)
    # the order's follow-up stays open for the agent's verdict
    status, order = await d.get("ann", f"/workorders/{order_id}")
    assert (status, order["state"]) == (200, "follow_up")
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up",
                                 {"satisfied": True, "note": "满意"})
    assert (status, order["state"]) == (200, "archived")
    assert d.store.get(cid).state is State.ANSWERED  # type: ignore[union-attr]


async def test_a_verdict_first_cancels_the_pending_callback(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    order_id = d.closed_order("c1")
    status, order = await d.post("sue", f"/workorders/{order_id}/follow-up/schedule",
                                 {"within_days": 0})
    assert status == 200, order
    cid = order["follow_up_callback"]
    cb = d.store.get(cid)
    assert cb is not None
    assert cb.requested_by == "user:sue"
    assert cb.due_by == d.clock().replace(hour=15, minute=59, second=59).timestamp()
    # the caller rang in meanwhile: dissatisfied, reopened; the callback is not needed
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up",
                                 {"satisfied": False, "note": "还是不对"})
    assert (status, order["state"]) == (200, "reopened")
    over = d.store.get(cid)
    assert over is not None
    assert (over.state, over.last_result) == (State.CANCELLED, "cancelled by ann")
    assert over.caller_number == "*******1234"
    assert cid not in d.core.rig.core.flow.callbacks.pending.book


async def test_the_next_round_has_its_own_follow_up(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    order_id = d.closed_order("c1")
    first = (await d.post("ann", f"/workorders/{order_id}/follow-up/schedule", {}))[1]
    await d.post("ann", f"/workorders/{order_id}/follow-up", {"satisfied": False})
    now = d.clock()
    for action in (machine.Assign("billing"), machine.Acknowledge(), machine.Start(),
                   machine.Close("再次退款")):
        d.orders.service.act(order_id, action, ANN, now)
    status, second = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule",
                                  {"number": "02112345678"})
    assert status == 200, second
    assert (first["follow_up_callback"], second["follow_up_callback"]) == (
        f"fu-{order_id}-0", f"fu-{order_id}-1")
    cb = d.store.get(second["follow_up_callback"])
    assert cb is not None
    assert (cb.caller_number, cb.state) == ("02112345678", State.DUE)


async def test_without_a_number_the_follow_up_is_by_hand(tmp_path: Path) -> None:
    d = Desk(tmp_path)
    order_id = d.closed_order("c9")  # its call's number is no longer kept
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule", {})
    assert (status, order["state"], order["follow_up_callback"]) == (200, "follow_up", None)
    assert d.store.find() == []
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up",
                                 {"satisfied": True})
    assert (status, order["state"]) == (200, "archived")


@pytest.mark.parametrize(("body", "where"), [
    ({"number": "12ab"}, "number"),
    ({"queue": "sales"}, "body.queue"),
    ({"within_days": 31}, "within_days"),
])
async def test_bad_follow_up_requests_change_nothing(tmp_path: Path, body: dict[str, Any],
                                                    where: str) -> None:
    d = Desk(tmp_path)
    order_id = d.closed_order("c1")
    status, out = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule", body)
    assert status == 422
    assert where in out["detail"] + " ".join(f["location"] for f in out["fields"])
    assert d.orders.queries.get(order_id).state.value == "closed"
    assert d.store.find() == []


async def test_callbacks_off_refuses_a_number(tmp_path: Path) -> None:
    d = Desk(tmp_path, callbacks=False)
    order_id = d.closed_order("c1")
    status, out = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule",
                               {"number": "13800001234"})
    assert (status, out["error"]) == (422, "invalid_request")
    status, order = await d.post("ann", f"/workorders/{order_id}/follow-up/schedule", {})
    assert (status, order["state"], order["follow_up_callback"]) == (200, "follow_up", None)
