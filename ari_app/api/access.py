"""The one mechanism that decides who may call a route: a `Policy` per route.

A policy names, per role, the scope the role acts in — `self` (own agent, own calls, own
monitoring sessions), `team` (own team's agents and their calls) or `all` — and whether the
route is sensitive (audited). As a FastAPI dependency it authenticates the caller, checks
the role, then ownership of the object named in the path, and audits refusals on sensitive
routes. Handlers receive an `Access` and never check roles themselves.

(No `from __future__ import annotations` here: FastAPI reads `Policy.__call__`'s
annotations at runtime.)
"""

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from ari_app.api.audit import Auditor
from ari_app.api.auth import Clock, LoginThrottle, PasswordCheck, Principal, TokenStore
from ari_app.api.control import ControlError, EngineControl
from ari_app.api.errors import ApiError
from ari_app.api.schemas import AGENT_ID, CALL_ID, RECORDING_NAME, SESSION_ID, error_responses
from ari_app.config.settings import Config, Role

log = logging.getLogger(__name__)

Scope = Literal["self", "team", "all"]
ObjectType = Literal[
    "agent", "call", "monitor", "recording", "config", "user", "queue", "workorder",
    "evaluation", "qa_form", "survey", "callback",
]
AuditWhen = Literal["never", "always", "by_others"]
Roles = Mapping[Role, Scope]

# The usual scopes: an agent for itself, a team lead for the team, supervisors for all.
ROLES: tuple[Role, ...] = ("agent", "team_lead", "supervisor", "admin")
OWN_TEAM_ALL: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}

# The path parameter naming each kind of object, and its syntax.
_PATH_PARAM: dict[str, tuple[str, str]] = {
    "agent": ("agent_id", AGENT_ID),
    "call": ("call_id", CALL_ID),
    "monitor": ("session_id", SESSION_ID),
    "recording": ("name", RECORDING_NAME),
}
REALM = 'Basic realm="hotline", Bearer realm="hotline"'

basic_scheme = HTTPBasic(auto_error=False, description="a configured user's name and password")
bearer_scheme = HTTPBearer(auto_error=False, description="a token from POST /auth/token")


BodyAuth = Callable[[Mapping[str, Any], Mapping[str, str]], Awaitable[None]]
"""Checks a request from its ASGI scope and (lower-case) headers; raises `ApiError`."""


@dataclass
class ApiContext:
    """What every request may use; built once by `create_api`."""

    config: Config
    control: EngineControl
    auditor: Auditor
    clock: Clock
    tokens: TokenStore
    throttle: LoginThrottle
    passwords: PasswordCheck
    team_of: Mapping[str, str] = field(default_factory=dict)
    phones: frozenset[str] = frozenset()  # the devices a body may name (`api.phones`)
    # Path prefix -> how requests with a body under it are authenticated before the body is
    # read (`BodyGuard`), instead of basic/bearer: the web console's session cookie + CSRF.
    body_auth: dict[str, BodyAuth] = field(default_factory=dict)


def may_act_on_agent(
    who: Principal, scope: Scope, agent_id: str | None, team_of: Mapping[str, str]
) -> bool:
    """The ownership rule, for path checks and for filtering lists alike."""
    if scope == "all":
        return True
    if not agent_id:
        return False
    if scope == "self":
        return bool(who.agent_id) and who.agent_id == agent_id
    return bool(who.team) and team_of.get(agent_id) == who.team


