"""Supervisors monitoring live calls on the PBX simulator: listen, whisper, barge, a mode
change, and clean-up whoever hangs up (supervisor, caller, agent) or when monitoring stops.
Requests are checked against the supervisor_spy trace's sequence."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ari_app.callflow.supervision.machine import MonitorError
from ari_app.domain.events import MonitorEnded, MonitorModeChanged, MonitorStarted
from tests.callflow_rig import make_config
from tests.scenario_rig import Scenario, scenario
from tests.test_transfer_scenarios import all_gone, bridged_call, in_bridge

pytestmark = pytest.mark.looptime

SUP = "PJSIP/agent1004"


async def supervising(s: Scenario, cid: str, mode: str) -> str:
    """Start monitoring and wait until the supervisor's phone answered."""
    s.phone("1004", answer_after=1)
    session = s.engine.monitor(cid, mode, SUP, "sue")
    await s.sink.wait_for(lambda e: isinstance(e, MonitorStarted))
    await asyncio.sleep(2)
    await s.engine.quiesce()
    return session.session_id


def since(s: Scenario, marker: str) -> list[str]:
    paths = s.paths()
    return paths[paths.index(marker) :]


async def ended(s: Scenario) -> MonitorEnded:
    ev: MonitorEnded = await s.sink.wait_for(lambda e: isinstance(e, MonitorEnded))
    return ev


def requests_from(s: Scenario, start: int) -> list[Any]:
    return s.requests[start:]


async def test_listen_follows_the_trace_and_ends_with_the_call(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=60)
        a1 = f"agent-1001-{cid}"
        snoop, sup, spy = f"snoop-{a1}", f"sup-{cid}", f"spy-{cid}"
        mark = len(s.requests)
        sid = await supervising(s, cid, "listen")
        assert sid == sup
        sent = [(r.method, r.path, dict(r.params), r.body) for r in requests_from(s, mark)]
        assert sent == [
            (
                "POST",
                f"/channels/{a1}/snoop",
                {
                    "app": "hotline",
                    "appArgs": "snoop",
                    "snoopId": snoop,
                    "spy": "both",
                    "whisper": "none",
                },
                None,
            ),
            (
                "POST",
                "/channels/create",
                {"endpoint": SUP, "app": "hotline", "appArgs": "supervisor", "channelId": sup},
                {"variables": {"HOTLINE_CALL_ID": cid, "HOTLINE_ROLE": "supervisor"}},
            ),
            ("POST", "/bridges", {"type": "mixing", "bridgeId": spy, "name": "hotline-call"}, None),
            ("POST", f"/bridges/{spy}/addChannel", {"channel": f"{snoop},{sup}"}, None),
            ("POST", f"/channels/{sup}/dial", {"timeout": 10}, None),
            (
                "POST",
                f"/channels/{snoop}/variable",
                {"variable": "HOTLINE_ROLE", "value": "snoop"},
                None,
            ),
        ]
        assert in_bridge(s, spy) == {snoop, sup}
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        end = await ended(s)
        assert (end.session_id, end.reason) == (sup, "call_ended")
        await s.engine.quiesce()
        # the session's requests have a lane of their own: its clean-up keeps its own
        # order, beside the call's
        tail = [p for p in s.paths() if p.startswith("DELETE")]
        assert tail.index(f"DELETE /channels/{a1}") < tail.index(f"DELETE /bridges/br-{cid}")
        assert [r for r in tail if sup in r or snoop in r or spy in r] == [
            f"DELETE /channels/{sup}",
            f"DELETE /channels/{snoop}",
            f"DELETE /bridges/{spy}",
        ]
        await s.sink.ended(cid)
        assert not s.engine.core.monitors
        await all_gone(s)


async def test_whisper_snoops_out_and_supervisor_hanging_up_ends_only_the_session(
    tmp_path: Path,
) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=60)
        a1 = f"agent-1001-{cid}"
        sid = await supervising(s, cid, "whisper")
        assert s.sent("POST", f"/channels/{a1}/snoop")[0].params["whisper"] == "out"
        s.sim.phone_hangup(sid)
        end = await ended(s)
        assert end.reason == "supervisor_hangup"
        await s.engine.quiesce()
        assert s.sent("DELETE", f"/channels/snoop-{a1}")
        assert s.sent("DELETE", f"/bridges/spy-{cid}")
        assert in_bridge(s, f"br-{cid}") == {cid, a1}  # the call goes on
        assert cid in s.engine.core.calls
        await s.sink.ended(cid)
        await all_gone(s)


