"""Typed ARI failures that carry the request which failed, so a caller can react per status.

Asterisk answers errors with `{"message": ...}` (sometimes `{"error": ...}`); the status
decides what the engine may do next (404: the channel is already gone, 422: it left Stasis).
No credential ever reaches these objects: only method, path, query params and the status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ari_app.domain.privacy import mask

_SECRET_PARAMS = frozenset({"api_key", "password", "passwd", "secret", "token"})
_NUMBER_PARAMS = frozenset({"callerId", "endpoint", "extension", "to", "from", "dtmf"})
_DIGITS = re.compile(r"\d+")


def mask_number(text: str) -> str:
    """Mask each digit run of a number-valued parameter (`PJSIP/13900001234@trunk`) by the
    one caller-number rule, `ari_app.domain.privacy.mask`."""
    return _DIGITS.sub(lambda m: mask(m.group()), text)


def scrub_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query params safe to log: any credential-looking key is masked."""
    if not params:
        return {}
    return {k: ("***" if k.lower() in _SECRET_PARAMS else v) for k, v in params.items()}


@dataclass(frozen=True)
class AriRequestInfo:
    """What was sent (never the credentials)."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        query = "&".join(
            f"{k}={mask_number(str(v)) if k in _NUMBER_PARAMS else v}"
            for k, v in self.params.items()
        )
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


class AriError(Exception):
    """Anything that went wrong talking to ARI."""


class AriConnectionError(AriError):
    """Asterisk could not be reached, or the connection broke mid-request."""

    def __init__(self, message: str, request: AriRequestInfo | None = None) -> None:
        self.request = request
        super().__init__(f"{message} ({request})" if request else message)


class AriHttpError(AriError):
    """Asterisk answered with an error status."""

    status: int = 0

    def __init__(self, request: AriRequestInfo, status: int, message: str) -> None:
        self.request = request
        self.status = status
        self.message = message
        super().__init__(f"{request} -> {status}: {message}")

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def params(self) -> Mapping[str, Any]:
        return self.request.params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.request!s}, status={self.status}, {self.message!r})"


class AriBadRequest(AriHttpError):
    """400: invalid or missing parameter."""


class AriNotFound(AriHttpError):
    """404: the channel, bridge, playback or recording does not exist (any more)."""


class AriConflict(AriHttpError):
    """409: the resource is in the wrong state (e.g. channel not in a Stasis app, bridge busy)."""


class AriPreconditionFailed(AriHttpError):
    """412: e.g. the channel is in a state that forbids the operation."""


class AriNotInStasis(AriHttpError):
    """422: the channel (or bridge) is not in this Stasis application."""


class AriServerError(AriHttpError):
    """5xx: Asterisk failed (e.g. `Allocation failed` for an unknown endpoint)."""


_BY_STATUS: dict[int, type[AriHttpError]] = {
    400: AriBadRequest,
    404: AriNotFound,
    409: AriConflict,
    412: AriPreconditionFailed,
    422: AriNotInStasis,
}


def error_message(body: Any, fallback: str = "") -> str:
    """Asterisk's explanation from an error body (`message` or `error`)."""
    if isinstance(body, Mapping):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, str):
                return value
    if isinstance(body, str) and body:
        return body
    return fallback


def error_for_status(request: AriRequestInfo, status: int, body: Any) -> AriHttpError:
    """The typed error for an HTTP status and Asterisk's body (pure)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = AriServerError if status >= 500 else AriHttpError
    return cls(request, status, error_message(body, f"HTTP {status}"))