def client_address(scope: Mapping[str, Any]) -> str:
    """The client's address as the server determined it: the socket's peer, or what a
    trusted proxy said (`http.trusted_proxies`; uvicorn rewrites `client` only then)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def authenticate(
    ctx: ApiContext,
    ip: str,
    basic: HTTPBasicCredentials | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Principal:
    """Who is calling, or ApiError 401/429. Shared by every `Policy` and by `BodyGuard`
    (which authenticates before a body is read)."""
    now = ctx.clock()
    if bearer is not None:
        name = ctx.tokens.user(bearer.credentials, now)
        user = ctx.passwords.user(name) if name is not None else None
        if user is None:
            raise ApiError(401, "token unknown or expired", headers={"WWW-Authenticate": REALM})
        return Principal.of(user)
    if basic is None:
        raise ApiError(401, "credentials required", headers={"WWW-Authenticate": REALM})
    wait = ctx.throttle.retry_after(basic.username, ip, now)
    if wait is not None:
        raise ApiError(
            429,
            "too many failed logins; try again later",
            headers={"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    user = await ctx.passwords.verify(basic.username, basic.password, now)
    if user is None:
        ctx.throttle.failed(basic.username, ip, now)
        known = ctx.passwords.user(basic.username) is not None
        log.warning(
            "failed API login for %s from %s",
            f"user {basic.username}" if known else "an unknown user",
            ip,
        )
        raise ApiError(401, "wrong user name or password", headers={"WWW-Authenticate": REALM})
    ctx.throttle.succeeded(basic.username, ip)
    return Principal.of(user)


@dataclass(frozen=True)
class Access:
    """A caller allowed onto a route: who, in which scope, on which object."""

    who: Principal
    scope: Scope
    policy: "Policy"
    object_id: str
    context: ApiContext

    def sees_agent(self, agent_id: str | None) -> bool:
        return may_act_on_agent(self.who, self.scope, agent_id, self.context.team_of)

    def _audits(self) -> bool:
        if self.policy.audit == "by_others":
            return not (self.policy.object_type == "agent" and self.who.agent_id == self.object_id)
        return self.policy.audit == "always"

    @contextmanager
    def audited(self, **fields: str) -> Iterator[dict[str, str]]:
        """Write the route's audit row when the action ends, before its result goes out;
        the body may add fields (e.g. the new session id) to the yielded dict."""
        notes = dict(fields)
        try:
            yield notes
        except ControlError as exc:
            if self._audits():
                notes["error"] = exc.code
                self._write("failed", notes)
            raise
        except Exception:
            if self._audits():
                self._write("error", notes)
            raise
        if self._audits():
            self._write("ok", notes)

    def _write(self, outcome: str, notes: dict[str, str]) -> None:
        self.context.auditor.write(
            self.who, self.policy.action, self.policy.object_type, self.object_id, outcome, notes
        )


@dataclass(frozen=True, eq=False)
class Policy:
    """Who may call one route. Used as the route's dependency: `Depends(policy)`."""

    context: ApiContext
    action: str
    object_type: ObjectType
    roles: Roles
    audit: AuditWhen = "never"

    def options(self, *statuses: int) -> dict[str, Any]:
        """The route decorator's documentation: error answers, roles, auditing."""
        if set(self.roles) != set(ROLES):
            statuses = (*statuses, 403)
        return {
            "responses": error_responses(*statuses),
            "openapi_extra": {"x-roles": dict(self.roles), "x-audit": self.audit},
        }

    async def __call__(
        self,
        request: Request,
        basic: Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Access:
        return await self.check(request, basic, bearer)

    async def check(
        self,
        request: Request,
        basic: HTTPBasicCredentials | None,
        bearer: HTTPAuthorizationCredentials | None,
    ) -> Access:
        who = await self._authenticate(request, basic, bearer)
        object_id = self._object_id(request)
        scope = self.roles.get(who.role)
        if scope is None:
            self._deny(who, object_id, f"role {who.role} may not {self.action}")
        elif scope != "all" and object_id and not await self._owns(who, scope, object_id):
            self._deny(who, object_id, self._not_owned(scope, object_id))
        assert scope is not None
        return Access(who, scope, self, object_id, self.context)

    async def _authenticate(
        self,
        request: Request,
        basic: HTTPBasicCredentials | None,
        bearer: HTTPAuthorizationCredentials | None,
    ) -> Principal:
        return await authenticate(self.context, client_address(request.scope), basic, bearer)

    def _object_id(self, request: Request) -> str:
        param = _PATH_PARAM.get(self.object_type)
        if param is None:
            return ""
        name, pattern = param
        if name not in request.path_params:
            return ""  # a collection: the handler shows only what `sees_agent` allows
        value = str(request.path_params[name])
        if not re.fullmatch(pattern, value):  # not re.match: `$` passes "1001\n"
            raise ApiError(422, f"path.{name}: must match {pattern}")
        return value

    async def _owns(self, who: Principal, scope: Scope, object_id: str) -> bool:
        ctx = self.context
        if self.object_type == "agent":
            return may_act_on_agent(who, scope, object_id, ctx.team_of)
        if self.object_type == "call":
            call = await ctx.control.call(object_id)
            return may_act_on_agent(who, scope, call.agent_id, ctx.team_of)
        if self.object_type == "monitor":
            session = await ctx.control.monitor_session(object_id)
            if scope == "self":
                return session.started_by == who.name
            return may_act_on_agent(who, scope, session.agent_id, ctx.team_of)
        return False  # objects without an owner are for `all`-scoped roles only

    def _not_owned(self, scope: Scope, object_id: str) -> str:
        kind = self.object_type
        if kind == "monitor":
            return f"monitoring session {object_id} is not yours"
        if scope == "self":
            return (
                f"{kind} {object_id} is not yours"
                if kind != "agent"
                else (f"you may only act as your own agent, not {object_id}")
            )
        return f"{kind} {object_id} is not in your team"

    def _deny(self, who: Principal, object_id: str, reason: str) -> None:
        if self.audit != "never":
            self.context.auditor.write(
                who, self.action, self.object_type, object_id, "denied", {"reason": reason}
            )
        raise ApiError(403, reason)


@dataclass(frozen=True, eq=False)
class BasicPolicy(Policy):
    """A policy that takes HTTP basic only (minting tokens: a token cannot renew itself)."""

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        basic: Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)],
    ) -> Access:
        if basic is None:
            raise ApiError(
                401, "HTTP basic credentials required", headers={"WWW-Authenticate": REALM}
            )
        return await self.check(request, basic, None)
