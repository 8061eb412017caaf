"""Administration: the running configuration with every secret redacted, and the users.
Admins see configuration, not calls (least privilege)."""

import re
from enum import Enum
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Depends, FastAPI

from ari_app.api.access import Access, ApiContext, Policy, Roles
from ari_app.api.schemas import UserOut
from ari_app.config.settings import Config

ADMINS: Roles = {"admin": "all"}
REDACTED = "***"
_SECRET_KEYS = frozenset({"password_hash", "pin_hash", "password", "token", "salt"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
# Query parameters that carry credentials (libpq's `password`, `sslpassword`, API keys...).
_SECRET_PARAM = re.compile(
    r"(pass|pwd|secret|token|key|auth|credential|signature|sig)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """`url` with every credential replaced by ***: the userinfo's password and the value
    of each query parameter whose name says it is a secret."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED  # not parseable: show nothing of it
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*"
        )
    out = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        out += f"?{query}"
    if parts.fragment:
        out += f"#{REDACTED}"
    return out


def _redact(value: Any, secret: bool = False) -> Any:
    if isinstance(value, dict):
        if set(value) == {"value", "env"}:  # a `Secret`: the variable's name may show
            return {"value": REDACTED if value["value"] else "", "env": value["env"]}
        return {k: _redact(v, k in _SECRET_KEYS) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, secret) for v in value]
    if isinstance(value, str):
        if secret and value:
            return REDACTED
        return _URL.sub(lambda m: redact_url(m.group(0)), value)
    return value


def redacted_config(config: Config) -> dict[str, Any]:
    """The configuration as JSON with hashes, secrets and URL passwords replaced by ***."""
    dumped = _redact(config.model_dump(mode="json"))
    assert isinstance(dumped, dict)
    return dumped


def admin_routes(ctx: ApiContext, app: FastAPI) -> None:
    tags: list[str | Enum] = ["admin"]

    show_config = Policy(ctx, "config.show", "config", ADMINS, audit="always")

    @app.get("/admin/config", tags=tags, response_model=dict[str, Any], **show_config.options())
    async def get_config(access: Annotated[Access, Depends(show_config)]) -> dict[str, Any]:
        with access.audited():
            return redacted_config(ctx.config)

    users = Policy(ctx, "user.list", "user", ADMINS)

    @app.get("/admin/users", tags=tags, response_model=list[UserOut], **users.options())
    async def list_users(access: Annotated[Access, Depends(users)]) -> list[UserOut]:
        return [
            UserOut(name=u.name, role=u.role, agent_id=u.agent_id, team=u.team)
            for u in ctx.config.users
        ]
