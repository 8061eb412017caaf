"""Agent routes: an agent's own state (login with PIN, pause with reason, wrap-up, logout),
also reachable by the agent's team lead and by supervisors (not login: an agent id is
never lent, so only the agent's own user logs it in, with its PIN)."""

from enum import Enum
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from ari_app.api.access import OWN_TEAM_ALL, Access, ApiContext, Policy
from ari_app.api.control import AgentInfo, Forbidden
from ari_app.api.errors import ApiError
from ari_app.api.phones import check_device
from ari_app.api.schemas import AgentIdPath, LoginIn, PauseIn


def agent_routes(ctx: ApiContext, app: FastAPI) -> None:
    tags: list[str | Enum] = ["agents"]
    control = ctx.control

    listing = Policy(ctx, "agent.list", "agent", OWN_TEAM_ALL)

    @app.get("/agents", tags=tags, response_model=list[AgentInfo], **listing.options())
    async def list_agents(access: Annotated[Access, Depends(listing)]) -> list[AgentInfo]:
        """The agents the caller may see: self, own team, or all."""
        return [a for a in await control.agents() if access.sees_agent(a.agent_id)]

    show = Policy(ctx, "agent.show", "agent", OWN_TEAM_ALL)

    @app.get("/agents/{agent_id}", tags=tags, response_model=AgentInfo, **show.options(404))
    async def get_agent(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(show)]
    ) -> AgentInfo:
        return await control.agent(agent_id)

    login = Policy(ctx, "agent.login", "agent", {"agent": "self"})

    @app.post(
        "/agents/{agent_id}/login", tags=tags, response_model=AgentInfo, **login.options(404, 409)
    )
    async def agent_login(
        agent_id: AgentIdPath,
        body: LoginIn,
        request: Request,
        access: Annotated[Access, Depends(login)],
    ) -> AgentInfo:
        """Log the agent in on a configured phone; wrong PINs count towards the login rate
        limit."""
        device = check_device(ctx.phones, body.device)
        key = f"pin:{agent_id}"
        ip = request.client.host if request.client else "unknown"
        wait = ctx.throttle.retry_after(key, ip, ctx.clock())
        if wait is not None:
            raise ApiError(
                429,
                "too many wrong PINs; try again later",
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        try:
            info = await control.login(agent_id, body.pin, device)
        except Forbidden:
            ctx.throttle.failed(key, ip, ctx.clock())
            raise
        ctx.throttle.succeeded(key, ip)
        return info

    logout = Policy(ctx, "agent.logout", "agent", OWN_TEAM_ALL, audit="by_others")

    @app.post(
        "/agents/{agent_id}/logout", tags=tags, response_model=AgentInfo, **logout.options(404, 409)
    )
    async def agent_logout(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(logout)]
    ) -> AgentInfo:
        """Audited when someone other than the agent does it."""
        with access.audited():
            return await control.logout(agent_id, by=access.who.name)

    pause = Policy(ctx, "agent.pause", "agent", OWN_TEAM_ALL)

    @app.post(
        "/agents/{agent_id}/pause", tags=tags, response_model=AgentInfo, **pause.options(404, 409)
    )
    async def agent_pause(
        agent_id: AgentIdPath, body: PauseIn, access: Annotated[Access, Depends(pause)]
    ) -> AgentInfo:
        return await control.pause(agent_id, body.reason)

    unpause = Policy(ctx, "agent.unpause", "agent", OWN_TEAM_ALL)

    @app.post(
        "/agents/{agent_id}/unpause",
        tags=tags,
        response_model=AgentInfo,
        **unpause.options(404, 409),
    )
    async def agent_unpause(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(unpause)]
    ) -> AgentInfo:
        return await control.unpause(agent_id)

    wrapup = Policy(ctx, "agent.end_wrapup", "agent", OWN_TEAM_ALL)

    @app.post(
        "/agents/{agent_id}/wrapup/end",
        tags=tags,
        response_model=AgentInfo,
        **wrapup.options(404, 409),
    )
    async def agent_end_wrapup(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(wrapup)]
    ) -> AgentInfo:
        """Make the agent available before the wrap-up timer ends."""
        return await control.end_wrapup(agent_id)
