"""Work orders in SQL: `SqlWorkOrderStore`, the `ari_app.workorders.service.WorkOrderStore`
the engine and the report use. Each change writes the order (guarded by its version, so
two writers cannot both win) and its log lines in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, Table, insert, or_, select, update

from ari_app.records import models
from ari_app.workorders.model import (
    OPEN_STATES,
    Limits,
    OrderEvent,
    OrderType,
    Origin,
    State,
    Urgency,
    WorkOrder,
)
from ari_app.workorders.service import OrderNotFound, StaleOrder

_ORDERS: Table = models.WorkOrderRow.__table__  # type: ignore[assignment]
_EVENTS: Table = models.WorkOrderEventRow.__table__  # type: ignore[assignment]
_SETTINGS: Table = models.WorkOrderSetting.__table__  # type: ignore[assignment]
_FIELDS = tuple(f.name for f in fields(WorkOrder))
_ENUMS: dict[str, Any] = {"type": OrderType, "urgency": Urgency, "origin": Origin, "state": State}


def _row(order: WorkOrder) -> dict[str, Any]:
    row = {name: getattr(order, name) for name in _FIELDS}
    for name in _ENUMS:
        row[name] = row[name].value
    return row


def _order(row: Any) -> WorkOrder:
    data = {name: getattr(row, name) for name in _FIELDS}
    for name, enum in _ENUMS.items():
        data[name] = enum(data[name])
    return WorkOrder(**data)


def _event_row(event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": event.order_id, "seq": event.seq, "at": event.at, "actor": event.actor,
        "role": event.role, "action": event.action, "state": event.state.value,
        "detail": orjson.dumps(dict(event.detail)).decode(),
    }


def _event(row: Any) -> OrderEvent:
    return OrderEvent(
        row.order_id, row.seq, row.at, row.actor, row.role, row.action, State(row.state),
        orjson.loads(row.detail),
    )


class SqlWorkOrderStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, order_id: str) -> WorkOrder:
        with self.engine.connect() as conn:
            row = conn.execute(select(_ORDERS).where(_ORDERS.c.order_id == order_id)).first()
        if row is None:
            raise OrderNotFound(f"work order {order_id} does not exist")
        return _order(row)

    def insert(self, order: WorkOrder, events: Sequence[OrderEvent]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(_ORDERS), [_row(order)])
            conn.execute(insert(_EVENTS), [_event_row(e) for e in events])

    def update(self, order: WorkOrder, events: Sequence[OrderEvent]) -> None:
        before = order.version - len(events)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(_ORDERS)
                .where(_ORDERS.c.order_id == order.order_id, _ORDERS.c.version == before)
                .values(**_row(order))
            )
            if done.rowcount != 1:
                raise StaleOrder(
                    f"work order {order.order_id} was changed meanwhile; read it again"
                )
            conn.execute(insert(_EVENTS), [_event_row(e) for e in events])

    def events(self, order_id: str) -> list[OrderEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_EVENTS).where(_EVENTS.c.order_id == order_id).order_by(_EVENTS.c.seq)
            ).all()
        return [_event(r) for r in rows]

    def open_orders(self) -> list[WorkOrder]:
        states = [s.value for s in OPEN_STATES]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_ORDERS).where(_ORDERS.c.state.in_(states)).order_by(_ORDERS.c.due_at)
            ).all()
        return [_order(r) for r in rows]

    def orders(
        self, opened_before: datetime | None = None, touched_since: datetime | None = None
    ) -> list[WorkOrder]:
        query = select(_ORDERS).order_by(_ORDERS.c.opened_at, _ORDERS.c.order_id)
        if opened_before is not None:
            query = query.where(_ORDERS.c.opened_at < opened_before)
        if touched_since is not None:
            query = query.where(
                or_(
                    _ORDERS.c.state.in_([s.value for s in OPEN_STATES]),
                    _ORDERS.c.opened_at >= touched_since,
                    _ORDERS.c.closed_at >= touched_since,
                    _ORDERS.c.order_id.in_(
                        select(_EVENTS.c.order_id).where(_EVENTS.c.at >= touched_since)
                    ),
                )
            )
        with self.engine.connect() as conn:
            return [_order(r) for r in conn.execute(query).all()]

    def follow_ups(self, start: datetime, end: datetime) -> list[OrderEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_EVENTS)
                .where(_EVENTS.c.action == "follow_up", _EVENTS.c.at >= start,
                       _EVENTS.c.at < end)
                .order_by(_EVENTS.c.at)
            ).all()
        return [_event(r) for r in rows]

    def find(
        self, *, agent_id: str | None = None, team: str | None = None,
        state: State | None = None, limit: int = 100,
    ) -> list[WorkOrder]:
        """Newest first; filtered by owner (the API's scopes) and state."""
        query = select(_ORDERS).order_by(_ORDERS.c.opened_at.desc()).limit(limit)
        if agent_id is not None:
            query = query.where(_ORDERS.c.agent_id == agent_id)
        if team is not None:
            query = query.where(_ORDERS.c.team == team)
        if state is not None:
            query = query.where(_ORDERS.c.state == state.value)
        with self.engine.connect() as conn:
            return [_order(r) for r in conn.execute(query).all()]

    def load_limits(self) -> Limits | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(_SETTINGS.c.value).where(_SETTINGS.c.name == "limits")
            ).scalar()
        return None if value is None else Limits.from_json(orjson.loads(value))

    def save_limits(self, limits: Limits) -> None:
        value = orjson.dumps(limits.as_json()).decode()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(_SETTINGS).where(_SETTINGS.c.name == "limits").values(value=value)
            )
            if done.rowcount == 0:
                conn.execute(insert(_SETTINGS), [{"name": "limits", "value": value}])
