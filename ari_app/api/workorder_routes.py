"""Work orders over HTTP: agents create orders and act on their own, team leads assign and
act within their team, supervisors act on all (grant extensions, read the report), admins
set the time limits. Every change is audited and logged in the order's own event log.

The SQL work runs in a worker thread (the event loop carries calls); each change's log
line goes to `on_event` (MQTT) on the loop.
"""

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Protocol, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ari_app.api.access import Access, ApiContext, Policy, Roles, Scope
from ari_app.api.auth import Principal
from ari_app.api.callback_routes import NUMBER, QUEUE, CallbackDesk, new_callback, requester
from ari_app.api.control import Conflict, InvalidState, NotFound
from ari_app.api.errors import ApiError
from ari_app.api.schemas import CALL_ID, RECORDING_NAME
from ari_app.callbacks import Callback, Kind
from ari_app.domain.privacy import mask
from ari_app.workorders import machine
from ari_app.workorders.machine import Action, Actor
from ari_app.workorders.model import (
    Limits,
    OrderEvent,
    OrderType,
    Origin,
    State,
    Urgency,
    WorkOrder,
    WorkOrderError,
)
from ari_app.workorders.report import report
from ari_app.workorders.service import NewOrder, OrderNotFound, StaleOrder, WorkOrders

ORDER_ID = r"^[A-Za-z0-9._-]{1,64}$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{1,2000}$"  # the caller's words: any script, lines
NAME = r"^[^\x00-\x1f\x7f]{1,64}$"
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID)]

MINE: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}
COACH: Roles = {"team_lead": "team", "supervisor": "all"}
SUPERVISORS: Roles = {"supervisor": "all"}
ADMINS: Roles = {"admin": "all"}
T = TypeVar("T")


class OrderQueries(Protocol):
    """What the routes read besides the service (`SqlWorkOrderStore` has it all)."""

    def get(self, order_id: str) -> WorkOrder: ...

    def events(self, order_id: str) -> list[OrderEvent]: ...

    def find(
        self, *, agent_id: str | None = None, team: str | None = None,
        state: State | None = None, limit: int = 100,
    ) -> list[WorkOrder]: ...

    def orders(
        self, opened_before: datetime | None = None, touched_since: datetime | None = None
    ) -> list[WorkOrder]: ...

    def follow_ups(self, start: datetime, end: datetime) -> list[OrderEvent]: ...

    def load_limits(self) -> Limits | None: ...

    def save_limits(self, limits: Limits) -> None: ...


@dataclass
class WorkOrderDesk:
    """The API's work orders: the service, its store, and where log lines go."""

    service: WorkOrders
    queries: OrderQueries
    on_event: Callable[[OrderEvent, WorkOrder], None] = lambda event, order: None
    callbacks: CallbackDesk | None = None  # the follow-up's callback (回访); None: by hand

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args)
        except OrderNotFound as exc:
            raise NotFound(str(exc)) from exc
        except StaleOrder as exc:
            raise Conflict(str(exc)) from exc
        except WorkOrderError as exc:
            raise InvalidState(str(exc)) from exc


# ---------------------------------------------------------------------------- bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateIn(_Body):
    type: OrderType
    category: Annotated[str, Field(pattern=NAME)]
    urgency: Urgency = Urgency.NORMAL
    request: Annotated[str, Field(pattern=TEXT, description="the caller's words")]
    call_id: Annotated[str | None, Field(pattern=CALL_ID)] = None
    recording: Annotated[str | None, Field(pattern=RECORDING_NAME)] = None
    caller: Annotated[str | None, Field(pattern=r"^\+?[0-9]{1,20}$")] = None
    department: Annotated[str | None, Field(pattern=NAME)] = None
    opened_at: Annotated[
        AwareDatetime | None, Field(description="imports only (supervisors)")
    ] = None


class DepartmentIn(_Body):
    department: Annotated[str, Field(pattern=NAME)]


class ReasonIn(_Body):
    reason: Annotated[str, Field(pattern=TEXT)]


class CloseIn(_Body):
    result: Annotated[str, Field(pattern=TEXT, description="what was done (办理结果)")]


