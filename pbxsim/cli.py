"""`hotline sim`: serve the simulated Asterisk for the demo and manual testing."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

from pbxsim.config import ConfigError, load_config
from pbxsim.server import Simulator

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim", help="run the ARI-compatible PBX simulator",
        description="Serve ARI (/ari) and the simulator control API (/sim) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--config", type=Path, help="TOML file (see docs/pbxsim.md)")
    parser.add_argument("--recordings-dir", type=Path, help="where recordings are written")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, recordings_dir=args.recordings_dir)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    try:
        asyncio.run(_serve(Simulator(config), args.host, args.port))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("cannot serve on %s:%s: %s", args.host, args.port, exc)
        return 1
    return 0


async def _serve(sim: Simulator, host: str, port: int) -> None:
    # Live runs stamp events with today's wall clock; tests keep the fixed trace-day base.
    sim.config.wall_base = time.time() - asyncio.get_running_loop().time()
    url = await sim.start(host, port)
    log.info("pbxsim serving ARI at %s/ari (control API at %s/sim)", url, url)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
