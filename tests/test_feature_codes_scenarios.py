"""Feature codes dialled from phones, on the PBX simulator (fast-forwarded time): agent
login with a PIN (right, wrong three times, refused), pause with a reason, unpause,
logout, a supervisor's *31 (listen) with DTMF mode changes and clean-up, refusals, and
the KPI fold over such calls (they are not hotline calls)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ari_app.config.settings import Config, FeatureCodeSettings
from ari_app.domain.events import AgentState, AgentStateChanged, MonitorEnded, MonitorStarted
from kpi.facts import CallAbandoned, CallAnswered, LegAnswered, LegOffered
from kpi.fold import replay
from pbxsim.config import DialplanEntry
from tests.callflow_rig import PIN, make_config
from tests.scenario_rig import Scenario, scenario
from tests.test_transfer_scenarios import all_gone, bridged_call, in_bridge

pytestmark = pytest.mark.looptime

Event = Mapping[str, Any]


def config() -> Config:
    return make_config().model_copy(
        update={
            "feature_codes": FeatureCodeSettings(
                supervisor_endpoints=("PJSIP/agent1004",), pause_reasons={"2": "lunch"}
            )
        }
    )


class AriEvents:
    """Every ARI event the engine handled, for waiting on and for the KPI fold."""

    def __init__(self, s: Scenario) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        handle = s.engine.handle_event

        def recording(event: Event) -> None:
            self.events.append(event)
            self._changed.set()
            handle(event)

        s.engine.handle_event = recording  # type: ignore[method-assign]

    async def wait_for(self, predicate: Callable[[Event], bool], within: float = 300) -> Event:
        async def seek() -> Event:
            seen = 0
            while True:
                for ev in self.events[seen:]:
                    if predicate(ev):
                        return ev
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(seek(), within)

    async def prompts_done(self, channel_id: str, n: int) -> None:
        """Until the engine's n-th prompt on a feature call finished."""
        await self.wait_for(
            lambda e: e["type"] == "PlaybackFinished"
            and e["playback"]["id"] == f"feat-{channel_id}-{n}"
        )

    async def gone(self, channel_id: str) -> None:
        await self.wait_for(
            lambda e: e["type"] == "ChannelDestroyed" and e["channel"]["id"] == channel_id
        )


def dial_code(s: Scenario, phone: str, code: str, *args: str) -> str:
    """The phone `PJSIP/<phone>` dials `code` → Stasis(hotline, args...)."""
    sim_config = s.sim.pbx.config
    sim_config.dialplan[code] = DialplanEntry("hotline", args, "agent-features", 1)
    trunk = sim_config.trunk
    sim_config.trunk = f"PJSIP/{phone}"
    try:
        return s.sim.place_call(phone.removeprefix("agent"), code)
    finally:
        sim_config.trunk = trunk


def role(value: str) -> dict[str, str]:
    return {"variable": "HOTLINE_ROLE", "value": value}


def prompts(s: Scenario, channel_id: str) -> list[str]:
    return [r.params["media"] for r in s.sent("POST", f"/channels/{channel_id}/play")]


def state_of(s: Scenario, agent_id: str) -> AgentState:
    agent = s.engine.core.agents.get(agent_id)
    assert agent is not None
    return agent.state


async def agent_became(s: Scenario, agent_id: str, state: AgentState) -> AgentStateChanged:
    ev: AgentStateChanged = await s.sink.wait_for(
        lambda e: isinstance(e, AgentStateChanged) and e.agent_id == agent_id and e.state is state
    )
    return ev


# ------------------------------------------------------------------ agents


