"""The console's routes on the API's app: pages, session login/logout, the event stream and
the actions, all under `/console`.

Who may do what is the API's rule, by the same `Policy` objects with the same roles,
scopes, action names and audit rows (`detail` adds `via=console`); only the way a caller
proves who they are differs: a session cookie from the login form (the configured users,
their hashed passwords, the API's login throttle) and, on every action, the session's CSRF
token. A monitoring leg dials the user's own phone (`users[].device`); an agent's login
uses the agent's configured phone. Nothing is loaded from elsewhere: the pages, scripts and
styles are files of this package (`static/`), served with a strict Content-Security-Policy.

(No `from __future__ import annotations` here: FastAPI reads the routes' annotations, which
name this function's local policies, at runtime.)
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ari_app.api.access import (
    OWN_TEAM_ALL,
    Access,
    ApiContext,
    Policy,
    Roles,
    client_address,
)
from ari_app.api.auth import Principal
from ari_app.api.call_routes import resolve_target
from ari_app.api.control import Forbidden, MonitorTarget
from ari_app.api.errors import ApiError
from ari_app.api.phones import check_device
from ari_app.api.schemas import (
    AgentIdPath,
    CallIdPath,
    ModeIn,
    PauseIn,
    SessionIdPath,
    TransferIn,
)
from ari_app.api.supervision_routes import COACHES, SESSION_OWNERS
from ari_app.console.board import Board
from ari_app.console.sessions import (
    CSRF_HEADER,
    Session,
    SessionStore,
    clear_cookie_header,
    cookie_header,
    cookie_token,
    csrf_ok,
    same_origin,
)

log = logging.getLogger(__name__)

PREFIX = "/console"
WALLBOARD_ROLES: Roles = {"team_lead": "team", "supervisor": "all"}
PANEL_ROLES: Roles = {"agent": "self"}
VIEWERS: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}
CHALLENGE = {"WWW-Authenticate": 'Cookie realm="hotline-console"'}  # never Basic: no prompt
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
DEFAULT_PAUSE_REASONS = ("break", "lunch", "training", "meeting")


class LoginFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,12}$")]


def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file of `static/`, read once: name -> (bytes, content type)."""
    out = {}
    for entry in resources.files("ari_app.console").joinpath("static").iterdir():
        name = entry.name
        suffix = name[name.rfind(".") :] if "." in name else ""
        if entry.is_file() and suffix in _TYPES:
            out[name] = (entry.read_bytes(), _TYPES[suffix])
    return out


@dataclass
class Console:
    """What the console's routes share."""

    ctx: ApiContext
    board: Board
    sessions: SessionStore
    files: dict[str, tuple[bytes, str]]

    def session(self, headers: Any) -> tuple[str, Session, Principal] | None:
        token = cookie_token(headers)
        session = self.sessions.get(token, self.ctx.clock())
        if token is None or session is None:
            return None
        user = self.ctx.passwords.user(session.user)
        if user is None:  # no longer configured
            self.sessions.close(token)
            return None
        return token, session, Principal.of(user)

    def check(self, headers: Any, method: str) -> tuple[str, Session, Principal]:
        """A live session, and for an unsafe method its CSRF token and a same-origin
        request; ApiError 401/403 otherwise."""
        found = self.session(headers)
        if found is None:
            raise ApiError(401, "not logged in to the console", headers=CHALLENGE)
        if method not in ("GET", "HEAD") and (
            not csrf_ok(found[1], headers.get(CSRF_HEADER)) or not same_origin(headers)
        ):
            raise ApiError(403, "missing or wrong CSRF token")
        return found

    def page(self, name: str, status: int = 200) -> Response:
        body, content_type = self.files[name]
        return Response(
            body,
            status_code=status,
            media_type=content_type,
            headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
        )


@dataclass(frozen=True, eq=False)
class SessionPolicy(Policy):
    """A `Policy` whose caller is the console session's user (cookie + CSRF)."""

    console: Console | None = None

    async def __call__(self, request: Request) -> Access:  # type: ignore[override]
        return await self.check(request, None, None)

    async def _authenticate(self, request: Request, basic: Any, bearer: Any) -> Principal:
        assert self.console is not None
        headers = {k.lower(): v for k, v in request.headers.items()}
        return self.console.check(headers, request.method)[2]


