"""Hot standby for `hotline run`: of the engines sharing one PostgreSQL, the one holding a
PostgreSQL advisory lock holds the ARI app; the others wait for the lock.

- The lock is session-level (`pg_try_advisory_lock`) on a connection of its own, kept open
  as long as the engine holds the app. PostgreSQL frees it when that connection ends: at
  once when the holder's process dies (SIGKILL included: its kernel closes the socket),
  and after about `standby.dead_peer_seconds` of silence when the holder's host is lost
  (server-side TCP keepalives and TCP_USER_TIMEOUT, set on the lock session).
- The key is derived from `engine.site` and `engine.app`: two sites (or two apps) on one
  database do not block each other.
- A standby tries the lock every `standby.poll_seconds` and serves `GET /healthz`
  (`{"status": "ok", "role": "standby"}`) on `[http]` meanwhile; any other path answers
  503. Once it holds the lock it stops that server and starts the engine (`running()`:
  agents restored, live calls adopted, as after a restart).
- The holder checks its lock connection every `standby.check_seconds` (the lock is still
  granted to its session, answered within `check_seconds`). A failed check (database
  restarted, network cut) makes it let go of the app at once: its ARI connection and call
  control stop, the engine is closed, and it goes back to waiting. It lets go within
  2 × `check_seconds`; the server frees a silent holder's lock only after about
  `dead_peer_seconds` (more than 3 × `check_seconds`, checked by the config), so under a
  network cut the old holder has let go before the new one can take the lock.

See docs/standby.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

import psycopg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from psycopg.rows import TupleRow
from sqlalchemy.engine import make_url

from ari_app.api.server import ApiServer, serve_api
from ari_app.config.settings import Config, StandbySettings

log = logging.getLogger(__name__)

KEY_PREFIX = "hotline-standby"
# A bigint advisory lock shows in pg_locks as classid = its high 32 bits, objid = its low
# 32 bits, objsubid = 1.
HELD_SQL = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = %s::bigint::oid AND objid = %s::bigint::oid"
    " AND objsubid = 1"
)


def lock_key(site: str, app: str) -> int:
    """The advisory lock's key (a signed 64-bit integer) for one site's ARI app."""
    digest = hashlib.blake2b(f"{KEY_PREFIX}:{site}:{app}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def keepalives(settings: StandbySettings) -> tuple[int, int, int]:
    """(idle, interval, count) seconds of TCP keepalives adding up to about
    `dead_peer_seconds`: the silence after which a peer is declared gone."""
    dead = settings.dead_peer_seconds
    idle = max(1, dead // 2)
    count = 3
    interval = max(1, round((dead - idle) / count))
    return idle, interval, count


def conninfo(url: str) -> str:
    """A libpq URI from the engine's SQLAlchemy database URL (`postgresql+psycopg://...`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class AdvisoryLock:
    """One engine's hold on the standby lock, on a dedicated connection."""

    def __init__(self, url: str, key: int, settings: StandbySettings) -> None:
        self.url = url
        self.key = key
        self.settings = settings
        self._conn: psycopg.AsyncConnection[TupleRow] | None = None
        self.held = False

    async def _connect(self) -> psycopg.AsyncConnection[TupleRow]:
        idle, interval, count = keepalives(self.settings)
        dead_ms = self.settings.dead_peer_seconds * 1000
        conn: psycopg.AsyncConnection[TupleRow] = await psycopg.AsyncConnection.connect(
            conninfo(self.url),
            autocommit=True,
            connect_timeout=max(2, self.settings.dead_peer_seconds),
            application_name="hotline-standby-lock",
            keepalives=1,
            keepalives_idle=idle,
            keepalives_interval=interval,
            keepalives_count=count,
            tcp_user_timeout=dead_ms,
        )
        try:  # the server's side: how soon it drops (and unlocks) a silent holder
            for name, value in (("tcp_keepalives_idle", idle),
                                ("tcp_keepalives_interval", interval),
                                ("tcp_keepalives_count", count),
                                ("tcp_user_timeout", dead_ms)):
                await conn.execute("SELECT set_config(%s, %s, false)", (name, str(value)))
        except BaseException:
            await conn.close()
            raise
        return conn

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False if another session does. Raises
        psycopg.Error or TimeoutError when the database cannot be reached."""
        if self._conn is None or self._conn.closed:
            async with asyncio.timeout(self.settings.dead_peer_seconds + 1):
                self._conn = await self._connect()
        async with asyncio.timeout(self.settings.dead_peer_seconds):
            cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s)::int", (self.key,))
            row = await cur.fetchone()
        self.held = bool(row and row[0])
        return self.held

    async def check(self) -> bool:
        """Whether this session still holds the lock, answered within `check_seconds`."""
        if self._conn is None or self._conn.closed:
            return False
        try:
            async with asyncio.timeout(self.settings.check_seconds):
                cur = await self._conn.execute(
                    HELD_SQL, ((self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF)
                )
                row = await cur.fetchone()
        except (psycopg.Error, TimeoutError, OSError):
            return False
        return bool(row and row[0])

    async def release(self) -> None:
        """Unlock and close (a clean stop): a standby can take over at its next poll."""
        conn, self._conn, self.held = self._conn, None, False
        if conn is None:
            return
        with contextlib.suppress(psycopg.Error, TimeoutError, OSError):
            async with asyncio.timeout(2):
                await conn.execute("SELECT pg_advisory_unlock_all()")
        await self._drop(conn)

    async def abandon(self) -> None:
        """Give a failed connection up without waiting on it."""
        conn, self._conn, self.held = self._conn, None, False
        if conn is not None:
            await self._drop(conn)

    @staticmethod
    async def _drop(conn: psycopg.AsyncConnection[TupleRow]) -> None:
        try:
            async with asyncio.timeout(2):
                await conn.close()
        except (psycopg.Error, TimeoutError, OSError):
            log.debug("standby: lock connection not closed cleanly", exc_info=True)


def standby_app() -> FastAPI:
    """What a standby serves on `[http]`: `/healthz` says it is alive and waiting; every
    other path is 503, so a load balancer or an API client goes to the holder."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "role": "standby"}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def elsewhere(path: str) -> JSONResponse:
        return JSONResponse(
            {"detail": "standby: this engine does not hold the ARI app"}, status_code=503
        )

    return app


