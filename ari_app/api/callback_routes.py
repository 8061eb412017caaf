"""Callbacks over HTTP (docs/callbacks.md): schedule "call me back within N working days",
list, show with attempts, cancel; supervisors read a pending callback's full number
through an audited route.

The engine dials, so nobody needs the number to work a callback: every answer shows it
masked. Live changes (schedule, cancel) go to the engine on the loop; reads come from the
records (`callbacks`, `callback_attempts`) in a worker thread, after the records writer has
caught up (`settle`), so a client reads what it just did.
"""

import asyncio
import contextlib
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ari_app.api.access import Access, ApiContext, Policy, Roles, Scope
from ari_app.api.auth import Principal
from ari_app.api.control import Conflict, InvalidState, NotFound
from ari_app.api.errors import ApiError
from ari_app.api.schemas import CALL_ID
from ari_app.callbacks import Callback, Kind, State
from ari_app.config.settings import Config
from ari_app.domain.privacy import mask

CALLBACK_ID = r"^[A-Za-z0-9._:@-]{1,64}$"  # also an MQTT topic segment
NUMBER = r"^\+?[0-9]{3,20}$"  # what the engine will dial (CallbackSettings.endpoint)
QUEUE = r"^[A-Za-z0-9_-]{1,64}$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{1,500}$"
CallbackIdPath = Annotated[str, Path(pattern=CALLBACK_ID)]

MINE: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}
REQUESTERS: Roles = {"agent": "self", "team_lead": "all", "supervisor": "all"}
CANCELLERS: Roles = {"agent": "self", "supervisor": "all"}
SUPERVISORS: Roles = {"supervisor": "all"}
SETTLE_SECONDS = 2.0
T = TypeVar("T")


@dataclass(frozen=True)
class CallOrigin:
    """A call a callback is asked for on: its queue, the agent who handled it, and the
    caller's number if it is still known in full ("" otherwise)."""

    queue: str
    agent_id: str
    number: str


class CallbackEngine(Protocol):
    """The live side (`ari_app.shell.callbacks.EngineCallbacks`), called on the loop."""

    def schedule(self, callback: Callback, within_days: int | None) -> Callback: ...
        # ValueError: no such queue

    def cancel(self, callback_id: str, by: str) -> Callback: ...  # KeyError: not pending


class CallbackReads(Protocol):
    """The records (`ari_app.records.callbacks.SqlCallbackStore`), called in a thread."""

    def get(self, callback_id: str) -> Callback | None: ...

    def attempts(self, callback_id: str) -> list[dict[str, Any]]: ...

    def find(
        self, *, queues: Sequence[str] | None = None, agent_id: str | None = None,
        requested_by: Sequence[str] | None = None, states: Sequence[str] | None = None,
        queue: str | None = None, limit: int = 200,
    ) -> list[Callback]: ...


@dataclass
class CallbackDesk:
    """What the routes (and the work orders' follow-up) need: the engine, the records, a
    call's origin (in a thread: it may read the records), and a wait for the records
    writer to catch up."""

    engine: CallbackEngine
    reads: CallbackReads
    origin: Callable[[str], CallOrigin | None]
    settle: Callable[[], Awaitable[None]] | None = None

    async def read(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.settle is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.settle(), SETTLE_SECONDS)
        return await asyncio.to_thread(func, *args, **kwargs)


# ---------------------------------------------------------------------------- who sees what


def requester(who: Principal) -> str:
    """`requested_by` of a callback this user asks for."""
    return f"agent:{who.agent_id}" if who.role == "agent" and who.agent_id else f"user:{who.name}"


def _queues_of(config: Config, agent_ids: Collection[str]) -> frozenset[str] | None:
    """The queues these agents serve (None: every queue — an agent with none listed)."""
    out: set[str] = set()
    for agent in config.agents:
        if agent.id in agent_ids:
            if not agent.queues:
                return None
            out.update(agent.queues)
    return frozenset(out)