async def test_login_with_the_right_pin_from_the_agents_phone(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        ch = dial_code(s, "agent1001", "*21", "agent", "login")
        await ari.prompts_done(ch, 1)
        s.sim.phone_dtmf(ch, PIN + "#")
        ev = await agent_became(s, "1001", AgentState.AVAILABLE)
        assert ev.device == "PJSIP/agent1001"
        await ari.gone(ch)
        assert prompts(s, ch) == ["sound:agent-pass", "sound:agent-loginok"]
        assert s.paths()[:3] == [
            f"POST /channels/{ch}/variable",
            f"POST /channels/{ch}/answer",
            f"POST /channels/{ch}/play",
        ]
        assert s.sent("POST", f"/channels/{ch}/variable")[0].params == role("feature")
        assert s.sent("DELETE", f"/channels/{ch}")
        assert s.engine.core.counters["feature_login"] == 1
        assert not s.engine.core.calls
        # the agent now takes calls on that phone
        s.phone("1001", answer_after=1)
        cid = s.call(talk=5)
        assert (await s.sink.ended(cid)).summary.agent_id == "1001"
        await all_gone(s)


async def test_three_wrong_pins_hang_up_and_leave_the_agent_logged_out(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        ch = dial_code(s, "agent1002", "*21", "agent", "login")
        for n in (1, 2, 3):
            await ari.prompts_done(ch, n)
            s.sim.phone_dtmf(ch, "1111#")
        await ari.gone(ch)
        assert prompts(s, ch) == [
            "sound:agent-pass",
            "sound:agent-incorrect,sound:agent-pass",
            "sound:agent-incorrect,sound:agent-pass",
            "sound:agent-incorrect,sound:vm-goodbye",
        ]
        assert state_of(s, "1002") is AgentState.LOGGED_OUT
        assert s.engine.core.counters["feature_refused_bad_credentials"] == 1
        assert not [e for e in s.sink.events if isinstance(e, AgentStateChanged)]
        await all_gone(s)


async def test_silence_counts_as_a_failed_attempt_then_the_pin_is_accepted(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        ch = dial_code(s, "agent1003", "*21", "agent", "login")
        await ari.prompts_done(ch, 2)  # nothing typed: the digit timeout asked again
        s.sim.phone_dtmf(ch, "43*" + PIN)  # '*' starts over; no '#': the timeout submits
        await agent_became(s, "1003", AgentState.AVAILABLE)
        await ari.gone(ch)
        assert prompts(s, ch)[1:] == [
            "sound:agent-incorrect,sound:agent-pass",
            "sound:agent-loginok",
        ]
        await all_gone(s)


async def test_hot_desk_login_by_agent_id_refused_when_already_logged_in(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        s.login("1001")
        ch = dial_code(s, "hotdesk", "*21", "agent", "login")
        await ari.prompts_done(ch, 1)
        s.sim.phone_dtmf(ch, "1001#")
        await ari.prompts_done(ch, 2)
        s.sim.phone_dtmf(ch, PIN + "#")
        await ari.gone(ch)
        assert prompts(s, ch) == [
            "sound:agent-user",
            "sound:agent-pass",
            "sound:agent-alreadyon",
        ]
        agent = s.engine.core.agents.get("1001")
        assert agent is not None
        assert agent.device == "PJSIP/agent1001"  # still on its own phone
        assert s.engine.core.counters["feature_refused_already_logged_in"] == 1
        # the same hot desk logs in agent 1002, who is not logged in anywhere
        ch2 = dial_code(s, "hotdesk", "*21", "agent", "login")
        await ari.prompts_done(ch2, 1)
        s.sim.phone_dtmf(ch2, "1002#")
        await ari.prompts_done(ch2, 2)
        s.sim.phone_dtmf(ch2, PIN + "#")
        ev = await agent_became(s, "1002", AgentState.AVAILABLE)
        assert ev.device == "PJSIP/hotdesk"
        await ari.gone(ch2)
        await all_gone(s)


async def test_pause_with_a_reason_code_then_unpause_takes_the_waiting_caller(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        s.login("1001")
        s.phone("1001", answer_after=1)
        ch = dial_code(s, "agent1001", "*232", "agent", "pause", "2")
        paused = await agent_became(s, "1001", AgentState.PAUSED)
        assert paused.reason == "lunch"
        await ari.gone(ch)
        assert prompts(s, ch) == ["sound:beep"]
        ch = dial_code(s, "agent1001", "*237", "agent", "pause", "7")
        await ari.gone(ch)
        assert s.sink.agent_states("1001")[-1] == ("paused", "code-7")
        cid = s.call(talk=10)
        await asyncio.sleep(5)
        assert not s.sent("POST", "/channels/create")  # nobody available
        ch = dial_code(s, "agent1001", "*24", "agent", "unpause")
        await agent_became(s, "1001", AgentState.AVAILABLE)
        summary = (await s.sink.ended(cid)).summary
        assert summary.agent_id == "1001"
        await ari.gone(ch)
        # offered only once the phone is off the feature call (it would be busy before)
        paths = s.paths()
        assert paths.index(f"DELETE /channels/{ch}") < paths.index("POST /channels/create")
        await all_gone(s)


async def test_logout_from_the_own_phone_and_codes_from_a_phone_nobody_uses(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        s.login("1001")
        ch = dial_code(s, "agent1002", "*22", "agent", "logout")  # 1002 is not logged in
        await ari.gone(ch)
        assert prompts(s, ch) == ["sound:beeperr"]
        assert state_of(s, "1001") is AgentState.AVAILABLE
        assert s.engine.core.counters["feature_refused_not_logged_in"] == 1
        ch = dial_code(s, "agent1001", "*22", "agent", "logout")
        await agent_became(s, "1001", AgentState.LOGGED_OUT)
        await ari.gone(ch)
        assert prompts(s, ch) == ["sound:agent-loggedoff"]
        await all_gone(s)


async def test_malformed_codes_get_an_error_prompt_and_are_counted(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        bad = [
            dial_code(s, "agent1001", "*29", "agent", "dance"),
            dial_code(s, "agent1001", "*2399", "agent", "pause", "99"),
            dial_code(s, "agent1004", "*3x", "supervise", "spy", "1001"),
        ]
        for ch in bad:
            await ari.gone(ch)
            assert prompts(s, ch) == ["sound:an-error-has-occurred"]
        assert s.engine.core.counters["feature_bad_request"] == 3
        assert s.engine.core.counters["errors"] == 0
        await all_gone(s)


async def test_caller_hanging_up_during_the_pin_is_counted_and_forgotten(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        ch = dial_code(s, "agent1001", "*21", "agent", "login")
        await ari.prompts_done(ch, 1)
        s.sim.phone_dtmf(ch, "43")
        s.sim.phone_hangup(ch)
        await ari.gone(ch)
        await asyncio.sleep(30)  # past every digit timeout: nothing fires for it
        assert s.engine.core.counters["feature_abandoned"] == 1
        assert s.engine.core.counters["unknown_channel"] == 0
        assert state_of(s, "1001") is AgentState.LOGGED_OUT
        assert not s.engine._timers
        await all_gone(s)


# ------------------------------------------------------------------ supervisors


async def test_supervisor_listens_with_star_31_and_hanging_up_cleans_up(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        cid = await bridged_call(s, talk=120)
        a1 = f"agent-1001-{cid}"
        snoop, spy = f"snoop-{a1}", f"spy-{cid}"
        mark = len(s.requests)
        sup = dial_code(s, "agent1004", "*311001", "supervise", "listen", "1001")
        started = await s.sink.wait_for(lambda e: isinstance(e, MonitorStarted))
        assert (started.call_id, started.agent_id, started.mode) == (cid, "1001", "listen")
        assert started.device == "PJSIP/agent1004"
        await s.engine.quiesce()
        assert [(r.method, r.path, dict(r.params)) for r in s.requests[mark:]] == [
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
            ),
            ("POST", f"/channels/{sup}/variable", role("supervisor")),
            ("POST", f"/channels/{sup}/variable", {"variable": "HOTLINE_CALL_ID", "value": cid}),
            ("POST", f"/channels/{sup}/answer", {}),
            ("POST", "/bridges", {"type": "mixing", "bridgeId": spy, "name": "hotline-call"}),
            ("POST", f"/bridges/{spy}/addChannel", {"channel": f"{snoop},{sup}"}),
            ("POST", f"/channels/{snoop}/variable", role("snoop")),
        ]
        assert not s.sent("POST", "/channels/create")[1:]  # no phone dialled: it called in
        assert in_bridge(s, spy) == {snoop, sup}
        assert in_bridge(s, f"br-{cid}") == {cid, a1}
        s.sim.phone_hangup(sup)
        end: MonitorEnded = await s.sink.wait_for(lambda e: isinstance(e, MonitorEnded))
        assert end.reason == "supervisor_hangup"
        await ari.gone(sup)
        await s.engine.quiesce()
        assert s.sent("DELETE", f"/channels/{snoop}")
        assert s.sent("DELETE", f"/bridges/{spy}")
        assert not s.sent("DELETE", f"/channels/{sup}")  # it hung up itself
        assert in_bridge(s, f"br-{cid}") == {cid, a1}  # the call goes on
        assert not s.engine.core.monitors
        await s.sink.ended(cid)
        await all_gone(s)


async def test_supervisor_keys_change_the_mode_and_the_call_end_hangs_up(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        cid = await bridged_call(s, talk=60)
        a1 = f"agent-1001-{cid}"
        sup = dial_code(s, "agent1004", "*311001", "supervise", "listen", "1001")
        await s.sink.wait_for(lambda e: isinstance(e, MonitorStarted))
        s.sim.phone_dtmf(sup, "2")
        await ari.wait_for(lambda e: e["type"] == "ChannelDtmfReceived")
        await s.engine.quiesce()
        assert s.sent("POST", f"/channels/{a1}/snoop")[-1].params["whisper"] == "out"
        s.sim.phone_dtmf(sup, "3")
        await s.sink.wait_for(lambda e: getattr(e, "mode", "") == "barge")
        await s.engine.quiesce()
        assert in_bridge(s, f"br-{cid}") == {cid, a1, sup}
        end: MonitorEnded = await s.sink.wait_for(lambda e: isinstance(e, MonitorEnded))
        assert end.reason == "call_ended"
        await ari.gone(sup)
        assert s.sent("DELETE", f"/channels/{sup}")
        await s.sink.ended(cid)
        await all_gone(s)


async def test_non_supervisor_phone_and_agent_without_a_call_are_refused(
    tmp_path: Path,
) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        cid = await bridged_call(s, talk=120)
        intruder = dial_code(s, "agent1002", "*311001", "supervise", "listen", "1001")
        await ari.gone(intruder)
        assert prompts(s, intruder) == ["sound:beeperr"]
        assert s.engine.core.counters["feature_refused_not_supervisor"] == 1
        idle = dial_code(s, "agent1004", "*311003", "supervise", "listen", "1003")
        await ari.gone(idle)
        assert prompts(s, idle) == ["sound:beeperr"]
        assert s.engine.core.counters["feature_refused_no_call"] == 1
        # no monitoring snoop (the call's own recorder snoop, appArgs `recorder`, aside)
        assert not [r for r in s.sent("POST", "/snoop") if r.params["appArgs"] != "recorder"]
        assert not s.engine.core.monitors
        assert cid in s.engine.core.calls
        s.sim.phone_hangup(cid)
        await s.sink.ended(cid)
        await all_gone(s)


# ------------------------------------------------------------------ KPIs


async def test_kpi_fold_counts_only_the_hotline_call(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        ari = AriEvents(s)
        login = dial_code(s, "agent1001", "*21", "agent", "login")
        await ari.prompts_done(login, 1)
        s.sim.phone_dtmf(login, PIN + "#")
        await agent_became(s, "1001", AgentState.AVAILABLE)
        await ari.gone(login)
        s.phone("1001", answer_after=1)
        cid = s.call(talk=30)
        await s.sink.wait_for(lambda e: getattr(e, "state", "") == "bridged")
        sup = dial_code(s, "agent1004", "*311001", "supervise", "listen", "1001")
        await s.sink.wait_for(lambda e: isinstance(e, MonitorStarted))
        pause = dial_code(s, "agent1002", "*23", "agent", "pause")  # refused: not logged in
        await ari.gone(pause)
        await s.sink.ended(cid)
        await ari.gone(sup)
        await all_gone(s)
        state = replay(ari.events)
        kinds = [type(f) for f in state.facts]
        assert kinds.count(CallAnswered) == 1
        assert CallAbandoned not in kinds
        assert [f.agent for f in state.facts if isinstance(f, LegOffered)] == ["1001"]
        assert [f.agent for f in state.facts if isinstance(f, LegAnswered)] == ["1001"]
        assert not state.calls
        assert state.counters.get("calls_never_started", 0) == 0
        roles = {
            e["channel"]["id"]: e["value"]
            for e in ari.events
            if e["type"] == "ChannelVarset" and e["variable"] == "HOTLINE_ROLE"
        }
        assert roles[login] == roles[pause] == "feature"
        assert roles[sup] == "supervisor"
