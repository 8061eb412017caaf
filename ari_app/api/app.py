"""The API application: `create_api` wires configuration, engine control, audit sink and
clock into a FastAPI app whose every route (but /healthz and /openapi.json) has a `Policy`.
"""

from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import Depends, FastAPI, Response
from fastapi.security import HTTPAuthorizationCredentials

from ari_app.api.access import Access, ApiContext, BasicPolicy, Policy, Roles, bearer_scheme
from ari_app.api.admin_routes import admin_routes
from ari_app.api.agent_routes import agent_routes
from ari_app.api.audit import Auditor, AuditSink
from ari_app.api.auth import Clock, LoginThrottle, PasswordCheck, TokenStore
from ari_app.api.body_guard import BodyGuard
from ari_app.api.call_routes import call_routes
from ari_app.api.callback_routes import CallbackDesk, callback_routes
from ari_app.api.control import EngineControl
from ari_app.api.errors import install_error_handlers
from ari_app.api.phones import configured_phones
from ari_app.api.qa_routes import QaDesk, qa_routes
from ari_app.api.schemas import HealthOut, TokenOut, UserOut
from ari_app.api.supervision_routes import supervision_routes
from ari_app.api.survey_routes import SurveyQueries, survey_routes
from ari_app.api.workorder_routes import WorkOrderDesk, workorder_routes
from ari_app.config.settings import Config

EVERYONE: Roles = {"agent": "all", "team_lead": "all", "supervisor": "all", "admin": "all"}


def _version() -> str:
    try:
        return version("hotline")
    except PackageNotFoundError:
        return "0"


def create_api(
    config: Config,
    control: EngineControl,
    audit: AuditSink,
    *,
    clock: Clock,
    token_ttl: timedelta = timedelta(minutes=15),
    throttle: LoginThrottle | None = None,
    workorders: WorkOrderDesk | None = None,
    callbacks: CallbackDesk | None = None,
    surveys: SurveyQueries | None = None,
    qa: QaDesk | None = None,
) -> FastAPI:
    """Build the API. `clock` returns aware UTC datetimes (token expiry, rate limits, audit
    times); tests pass a controllable one."""
    ctx = ApiContext(
        config=config,
        control=control,
        auditor=Auditor(audit, clock),
        clock=clock,
        tokens=TokenStore(token_ttl),
        throttle=throttle if throttle is not None else LoginThrottle(),
        passwords=PasswordCheck(config.users),
        team_of={a.id: a.team for a in config.agents if a.team},
        phones=configured_phones(config),
    )
    app = FastAPI(
        title="Hotline engine API",
        version=_version(),
        description=(
            "Agent and supervisor control of the hotline engine. Authenticate with HTTP "
            "basic (a configured user) or a bearer token from POST /auth/token. Each "
            "operation lists the roles allowed (`x-roles`: role → scope self/team/all) and "
            "whether it is audited (`x-audit`)."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    # `serve_api` reads the server's settings (trusted proxies, keep-alive) from here.
    app.state.http_settings = config.http
    # What the web console (`ari_app.console.mount_console`) shares: users, throttle, audit.
    app.state.api_context = ctx
    # Inside `InternalErrors` (added by install_error_handlers, so outermost): bodies are
    # authenticated, bounded and read here before FastAPI parses anything.
    app.add_middleware(
        BodyGuard,
        context=ctx,
        max_bytes=config.http.max_body_bytes,
        timeout_seconds=config.http.body_timeout_seconds,
    )
    install_error_handlers(app)

    @app.get("/healthz", response_model=HealthOut, tags=["meta"])
    async def healthz() -> HealthOut:
        """Liveness; no authentication, no details."""
        return HealthOut()

    issue = BasicPolicy(ctx, "token.issue", "user", EVERYONE)

    @app.post("/auth/token", response_model=TokenOut, tags=["auth"], **issue.options())
    async def issue_token(access: Annotated[Access, Depends(issue)]) -> TokenOut:
        """Trade HTTP basic credentials for a bearer token valid `expires_in` seconds."""
        now = clock()
        token, expires = ctx.tokens.issue(access.who.name, now)
        return TokenOut(
            access_token=token,
            expires_in=int((expires - now).total_seconds()),
            expires_at=expires,
        )

    revoke = Policy(ctx, "token.revoke", "user", EVERYONE)

    @app.delete("/auth/token", status_code=204, tags=["auth"], **revoke.options())
    async def revoke_token(
        access: Annotated[Access, Depends(revoke)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Response:
        """End the bearer token used for this request (nothing to do for HTTP basic)."""
        if bearer is not None:
            ctx.tokens.revoke(bearer.credentials)
        return Response(status_code=204)

    me = Policy(ctx, "user.me", "user", EVERYONE)

    @app.get("/me", response_model=UserOut, tags=["auth"], **me.options())
    async def whoami(access: Annotated[Access, Depends(me)]) -> UserOut:
        who = access.who
        return UserOut(name=who.name, role=who.role, agent_id=who.agent_id, team=who.team)

    agent_routes(ctx, app)
    call_routes(ctx, app)
    supervision_routes(ctx, app)
    admin_routes(ctx, app)
    if callbacks is not None:  # the engine and the records (ari_app.shell.callbacks)
        callback_routes(ctx, app, callbacks)
    if workorders is not None:  # needs the records database (ari_app.records.workorders)
        workorder_routes(ctx, app, workorders)
    if surveys is not None:  # the records database (ari_app.records.surveys.SqlSurveyStore)
        survey_routes(ctx, app, surveys)
    if qa is not None:  # needs the records database (ari_app.records.qa)
        qa_routes(ctx, app, qa)
    return app