def mount_console(app: FastAPI, board: Board, *, session_ttl: timedelta | None = None) -> None:
    """Add the console's routes to the API's `app` (built by `create_api`)."""
    ctx: ApiContext = app.state.api_context
    ttl = session_ttl or timedelta(hours=ctx.config.console.session_hours)
    console = Console(ctx, board, SessionStore(ttl), static_files())
    app.state.console = console
    config = ctx.config
    control = ctx.control

    async def body_auth(scope: Any, headers: Any) -> None:
        """Before a console body is read: the login form is throttled by address, anything
        else needs a session and its CSRF token."""
        if scope.get("path") == f"{PREFIX}/login":
            wait = ctx.throttle.retry_after("", client_address(scope), ctx.clock())
            if wait is not None:
                raise ApiError(429, "too many failed logins; try again later",
                               headers={"Retry-After": str(max(1, int(wait + 0.999)))})
            return
        console.check(headers, str(scope.get("method", "POST")))

    ctx.body_auth[f"{PREFIX}/"] = body_auth

    def policy(action: str, object_type: Any, roles: Roles, audit: Any = "never") -> Any:
        return SessionPolicy(ctx, action, object_type, roles, audit, console=console)

    def touched(access: Access) -> None:
        board.touch()

    # ------------------------------------------------------------------ pages

    @app.get(PREFIX, include_in_schema=False)
    async def home(request: Request) -> Response:
        found = console.session(request.headers)
        if found is None:
            return RedirectResponse(f"{PREFIX}/login", status_code=303)
        role = found[2].role
        target = "agent" if role == "agent" else "wallboard" if role in WALLBOARD_ROLES else ""
        if not target:
            return console.page("forbidden.html", 403)
        return RedirectResponse(f"{PREFIX}/{target}", status_code=303)

    @app.get(f"{PREFIX}/login", include_in_schema=False)
    async def login_page() -> Response:
        return console.page("login.html")

    def gated_page(name: str, roles: Roles) -> Any:
        async def show(request: Request) -> Response:
            found = console.session(request.headers)
            if found is None:
                return RedirectResponse(f"{PREFIX}/login", status_code=303)
            if found[2].role not in roles:
                return console.page("forbidden.html", 403)
            return console.page(name)

        return show

    app.get(f"{PREFIX}/wallboard", include_in_schema=False)(
        gated_page("wallboard.html", WALLBOARD_ROLES)
    )
    app.get(f"{PREFIX}/agent", include_in_schema=False)(gated_page("agent.html", PANEL_ROLES))

    @app.get(f"{PREFIX}/static/{{name}}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in console.files or name.endswith(".html"):
            raise ApiError(404, "no such file")
        body, content_type = console.files[name]
        return Response(body, media_type=content_type,
                        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ session

    @app.post(f"{PREFIX}/login", include_in_schema=False)
    async def login(body: LoginFormIn, request: Request) -> Response:
        if not same_origin({k.lower(): v for k, v in request.headers.items()}):
            raise ApiError(403, "cross-site login refused")
        now = ctx.clock()
        ip = client_address(request.scope)
        wait = ctx.throttle.retry_after(body.user, ip, now)
        if wait is not None:
            raise ApiError(429, "too many failed logins; try again later",
                           headers={"Retry-After": str(max(1, int(wait + 0.999)))})
        user = await ctx.passwords.verify(body.user, body.password, now)
        if user is None:
            ctx.throttle.failed(body.user, ip, now)
            known = ctx.passwords.user(body.user) is not None
            log.warning("failed console login for %s from %s",
                        f"user {body.user}" if known else "an unknown user", ip)
            raise ApiError(401, "wrong user name or password", headers=CHALLENGE)
        ctx.throttle.succeeded(body.user, ip)
        if user.role not in VIEWERS:
            raise ApiError(403, f"the console has no page for the role {user.role}")
        token, session = console.sessions.open(user.name, now)
        target = "agent" if user.role == "agent" else "wallboard"
        log.info("console login: %s (%s) from %s", user.name, user.role, ip)
        response = Response(
            content=f'{{"next": "{PREFIX}/{target}"}}', media_type="application/json"
        )
        response.headers["Set-Cookie"] = cookie_header(
            token, int((session.expires - now).total_seconds())
        )
        return response

    @app.post(f"{PREFIX}/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        token, _session, who = console.check(request.headers, request.method)
        console.sessions.close(token)
        log.info("console logout: %s", who.name)
        response = Response(status_code=204)
        response.headers["Set-Cookie"] = clear_cookie_header()
        return response

    @app.get(f"{PREFIX}/api/session", include_in_schema=False)
    async def session_info(request: Request) -> dict[str, Any]:
        _token, session, who = console.check(request.headers, request.method)
        user = ctx.passwords.user(who.name)
        agent = next((a for a in config.agents if a.id == who.agent_id), None)
        reasons = tuple(dict.fromkeys(config.feature_codes.pause_reasons.values()))
        return {
            "user": who.name,
            "role": who.role,
            "agent_id": who.agent_id,
            "agent_name": agent.name if agent else "",
            "team": who.team,
            "csrf": session.csrf,
            "organisation": config.engine.organisation,
            "timezone": board.figures.tz.key,
            "rings": board.params.rings,
            "ring_period_seconds": board.params.ring_period_ms / 1000,
            "sl_seconds": board.params.sl_ms / 1000,
            "phone": user.device if user else "",
            "pause_reasons": list(reasons or DEFAULT_PAUSE_REASONS),
            "departments": [d.name for d in config.departments],
            "queues": [q.name for q in config.queues],
            "agents": [a.id for a in config.agents],
        }

    # ------------------------------------------------------------------ the event stream

    events = policy("console.events", "queue", VIEWERS)

    @app.get(f"{PREFIX}/api/events", include_in_schema=False)
    async def stream(request: Request, access: Annotated[Access, Depends(events)]) -> Response:
        token = cookie_token(request.headers) or ""
        last = request.headers.get("last-event-id") or request.query_params.get("last") or None

        def alive() -> bool:
            return console.sessions.alive(token, ctx.clock())

        return StreamingResponse(
            board.stream(access.who, last, alive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ agents

    agent_path = f"{PREFIX}/api/agents/{{agent_id}}"
    login_agent = policy("agent.login", "agent", {"agent": "self"})

    @app.post(f"{agent_path}/login", include_in_schema=False)
    async def agent_login(
        agent_id: AgentIdPath, body: PinIn, request: Request,
        access: Annotated[Access, Depends(login_agent)],
    ) -> Any:
        """The agent's own user, with the agent's PIN, on the agent's configured phone (or
        the user's own `device`); wrong PINs count as the API's do."""
        user = ctx.passwords.user(access.who.name)
        agent = next((a for a in config.agents if a.id == agent_id), None)
        device = (user.device if user and user.device else "") or (
            agent.endpoint if agent else ""
        )
        device = check_device(ctx.phones, device)
        key = f"pin:{agent_id}"
        ip = client_address(request.scope)
        wait = ctx.throttle.retry_after(key, ip, ctx.clock())
        if wait is not None:
            raise ApiError(429, "too many wrong PINs; try again later",
                           headers={"Retry-After": str(max(1, int(wait + 0.999)))})
        try:
            info = await control.login(agent_id, body.pin, device)
        except Forbidden:
            ctx.throttle.failed(key, ip, ctx.clock())
            raise
        ctx.throttle.succeeded(key, ip)
        touched(access)
        return info

    logout_agent = policy("agent.logout", "agent", OWN_TEAM_ALL, "by_others")

    @app.post(f"{agent_path}/logout", include_in_schema=False)
    async def agent_logout(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(logout_agent)]
    ) -> Any:
        with access.audited(via="console"):
            info = await control.logout(agent_id, by=access.who.name)
        touched(access)
        return info

    pause = policy("agent.pause", "agent", OWN_TEAM_ALL)

    @app.post(f"{agent_path}/pause", include_in_schema=False)
    async def agent_pause(
        agent_id: AgentIdPath, body: PauseIn, access: Annotated[Access, Depends(pause)]
    ) -> Any:
        info = await control.pause(agent_id, body.reason)
        touched(access)
        return info

    unpause = policy("agent.unpause", "agent", OWN_TEAM_ALL)

    @app.post(f"{agent_path}/unpause", include_in_schema=False)
    async def agent_unpause(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(unpause)]
    ) -> Any:
        info = await control.unpause(agent_id)
        touched(access)
        return info

    wrapup = policy("agent.end_wrapup", "agent", OWN_TEAM_ALL)

    @app.post(f"{agent_path}/wrapup/end", include_in_schema=False)
    async def agent_end_wrapup(
        agent_id: AgentIdPath, access: Annotated[Access, Depends(wrapup)]
    ) -> Any:
        info = await control.end_wrapup(agent_id)
        touched(access)
        return info

    # ------------------------------------------------------------------ supervision

    def own_phone(who: Principal) -> str:
        user = ctx.passwords.user(who.name)
        if user is None or not user.device:
            raise ApiError(422, "no phone is configured for you (users[].device)")
        return check_device(ctx.phones, user.device)

    async def start_monitor(target: MonitorTarget, body: ModeIn, access: Access) -> Any:
        """Listen, whisper or barge from the supervisor's own phone; audited as the API."""
        device = own_phone(access.who)
        with access.audited(mode=body.mode, device=device, via="console") as notes:
            session = await control.monitor(target, body.mode, device, access.who.name)
            notes["session"] = session.session_id
        touched(access)
        return session

    monitor_call_policy = policy("monitor.start", "call", COACHES, "always")

    @app.post(f"{PREFIX}/api/calls/{{call_id}}/monitor", include_in_schema=False)
    async def monitor_call(
        call_id: CallIdPath, body: ModeIn,
        access: Annotated[Access, Depends(monitor_call_policy)],
    ) -> Any:
        return await start_monitor(MonitorTarget("call", call_id), body, access)

    monitor_agent_policy = policy("monitor.start", "agent", COACHES, "always")

    @app.post(f"{agent_path}/monitor", include_in_schema=False)
    async def monitor_agent(
        agent_id: AgentIdPath, body: ModeIn,
        access: Annotated[Access, Depends(monitor_agent_policy)],
    ) -> Any:
        return await start_monitor(MonitorTarget("agent", agent_id), body, access)

    mode = policy("monitor.mode", "monitor", SESSION_OWNERS, "always")

    @app.post(f"{PREFIX}/api/monitor/{{session_id}}/mode", include_in_schema=False)
    async def monitor_mode(
        session_id: SessionIdPath, body: ModeIn, access: Annotated[Access, Depends(mode)]
    ) -> Any:
        with access.audited(mode=body.mode, via="console"):
            session = await control.change_monitor_mode(session_id, body.mode)
        touched(access)
        return session

    stop = policy("monitor.stop", "monitor", SESSION_OWNERS, "always")

    @app.post(f"{PREFIX}/api/monitor/{{session_id}}/stop", include_in_schema=False)
    async def monitor_stop(
        session_id: SessionIdPath, access: Annotated[Access, Depends(stop)]
    ) -> Response:
        with access.audited(via="console"):
            await control.stop_monitor(session_id)
        touched(access)
        return Response(status_code=204)

    # ------------------------------------------------------------------ transfers

    call_path = f"{PREFIX}/api/calls/{{call_id}}"
    transfer = policy("call.transfer", "call", OWN_TEAM_ALL, "always")

    @app.post(f"{call_path}/transfer", include_in_schema=False)
    async def start_transfer(
        call_id: CallIdPath, body: TransferIn, access: Annotated[Access, Depends(transfer)]
    ) -> Any:
        target = resolve_target(config, body.target)
        with access.audited(kind=body.kind, target=body.target, via="console"):
            info = await control.transfer(call_id, body.kind, target)
        touched(access)
        return info

    complete = policy("call.transfer_complete", "call", OWN_TEAM_ALL, "always")

    @app.post(f"{call_path}/transfer/complete", include_in_schema=False)
    async def complete_transfer(
        call_id: CallIdPath, access: Annotated[Access, Depends(complete)]
    ) -> Any:
        with access.audited(via="console"):
            info = await control.complete_transfer(call_id)
        touched(access)
        return info

    cancel = policy("call.transfer_cancel", "call", OWN_TEAM_ALL, "always")

    @app.post(f"{call_path}/transfer/cancel", include_in_schema=False)
    async def cancel_transfer(
        call_id: CallIdPath, access: Annotated[Access, Depends(cancel)]
    ) -> Any:
        with access.audited(via="console"):
            info = await control.cancel_transfer(call_id)
        touched(access)
        return info
