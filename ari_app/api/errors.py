"""Every failure becomes a JSON `ErrorOut`: 4xx with a clear message for bad requests and
refusals, a logged 500 with an incident id (and nothing else) for our own bugs."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ari_app.api.control import ControlError
from ari_app.api.schemas import ErrorOut, FieldProblem

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal decided by the API itself (authentication, roles, ownership, input)."""

    def __init__(
        self, status: int, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int,
    code: str,
    detail: str,
    *,
    fields: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorOut(error=code, detail=detail, fields=fields or [])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, _CODES.get(exc.status, "error"), exc.message, headers=exc.headers
    )


async def _control_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlError)
    return error_response(exc.status, exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _CODES.get(exc.status_code, "error")
    return error_response(
        exc.status_code, _CODES.get(exc.status_code, "error"), detail, headers=exc.headers
    )


def _problem(error: Mapping[str, Any]) -> FieldProblem:
    """One bad field, without its value: an unknown field's name is input too, so it is
    reported at its parent's location; a message quoting the value is replaced."""
    loc = tuple(error.get("loc", ()))
    message = str(error.get("msg", ""))
    if error.get("type") == "extra_forbidden":
        return FieldProblem(location=_location(loc[:-1]), message="unknown fields are refused")
    value = error.get("input")
    if isinstance(value, str | int | float) and len(str(value)) >= 4 and str(value) in message:
        message = "invalid value"
    return FieldProblem(location=_location(loc), message=message)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field; the offending values are never echoed (PINs travel here)."""
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(e) for e in exc.errors()]
    summary = "; ".join(f"{p.location}: {p.message}" for p in problems[:5]) or "invalid request"
    return error_response(422, "invalid_request", summary, fields=problems)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ControlError, _control_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(InternalErrors)


class InternalErrors:
    """Outermost guard: an unexpected exception is logged with an incident id and answered
    with a bare 500; the client learns the id, never the exception."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(6)
            log.exception(
                "internal error on %s %s (incident %s)", scope["method"], scope["path"], incident
            )
            if started:
                return
            body = orjson.dumps(
                ErrorOut(
                    error="internal", detail=f"internal error; incident {incident}"
                ).model_dump()
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
