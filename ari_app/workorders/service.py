"""The applier: creates orders, applies actions through the machine and writes each change
and its log line to a `WorkOrderStore` in one step. Synchronous (the API and the shell run
it in a worker thread); it publishes nothing itself and returns the log lines, which the
caller hands to MQTT on the event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from ari_app.workorders import deadlines, machine
from ari_app.workorders.deadlines import Rules, WorkingDays
from ari_app.workorders.machine import Action, Actor
from ari_app.workorders.model import (
    DEFAULT_LIMITS,
    Limits,
    OrderEvent,
    OrderType,
    Origin,
    State,
    Urgency,
    WorkOrder,
    WorkOrderError,
)


class OrderNotFound(WorkOrderError):
    pass


class StaleOrder(WorkOrderError):
    """Someone else changed the order in between; read it again."""


class WorkOrderStore(Protocol):
    """Durable orders and their logs (`ari_app.records.workorders.SqlWorkOrderStore`)."""

    def get(self, order_id: str) -> WorkOrder: ...  # OrderNotFound

    def insert(self, order: WorkOrder, events: Sequence[OrderEvent]) -> None: ...

    def update(self, order: WorkOrder, events: Sequence[OrderEvent]) -> None:
        """Write `order` if the stored one is at `order.version - len(events)`; else
        StaleOrder. The events are appended in the same transaction."""
        ...

    def events(self, order_id: str) -> list[OrderEvent]: ...

    def open_orders(self) -> list[WorkOrder]: ...

    def orders(
        self, opened_before: datetime | None = None, touched_since: datetime | None = None
    ) -> list[WorkOrder]:
        """Orders opened before `opened_before` and not archived/closed before
        `touched_since` (the report's window; None: no bound)."""
        ...

    def follow_ups(self, start: datetime, end: datetime) -> list[OrderEvent]:
        """The `follow_up` log lines in [start, end)."""
        ...

    def load_limits(self) -> Limits | None: ...

    def save_limits(self, limits: Limits) -> None: ...


@dataclass(frozen=True)
class NewOrder:
    type: OrderType
    category: str
    urgency: Urgency
    request: str
    origin: Origin
    created_by: str
    agent_id: str = ""
    team: str = ""
    call_id: str = ""
    recording: str = ""
    caller: str = ""
    department: str = ""
    opened_at: datetime | None = None  # imports only; else `now`


def new_order_id() -> str:
    return f"wo-{secrets.token_hex(6)}"


class WorkOrders:
    def __init__(
        self,
        store: WorkOrderStore,
        days: WorkingDays,
        timezone: str,
        *,
        new_id: Callable[[], str] = new_order_id,
    ) -> None:
        self.store = store
        self.days = days
        self.timezone = timezone
        self.new_id = new_id

    def rules(self) -> Rules:
        limits = self.store.load_limits()
        return Rules(self.days, self.timezone, limits if limits is not None else DEFAULT_LIMITS)

    def create(self, new: NewOrder, actor: Actor, now: datetime) -> tuple[WorkOrder, OrderEvent]:
        rules = self.rules()
        opened = new.opened_at if new.opened_at is not None else now
        if new.origin is Origin.IMPORT and new.opened_at is None:
            raise WorkOrderError("an imported order needs its opened_at")
        if opened > now:
            raise WorkOrderError("opened_at is in the future")
        if not new.request.strip():
            raise WorkOrderError("the caller's request is empty")
        limit = rules.limits.of(new.type, new.urgency)
        order = WorkOrder(
            order_id=self.new_id(), type=new.type, category=new.category, urgency=new.urgency,
            request=new.request, origin=new.origin, created_by=new.created_by,
            agent_id=new.agent_id, team=new.team, call_id=new.call_id,
            recording=new.recording, caller=new.caller, department="",
            state=State.ACCEPTED, opened_at=opened, round_started_at=opened,
            due_at=opened, limit_days=limit,
        )
        order = replace(order, due_at=deadlines.due_at(rules, order))
        event = OrderEvent(
            order.order_id, 1, now, actor.name, actor.role, "create", order.state,
            {"type": new.type.value, "urgency": new.urgency.value, "origin": new.origin.value,
             "limit_days": str(limit), "due_at": order.due_at.isoformat(),
             **({"call_id": new.call_id} if new.call_id else {})},
        )
        events = [event]
        if new.department:
            order, assigned = machine.apply(
                rules, order, machine.Assign(new.department), actor, now, 2
            )
            events.append(assigned)
        self.store.insert(order, events)
        return order, events[-1]

    def act(
        self, order_id: str, action: Action, actor: Actor, now: datetime
    ) -> tuple[WorkOrder, OrderEvent]:
        order = self.store.get(order_id)
        seq = len(self.store.events(order_id)) + 1
        changed, event = machine.apply(self.rules(), order, action, actor, now, seq)
        self.store.update(changed, [event])
        return changed, event

    def tick(self, now: datetime) -> list[OrderEvent]:
        """The periodic check: reminders and escalations due now, each written once."""
        rules = self.rules()
        out: list[OrderEvent] = []
        for order in self.store.open_orders():
            actions = deadlines.due_actions(rules, order, now)
            if not actions:
                continue
            seq = len(self.store.events(order.order_id))
            events: list[OrderEvent] = []
            changed = order
            for action in actions:
                seq += 1
                changed, event = machine.apply(rules, changed, action, machine.SYSTEM, now, seq)
                events.append(event)
            try:
                self.store.update(changed, events)
            except StaleOrder:
                continue  # changed meanwhile: the next tick looks again
            out.extend(events)
        return out