async def test_barge_joins_the_call_bridge_and_agent_hanging_up_cleans_all(
    tmp_path: Path,
) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=300)
        a1 = f"agent-1001-{cid}"
        sid = await supervising(s, cid, "barge")
        # no monitoring snoop (the call's own recorder snoop, appArgs `recorder`, aside)
        assert not [r for r in s.sent("POST", "/snoop") if r.params["appArgs"] != "recorder"]
        assert in_bridge(s, f"br-{cid}") == {cid, a1, sid}
        s.sim.phone_hangup(a1)
        end = await ended(s)
        assert end.reason == "call_ended"
        await s.sink.ended(cid)
        assert s.sent("DELETE", f"/channels/{sid}")
        await all_gone(s)


async def test_mode_changes_while_listening(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=300)
        a1 = f"agent-1001-{cid}"
        sid = await supervising(s, cid, "listen")
        spy = f"spy-{cid}"
        mark = len(s.requests)
        s.engine.change_monitor(sid, "whisper")
        await s.engine.quiesce()
        snoop2 = f"snoop-{a1}-2"
        assert [f"{r.method} {r.path}" for r in requests_from(s, mark)] == [
            f"POST /channels/{a1}/snoop",
            f"POST /bridges/{spy}/addChannel",
            f"POST /channels/{snoop2}/variable",
            f"DELETE /channels/snoop-{a1}",
        ]
        assert s.requests[mark].params["whisper"] == "out"
        assert in_bridge(s, spy) == {snoop2, sid}
        s.engine.change_monitor(sid, "barge")
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, a1, sid}
        assert in_bridge(s, spy) == set()
        s.engine.change_monitor(sid, "listen")
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        assert in_bridge(s, spy) == {f"snoop-{a1}-3", sid}
        changes = [(e.previous, e.mode) for e in s.sink.events if isinstance(e, MonitorModeChanged)]
        assert changes == [("listen", "whisper"), ("whisper", "barge"), ("barge", "listen")]
        s.engine.stop_monitor(sid)
        end = await ended(s)
        assert end.reason == "stopped"
        await s.engine.quiesce()
        assert spy not in s.sim.pbx.bridges
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        with pytest.raises(MonitorError, match="no monitoring session"):
            s.engine.change_monitor(sid, "whisper")
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)


async def test_supervisor_phone_not_answering_ends_the_session(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=60)
        s.phone("1004", answer_after=None)
        s.engine.monitor(cid, "listen", SUP, "sue")
        end = await ended(s)
        assert end.reason == "no_answer"
        await s.sink.ended(cid)
        await all_gone(s)


async def test_monitoring_refusals(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        s.login("1002")
        s.phone("1002", answer_after=None)
        ringing = s.call("13900002", patience=20)
        await asyncio.sleep(1)
        with pytest.raises(MonitorError, match="no agent on it"):
            s.engine.monitor(ringing, "listen", SUP, "sue")
        with pytest.raises(MonitorError, match="no live call"):
            s.engine.monitor("nope", "listen", SUP, "sue")
        cid = await bridged_call(s, talk=60)
        with pytest.raises(MonitorError, match="agent 1001's phone"):
            s.engine.monitor(cid, "listen", "PJSIP/agent1001", "sue")
        await supervising(s, cid, "listen")
        with pytest.raises(MonitorError, match="already monitoring"):
            s.engine.monitor(cid, "whisper", SUP, "tina")
        await s.sink.ended(cid)
        await s.sink.ended(ringing)
        await all_gone(s)


async def test_monitor_ends_when_the_agent_transfers_the_call_away(tmp_path: Path) -> None:
    async with scenario(make_config(), tmp_path) as s:
        cid = await bridged_call(s, talk=60)
        sid = await supervising(s, cid, "listen")
        s.login("1002")
        s.engine.transfer(cid, "blind", "queue", "support")
        end = await ended(s)
        assert (end.session_id, end.reason) == (sid, "agent_left")
        await s.sink.ended(cid)
        await all_gone(s)
