"""The engine's small agent API (HTTP, JSON, aiohttp): log in and out, pause, end wrap-up.

Every action names the agent and carries their PIN (checked in a thread: PBKDF2 must not
stall call control). Refusals are `{"error": code, "message": text}` with 400 (bad
request), 401 (bad agent ID or PIN, the same answer for both), 409 (state conflict:
already logged in, device in use, on a call). A role-checked API replaces this later.

    POST /agents/{id}/login    {"pin": "...", "device": "PJSIP/agent1001"}
    POST /agents/{id}/logout   {"pin": "..."}
    POST /agents/{id}/pause    {"pin": "...", "reason": "lunch"}
    POST /agents/{id}/unpause  {"pin": "..."}
    POST /agents/{id}/wrapup/end {"pin": "..."}
    GET  /agents               every agent's state (no PINs, no devices of others' calls)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ari_app.agents import AgentError
from ari_app.engine import Engine

log = logging.getLogger(__name__)

_STATUS = {
    "bad_credentials": 401,
    "unknown_agent": 404,
    "already_logged_in": 409,
    "device_in_use": 409,
    "not_logged_in": 409,
    "on_call": 409,
    "not_in_wrapup": 409,
    "not_available": 409,
}
ENGINE_KEY = web.AppKey("engine", Engine)


def _error(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response(
        {"error": code, "message": message}, status=status or _STATUS.get(code, 400)
    )


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "bad_json", "message": "body must be a JSON object"}',
            content_type="application/json",
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "bad_json", "message": "body must be a JSON object"}',
            content_type="application/json",
        )
    return body


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 128) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise web.HTTPBadRequest(
            text=f'{{"error": "bad_request", "message": "{key} must be a non-empty string"}}',
            content_type="application/json",
        )
    return value


def agent_view(engine: Engine, agent_id: str) -> dict[str, Any]:
    agent = engine.core.agents.require(agent_id)
    return {
        "agent_id": agent.id,
        "name": agent.settings.name,
        "state": str(agent.state),
        "reason": agent.reason,
        "device": agent.device,
        "since": agent.since,
        "calls_taken": agent.calls_taken,
    }


Action = Callable[[Engine, str, dict[str, Any]], None]


def _action(act: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        engine = request.app[ENGINE_KEY]
        agent_id = request.match_info["agent_id"]
        body = await _body(request)
        pin = _text(body, "pin")
        if not await engine.check_pin(agent_id, pin):
            log.info("agent API: refused credentials for an agent action")
            return _error("bad_credentials", "invalid agent ID or PIN")
        try:
            act(engine, agent_id, body)
        except AgentError as exc:
            return _error(exc.code, exc.message)
        return web.json_response(agent_view(engine, agent_id))

    return handler


async def _login(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    agent_id = request.match_info["agent_id"]
    body = await _body(request)
    pin = _text(body, "pin")
    device = _text(body, "device", required=False)
    try:
        await engine.login_checked(agent_id, pin, device)
    except AgentError as exc:
        return _error(exc.code, exc.message)
    return web.json_response(agent_view(engine, agent_id))


async def _list(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    return web.json_response([agent_view(engine, a.id) for a in engine.core.agents])


def make_app(engine: Engine) -> web.Application:
    app = web.Application(client_max_size=16 * 1024)
    app[ENGINE_KEY] = engine
    app.router.add_get("/agents", _list)
    app.router.add_post("/agents/{agent_id}/login", _login)
    app.router.add_post("/agents/{agent_id}/logout", _action(lambda e, a, b: e.logout(a)))
    app.router.add_post(
        "/agents/{agent_id}/pause",
        _action(lambda e, a, b: e.pause(a, _text(b, "reason", required=False, limit=64))),
    )
    app.router.add_post("/agents/{agent_id}/unpause", _action(lambda e, a, b: e.unpause(a)))
    app.router.add_post("/agents/{agent_id}/wrapup/end", _action(lambda e, a, b: e.end_wrapup(a)))
    return app


async def serve(engine: Engine, host: str, port: int) -> web.AppRunner:
    """Start the API; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(make_app(engine), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
