"""Request bodies, identifiers and error shapes of the API, validated by pydantic.

Patterns are the configuration's own (agent ids, queue and department names), so anything
the API accepts could exist; everything else is a 422 with a message, before the engine
is asked anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ari_app.api.control import ApiTransferKind, MonitorMode
from ari_app.config.settings import Role

AGENT_ID = r"^[0-9A-Za-z]{1,16}$"
CALL_ID = r"^[A-Za-z0-9._-]{1,64}$"
SESSION_ID = r"^[A-Za-z0-9._-]{1,64}$"
RECORDING_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# A local phone (Tech/endpoint): no `@context`, no `/number`, so never a dial string that
# leaves the site; the routes then accept configured phones only (`api.phones`).
# Patterns end in `$`: pydantic matches them with Rust's regex, where `$` is the end of the
# text (no trailing newline). Python's `re` must use `fullmatch` with them, never `match`.
DEVICE = r"^[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z0-9_.-]{1,64}$"
TRANSFER_TARGET = r"^(queue:[A-Za-z0-9_-]{1,64}|agent:[0-9A-Za-z]{1,16}|[A-Za-z0-9_-]{1,64})$"
# Free text an agent picks or types; bounded, printable (any script), no control characters.
REASON = r"^[^\x00-\x1f\x7f]{1,64}$"

AgentIdPath = Annotated[str, Path(pattern=AGENT_ID, description="agent id (工號)")]
CallIdPath = Annotated[str, Path(pattern=CALL_ID)]
SessionIdPath = Annotated[str, Path(pattern=SESSION_ID)]
RecordingNamePath = Annotated[str, Path(pattern=RECORDING_NAME)]
CallIdQuery = Annotated[str | None, Query(pattern=CALL_ID)]
LimitQuery = Annotated[int, Query(ge=1, le=500)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,12}$", description="the agent's PIN")]
    device: Annotated[str, Field(pattern=DEVICE, examples=["PJSIP/1001"])]


class PauseIn(_Body):
    reason: Annotated[str, Field(pattern=REASON, examples=["lunch"])]


class TransferIn(_Body):
    kind: ApiTransferKind
    target: Annotated[
        str,
        Field(
            pattern=TRANSFER_TARGET,
            description="a department of the directory, queue:NAME or agent:ID",
            examples=["billing", "queue:support", "agent:1002"],
        ),
    ]


class MonitorIn(_Body):
    mode: MonitorMode
    device: Annotated[
        str, Field(pattern=DEVICE, description="the supervisor's phone, which the engine dials")
    ]


class ModeIn(_Body):
    mode: MonitorMode


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name)
    expires_in: int
    expires_at: datetime


class UserOut(BaseModel):
    name: str
    role: Role
    agent_id: str
    team: str


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class FieldProblem(BaseModel):
    location: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a stable `error` code and a message for people."""

    error: str = Field(examples=["forbidden"])
    detail: str = Field(examples=["agent 1002 is not in your team"])
    fields: list[FieldProblem] = Field(default_factory=list)


_ERROR_TEXT = {
    401: "not authenticated (no, wrong or expired credentials)",
    403: "authenticated, but this role or scope may not do this",
    404: "no such object (any more)",
    409: "conflicts with the current state",
    422: "invalid request, or the object is in the wrong state",
    429: "too many failed logins from this address; see Retry-After",
    500: "internal error (logged with the incident id given)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (always 401/422/429/500)."""
    wanted = sorted({401, 422, 429, 500, *statuses})
    return {s: {"model": ErrorOut, "description": _ERROR_TEXT[s]} for s in wanted}
