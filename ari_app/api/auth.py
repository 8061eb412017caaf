"""Who is calling: configured users by HTTP basic, or short-lived bearer tokens.

Pure pieces with the time passed in (`LoginThrottle`, `TokenStore`) so expiry and rate
limits are tested on a controllable clock. Passwords are PBKDF2 hashes (`ari_app.domain.passwords`):
checking one costs ~0.1 s of CPU, so it runs in a worker thread and a success is remembered
for a minute under an HMAC of the credentials (never the credentials themselves).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ari_app.config.settings import Role, UserSettings
from ari_app.domain.passwords import hash_secret, verify_secret

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated API user."""

    name: str
    role: Role
    agent_id: str
    team: str

    @classmethod
    def of(cls, user: UserSettings) -> Principal:
        return cls(name=user.name, role=user.role, agent_id=user.agent_id, team=user.team)


class LoginThrottle:
    """Counts failed logins and blocks further tries for a while.

    Keyed by (user, client address) and by client address alone, never by user alone: a
    stranger guessing from elsewhere cannot lock the real user out, and every block ends
    once its failures leave the window.
    """

    def __init__(
        self,
        *,
        per_user_ip: int = 5,
        per_ip: int = 30,
        window: timedelta = timedelta(minutes=5),
        max_keys: int = 10_000,
    ) -> None:
        self.per_user_ip = per_user_ip
        self.per_ip = per_ip
        self.window = window
        self.max_keys = max_keys
        self.failures_total = 0
        self._fails: dict[tuple[str, str], deque[datetime]] = {}

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        times = self._fails.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._fails[key]
        return times

    def retry_after(self, user: str, ip: str, now: datetime) -> float | None:
        """Seconds until `user` may try again from `ip`, or None if not blocked."""
        waits = []
        for key, limit in (((user, ip), self.per_user_ip), (("", ip), self.per_ip)):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append((times[-limit] + self.window - now).total_seconds())
        return max(waits) if waits else None

    def failed(self, user: str, ip: str, now: datetime) -> None:
        self.failures_total += 1
        for key in ((user, ip), ("", ip)):
            if key not in self._fails and len(self._fails) >= self.max_keys:
                del self._fails[next(iter(self._fails))]
            self._fails.setdefault(key, deque()).append(now)

    def succeeded(self, user: str, ip: str) -> None:
        self._fails.pop((user, ip), None)


class TokenStore:
    """Random bearer tokens kept in memory (as SHA-256 digests) until they expire."""

    def __init__(self, ttl: timedelta, *, max_tokens: int = 10_000) -> None:
        self.ttl = ttl
        self.max_tokens = max_tokens
        self._tokens: dict[str, tuple[str, datetime]] = {}

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def issue(self, user: str, now: datetime) -> tuple[str, datetime]:
        self._tokens = {k: v for k, v in self._tokens.items() if v[1] > now}
        while len(self._tokens) >= self.max_tokens:
            del self._tokens[next(iter(self._tokens))]
        token = secrets.token_urlsafe(32)
        expires = now + self.ttl
        self._tokens[self._digest(token)] = (user, expires)
        return token, expires

    def user(self, token: str, now: datetime) -> str | None:
        digest = self._digest(token)
        found = self._tokens.get(digest)
        if found is None:
            return None
        if found[1] <= now:
            del self._tokens[digest]
            return None
        return found[0]

    def revoke(self, token: str) -> None:
        self._tokens.pop(self._digest(token), None)


class PasswordCheck:
    """Verifies user passwords off the event loop; remembers recent successes."""

    def __init__(
        self, users: tuple[UserSettings, ...], *, remember: timedelta = timedelta(seconds=60)
    ) -> None:
        self._users = {u.name: u for u in users}
        self._remember = remember
        self._key = secrets.token_bytes(32)
        self._recent: dict[bytes, datetime] = {}
        # An unknown user costs the same as a known one: no user enumeration by timing.
        iterations = users[0].password_hash.split("$")[1] if users else "200000"
        self._dummy = hash_secret(secrets.token_hex(8), iterations=int(iterations))

    def user(self, name: str) -> UserSettings | None:
        return self._users.get(name)

    async def verify(self, name: str, password: str, now: datetime) -> UserSettings | None:
        mac = hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        user = self._users.get(name)
        seen = self._recent.get(mac)
        if user is not None and seen is not None and seen > now:
            return user
        stored = user.password_hash if user is not None else self._dummy
        ok = await asyncio.to_thread(verify_secret, password, stored)
        if not ok or user is None:
            return None
        if len(self._recent) >= 1000:
            self._recent = {k: v for k, v in self._recent.items() if v > now}
            if len(self._recent) >= 1000:
                self._recent.clear()
        self._recent[mac] = now + self._remember
        return user
