"""`hotline agi --config FILE`: serve the FastAGI hooks until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

from ari_app.config.settings import ConfigError, load_config

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    parser = sub.add_parser("agi", help="serve the FastAGI hooks (route, greet-agent)")
    parser.add_argument("--config", type=Path, required=True, help="engine config (TOML)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4573, help="listen port (default 4573)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        exc.print_errors()
        return 1
    return asyncio.run(_run(cfg, args.host, args.port))


async def _run(cfg: Any, host: str, port: int) -> int:
    from ari_app.agi.hooks import build_hooks
    from ari_app.agi.server import AgiServer

    server = AgiServer(build_hooks(cfg))
    try:
        await server.start(host, port)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror}")
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("FastAGI listening on %s:%d (hooks: %s)", host, server.port, ", ".join(server.hooks))
    await stop.wait()
    await server.close()
    log.info("FastAGI stopped: %s", server.stats)
    return 0
