"""Serving the API from the engine's own event loop with uvicorn.

The socket is bound here, so a taken port is an `OSError` for the caller (uvicorn would
`sys.exit`), and uvicorn's signal handling is switched off: the engine owns SIGINT/SIGTERM
and stops the API with `ApiServer.stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import Any

import uvicorn
from fastapi import FastAPI

from ari_app.config.settings import HttpSettings


class _EmbeddedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ApiServer:
    """A running API server: its bound address, and `stop()`."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None], sock: socket.socket):
        self._server = server
        self._task = task
        self.host, self.port = sock.getsockname()[:2]

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish (bounded), and return."""
        self._server.should_exit = True
        await self._task

    @property
    def running(self) -> bool:
        return not self._task.done()


def uvicorn_options(settings: HttpSettings) -> dict[str, Any]:
    """What of `[http]` uvicorn applies itself. Forwarded headers (X-Forwarded-For/-Proto)
    are believed only from `trusted_proxies`, and not at all by default: uvicorn's own
    default trusts them from 127.0.0.1, so anything on the host could pick the client
    address the login throttle and the logs see."""
    proxies = list(settings.trusted_proxies)
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies if proxies else [],
        "timeout_keep_alive": settings.keep_alive_seconds,
    }


async def serve_api(
    app: FastAPI,
    host: str,
    port: int,
    *,
    graceful_seconds: int = 5,
    settings: HttpSettings | None = None,
) -> ApiServer:
    """Start serving `app` on host:port (0 = any free port) in the running loop.

    `settings` (trusted proxies, keep-alive) defaults to the `[http]` that `create_api`
    left in `app.state`."""
    if settings is None:
        settings = getattr(app.state, "http_settings", None) or HttpSettings()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=graceful_seconds,
        **uvicorn_options(settings),
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="hotline-api")
    listening = asyncio.create_task(server.listening.wait())
    await asyncio.wait({task, listening}, return_when=asyncio.FIRST_COMPLETED)
    if not server.listening.is_set():
        listening.cancel()
        task.result()  # raises what stopped it
        raise RuntimeError("API server stopped while starting")
    return ApiServer(server, task, sock)
