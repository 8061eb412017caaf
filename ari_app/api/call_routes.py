"""Live calls, queues and transfers. An agent transfers its own calls; a team lead its
team's; a supervisor any. Targets come only from the configuration (departments of the
directory, queues, agents): the API never dials a number a client made up."""

from enum import Enum
from typing import Annotated

from fastapi import Depends, FastAPI

from ari_app.api.access import OWN_TEAM_ALL, Access, ApiContext, Policy
from ari_app.api.control import CallInfo, QueueInfo, TransferInfo, TransferTarget
from ari_app.api.errors import ApiError
from ari_app.api.schemas import CallIdPath, TransferIn
from ari_app.config.settings import Config


def resolve_target(config: Config, text: str) -> TransferTarget:
    """`queue:NAME`, `agent:ID` or a department name, checked against the configuration;
    the 422 never echoes the text (no input is echoed)."""
    kind, _, rest = text.partition(":")
    if kind == "queue" and rest:
        if rest not in {q.name for q in config.queues}:
            raise ApiError(422, "body.target: not a configured queue")
        return TransferTarget("queue", rest)
    if kind == "agent" and rest:
        if rest not in {a.id for a in config.agents}:
            raise ApiError(422, "body.target: not a configured agent")
        return TransferTarget("agent", rest)
    if text not in {d.name for d in config.departments}:
        raise ApiError(422, "body.target: not a configured department")
    return TransferTarget("department", text)


def call_routes(ctx: ApiContext, app: FastAPI) -> None:
    tags: list[str | Enum] = ["calls"]
    control = ctx.control

    listing = Policy(ctx, "call.list", "call", OWN_TEAM_ALL)

    @app.get("/calls", tags=tags, response_model=list[CallInfo], **listing.options())
    async def list_calls(access: Annotated[Access, Depends(listing)]) -> list[CallInfo]:
        """Live calls the caller may see: own, own team's (both: with an agent), or all."""
        return [c for c in await control.live_calls() if access.sees_agent(c.agent_id)]

    show = Policy(ctx, "call.show", "call", OWN_TEAM_ALL)

    @app.get("/calls/{call_id}", tags=tags, response_model=CallInfo, **show.options(404))
    async def get_call(call_id: CallIdPath, access: Annotated[Access, Depends(show)]) -> CallInfo:
        return await control.call(call_id)

    transfer = Policy(ctx, "call.transfer", "call", OWN_TEAM_ALL, audit="always")

    @app.post(
        "/calls/{call_id}/transfer",
        tags=tags,
        response_model=TransferInfo,
        **transfer.options(404, 409),
    )
    async def start_transfer(
        call_id: CallIdPath, body: TransferIn, access: Annotated[Access, Depends(transfer)]
    ) -> TransferInfo:
        """Blind: the caller hears the department's announcement and moves. Attended: the
        caller holds while the agent consults; then complete or cancel."""
        target = resolve_target(ctx.config, body.target)
        with access.audited(kind=body.kind, target=body.target):
            return await control.transfer(call_id, body.kind, target)

    complete = Policy(ctx, "call.transfer_complete", "call", OWN_TEAM_ALL, audit="always")

    @app.post(
        "/calls/{call_id}/transfer/complete",
        tags=tags,
        response_model=TransferInfo,
        **complete.options(404, 409),
    )
    async def complete_transfer(
        call_id: CallIdPath, access: Annotated[Access, Depends(complete)]
    ) -> TransferInfo:
        with access.audited():
            return await control.complete_transfer(call_id)

    cancel = Policy(ctx, "call.transfer_cancel", "call", OWN_TEAM_ALL, audit="always")

    @app.post(
        "/calls/{call_id}/transfer/cancel",
        tags=tags,
        response_model=TransferInfo,
        **cancel.options(404, 409),
    )
    async def cancel_transfer(
        call_id: CallIdPath, access: Annotated[Access, Depends(cancel)]
    ) -> TransferInfo:
        with access.audited():
            return await control.cancel_transfer(call_id)

    queues = Policy(ctx, "queue.list", "queue", {"team_lead": "all", "supervisor": "all"})

    @app.get("/queues", tags=tags, response_model=list[QueueInfo], **queues.options())
    async def list_queues(access: Annotated[Access, Depends(queues)]) -> list[QueueInfo]:
        return list(await control.queues())