@dataclass(frozen=True)
class View:
    """A caller's view of the callbacks: those of `queues` (None: all), dialled by
    `agent_id`, or asked for by one of `requesters`."""

    queues: frozenset[str] | None
    agent_id: str | None
    requesters: frozenset[str]

    def sees(self, cb: Callback) -> bool:
        return (
            self.queues is None or cb.queue in self.queues
            or (bool(self.agent_id) and cb.agent_id == self.agent_id)
            or cb.requested_by in self.requesters
        )


def view(ctx: ApiContext, who: Principal, scope: Scope) -> View | None:
    """None: everything (supervisors)."""
    if scope == "all":
        return None
    if scope == "self":
        agents = {who.agent_id} if who.agent_id else set()
    else:
        agents = {a for a, t in ctx.team_of.items() if who.team and t == who.team}
    queues = _queues_of(ctx.config, agents) if agents else frozenset()
    requesters = {f"agent:{a}" for a in agents} | {f"user:{who.name}"}
    return View(queues, who.agent_id if scope == "self" else None, frozenset(requesters))


# ---------------------------------------------------------------------------- bodies


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: Annotated[str | None, Field(
        pattern=CALL_ID, description="the call it is asked for on (an agent: a call they handled)"
    )] = None
    number: Annotated[str | None, Field(
        pattern=NUMBER, description="the number to call back (default: the call's caller)"
    )] = None
    queue: Annotated[str | None, Field(
        pattern=QUEUE, description="default: the call's queue, or the only queue"
    )] = None
    reason: Annotated[str, Field(pattern=TEXT, description="why, for the agent who calls")]
    within_days: Annotated[int | None, Field(
        ge=0, le=30, description="working days (default: the queue's within_working_days)"
    )] = None


class AttemptOut(BaseModel):
    attempt: int
    agent_id: str
    call_id: str
    started_at: datetime | None
    ended_at: datetime | None
    result: str


class CallbackOut(BaseModel):
    callback_id: str
    kind: Kind
    queue: str
    caller: str = Field(description="masked: the engine dials, nobody needs the number")
    reason: str
    requested_by: str
    call_id: str
    order_id: str
    state: State
    attempts: int
    max_attempts: int
    last_result: str
    agent_id: str
    requested_at: datetime
    not_before: datetime
    due_by: datetime | None
    due_at: datetime | None
    answered_at: datetime | None
    answered_call_id: str
    updated_at: datetime
    attempt_log: list[AttemptOut] | None = None


class NumberOut(BaseModel):
    callback_id: str
    number: str


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def callback_out(cb: Callback, attempts: list[dict[str, Any]] | None = None) -> CallbackOut:
    return CallbackOut(
        callback_id=cb.id, kind=cb.kind, queue=cb.queue, caller=mask(cb.caller_number),
        reason=cb.reason, requested_by=cb.requested_by, call_id=cb.call_id,
        order_id=cb.order_id, state=cb.state, attempts=cb.attempts,
        max_attempts=cb.max_attempts, last_result=cb.last_result, agent_id=cb.agent_id,
        requested_at=datetime.fromtimestamp(cb.requested_at, UTC),
        not_before=datetime.fromtimestamp(cb.not_before, UTC), due_by=_at(cb.due_by),
        due_at=_at(cb.due_at), answered_at=_at(cb.answered_at),
        answered_call_id=cb.answered_call_id,
        updated_at=datetime.fromtimestamp(cb.updated_at or cb.requested_at, UTC),
        attempt_log=None if attempts is None else [
            AttemptOut(
                attempt=a["attempt"], agent_id=a["agent_id"], call_id=a["call_id"],
                started_at=_at(a["started_at"]), ended_at=_at(a["ended_at"]),
                result=a["result"],
            ) for a in attempts
        ],
    )


def new_callback(
    config: Config, callback_id: str, *, kind: Kind, queue: str, number: str, reason: str,
    requested_by: str, call_id: str, now: float, order_id: str = "",
) -> tuple[Callback, int]:
    """A scheduled callback as the queue's settings want it, and its default deadline in
    working days. ApiError 422 for an unknown queue."""
    settings = next((q for q in config.queues if q.name == queue), None)
    if settings is None:
        raise ApiError(422, f"body.queue: no queue {queue!r}")
    s = settings.callback
    cb = Callback(
        id=callback_id, kind=kind, queue=queue, caller_number=number, reason=reason,
        requested_by=requested_by, call_id=call_id, requested_at=now, first_arrival=now,
        not_before=now, max_attempts=s.attempts, retry_seconds=s.retry_seconds,
        order_id=order_id, updated_at=now,
    )
    return cb, s.within_working_days