class ExtensionIn(_Body):
    days: Annotated[int, Field(ge=1, le=365, description="working days")]
    reason: Annotated[str, Field(pattern=TEXT)]


class FollowUpIn(_Body):
    satisfied: bool
    note: Annotated[str, Field(pattern=TEXT)] | None = None


class ScheduleIn(_Body):
    note: Annotated[str, Field(pattern=TEXT)] | None = None
    number: Annotated[str | None, Field(
        pattern=NUMBER, description="the number to call (default: the order's call's caller)"
    )] = None
    queue: Annotated[str | None, Field(
        pattern=QUEUE, description="the queue whose agents call (default: the call's)"
    )] = None
    within_days: Annotated[int | None, Field(
        ge=0, le=30, description="working days (default: the queue's within_working_days)"
    )] = None


class LimitsIn(_Body):
    days: dict[OrderType, dict[Urgency, Annotated[int, Field(ge=0, le=365)]]]
    reminder_share: Annotated[float, Field(gt=0, lt=1)] = 0.8


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    state: State
    detail: dict[str, str]


class OrderOut(BaseModel):
    order_id: str
    type: OrderType
    category: str
    urgency: Urgency
    request: str
    origin: Origin
    created_by: str
    agent_id: str
    team: str
    call_id: str
    recording: str
    caller: str
    department: str
    state: State
    opened_at: datetime
    due_at: datetime
    limit_days: int
    extension_days: int
    paused_days: int
    paused: bool
    extension_requested: int
    reminded: bool
    escalated: bool
    overdue: bool
    closed_at: datetime | None
    closed_on_time: bool | None
    satisfied: bool | None
    reopen_count: int
    events: list[EventOut] | None = None
    follow_up_callback: str | None = Field(
        default=None, description="the follow-up's callback (POST .../follow-up/schedule)")


class ReportLineOut(BaseModel):
    type: str
    department: str
    opened: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    overdue_now: int
    average_working_days_to_close: float | None
    follow_ups: int
    satisfied: int
    satisfaction_rate: float | None


def _out(order: WorkOrder, now: datetime, events: Sequence[OrderEvent] | None = None) -> OrderOut:
    data = asdict(order)
    for drop in ("round_started_at", "paused_since", "version"):
        data.pop(drop)
    return OrderOut(
        **data, paused=order.paused_since is not None, overdue=order.overdue(now),
        events=None if events is None else [
            EventOut(seq=e.seq, at=e.at, actor=e.actor, role=e.role, action=e.action,
                     state=e.state, detail=dict(e.detail)) for e in events
        ],
    )


# ---------------------------------------------------------------------------- policy


@dataclass(frozen=True, eq=False)
class OrderPolicy(Policy):
    """A policy whose object is the work order in the path: an agent's own orders, a team
    lead's team's orders, everything for supervisors."""

    desk: WorkOrderDesk | None = None

    def _object_id(self, request: Request) -> str:
        import re

        value = str(request.path_params.get("order_id", ""))
        if value and not re.fullmatch(ORDER_ID, value):
            raise ApiError(422, f"path.order_id: must match {ORDER_ID}")
        return value

    async def _owns(self, who: Principal, scope: Scope, object_id: str) -> bool:
        assert self.desk is not None
        order = await self.desk.run(self.desk.queries.get, object_id)
        return sees(who, scope, order)


def sees(who: Principal, scope: Scope, order: WorkOrder) -> bool:
    if scope == "all":
        return True
    if scope == "self":
        return bool(who.agent_id) and order.agent_id == who.agent_id
    return bool(who.team) and order.team == who.team


def follow_up_id(order: WorkOrder) -> str:
    """The callback of this round's follow-up: one per round (a reopened order's next
    follow-up is a new one)."""
    cid = f"fu-{order.order_id}-{order.reopen_count}"
    if len(cid) <= 64:
        return cid
    return f"fu-{hashlib.sha256(order.order_id.encode()).hexdigest()[:40]}-{order.reopen_count}"


