"""Work orders in `hotline run`: the SQL-backed desk the API uses, its MQTT events, and the
periodic check that sends reminders (催办) and escalations (`deadlines.due_actions`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from ari_app.api.callback_routes import CallbackDesk
from ari_app.api.workorder_routes import WorkOrderDesk
from ari_app.config.settings import Config
from ari_app.config.site_calendar import site_calendar
from ari_app.mqtt.notifier import MqttNotifier
from ari_app.records.workorders import SqlWorkOrderStore
from ari_app.workorders.model import OrderEvent, WorkOrder
from ari_app.workorders.service import WorkOrders

log = logging.getLogger(__name__)
CHECK_SECONDS = 60.0


def workorder_desk(
    config: Config, engine: Engine, notifier: MqttNotifier | None,
    callbacks: CallbackDesk | None = None,
) -> WorkOrderDesk:
    """`callbacks`: a follow-up (回访) is a callback of kind follow_up linked to the order."""
    store = SqlWorkOrderStore(engine)
    service = WorkOrders(store, site_calendar(config), config.calendar.timezone)

    def publish(event: OrderEvent, order: WorkOrder) -> None:
        if notifier is not None:
            notifier.workorder_event(
                order.order_id, event.action, event.at, order_type=order.type.value,
                department=order.department, state=order.state.value, actor=event.actor,
                due_at=order.due_at,
            )
        if event.action in ("remind", "escalate"):
            log.info("work order %s: %s (%s, due %s)", order.order_id, event.action,
                     order.department or "not assigned", order.due_at.isoformat())

    return WorkOrderDesk(service, store, publish, callbacks)


async def check_every(
    desk: WorkOrderDesk, seconds: float, now: Callable[[], datetime]
) -> None:
    """Reminders and escalations due, every `seconds` of loop time, in a worker thread;
    each written once (the order's version guards it), then published. A failed check is
    logged and tried again next time."""
    while True:
        try:
            events = await asyncio.to_thread(desk.service.tick, now())
        except Exception:
            log.exception("work orders: the deadline check failed")
        else:
            for event in events:
                try:
                    order = await asyncio.to_thread(desk.queries.get, event.order_id)
                except Exception:
                    log.exception("work orders: cannot read %s", event.order_id)
                    continue
                desk.on_event(event, order)
        await asyncio.sleep(seconds)
