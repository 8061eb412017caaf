"""Work orders: deadlines on working days, the state machine, reminders and escalation,
the full lifecycle through the SQL store, the report's rates computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders import deadlines, machine
from ari_app.workorders.deadlines import Escalate, Remind, Rules
from ari_app.workorders.machine import TRANSITIONS, Actor, IllegalMove
from ari_app.workorders.model import (
    DEFAULT_LIMITS,
    Limits,
    OrderType,
    Origin,
    State,
    Urgency,
    WorkOrder,
    WorkOrderError,
)
from ari_app.workorders.report import report
from ari_app.workorders.service import NewOrder, StaleOrder
from tests.workorder_rig import SH, Cn2026, limits, local, service, wo_engine

__all__ = ["wo_engine"]  # the fixture, imported for pytest

ANN = Actor("ann", "agent")
TINA = Actor("tina", "team_lead")
SUE = Actor("sue", "supervisor")
RULES = Rules(Cn2026(), "Asia/Shanghai", limits(complaint=5))


def _order(**kw: object) -> WorkOrder:
    opened = kw.pop("opened", local(2026, 9, 28, 10, 0))
    assert isinstance(opened, datetime)
    base = WorkOrder(
        order_id="wo-1", type=OrderType.COMPLAINT, category="billing", urgency=Urgency.NORMAL,
        request="my bill is wrong", origin=Origin.CALL, created_by="ann", agent_id="1001",
        team="red", call_id="c1", recording="rec-c1", caller="*******1234", department="",
        state=State.ACCEPTED, opened_at=opened, round_started_at=opened, due_at=opened,
        limit_days=5,
    )
    order = replace(base, **kw)  # type: ignore[arg-type]
    return replace(order, due_at=deadlines.due_at(RULES, order))


def _complaint(kind: OrderType = OrderType.COMPLAINT, **kw: object) -> NewOrder:
    fields: dict[str, object] = {
        "type": kind, "category": "billing", "urgency": Urgency.NORMAL,
        "request": "我的账单不对", "origin": Origin.CALL, "created_by": "ann",
        "agent_id": "1001", "team": "red", "call_id": "c1", "recording": "rec-c1",
        "caller": "*******1234",
    }
    fields.update(kw)
    return NewOrder(**fields)  # type: ignore[arg-type]


# Deadlines ------------------------------------------------------------------------------


def test_a_complaint_accepted_before_national_day_is_due_on_the_working_saturday() -> None:
    order = _order()
    assert order.due_at == local(2026, 10, 10, 23, 59, 59)
    assert order.due_at.tzinfo is UTC or order.due_at.utcoffset() == UTC.utcoffset(None)


def test_two_paused_working_days_move_it_to_tuesday() -> None:
    order = _order(state=State.IN_PROGRESS)
    paused, _ = machine.apply(
        RULES, order, machine.Pause("waiting for the caller's papers"), ANN,
        local(2026, 10, 9, 9, 0), 2,
    )
    assert paused.due_at == order.due_at  # the deadline moves when the pause ends
    resumed, event = machine.apply(RULES, paused, machine.Resume(), ANN,
                                   local(2026, 10, 12, 9, 0), 3)
    # working days lost: 10-10 (the working Saturday) and 10-12; 10-11 is a Sunday
    assert event.detail["working_days"] == "2"
    assert resumed.paused_days == 2
    assert resumed.due_at == local(2026, 10, 13, 23, 59, 59)


def test_same_day_limits_and_days_off() -> None:
    urgent = _order(limit_days=0, opened=local(2026, 9, 29, 16, 0))
    assert urgent.due_at == local(2026, 9, 29, 23, 59, 59)
    on_holiday = _order(limit_days=0, opened=local(2026, 10, 3, 11, 0))
    assert on_holiday.due_at == local(2026, 10, 8, 23, 59, 59)
    enquiry = _order(limit_days=3, opened=local(2026, 9, 30, 23, 30))
    assert enquiry.due_at == local(2026, 10, 10, 23, 59, 59)  # 10-8, 10-9, 10-10


def test_the_reminder_comes_at_80_percent_of_the_working_time_and_escalation_after() -> None:
    order = _order(state=State.IN_PROGRESS)
    # working time 9-28 10:00 .. 10-10 24:00 = 14 h + 5 x 24 h = 134 h; 80 % = 107.2 h,
    # reached on 10-09 at 21:12 (86 h by 10-08's end; holidays do not count)
    assert deadlines.due_actions(RULES, order, local(2026, 10, 9, 21, 10)) == ()
    assert deadlines.due_actions(RULES, order, local(2026, 10, 9, 21, 14)) == (Remind(0.8),)
    reminded = replace(order, reminded=True)
    assert deadlines.due_actions(RULES, reminded, local(2026, 10, 10, 23, 59, 59)) == ()
    late = local(2026, 10, 11, 0, 0, 1)
    assert deadlines.due_actions(RULES, reminded, late) == (Escalate(),)
    assert deadlines.due_actions(RULES, order, late) == (Remind(1.0), Escalate())
    assert deadlines.due_actions(RULES, replace(reminded, escalated=True), late) == ()
    # a paused order's clock stands still; a closed one has nothing due
    assert deadlines.due_actions(RULES, replace(order, paused_since=late), late) == ()
    assert deadlines.due_actions(RULES, replace(order, state=State.CLOSED), late) == ()


# The machine ----------------------------------------------------------------------------


def test_the_table_refuses_every_move_it_does_not_list() -> None:
    order = _order()
    for start in State:
        for to in State:
            moved = replace(order, state=start)
            if to in TRANSITIONS[start]:
                assert machine.move(moved, to).state == to
            else:
                with pytest.raises(IllegalMove, match=f"{start} -> {to}"):
                    machine.move(moved, to)
    with pytest.raises(IllegalMove):
        machine.apply(RULES, order, machine.Start(), ANN, order.opened_at, 2)
    with pytest.raises(IllegalMove, match="no extension request"):
        machine.apply(RULES, _order(state=State.IN_PROGRESS), machine.GrantExtension(), SUE,
                      order.opened_at, 2)
    with pytest.raises(IllegalMove, match="cannot pause"):
        machine.apply(RULES, order, machine.Pause("x"), ANN, order.opened_at, 2)
    with pytest.raises(IllegalMove, match="no follow-up"):
        machine.apply(RULES, order, machine.FollowUpResult(True), ANN, order.opened_at, 2)


def test_limits_must_cover_every_type_and_urgency() -> None:
    days = dict(DEFAULT_LIMITS.days)
    del days[(OrderType.REPORT, Urgency.URGENT)]
    with pytest.raises(WorkOrderError, match="report/urgent"):
        Limits(days)
    with pytest.raises(WorkOrderError, match="reminder_share"):
        replace(DEFAULT_LIMITS, reminder_share=1.5)
    assert Limits.from_json(DEFAULT_LIMITS.as_json()) == DEFAULT_LIMITS


# The lifecycle, through SQL -------------------------------------------------------------


def test_full_lifecycle(wo_engine: Engine) -> None:
    svc = service(wo_engine)
    svc.store.save_limits(limits(complaint=5))
    order, _ = svc.create(_complaint(), ANN, local(2026, 9, 28, 10, 0))
    oid = order.order_id
    assert (order.state, order.due_at) == (State.ACCEPTED, local(2026, 10, 10, 23, 59, 59))
    svc.act(oid, machine.Assign("billing"), TINA, local(2026, 9, 28, 11, 0))
    svc.act(oid, machine.Acknowledge(), ANN, local(2026, 9, 29, 9, 0))
    svc.act(oid, machine.Start(), ANN, local(2026, 9, 29, 10, 0))

    # the periodic check: nothing before 80 %, one reminder after, one escalation past due
    assert svc.tick(local(2026, 10, 9, 21, 0)) == []
    [remind] = svc.tick(local(2026, 10, 9, 21, 30))
    assert (remind.action, remind.actor) == ("remind", "system")
    assert svc.tick(local(2026, 10, 10, 12, 0)) == []
    [escalate] = svc.tick(local(2026, 10, 11, 0, 5))
    assert escalate.action == "escalate"
    assert svc.tick(local(2026, 10, 11, 9, 0)) == []
    assert svc.store.get(oid).overdue(local(2026, 10, 11, 9, 0))

    # an extension of 3 working days, granted by the supervisor: due 10-14, clock re-armed
    svc.act(oid, machine.RequestExtension(3, "the meter must be read"), ANN,
            local(2026, 10, 11, 9, 0))
    granted, _ = svc.act(oid, machine.GrantExtension(), SUE, local(2026, 10, 12, 9, 0))
    assert granted.due_at == local(2026, 10, 14, 23, 59, 59)
    assert not granted.reminded
    assert not granted.escalated
    closed, event = svc.act(oid, machine.Close("refund of 35 yuan"), ANN,
                            local(2026, 10, 13, 15, 0))
    assert (closed.state, closed.closed_on_time, event.detail["on_time"]) == (
        State.CLOSED, True, "true")

    # follow-up (回访): dissatisfied, so the order is reopened (重办) with a new limit
    reopened, _ = svc.act(oid, machine.FollowUpResult(False, "still billed twice"), TINA,
                          local(2026, 10, 15, 10, 0))
    assert reopened.state == State.REOPENED
    assert reopened.reopen_count == 1
    assert reopened.round_started_at == local(2026, 10, 15, 10, 0)
    assert reopened.due_at == local(2026, 10, 22, 23, 59, 59)  # 10-16, 19, 20, 21, 22
    assert reopened.closed_at is None
    assert reopened.extension_days == 0
    svc.act(oid, machine.Assign("billing"), TINA, local(2026, 10, 15, 11, 0))
    svc.act(oid, machine.Acknowledge(), ANN, local(2026, 10, 16, 9, 0))
    svc.act(oid, machine.Start(), ANN, local(2026, 10, 16, 9, 30))
    late, _ = svc.act(oid, machine.Close("second refund"), ANN, local(2026, 10, 23, 9, 0))
    assert late.closed_on_time is False
    done, _ = svc.act(oid, machine.FollowUpResult(True), TINA, local(2026, 10, 26, 10, 0))
    assert done.state == State.ARCHIVED
    assert done.satisfied

    # the log: every change, in order, with who did it; a restart (new store) reads it all
    again = SqlWorkOrderStore(wo_engine)
    log = again.events(oid)
    assert [e.action for e in log] == [
        "create", "assign", "acknowledge", "start", "remind", "escalate",
        "extension_request", "extension_grant", "close", "follow_up", "assign",
        "acknowledge", "start", "close", "follow_up",
    ]
    assert [e.seq for e in log] == list(range(1, 16))
    assert [e.actor for e in log][:4] == ["ann", "tina", "ann", "ann"]
    assert log[9].state == State.REOPENED
    assert log[9].detail["satisfied"] == "false"
    assert again.get(oid) == done
    with pytest.raises(IllegalMove):
        svc.act(oid, machine.Close("again"), ANN, local(2026, 10, 27, 9, 0))


def test_a_stale_write_is_refused(wo_engine: Engine) -> None:
    svc = service(wo_engine)
    order, _ = svc.create(_complaint(), ANN, local(2026, 9, 28, 10, 0))
    first, event = machine.apply(svc.rules(), order, machine.Assign("billing"), TINA,
                                 local(2026, 9, 28, 11, 0), 2)
    svc.store.update(first, [event])
    with pytest.raises(StaleOrder):
        svc.store.update(first, [replace(event, seq=3)])


def test_imports_keep_their_opening_time_and_bad_orders_are_refused(wo_engine: Engine) -> None:
    svc = service(wo_engine)
    now = local(2026, 10, 9, 9, 0)
    imported, _ = svc.create(
        _complaint(origin=Origin.IMPORT, opened_at=local(2026, 9, 28, 10, 0),
                   department="billing"), SUE, now)
    assert imported.state == State.ASSIGNED
    assert imported.department == "billing"
    # the default 13 working days: 9-29, 9-30, 10-8, 10-9, 10-10, 10-12..16, 10-19..21
    assert imported.due_at == local(2026, 10, 21, 23, 59, 59)
    with pytest.raises(WorkOrderError, match="opened_at"):
        svc.create(_complaint(origin=Origin.IMPORT), SUE, now)
    with pytest.raises(WorkOrderError, match="future"):
        svc.create(_complaint(opened_at=local(2026, 10, 10, 9, 0)), SUE, now)
    with pytest.raises(WorkOrderError, match="empty"):
        svc.create(_complaint(request="  "), ANN, now)


# The report -----------------------------------------------------------------------------


def test_report_rates_by_hand(wo_engine: Engine) -> None:
    svc = service(wo_engine)
    svc.store.save_limits(limits(complaint=5, enquiry=3))

    def run(kind: OrderType, dept: str, opened: datetime, closed: datetime | None,
            satisfied: bool | None = None) -> str:
        order, _ = svc.create(_complaint(kind, department=dept), ANN, opened)
        if closed is not None:
            svc.act(order.order_id, machine.Acknowledge(), ANN, opened)
            svc.act(order.order_id, machine.Close("done"), ANN, closed)
            if satisfied is not None:
                svc.act(order.order_id, machine.FollowUpResult(satisfied), TINA, closed)
        return order.order_id

    # complaints in billing, opened Monday 10-12 with 5 working days: due 10-19 23:59:59
    run(OrderType.COMPLAINT, "billing", local(2026, 10, 12, 9, 0), local(2026, 10, 14, 9, 0),
        True)   # on time, 2 working days
    run(OrderType.COMPLAINT, "billing", local(2026, 10, 12, 9, 0), local(2026, 10, 19, 20, 0),
        False)  # on time (5 working days), caller dissatisfied: reopened, open again
    run(OrderType.COMPLAINT, "billing", local(2026, 10, 12, 9, 0), local(2026, 10, 21, 9, 0),
        True)   # late, 7 working days
    # an enquiry in water, due 10-15; still open on 10-22: overdue now
    run(OrderType.ENQUIRY, "water", local(2026, 10, 12, 9, 0), None)
    # an enquiry closed on time the same day (0 working days)
    run(OrderType.ENQUIRY, "water", local(2026, 10, 13, 9, 0), local(2026, 10, 13, 17, 0))
    # before the period: neither opened nor closed in it
    run(OrderType.ENQUIRY, "water", local(2026, 9, 28, 9, 0), local(2026, 9, 29, 9, 0))

    start, end = local(2026, 10, 1), local(2026, 11, 1)
    now = local(2026, 10, 22, 12, 0)
    rules = svc.rules()
    lines = report(rules, svc.store.orders(end, start), svc.store.follow_ups(start, end),
                   start, end, now)
    got = {(line.type, line.department): line.as_dict() for line in lines}
    complaints = got[("complaint", "billing")]
    # the reopened one's closure is undone (重办): it is open again, in a new round from
    # 10-19 20:00 due 10-26, so not overdue; an order counts by its latest closure
    assert complaints["opened"] == 3
    assert complaints["closed"] == 2
    assert complaints["closed_on_time"] == 1
    assert complaints["on_time_rate"] == 0.5  # 投诉处理及时率 = 1 / 2
    assert complaints["average_working_days_to_close"] == 4.5  # (2 + 7) / 2
    assert complaints["overdue_now"] == 0
    assert (complaints["follow_ups"], complaints["satisfied"]) == (3, 2)
    assert complaints["satisfaction_rate"] == round(2 / 3, 4)
    water = got[("enquiry", "water")]
    assert (water["opened"], water["closed"], water["closed_on_time"]) == (2, 1, 1)
    assert water["overdue_now"] == 1
    assert water["on_time_rate"] == 1.0
    assert water["average_working_days_to_close"] == 0.0
    assert water["satisfaction_rate"] is None
    total = got[("*", "*")]
    assert (total["opened"], total["closed"], total["closed_on_time"]) == (5, 3, 2)
    assert total["on_time_rate"] == round(2 / 3, 4)
    assert SH.key == "Asia/Shanghai"
