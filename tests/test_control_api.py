"""`ari_app.shell.control.EngineControl` through the real API app, over an engine on the PBX
simulator: an agent logs in and transfers its call over HTTP, a supervisor lists calls and
queues and monitors the call over HTTP, and every sensitive action leaves its audit row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ari_app.api import create_api
from ari_app.config.settings import Config, parse_config
from ari_app.domain.events import MonitorEnded, MonitorStarted, TransferCompleted
from ari_app.shell.control import SwitchboardControl
from tests.callflow_rig import PIN, PIN_HASH
from tests.scenario_rig import scenario
from tests.test_api_fakes import FakeClock, ListSink, basic, call_app
from tests.test_transfer_scenarios import all_gone, in_bridge, talking

pytestmark = pytest.mark.looptime

PASSWORDS = {"ann": "ann-pw", "sue": "sue-pw"}


def api_config() -> Config:
    from ari_app.domain.passwords import hash_secret

    agents = [
        {"id": f"100{i}", "endpoint": f"PJSIP/agent100{i}", "pin_hash": PIN_HASH, "team": "red"}
        for i in range(1, 4)
    ]
    return parse_config(
        {
            "queues": [{"name": "support", "numbers": ["12345"]}, {"name": "billing"}],
            "agents": agents,
            "departments": [{"name": "legal", "target": "PJSIP/legal"}],
            "users": [
                {
                    "name": "ann",
                    "password_hash": hash_secret("ann-pw", iterations=1000),
                    "role": "agent",
                    "agent_id": "1001",
                    "team": "red",
                },
                {
                    "name": "sue",
                    "password_hash": hash_secret("sue-pw", iterations=1000),
                    "role": "supervisor",
                },
            ],
        }
    )


def auth(user: str) -> dict[str, str]:
    return basic(user, PASSWORDS[user])


async def test_agent_transfers_and_supervisor_monitors_over_http(tmp_path: Path) -> None:
    cfg = api_config()
    async with scenario(cfg, tmp_path) as s:
        audit = ListSink()
        app = create_api(cfg, SwitchboardControl(s.engine), audit, clock=FakeClock())

        async def http(method: str, path: str, user: str, body: Any = None) -> tuple[int, Any]:
            reply = await call_app(app, method, path, headers=auth(user), json=body)
            return reply.status, reply.json() if reply.body else None

        status, me = await http(
            "POST", "/agents/1001/login", "ann", {"pin": PIN, "device": "PJSIP/agent1001"}
        )
        assert status == 200, me
        assert me["state"] == "available"
        s.phone("1001", answer_after=1)
        s.login("1002")
        s.phone("1002", answer_after=2)
        cid = s.call(talk=600)
        await talking(s, cid)

        status, calls = await http("GET", "/calls", "sue")
        assert status == 200
        assert [(c["call_id"], c["agent_id"], c["state"], c["caller"]) for c in calls] == [
            (cid, "1001", "talking", "****0001")
        ]
        status, queues = await http("GET", "/queues", "sue")
        assert status == 200
        support = next(q for q in queues if q["name"] == "support")
        assert (support["agents_logged_in"], support["agents_available"]) == (2, 1)

        # the supervisor listens, switches to whisper, stops
        s.phone("1003", answer_after=1)
        status, session = await http(
            "POST", f"/calls/{cid}/monitor", "sue", {"mode": "listen", "device": "PJSIP/agent1003"}
        )
        assert status == 201, session
        sid = session["session_id"]
        assert (session["agent_id"], session["started_by"]) == ("1001", "sue")
        await s.sink.wait_for(lambda e: isinstance(e, MonitorStarted))
        await s.engine.quiesce()
        assert in_bridge(s, f"spy-{cid}") == {f"snoop-agent-1001-{cid}", sid}
        status, changed = await http("PATCH", f"/monitor/{sid}", "sue", {"mode": "whisper"})
        assert (status, changed["mode"]) == (200, "whisper")
        status, _ = await http("DELETE", f"/monitor/{sid}", "sue")
        assert status == 204
        await s.sink.wait_for(lambda e: isinstance(e, MonitorEnded))
        status, _ = await http("GET", f"/monitor/{sid}", "sue")
        assert status == 404

        # the agent consults 1002, then completes
        status, info = await http(
            "POST", f"/calls/{cid}/transfer", "ann", {"kind": "attended", "target": "agent:1002"}
        )
        assert (status, info["state"]) == (200, "consulting"), info
        await s.sink.wait_for(lambda e: getattr(e, "state", "") == "consulting")
        await s.engine.quiesce()
        status, held = await http("GET", f"/calls/{cid}", "ann")
        assert (status, held["state"]) == (200, "on_hold")
        status, info = await http("POST", f"/calls/{cid}/transfer/complete", "ann")
        assert (status, info["state"]) == (200, "completed")
        await s.sink.wait_for(lambda e: isinstance(e, TransferCompleted))
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, f"agent-1002-{cid}"}
        # the call is 1002's now: ann no longer owns it, and nothing is left to complete
        status, _ = await http("POST", f"/calls/{cid}/transfer/complete", "ann")
        assert status == 403
        status, err = await http("POST", f"/calls/{cid}/transfer/complete", "sue")
        assert (status, err["error"]) == (422, "invalid_state")
        status, agent = await http("GET", "/agents/1001", "ann")
        assert agent["state"] == "wrapup"

        assert audit.actions() == [
            ("sue", "monitor.start", cid, "ok"),
            ("sue", "monitor.mode", sid, "ok"),
            ("sue", "monitor.stop", sid, "ok"),
            ("ann", "call.transfer", cid, "ok"),
            ("ann", "call.transfer_complete", cid, "ok"),
            ("ann", "call.transfer_complete", cid, "denied"),
            ("sue", "call.transfer_complete", cid, "failed"),
        ]
        assert "kind=attended target=agent:1002" in audit.records[3].detail
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)


async def test_engine_refusals_map_to_api_errors(tmp_path: Path) -> None:
    cfg = api_config()
    async with scenario(cfg, tmp_path) as s:
        audit = ListSink()
        app = create_api(cfg, SwitchboardControl(s.engine), audit, clock=FakeClock())
        control = SwitchboardControl(s.engine)
        reply = await call_app(
            app,
            "POST",
            "/agents/1001/login",
            headers=auth("ann"),
            json={"pin": "9999", "device": "PJSIP/agent1001"},
        )
        assert reply.status == 403
        reply = await call_app(app, "POST", "/agents/1001/unpause", headers=auth("ann"))
        assert (reply.status, reply.json()["error"]) == (422, "invalid_state")
        reply = await call_app(app, "GET", "/calls/nope", headers=auth("sue"))
        assert reply.status == 404
        s.login("1001")
        s.phone("1001", answer_after=1)
        cid = s.call(talk=600)
        await talking(s, cid)
        reply = await call_app(
            app,
            "POST",
            f"/calls/{cid}/transfer",
            headers=auth("ann"),
            json={"kind": "attended", "target": "queue:billing"},
        )
        assert (reply.status, reply.json()["error"]) == (422, "invalid_state")
        reply = await call_app(
            app,
            "POST",
            f"/calls/{cid}/transfer",
            headers=auth("ann"),
            json={"kind": "blind", "target": "agent:1003"},
        )
        assert (reply.status, reply.json()["error"]) == (409, "conflict")  # 1003 is logged out
        reply = await call_app(
            app,
            "POST",
            f"/calls/{cid}/monitor",
            headers=auth("sue"),
            json={"mode": "barge", "device": "PJSIP/agent1001"},
        )
        assert reply.status == 409
        assert await control.recordings(cid, 10) == []
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await asyncio.sleep(0)
        await all_gone(s)