async def origin_of(desk: CallbackDesk, call_id: str) -> CallOrigin:
    found = await asyncio.to_thread(desk.origin, call_id)
    if found is None:
        raise ApiError(404, f"no call {call_id} in the engine or the records")
    return found


# ---------------------------------------------------------------------------- policy


@dataclass(frozen=True, eq=False)
class CallbackPolicy(Policy):
    """A policy whose object is the callback in the path. `requested`: only the one who
    asked for it (cancelling); otherwise whoever's view holds it."""

    desk: CallbackDesk | None = None
    requested: bool = False

    def _object_id(self, request: Request) -> str:
        value = str(request.path_params.get("callback_id", ""))
        if value and not re.fullmatch(CALLBACK_ID, value):
            raise ApiError(422, f"path.callback_id: must match {CALLBACK_ID}")
        return value

    async def _owns(self, who: Principal, scope: Scope, object_id: str) -> bool:
        assert self.desk is not None
        cb = await self.desk.read(self.desk.reads.get, object_id)
        if cb is None:
            raise NotFound(f"no callback {object_id}")
        if self.requested:
            return cb.requested_by == requester(who)
        seen = view(self.context, who, scope)
        return seen is None or seen.sees(cb)

    def _not_owned(self, scope: Scope, object_id: str) -> str:
        if self.requested:
            return f"callback {object_id} was not asked for by you"
        return f"callback {object_id} is not in your queues"


