"""The work order's state machine: a transition table that refuses illegal moves, and
`apply`, which turns (order, action, actor, now) into the changed order and its log line.

Pure: times and the calendar are passed in. Pausing, extensions, reminders and escalation
do not change the state; they change the order's clock (`deadlines`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ari_app.workorders import deadlines
from ari_app.workorders.deadlines import Escalate, Remind, Rules
from ari_app.workorders.model import (
    OrderEvent,
    State,
    WorkOrder,
    WorkOrderError,
)

S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.ACCEPTED: frozenset({S.ASSIGNED, S.CLOSED}),  # closed: answered on the call
    S.ASSIGNED: frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.RETURNED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.RETURNED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.RETURNED, S.CLOSED}),
    S.RETURNED: frozenset({S.ASSIGNED, S.CLOSED}),
    S.CLOSED: frozenset({S.FOLLOW_UP, S.ARCHIVED, S.REOPENED}),
    S.FOLLOW_UP: frozenset({S.ARCHIVED, S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED}),
    S.ARCHIVED: frozenset(),
}
# Where the order's work is under way (a pause or an extension request makes sense).
WORKING = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS})


class IllegalMove(WorkOrderError):
    """A move `TRANSITIONS` (or the order's clock) does not allow; bad input, said plainly."""


def move(order: WorkOrder, to: State) -> WorkOrder:
    """The one way an order changes state."""
    if to not in TRANSITIONS[order.state]:
        raise IllegalMove(f"work order {order.order_id}: {order.state} -> {to} is not allowed")
    return replace(order, state=to)


# ---------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Assign:
    department: str


@dataclass(frozen=True)
class Acknowledge:
    pass


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Return:
    reason: str


@dataclass(frozen=True)
class Pause:
    reason: str


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class RequestExtension:
    days: int
    reason: str


@dataclass(frozen=True)
class GrantExtension:
    pass


@dataclass(frozen=True)
class RefuseExtension:
    reason: str


@dataclass(frozen=True)
class Close:
    result: str


@dataclass(frozen=True)
class StartFollowUp:
    """A follow-up callback is planned (the seam for the callbacks feature)."""

    note: str = ""


@dataclass(frozen=True)
class FollowUpResult:
    """The caller's verdict (回访): satisfied archives, dissatisfied reopens (重办)."""

    satisfied: bool
    note: str = ""


@dataclass(frozen=True)
class Archive:
    pass


Action = (
    Assign | Acknowledge | Start | Return | Pause | Resume | RequestExtension | GrantExtension
    | RefuseExtension | Close | StartFollowUp | FollowUpResult | Archive | Remind | Escalate
)
ACTION_NAMES: dict[type[Action], str] = {
    Assign: "assign", Acknowledge: "acknowledge", Start: "start", Return: "return",
    Pause: "pause", Resume: "resume", RequestExtension: "extension_request",
    GrantExtension: "extension_grant", RefuseExtension: "extension_refuse", Close: "close",
    StartFollowUp: "follow_up_start", FollowUpResult: "follow_up", Archive: "archive",
    Remind: "remind", Escalate: "escalate",
}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str


SYSTEM = Actor("system", "system")


def _refuse(order: WorkOrder, why: str) -> IllegalMove:
    return IllegalMove(f"work order {order.order_id}: {why}")


def _redue(rules: Rules, order: WorkOrder) -> WorkOrder:
    return replace(order, due_at=deadlines.due_at(rules, order))


def _change(rules: Rules, order: WorkOrder, action: Action, now: datetime) -> tuple[
    WorkOrder, dict[str, str]
]:
    """The new order and the log line's detail; raises IllegalMove."""
    match action:
        case Assign(department):
            if not department:
                raise _refuse(order, "assign needs a department")
            return replace(move(order, S.ASSIGNED), department=department), {
                "department": department
            }
        case Acknowledge():
            return move(order, S.ACKNOWLEDGED), {}
        case Start():
            return move(order, S.IN_PROGRESS), {}
        case Return(reason):
            if order.paused_since is not None:
                order = _resumed(rules, order, now)
            return replace(move(order, S.RETURNED), extension_requested=0), {"reason": reason}
        case Pause(reason):
            if order.state not in WORKING or order.paused_since is not None:
                raise _refuse(order, f"cannot pause while {_show(order)}")
            return replace(order, paused_since=now), {"reason": reason}
        case Resume():
            if order.paused_since is None:
                raise _refuse(order, "is not paused")
            lost = deadlines.working_days_in(rules, order.paused_since, now)
            return _resumed(rules, order, now), {"working_days": str(lost)}
        case RequestExtension(days, reason):
            if order.state not in WORKING or order.extension_requested:
                raise _refuse(order, f"cannot ask for an extension while {_show(order)}")
            if not 1 <= days <= 365:
                raise _refuse(order, "an extension is 1-365 working days")
            return replace(order, extension_requested=days), {
                "working_days": str(days), "reason": reason
            }
        case GrantExtension():
            if not order.extension_requested or not order.is_open:
                raise _refuse(order, "has no extension request to grant")
            days = order.extension_requested
            granted = replace(
                order, extension_days=order.extension_days + days, extension_requested=0
            )
            granted = _redue(rules, granted)
            if granted.due_at > now:  # a new deadline: its reminder and escalation again
                granted = replace(granted, reminded=False, escalated=False)
            return granted, {"working_days": str(days), "due_at": granted.due_at.isoformat()}
        case RefuseExtension(reason):
            if not order.extension_requested:
                raise _refuse(order, "has no extension request to refuse")
            return replace(order, extension_requested=0), {"reason": reason}
        case Close(result):
            if order.paused_since is not None:
                order = _resumed(rules, order, now)
            closed = replace(
                move(order, S.CLOSED), closed_at=now, closed_on_time=now <= order.due_at,
                extension_requested=0,
            )
            return closed, {"result": result, "on_time": str(closed.closed_on_time).lower()}
        case StartFollowUp(note):
            return move(order, S.FOLLOW_UP), {"note": note}
        case FollowUpResult(satisfied, note):
            if order.state not in (S.CLOSED, S.FOLLOW_UP):
                raise _refuse(order, f"no follow-up while {_show(order)}")
            detail = {"satisfied": str(satisfied).lower(), "note": note}
            if satisfied:
                return replace(move(order, S.ARCHIVED), satisfied=True), detail
            return _reopened(rules, move(order, S.REOPENED), now), detail
        case Archive():
            return move(order, S.ARCHIVED), {}
        case Remind(share):
            if order.reminded or not order.is_open:
                raise _refuse(order, "reminder already sent or order not open")
            return replace(order, reminded=True), {
                "share": f"{share:.3f}", "due_at": order.due_at.isoformat()
            }
        case Escalate():
            if order.escalated or not order.is_open:
                raise _refuse(order, "already escalated or not open")
            return replace(order, escalated=True), {"due_at": order.due_at.isoformat()}
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover


def _show(order: WorkOrder) -> str:
    return f"{order.state}{' (paused)' if order.paused_since else ''}"


def _resumed(rules: Rules, order: WorkOrder, now: datetime) -> WorkOrder:
    assert order.paused_since is not None
    lost = deadlines.working_days_in(rules, order.paused_since, now)
    return _redue(rules, replace(order, paused_since=None, paused_days=order.paused_days + lost))


def _reopened(rules: Rules, order: WorkOrder, now: datetime) -> WorkOrder:
    """重办: a new round with the order's own limit, from now."""
    fresh = replace(
        order, round_started_at=now, extension_days=0, paused_days=0, paused_since=None,
        extension_requested=0, reminded=False, escalated=False, closed_at=None,
        closed_on_time=None, satisfied=False, reopen_count=order.reopen_count + 1,
    )
    return _redue(rules, fresh)


def apply(
    rules: Rules, order: WorkOrder, action: Action, actor: Actor, now: datetime, seq: int
) -> tuple[WorkOrder, OrderEvent]:
    """Apply one action; `seq` numbers the order's log line. Raises IllegalMove."""
    changed, detail = _change(rules, order, action, now)
    changed = replace(changed, version=order.version + 1)
    event = OrderEvent(
        order.order_id, seq, now, actor.name, actor.role, ACTION_NAMES[type(action)],
        changed.state, {k: v for k, v in detail.items() if v},
    )
    return changed, event
