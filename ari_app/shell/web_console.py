"""The web console wired into the running engine (`ari_app.console`): its `Board` follows
the engine's domain events (as one more sink) and the live KPI fold's facts, reads the
engine through the API's `EngineControl`, and its routes join the API's app."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from ari_app.api.control import EngineControl
from ari_app.console import Board, mount_console
from ari_app.shell.engine import Engine
from ari_app.shell.live_kpi import LiveKpi


async def add_console(
    stack: AsyncExitStack, app: FastAPI, engine: Engine, kpi: LiveKpi, control: EngineControl
) -> Board:
    """Start the board (closed by `stack`) and mount the console on `app`. Call it before
    the server starts, and push the server's stop onto `stack` before `close_streams`."""
    board = Board(engine.config, control, kpi.params, now=engine.now)
    await stack.enter_async_context(board)
    engine.sinks.append(board)
    kpi.listeners.append(board.facts)
    stack.callback(kpi.listeners.remove, board.facts)
    mount_console(app, board)
    return board
