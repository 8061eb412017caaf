"""Browser sessions of the console: a random id in a cookie, a CSRF token per session.

The cookie (`hotline_console`) is `Secure`, `HttpOnly`, `SameSite=Strict` and scoped to
`/console`; the id is 256 random bits, kept in memory only as its SHA-256 (as API tokens
are). Every unsafe request must carry the session's CSRF token in `X-CSRF-Token`, and an
`Origin` header, when the browser sends one, must name the host the request was sent to.
Sessions end at logout, after `ttl`, or when the engine restarts (log in again).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

COOKIE = "hotline_console"
CSRF_HEADER = "x-csrf-token"
PATH = "/console"


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    csrf: str
    expires: datetime


class SessionStore:
    def __init__(self, ttl: timedelta = timedelta(hours=12), *, max_sessions: int = 10_000) -> None:
        self.ttl = ttl
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def open(self, user: str, now: datetime) -> tuple[str, Session]:
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
        while len(self._sessions) >= self.max_sessions:
            del self._sessions[next(iter(self._sessions))]
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), now + self.ttl)
        self._sessions[self._digest(token)] = session
        return token, session

    def get(self, token: str | None, now: datetime) -> Session | None:
        if not token:
            return None
        digest = self._digest(token)
        session = self._sessions.get(digest)
        if session is None:
            return None
        if session.expires <= now:
            del self._sessions[digest]
            return None
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(self._digest(token), None)

    def alive(self, token: str, now: datetime) -> bool:
        return self.get(token, now) is not None


def cookie_header(token: str, max_age: int) -> str:
    """The Set-Cookie value: always Secure (serve the console over TLS, or on localhost)."""
    return (
        f"{COOKIE}={token}; Path={PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    )


def clear_cookie_header() -> str:
    return f"{COOKIE}=; Path={PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict"


def cookie_token(headers: Mapping[str, str]) -> str | None:
    """The session id from a `cookie` header (lower-case keys)."""
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), (sent or "").encode())


def same_origin(headers: Mapping[str, str]) -> bool:
    """No `Origin` (not a browser's cross-site request), or one naming this very host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc == host