def workorder_routes(ctx: ApiContext, app: FastAPI, desk: WorkOrderDesk) -> None:
    tags: list[str | Enum] = ["work orders"]

    def policy(action: str, roles: Roles, audit: Literal["never", "always"] = "always") -> (
        OrderPolicy
    ):
        return OrderPolicy(ctx, action, "workorder", roles, audit, desk=desk)

    def actor(access: Access) -> Actor:
        return Actor(access.who.name, access.who.role)

    async def act(access: Access, order_id: str, action: Action, **notes: str) -> OrderOut:
        now = ctx.clock()
        with access.audited(action=machine.ACTION_NAMES[type(action)], **notes):
            order, event = await desk.run(desk.service.act, order_id, action, actor(access), now)
        desk.on_event(event, order)
        return _out(order, now)

    create = policy("workorder.create", MINE)

    @app.post("/workorders", status_code=201, tags=tags, response_model=OrderOut,
              **create.options(422))
    async def create_order(body: CreateIn, access: Annotated[Access, Depends(create)]) -> OrderOut:
        """A new order (受理). Agents' orders are theirs (linked to the call, its recording
        and the caller); `opened_at` (an import from another system) is for supervisors."""
        who = access.who
        if body.opened_at is not None and who.role != "supervisor":
            raise ApiError(403, "only supervisors import orders (opened_at)")
        agent_id = who.agent_id or "" if who.role == "agent" else ""
        team = ctx.team_of.get(agent_id, "") if agent_id else who.team or ""
        origin = (
            Origin.IMPORT if body.opened_at is not None
            else Origin.CALL if who.role == "agent" or body.call_id else Origin.SUPERVISOR
        )
        new = NewOrder(
            type=body.type, category=body.category, urgency=body.urgency,
            request=body.request, origin=origin, created_by=who.name, agent_id=agent_id,
            team=team, call_id=body.call_id or "", recording=body.recording or "",
            caller=mask(body.caller) if body.caller else "",
            department=body.department or "", opened_at=body.opened_at,
        )
        now = ctx.clock()
        with access.audited(type=body.type.value) as notes:
            order, event = await desk.run(desk.service.create, new, actor(access), now)
            notes["order"] = order.order_id
        desk.on_event(event, order)
        return _out(order, now)

    listing = policy("workorder.list", MINE, "never")

    @app.get("/workorders", tags=tags, response_model=list[OrderOut], **listing.options())
    async def list_orders(
        access: Annotated[Access, Depends(listing)],
        state: Annotated[State | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[OrderOut]:
        """Newest first: own orders, the team's, or all."""
        who = access.who
        if access.scope == "self" and not who.agent_id:
            return []
        if access.scope == "team" and not who.team:
            return []
        orders = await desk.run(
            lambda: desk.queries.find(
                agent_id=who.agent_id if access.scope == "self" else None,
                team=who.team if access.scope == "team" else None,
                state=state, limit=limit,
            )
        )
        now = ctx.clock()
        return [_out(o, now) for o in orders]

    reporting = policy("workorder.report", SUPERVISORS, "never")

    @app.get("/workorders/report", tags=tags, response_model=list[ReportLineOut],
             **reporting.options(422))
    async def order_report(
        access: Annotated[Access, Depends(reporting)],
        start: Annotated[AwareDatetime, Query(alias="from")],
        end: Annotated[AwareDatetime, Query(alias="to")],
    ) -> list[ReportLineOut]:
        """Per type and department over [from, to): opened, closed, on time, on-time rate
        (投诉处理及时率 for complaints), overdue now, working days to close, 回访满意率."""
        if end <= start:
            raise ApiError(422, "query.to: must be after from")

        def lines() -> list[dict[str, object]]:
            rules = desk.service.rules()
            orders = desk.queries.orders(end, start)
            follow = desk.queries.follow_ups(start, end)
            return [x.as_dict() for x in report(rules, orders, follow, start, end, ctx.clock())]

        return [ReportLineOut.model_validate(x) for x in await desk.run(lines)]

    show = policy("workorder.show", MINE, "never")

    @app.get("/workorders/{order_id}", tags=tags, response_model=OrderOut,
             **show.options(404))
    async def show_order(order_id: OrderIdPath, access: Annotated[Access, Depends(show)]) -> (
        OrderOut
    ):
        """The order with its whole event log."""
        order = await desk.run(desk.queries.get, order_id)
        events = await desk.run(desk.queries.events, order_id)
        return _out(order, ctx.clock(), events)

    assign = policy("workorder.assign", COACH)

    @app.post("/workorders/{order_id}/assign", tags=tags, response_model=OrderOut,
              **assign.options(404, 409, 422))
    async def assign_order(order_id: OrderIdPath, body: DepartmentIn,
                           access: Annotated[Access, Depends(assign)]) -> OrderOut:
        """派单 to a department (again after a return or a reopening)."""
        return await act(access, order_id, machine.Assign(body.department),
                         department=body.department)

    def simple(path: str, name: str, roles: Roles, make: Callable[[], Action], doc: str) -> None:
        pol = policy(f"workorder.{name}", roles)

        async def handler(order_id: OrderIdPath,
                          access: Annotated[Access, Depends(pol)]) -> OrderOut:
            return await act(access, order_id, make())

        handler.__doc__ = doc
        app.post(path, tags=tags, response_model=OrderOut, name=name,
                 **pol.options(404, 409, 422))(handler)

    simple("/workorders/{order_id}/acknowledge", "acknowledge", MINE, machine.Acknowledge,
           "签收: the department has it.")
    simple("/workorders/{order_id}/start", "start", MINE, machine.Start, "办理: work began.")
    simple("/workorders/{order_id}/resume", "resume", MINE, machine.Resume,
           "The caller answered: the clock runs again, the deadline moved by the pause.")
    simple("/workorders/{order_id}/extension/grant", "extension_grant", SUPERVISORS,
           machine.GrantExtension, "Grant the requested extension (supervisors).")
    simple("/workorders/{order_id}/archive", "archive", COACH, machine.Archive,
           "归档 a closed order that needs no follow-up.")

    def with_reason(path: str, name: str, roles: Roles,
                    make: Callable[[str], Action], doc: str) -> None:
        pol = policy(f"workorder.{name}", roles)

        async def handler(order_id: OrderIdPath, body: ReasonIn,
                          access: Annotated[Access, Depends(pol)]) -> OrderOut:
            return await act(access, order_id, make(body.reason))

        handler.__doc__ = doc
        app.post(path, tags=tags, response_model=OrderOut, name=name,
                 **pol.options(404, 409, 422))(handler)

    with_reason("/workorders/{order_id}/pause", "pause", MINE, machine.Pause,
                "Wait for the caller: the clock stops.")
    with_reason("/workorders/{order_id}/return", "return", MINE, machine.Return,
                "退单: the department sends it back to the centre.")
    with_reason("/workorders/{order_id}/extension/refuse", "extension_refuse", SUPERVISORS,
                machine.RefuseExtension, "Refuse the requested extension (supervisors).")

    close = policy("workorder.close", MINE)

    @app.post("/workorders/{order_id}/close", tags=tags, response_model=OrderOut,
              **close.options(404, 409, 422))
    async def close_order(order_id: OrderIdPath, body: CloseIn,
                          access: Annotated[Access, Depends(close)]) -> OrderOut:
        """办结, with what was done; on time if at or before the deadline."""
        return await act(access, order_id, machine.Close(body.result))

    extension = policy("workorder.extension_request", MINE)

    @app.post("/workorders/{order_id}/extension", tags=tags, response_model=OrderOut,
              **extension.options(404, 409, 422))
    async def request_extension(order_id: OrderIdPath, body: ExtensionIn,
                                access: Annotated[Access, Depends(extension)]) -> OrderOut:
        """Ask a supervisor for more working days."""
        return await act(access, order_id, machine.RequestExtension(body.days, body.reason),
                         days=str(body.days))

    schedule = policy("workorder.follow_up_start", MINE)

    async def follow_up_callback(access: Access, order_id: str, body: ScheduleIn) -> (
        tuple[Callback, int] | None
    ):
        """The follow-up's callback, or None (no number known: the follow-up is by hand)."""
        if desk.callbacks is None:
            if body.number or body.queue or body.within_days is not None:
                raise ApiError(422, "body: callbacks are off; record the result by hand")
            return None
        order = await desk.run(desk.queries.get, order_id)
        origin = (await asyncio.to_thread(desk.callbacks.origin, order.call_id)
                  if order.call_id else None)
        number = body.number or (origin.number if origin else "")
        if not number:
            return None
        queue = body.queue or (origin.queue if origin else "")
        if not queue and len(ctx.config.queues) == 1:
            queue = ctx.config.queues[0].name
        if not queue:
            raise ApiError(422, "body.queue: required (the order has no call to take it from)")
        reason = f"回访 work order {order_id}" + (f": {body.note}" if body.note else "")
        cb, days = new_callback(
            ctx.config, follow_up_id(order), kind=Kind.FOLLOW_UP, queue=queue, number=number,
            reason=reason, requested_by=requester(access.who), call_id=order.call_id,
            now=ctx.clock().timestamp(), order_id=order.order_id,
        )
        return cb, days if body.within_days is None else body.within_days

    @app.post("/workorders/{order_id}/follow-up/schedule", tags=tags, response_model=OrderOut,
              **schedule.options(404, 409, 422))
    async def schedule_follow_up(order_id: OrderIdPath, body: ScheduleIn,
                                 access: Annotated[Access, Depends(schedule)]) -> OrderOut:
        """回访 planned. With a number (`number`, or the order's call's caller while the
        engine or the records know it) a callback of kind `follow_up` linked to the order is
        scheduled (`follow_up_callback`; its agent sees the order id); without one the call
        is made by hand. Either way the caller's verdict is recorded with POST .../follow-up,
        which also cancels the callback if it is still pending."""
        planned = await follow_up_callback(access, order_id, body)
        notes = {} if planned is None else {
            "callback": planned[0].id, "within_days": str(planned[1])}
        out = await act(access, order_id, machine.StartFollowUp(body.note or ""), **notes)
        if planned is not None and desk.callbacks is not None:
            out.follow_up_callback = desk.callbacks.engine.schedule(*planned).id
        return out

    follow = policy("workorder.follow_up", MINE)

    @app.post("/workorders/{order_id}/follow-up", tags=tags, response_model=OrderOut,
              **follow.options(404, 409, 422))
    async def follow_up(order_id: OrderIdPath, body: FollowUpIn,
                        access: Annotated[Access, Depends(follow)]) -> OrderOut:
        """回访 result: satisfied archives the order, dissatisfied reopens it (重办). A
        follow-up callback still pending is cancelled (the caller was reached otherwise)."""
        before = await desk.run(desk.queries.get, order_id)
        out = await act(access, order_id, machine.FollowUpResult(body.satisfied,
                                                                 body.note or ""),
                        satisfied=str(body.satisfied).lower())
        if desk.callbacks is not None:
            with contextlib.suppress(KeyError):  # none, or already over
                desk.callbacks.engine.cancel(follow_up_id(before), access.who.name)
        return out

    show_limits = Policy(ctx, "workorder.limits_show", "config", ADMINS)

    @app.get("/admin/workorders/limits", tags=tags, response_model=LimitsIn,
             **show_limits.options())
    async def get_limits(access: Annotated[Access, Depends(show_limits)]) -> LimitsIn:
        """Time limits in working days per type and urgency, and the reminder share."""
        return LimitsIn.model_validate((await desk.run(desk.service.rules)).limits.as_json())

    set_limits = Policy(ctx, "workorder.limits_set", "config", ADMINS, audit="always")

    @app.put("/admin/workorders/limits", tags=tags, response_model=LimitsIn,
             **set_limits.options(422))
    async def put_limits(body: LimitsIn,
                         access: Annotated[Access, Depends(set_limits)]) -> LimitsIn:
        """Replace the limits (every type and urgency); orders opened from now on use them."""
        with access.audited() as notes:
            limits = await desk.run(Limits.from_json, body.model_dump(mode="json"))
            await desk.run(desk.queries.save_limits, limits)
            notes["limits"] = ",".join(
                f"{t.value}/{u.value}={n}" for (t, u), n in sorted(limits.days.items())
            )
        return LimitsIn.model_validate(limits.as_json())
