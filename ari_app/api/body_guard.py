"""Request bodies: authenticated first, bounded in size and in time, then read.

FastAPI reads and parses a route's body before its dependencies (the `Policy`) run, on the
event loop that also carries the calls. Left alone, a stranger could make the engine read
and parse megabytes, or hold a connection with a body shorter than its Content-Length.
`BodyGuard` is a pure ASGI middleware in front of the app that, for every request carrying
a body (Content-Length > 0 or Transfer-Encoding):

1. refuses a declared Content-Length above `http.max_body_bytes` with 413, unread;
2. authenticates from the headers alone (the same `authenticate` as every `Policy`: basic
   or bearer, throttle included) and answers 401/429 without reading the body;
3. reads the body within `http.body_timeout_seconds` (408 after that, whatever was sent)
   and at most `http.max_body_bytes` (413 as soon as a chunked body passes it);
4. hands the app the buffered body, so parsing starts only for an authenticated client
   and a bounded body.

Under a prefix of `ApiContext.body_auth` (the web console's `/console/`), step 2 is that
prefix's own check instead (a session cookie and its CSRF token).

Requests without a body (every GET, most POSTs here) pass straight through: their `Policy`
authenticates them as before.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping

from fastapi.security import HTTPAuthorizationCredentials, HTTPBasicCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ari_app.api.access import ApiContext, authenticate, client_address
from ari_app.api.errors import ApiError, error_response

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    408: "timeout",
    413: "too_large",
    429: "too_many_requests",
}
_REALM = 'Basic realm="hotline", Bearer realm="hotline"'


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def credentials(
    headers: Mapping[str, str],
) -> tuple[HTTPBasicCredentials | None, HTTPAuthorizationCredentials | None]:
    """The basic or bearer credentials of an `Authorization` header, as FastAPI's schemes
    would give them; a malformed header counts as none."""
    value = headers.get("authorization", "")
    scheme, _, param = value.strip().partition(" ")
    param = param.strip()
    if not param:
        return None, None
    if scheme.lower() == "bearer":
        return None, HTTPAuthorizationCredentials(scheme="Bearer", credentials=param)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(param, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        user, sep, password = decoded.partition(":")
        if sep:
            return HTTPBasicCredentials(username=user, password=password), None
    return None, None


class BodyGuard:
    def __init__(
        self, app: ASGIApp, *, context: ApiContext, max_bytes: int, timeout_seconds: float
    ) -> None:
        self.app = app
        self.context = context
        self.max_bytes = max_bytes
        self.timeout = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        chunked = "transfer-encoding" in headers
        if length is None and not chunked:
            await self.app(scope, receive, send)
            return
        try:
            declared = self._declared(length)
            if declared == 0 and not chunked:
                await self.app(scope, receive, send)
                return
            path = str(scope.get("path", ""))
            other = next(
                (check for prefix, check in self.context.body_auth.items()
                 if path.startswith(prefix)),
                None,
            )
            if other is not None:
                await other(scope, headers)
            else:
                basic, bearer = credentials(headers)
                await authenticate(self.context, client_address(scope), basic, bearer)
            body = await self._read(receive)
        except _Refused as exc:
            await self._answer(scope, receive, send, exc.status, exc.message, {})
            return
        except ApiError as exc:
            await self._answer(scope, receive, send, exc.status, exc.message, exc.headers)
            return
        if body is None:
            return  # the client went away
        await self.app(scope, _replay(body, receive), send)

    def _declared(self, length: str | None) -> int | None:
        if length is None:
            return None
        if not length.isdigit():
            raise _Refused(400, "invalid Content-Length")
        declared = int(length)
        if declared > self.max_bytes:
            raise _Refused(413, f"request body larger than {self.max_bytes} bytes")
        return declared

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise _Refused(413, f"request body larger than {self.max_bytes} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _Refused(408, "request body not received in time") from None

    @staticmethod
    async def _answer(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        headers: Mapping[str, str],
    ) -> None:
        extra = dict(headers)
        if status == 401:
            extra.setdefault("WWW-Authenticate", _REALM)
        # The unread body stays unread: the server closes the connection after this answer.
        extra["Connection"] = "close"
        code = _CODES.get(status, "error")
        response = error_response(status, code, message, headers=extra)
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then whatever the server sends next
    (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