def callback_routes(ctx: ApiContext, app: FastAPI, desk: CallbackDesk) -> None:
    tags: list[str | Enum] = ["callbacks"]
    config = ctx.config

    def policy(action: str, roles: Roles, audit: bool, requested: bool = False) -> (
        CallbackPolicy
    ):
        return CallbackPolicy(ctx, action, "callback", roles, "always" if audit else "never",
                              desk=desk, requested=requested)

    def deny(access: Access, reason: str) -> ApiError:
        access.context.auditor.write(access.who, access.policy.action, "callback", "",
                                     "denied", {"reason": reason})
        return ApiError(403, reason)

    schedule = policy("callback.schedule", REQUESTERS, audit=True)

    @app.post("/callbacks", status_code=201, tags=tags, response_model=CallbackOut,
              **schedule.options(404, 422))
    async def schedule_callback(
        body: ScheduleIn, access: Annotated[Access, Depends(schedule)]
    ) -> CallbackOut:
        """"Call me back within N working days". An agent asks for a call they handled
        (`call_id`) or for a number, into a queue they serve; team leads and supervisors
        for anyone. The engine dials it when it is due, the queue is open and an agent is
        free, before no caller who was waiting earlier."""
        who = access.who
        if body.call_id is None and body.number is None:
            raise ApiError(422, "body: give call_id (the number is the call's) or number")
        origin = await origin_of(desk, body.call_id) if body.call_id else None
        if origin is not None and who.role == "agent" and origin.agent_id != who.agent_id:
            raise deny(access, f"call {body.call_id} was not handled by you")
        number = body.number or (origin.number if origin else "")
        if not number:
            raise ApiError(422, f"body.number: call {body.call_id}'s number is no longer "
                                "kept in full; give the number to call")
        served = _queues_of(config, {who.agent_id or ""}) if who.role == "agent" else None
        queue = body.queue or (origin.queue if origin else "")
        if not queue and served is not None and len(served) == 1:
            (queue,) = served  # the agent's only queue
        if not queue and len(config.queues) == 1:
            queue = config.queues[0].name
        if not queue:
            raise ApiError(422, "body.queue: required (no call to take it from)")
        if who.role == "agent" and served is not None and queue not in served:
            raise deny(access, f"you do not serve queue {queue}")
        now = ctx.clock().timestamp()
        cb, default_days = new_callback(
            config, f"cbr-{secrets.token_hex(8)}", kind=Kind.SCHEDULED, queue=queue,
            number=number, reason=body.reason, requested_by=requester(who),
            call_id=body.call_id or "", now=now,
        )
        days = default_days if body.within_days is None else body.within_days
        with access.audited(callback=cb.id, queue=queue, within_days=str(days),
                            call=body.call_id or "", caller=mask(number)):
            try:
                cb = desk.engine.schedule(cb, days)
            except ValueError as exc:
                raise InvalidState(str(exc)) from exc
        return callback_out(cb)

    listing = policy("callback.list", MINE, audit=False)

    @app.get("/callbacks", tags=tags, response_model=list[CallbackOut],
             **listing.options())
    async def list_callbacks(
        access: Annotated[Access, Depends(listing)],
        state: Annotated[list[State] | None, Query()] = None,
        queue: Annotated[str | None, Query(pattern=QUEUE)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[CallbackOut]:
        """Newest first. Agents: the callbacks of their queues, those they dialled and
        those they asked for; team leads: their team's; supervisors: all. Numbers masked."""
        seen = view(ctx, access.who, access.scope)
        kwargs: dict[str, Any] = {
            "states": [s.value for s in state] if state else None, "queue": queue,
            "limit": limit,
        }
        if seen is not None and seen.queues is not None:
            kwargs.update(queues=sorted(seen.queues), agent_id=seen.agent_id,
                          requested_by=sorted(seen.requesters))
        found = await desk.read(lambda: desk.reads.find(**kwargs))
        return [callback_out(cb) for cb in found]

    show = policy("callback.show", MINE, audit=False)

    @app.get("/callbacks/{callback_id}", tags=tags, response_model=CallbackOut,
             **show.options(404))
    async def show_callback(
        callback_id: CallbackIdPath, access: Annotated[Access, Depends(show)]
    ) -> CallbackOut:
        """One callback with its attempts (who dialled, the attempt's call, the result)."""
        cb = await desk.read(desk.reads.get, callback_id)
        if cb is None:
            raise NotFound(f"no callback {callback_id}")
        return callback_out(cb, await desk.read(desk.reads.attempts, callback_id))

    number = policy("callback.number", SUPERVISORS, audit=True)

    @app.get("/callbacks/{callback_id}/number", tags=tags, response_model=NumberOut,
             **number.options(404))
    async def callback_number(
        callback_id: CallbackIdPath, access: Annotated[Access, Depends(number)]
    ) -> NumberOut:
        """The full number of a pending callback (supervisors; audited). Once a callback
        is over the records keep the number masked only."""
        with access.audited():
            cb = await desk.read(desk.reads.get, callback_id)
            if cb is None:
                raise NotFound(f"no callback {callback_id}")
            if not cb.pending:
                raise InvalidState(f"callback {callback_id} is {cb.state}: its number is "
                                   "no longer kept")
        return NumberOut(callback_id=cb.id, number=cb.caller_number)

    cancel = policy("callback.cancel", CANCELLERS, audit=True, requested=True)

    @app.post("/callbacks/{callback_id}/cancel", tags=tags, response_model=CallbackOut,
              **cancel.options(404, 409))
    async def cancel_callback(
        callback_id: CallbackIdPath, access: Annotated[Access, Depends(cancel)]
    ) -> CallbackOut:
        """Supervisors any pending callback (a dial going on is hung up); an agent the
        ones they asked for, while they are not being dialled."""
        with access.audited() as notes:
            cb = await desk.read(desk.reads.get, callback_id)
            if cb is None:
                raise NotFound(f"no callback {callback_id}")
            notes["state"] = cb.state.value
            if not cb.pending:
                raise InvalidState(f"callback {callback_id} is {cb.state}: nothing to cancel")
            if cb.state is State.DIALLING and access.scope != "all":
                raise Conflict(f"callback {callback_id} is being dialled; a supervisor may "
                               "cancel it")
            try:
                cb = desk.engine.cancel(callback_id, access.who.name)
            except KeyError as exc:
                raise InvalidState(f"callback {callback_id} is no longer pending") from exc
        return callback_out(cb)