async def _serve_standby_http(config: Config) -> ApiServer | None:
    try:
        return await serve_api(standby_app(), config.http.host, config.http.port,
                               graceful_seconds=1, settings=config.http)
    except OSError as exc:
        log.warning("standby: cannot serve /healthz on %s:%s: %s",
                    config.http.host, config.http.port, exc)
        return None


async def _wait_for_lock(lock: AdvisoryLock, stop: asyncio.Event, poll: float) -> bool:
    """Poll the lock until held (True) or `stop` (False)."""
    said = ""
    while not stop.is_set():
        try:
            if await lock.try_acquire():
                return True
            now = "standby: waiting for the lock held by another engine"
        except (psycopg.Error, TimeoutError, OSError) as exc:
            await lock.abandon()
            now = f"standby: cannot reach the database for the lock ({type(exc).__name__})"
        if now != said:  # said once per change, not every poll
            log.info("%s", now)
            said = now
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)
    return False


async def _watch(lock: AdvisoryLock, stop: asyncio.Event, leave: asyncio.Event) -> None:
    """While holding: check the lock every `check_seconds`; on a failed check set
    `leave` (the engine lets go of the app)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), lock.settings.check_seconds)
        if stop.is_set():
            break
        if not await lock.check():
            log.error("standby: the lock connection failed; letting go of the ARI app")
            break
    leave.set()


async def hold_or_wait(
    config: Config,
    stop: asyncio.Event,
    hold: Callable[[asyncio.Event], Awaitable[None]],
) -> None:
    """Wait for the lock, then run `hold(leave)` (the engine, serving until `leave` is
    set); when the lock is lost, wait again; return once `stop` is set."""
    settings = config.standby
    lock = AdvisoryLock(config.database.url, lock_key(config.engine.site, config.engine.app),
                        settings)
    try:
        while not stop.is_set():
            server = await _serve_standby_http(config)
            try:
                got = await _wait_for_lock(lock, stop, settings.poll_seconds)
            finally:
                if server is not None:
                    await server.stop()
            if not got:
                return
            log.info("standby: holding the lock (site %s, app %s); taking the ARI app",
                     config.engine.site, config.engine.app)
            leave = asyncio.Event()
            watcher = asyncio.create_task(_watch(lock, stop, leave), name="standby-watch")
            try:
                await hold(leave)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if not stop.is_set():
                await lock.abandon()
    finally:
        await lock.release()
