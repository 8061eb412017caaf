"""Callbacks on the PBX simulator (fast-forwarded time): the whole engine over HTTP and
WebSocket. An in-queue callback answered agent first and caller first (offer, key,
confirmation, the caller's first arrival kept), a caller who never answers (retried, then
failed; the agent never paused for it), a busy number, a scheduled callback asked while the
queue is closed (dialled at the opening, deadline in working days), and the two fairness
rules: never more dials than free agents, and never ahead of callers who waited before it
was due. Each test checks the ARI requests, the CallbackChanged states, the calls' records,
the agents' states, and that no channel is left."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ari_app.callbacks import Callback, Kind
from ari_app.config.settings import Config
from ari_app.domain.commands import AriRequest
from ari_app.domain.events import (
    AgentStateChanged,
    CallbackAttempted,
    CallbackChanged,
    CallEnded,
    CallStateChanged,
    CallSummary,
    DomainEvent,
    OfferResult,
    Outcome,
)
from ari_app.domain.timestamps import parse_ari_timestamp
from pbxsim.config import EndpointBehaviour
from pbxsim.dtmf import DtmfPress
from tests.callflow_rig import make_config
from tests.scenario_rig import Scenario, scenario

pytestmark = pytest.mark.looptime

SH = ZoneInfo("Asia/Shanghai")
CARRIER = "PJSIP/{number}@carrier"
OFFER_AFTER = 30.0
PRESS_AT = OFFER_AFTER + 3.0  # the offer (1.5 s) has been heard


def config(**callback: Any) -> Config:
    settings = {"in_queue": True, "offer_after_seconds": OFFER_AFTER, "dial": CARRIER,
                "attempts": 2, "retry_seconds": 120, **callback}
    return make_config(mode="answer", callback=settings)


def number_phone(s: Scenario, number: str, answer_after: float | None = 3.0, *,
                 busy: bool = False, hangup_after: float | None = 20.0) -> str:
    """The caller's phone behind the carrier, as the callback dials it."""
    endpoint = CARRIER.replace("{number}", number)
    s.sim.set_endpoint(endpoint, EndpointBehaviour(answer_after, busy=busy,
                                                   hangup_after=hangup_after))
    return endpoint


def press_key() -> list[DtmfPress]:
    return [DtmfPress(PRESS_AT, "1")]


# --------------------------------------------------------------------------- what happened


def of_type(s: Scenario, kind: type) -> list[Any]:
    return [e for e in s.sink.events if isinstance(e, kind)]


def states(s: Scenario, callback_id: str) -> list[str]:
    """The callback's states in order, repeats folded (dialling is published twice: the
    reservation, then the caller's dial)."""
    out: list[str] = []
    for e in of_type(s, CallbackChanged):
        if e.callback_id == callback_id and (not out or out[-1] != e.state):
            out.append(e.state)
    return out


def changed(callback_id: str, state: str) -> Callable[[DomainEvent], bool]:
    return lambda e: (isinstance(e, CallbackChanged) and e.callback_id == callback_id
                      and e.state == state)


def creates(s: Scenario, endpoint: str = "") -> list[AriRequest]:
    return [r for r in s.sent("POST", "/channels/create")
            if endpoint in r.params["endpoint"]]


def summary(s: Scenario, call_id: str) -> CallSummary:
    [ended] = [e for e in of_type(s, CallEnded) if e.summary.call_id == call_id]
    assert isinstance(ended, CallEnded)
    return ended.summary


def rona_pauses(s: Scenario, agent_id: str) -> list[tuple[str, str]]:
    return [(state, why) for state, why in s.sink.agent_states(agent_id)
            if state == "paused"]


def dialled_legs_live_at_once(s: Scenario) -> int:
    """The most callback caller legs alive at one time, from the ARI events: a leg lives
    from its StasisStart (appArgs `callback,...`) to its ChannelDestroyed."""
    live: set[str] = set()
    most = 0
    for e in s.events:
        cid = (e.get("channel") or {}).get("id", "")
        if e["type"] == "StasisStart" and (e.get("args") or [""])[0] == "callback":
            live.add(cid)
            most = max(most, len(live))
        elif e["type"] == "ChannelDestroyed":
            live.discard(cid)
    return most


async def all_gone(s: Scenario) -> None:
    await s.engine.quiesce()
    await s.sim.drain()
    assert s.sim.stats()["channels"] == 0
    assert s.sim.stats()["bridges"] == 0
    assert s.engine.core.live_channels() == 0


async def busy_agent(s: Scenario, agent: str = "1001", talk: float = 120.0) -> str:
    """The agent talks with an earlier caller for `talk` seconds."""
    s.login(agent)
    cid = s.sim.place_call("13900001", "12345", talk=talk)
    await s.sink.wait_for(lambda e: isinstance(e, CallStateChanged) and e.call_id == cid
                          and e.state == "bridged")
    return cid


# --------------------------------------------------------------------------- in-queue


async def in_queue_callback(s: Scenario, mode: str) -> None:
    first = await busy_agent(s)
    number_phone(s, "13900002")
    caller = s.sim.place_call("13900002", "12345", dtmf=press_key())
    left = summary_of = await s.sink.ended(caller)
    assert left.summary.outcome is Outcome.CALLBACK
    assert left.summary.overflow == "callback"
    plays = [r.params["media"] for r in s.sent("POST", f"/channels/{caller}/play")]
    assert "sound:queue-callback-offer" in plays
    assert plays[-1] == "sound:queue-callback-confirm"
    assert s.sent("DELETE", f"/channels/{caller}")  # the engine hung up after the confirmation
    cb_id = f"cb-{caller}"
    assert states(s, cb_id) == ["due"]  # due at once, the agent still busy

    done = await s.sink.wait_for(changed(cb_id, "answered"))
    assert done.agent_id == "1001"
    attempt_call = done.answered_call_id
    assert states(s, cb_id) == ["due", "dialling", "answered"]
    [attempted] = of_type(s, CallbackAttempted)
    assert (attempted.result, attempted.attempt, attempted.call_id) == (
        "answered", 1, attempt_call)
    # the agent was free only after the first caller's talk and wrap-up
    first_end = summary(s, first).ended_at
    assert attempted.started_at >= first_end

    ended = (await s.sink.ended(attempt_call)).summary
    [agent_leg] = creates(s, "PJSIP/agent1001")[1:]  # the first is the first caller's offer
    [caller_leg] = creates(s, "@carrier")
    assert caller_leg.params["endpoint"] == "PJSIP/13900002@carrier"
    assert caller_leg.params["channelId"] == attempt_call
    assert caller_leg.params["appArgs"] == f"callback,{cb_id}"
    assert caller_leg.body["variables"]["HOTLINE_ROLE"] == "callback"
    order = s.requests.index
    if mode == "agent_first":
        assert agent_leg.body["variables"]["HOTLINE_CALLBACK"] == cb_id
        assert "originator" not in agent_leg.params
        assert order(agent_leg) < order(caller_leg)
        assert caller_leg.params["originator"] == agent_leg.params["channelId"]
        assert s.sent("POST", f"/channels/{agent_leg.params['channelId']}/moh")
    else:
        assert order(caller_leg) < order(agent_leg)
        # from the caller's answer an ordinary offer of a queued call to the reserved agent
        assert agent_leg.params["originator"] == attempt_call
    # the greeting with the agent's ID to the called-back caller, then bridge and recording
    [greet] = s.sent("POST", f"/channels/{attempt_call}/play")
    assert "digits:1001" in greet.params["media"].split(",")
    assert s.sent("POST", f"/bridges/br-{attempt_call}/addChannel")
    assert s.sent("POST", f"/channels/{attempt_call}/snoop")
    assert ended.outcome is Outcome.ANSWERED
    assert ended.agent_id == "1001"
    assert ended.recording
    # the record keeps the caller's first arrival: the wait counts from it
    assert ended.arrived_at == summary_of.summary.arrived_at
    assert ended.answered_at is not None
    assert ended.bridged_at is not None
    assert ended.wait_seconds == pytest.approx(ended.answered_at - ended.arrived_at, abs=0.01)
    assert ended.wait_seconds > 90  # the first caller's talk and wrap-up
    assert rona_pauses(s, "1001") == []
    await s.engine.quiesce()
    await s.sink.wait_for(lambda e: isinstance(e, AgentStateChanged) and e.agent_id == "1001"
                          and e.state == "available" and e.at > ended.ended_at - 1)
    await all_gone(s)


async def test_in_queue_callback_agent_first(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        await in_queue_callback(s, "agent_first")


async def test_in_queue_callback_caller_first(tmp_path: Path) -> None:
    async with scenario(config(mode="caller_first"), tmp_path) as s:
        await in_queue_callback(s, "caller_first")


# --------------------------------------------------------------------------- not reached


async def test_never_answered_is_retried_then_failed_and_the_agent_is_never_paused(
    tmp_path: Path,
) -> None:
    async with scenario(config(attempts=3, retry_seconds=120), tmp_path) as s:
        s.login("1001")
        s.engine.pause("1001", "break")
        number_phone(s, "13900002", answer_after=None)  # rings until the dial gives up
        caller = s.sim.place_call("13900002", "12345", dtmf=press_key())
        await s.sink.ended(caller)
        cb_id = f"cb-{caller}"
        s.engine.unpause("1001")
        failed = await s.sink.wait_for(changed(cb_id, "failed"), within=3600)
        await s.engine.quiesce()
        assert (failed.attempts, failed.last_result) == (3, "no_answer")
        assert states(s, cb_id) == ["due", "dialling", "retry", "due", "dialling", "retry",
                                    "due", "dialling", "failed"]
        attempts = of_type(s, CallbackAttempted)
        assert [(a.attempt, a.result, a.agent_id) for a in attempts] == [
            (1, "no_answer", "1001"), (2, "no_answer", "1001"), (3, "no_answer", "1001")]
        # each dial rang out after dial_timeout_seconds (30) on the agent's answered leg
        for a in attempts:
            assert 30 < a.ended_at - a.started_at < 40
        # the next attempt starts retry_seconds after the last one ended
        for before, after in pairwise(attempts):
            assert after.started_at == pytest.approx(before.ended_at + 120, abs=0.5)
        # three agent legs and three caller legs, each caller leg dialled for 30 s
        agent_legs = creates(s, "PJSIP/agent1001")
        caller_legs = creates(s, "@carrier")
        assert len(agent_legs) == len(caller_legs) == 3
        assert len({r.params["channelId"] for r in caller_legs}) == 3
        for leg in caller_legs:
            [dial] = s.sent("POST", f"/channels/{leg.params['channelId']}/dial")
            assert dial.params["timeout"] == 30
        for leg in agent_legs:  # hung up by the engine once the caller's dial gave up
            assert s.sent("DELETE", f"/channels/{leg.params['channelId']}")
        # never counted against the agent: available after each attempt, no RONA pause
        assert rona_pauses(s, "1001") == [("paused", "break")]
        for a in attempts:
            await s.sink.wait_for(
                lambda e, a=a: isinstance(e, AgentStateChanged) and e.agent_id == "1001"
                and e.state == "available" and a.ended_at <= e.at < a.ended_at + 1)
        # no call record for attempts that reached nobody; the original call's only
        await all_gone(s)
        assert [e.summary.call_id for e in of_type(s, CallEnded)] == [caller]
        assert cb_id not in s.engine.core.callbacks


async def test_busy_number_is_retried_caller_first(tmp_path: Path) -> None:
    cfg = config(in_queue=False, mode="caller_first", attempts=2, retry_seconds=60)
    async with scenario(cfg, tmp_path) as s:
        s.login("1001")
        endpoint = number_phone(s, "13900003", busy=True)
        now = s.sim.pbx.wall()
        request = Callback(
            id="api-1", kind=Kind.SCHEDULED, queue="support", caller_number="13900003",
            reason="asked by mail", requested_by="user:ann", call_id="", requested_at=now,
            first_arrival=now, not_before=now, max_attempts=2, retry_seconds=60,
        )
        # an agent is free: dialled at once (the callback is returned as it is then)
        assert s.engine.schedule_callback(request, 2).state.value == "dialling"
        retry = await s.sink.wait_for(changed("api-1", "retry"))
        assert (retry.attempts, retry.last_result) == (1, "busy")
        [busy] = of_type(s, CallbackAttempted)
        assert busy.result == "busy"
        # caller first: the agent was only reserved; its phone never rang for a busy line
        assert creates(s, "PJSIP/agent1001") == []
        assert s.sink.agent_states("1001")[-2:] == [("ringing", ""), ("available", "")]
        s.sim.set_endpoint(endpoint, EndpointBehaviour(3.0, hangup_after=20.0))
        done = await s.sink.wait_for(changed("api-1", "answered"))
        assert done.attempts == 2
        assert done.at >= retry.at + 60
        ended = (await s.sink.ended(done.answered_call_id)).summary
        assert (ended.outcome, ended.agent_id) == (Outcome.ANSWERED, "1001")
        assert ended.arrived_at == now  # the request, for the service level
        assert [a.result for a in of_type(s, CallbackAttempted)] == ["busy", "answered"]
        [agent_leg] = creates(s, "PJSIP/agent1001")
        assert agent_leg.params["originator"] == done.answered_call_id
        assert rona_pauses(s, "1001") == []
        await all_gone(s)


# --------------------------------------------------------------------------- scheduled


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> float:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH).timestamp()


def office_hours(**callback: Any) -> Config:
    return make_config(
        mode="answer",
        hours={"timezone": "Asia/Shanghai", "working_days": ["09:00-18:00"]},
        callback={"dial": CARRIER, "within_working_days": 2, **callback},
    )


def request(s: Scenario, callback_id: str, number: str, **kw: Any) -> Callback:
    now = s.sim.pbx.wall()
    fields: dict[str, Any] = dict(
        id=callback_id, kind=Kind.SCHEDULED, queue="support", caller_number=number,
        reason="asked by mail", requested_by="user:ann", call_id="", requested_at=now,
        first_arrival=now, not_before=now, max_attempts=2, retry_seconds=600,
    )
    fields.update(kw)
    return Callback(**fields)


def stasis_at(s: Scenario, channel_id: str) -> float:
    [start] = [e for e in s.events
               if e["type"] == "StasisStart" and e["channel"]["id"] == channel_id]
    return parse_ari_timestamp(start["timestamp"])


async def test_scheduled_while_closed_is_dialled_at_the_opening(tmp_path: Path) -> None:
    async with scenario(office_hours(), tmp_path) as s:
        opening = sh(2026, 11, 23, 9)  # Monday; the simulator starts at 07:14 there
        assert s.sim.pbx.wall() == sh(2026, 11, 23, 7, 14)
        s.login("1001")
        number_phone(s, "13900004")
        scheduled = s.engine.schedule_callback(request(s, "api-7", "13900004"), 2)
        assert scheduled.state.value == "waiting"  # closed: nothing dialled
        # its deadline: the end of the 2nd working day after Monday, Wednesday 23:59:59
        assert scheduled.due_by == sh(2026, 11, 25, 23, 59, 59)
        dialling = await s.sink.wait_for(changed("api-7", "dialling"), within=3 * 3600)
        assert dialling.at == pytest.approx(opening, abs=0.01)  # not a moment earlier
        assert dialling.due_at == pytest.approx(opening, abs=0.01)  # its order key
        assert states(s, "api-7") == ["waiting", "due", "dialling"]
        done = await s.sink.wait_for(changed("api-7", "answered"), within=600)
        assert done.due_by == sh(2026, 11, 25, 23, 59, 59)
        [agent_leg] = creates(s, "PJSIP/agent1001")
        first_dial = stasis_at(s, agent_leg.params["channelId"])
        assert opening <= first_dial < opening + 1
        ended = (await s.sink.ended(done.answered_call_id)).summary
        assert ended.outcome is Outcome.ANSWERED
        assert ended.arrived_at == scheduled.first_arrival  # the request, 07:14
        assert stasis_at(s, ended.call_id) > first_dial
        await all_gone(s)


async def test_a_retry_after_the_closing_waits_for_the_next_opening(tmp_path: Path) -> None:
    """Not before 17:50 on Monday: dialled then, unanswered; the retry 15 minutes later
    falls after the 18:00 closing, so the callback waits for Tuesday 09:00."""
    async with scenario(office_hours(), tmp_path) as s:
        s.login("1001")
        number_phone(s, "13900005", answer_after=None)  # never answers
        late = sh(2026, 11, 23, 17, 50)
        scheduled = s.engine.schedule_callback(
            request(s, "api-8", "13900005", not_before=late, retry_seconds=900), 1)
        assert scheduled.state.value == "waiting"
        assert scheduled.due_by == sh(2026, 11, 24, 23, 59, 59)  # the end of Tuesday
        retry = await s.sink.wait_for(changed("api-8", "retry"), within=12 * 3600)
        [a1] = of_type(s, CallbackAttempted)
        assert a1.started_at == pytest.approx(late, abs=0.01)
        assert retry.not_before == pytest.approx(a1.ended_at + 900, abs=0.01)
        waiting = await s.sink.wait_for(
            lambda e: changed("api-8", "waiting")(e) and e.at > retry.at, within=3600)
        assert waiting.at == pytest.approx(retry.not_before, abs=0.01)  # 18:05: closed
        failed = await s.sink.wait_for(changed("api-8", "failed"), within=24 * 3600)
        a2 = of_type(s, CallbackAttempted)[1]
        assert a2.started_at == pytest.approx(sh(2026, 11, 24, 9), abs=0.01)
        assert (failed.attempts, failed.last_result) == (2, "no_answer")
        assert states(s, "api-8") == ["waiting", "due", "dialling", "retry", "waiting", "due",
                                      "dialling", "failed"]
        assert rona_pauses(s, "1001") == []
        await all_gone(s)


# --------------------------------------------------------------------------- fairness


def most_attempts_live(s: Scenario) -> int:
    """The most callback attempts with a leg alive at one time, from the ARI events: an
    attempt's legs (the reserved agent's and the caller's) carry its call id
    (`<callback>-a<n>-<seq>`) from their StasisStart to their ChannelDestroyed."""
    live: dict[str, str] = {}  # channel -> attempt call id
    most = 0
    for e in s.events:
        ch = e.get("channel") or {}
        call_id = (ch.get("channelvars") or {}).get("HOTLINE_CALL_ID") or ""
        if e["type"] == "StasisStart" and "-a" in call_id and call_id.startswith("api-"):
            live[ch["id"]] = call_id
            most = max(most, len(set(live.values())))
        elif e["type"] == "ChannelDestroyed":
            live.pop(ch.get("id", ""), None)
    return most


async def test_rule_one_never_more_dials_than_free_agents(tmp_path: Path) -> None:
    async with scenario(config(in_queue=False), tmp_path) as s:
        s.login("1001", "1002")
        s.engine.pause("1002", "break")  # logged in, not free: not counted
        s.engine.pause("1001", "meeting")
        ids = [f"api-{n}" for n in range(1, 5)]
        for n, cb_id in enumerate(ids, start=1):
            number = f"1390001{n:04d}"
            number_phone(s, number)
            s.engine.schedule_callback(request(s, cb_id, number), 2)
        assert [states(s, i) for i in ids] == [["due"]] * 4
        s.engine.unpause("1001")  # one free agent, four due callbacks
        done = [await s.sink.wait_for(changed(i, "answered"), within=1800) for i in ids]
        await s.sink.ended(done[-1].answered_call_id)
        await all_gone(s)
        assert most_attempts_live(s) == 1
        assert len(creates(s, "@carrier")) == 4
        # served in their order (the same due time: by request, then id), one after another
        attempts = of_type(s, CallbackAttempted)
        assert [a.callback_id for a in attempts] == ids
        ends = {e.summary.call_id: e.summary for e in of_type(s, CallEnded)}
        for before, after in pairwise(done):
            assert after.at > ends[before.answered_call_id].ended_at  # after its wrap-up
        # the CallbackChanged stream never shows two dialling at once
        dialling: set[str] = set()
        for e in of_type(s, CallbackChanged):
            if e.state == "dialling":
                dialling.add(e.callback_id)
            else:
                dialling.discard(e.callback_id)
            assert len(dialling) <= 1
        assert all(e.agent_id == "1001" for e in done)
        assert creates(s, "PJSIP/agent1002") == []


async def test_rule_one_two_free_agents_two_dials(tmp_path: Path) -> None:
    async with scenario(config(in_queue=False), tmp_path) as s:
        s.login("1001", "1002")
        for n in range(1, 4):
            number = f"1390002{n:04d}"
            number_phone(s, number)
            s.engine.schedule_callback(request(s, f"api-{n}", number), 2)
        for n in range(1, 4):
            done = await s.sink.wait_for(changed(f"api-{n}", "answered"), within=1800)
            await s.sink.ended(done.answered_call_id)
        await all_gone(s)
        assert most_attempts_live(s) == 2  # the two agents at once, the third waited
        agents = {e.callback_id: e.agent_id for e in of_type(s, CallbackAttempted)}
        assert {agents["api-1"], agents["api-2"]} == {"1001", "1002"}


async def test_rule_two_callers_waiting_before_it_was_due_go_first(tmp_path: Path) -> None:
    async with scenario(config(in_queue=False), tmp_path) as s:
        first = await busy_agent(s, talk=120)
        early = s.sim.place_call("13900002", "12345", talk=180)  # waits for the agent
        await s.sink.wait_for(lambda e: isinstance(e, CallStateChanged)
                              and e.call_id == early and e.state == "queued")
        await asyncio.sleep(5)  # the timeline: the callback is asked for 5 s later
        number_phone(s, "13900009")
        s.engine.schedule_callback(request(s, "api-9", "13900009"), 2)
        await asyncio.sleep(5)  # and another caller rings 5 s after it became due
        late = s.sim.place_call("13900003", "12345", talk=300)
        done = await s.sink.wait_for(changed("api-9", "answered"), within=1800)
        late_end = (await s.sink.ended(late)).summary
        await all_gone(s)
        early_end = summary(s, early)
        [due] = [e for e in of_type(s, CallbackChanged)
                 if e.callback_id == "api-9" and e.state == "due"]
        assert early_end.arrived_at < due.due_at < late_end.arrived_at
        # the agent's phone rang for: the first caller, the early one, the callback, the
        # late caller — the callback took the agent after the caller waiting before it was
        # due, and before the one who came after
        legs = creates(s, "PJSIP/agent1001")
        assert [r.params.get("originator", "") for r in legs] == [
            first, early, "", late]
        assert legs[2].body["variables"]["HOTLINE_CALLBACK"] == "api-9"
        assert early_end.agent_id == late_end.agent_id == "1001"
        assert early_end.answered_at is not None
        assert late_end.answered_at is not None
        assert early_end.answered_at < done.at < late_end.answered_at
        assert late_end.outcome is Outcome.ANSWERED


async def test_rule_two_in_queue_callback_keeps_its_place(tmp_path: Path) -> None:
    async with scenario(config(), tmp_path) as s:
        await busy_agent(s, talk=120)
        number_phone(s, "13900002")
        keeper = s.sim.place_call("13900002", "12345", dtmf=press_key())
        await s.sink.wait_for(lambda e: isinstance(e, CallStateChanged)
                              and e.call_id == keeper and e.state == "queued")
        await asyncio.sleep(5)  # the timeline: another caller rings 5 s later, stays on
        later = s.sim.place_call("13900003", "12345", talk=300)
        kept = (await s.sink.ended(keeper)).summary
        assert kept.outcome is Outcome.CALLBACK
        done = await s.sink.wait_for(changed(f"cb-{keeper}", "answered"), within=1800)
        later_end = (await s.sink.ended(later)).summary
        await all_gone(s)
        # the waiting caller heard the offer too, pressed nothing, and was served after
        assert "sound:queue-callback-offer" in [
            r.params["media"] for r in s.sent("POST", f"/channels/{later}/play")]
        assert kept.arrived_at < later_end.arrived_at
        assert later_end.answered_at is not None
        assert done.at < later_end.answered_at
        callback_call = summary(s, done.answered_call_id)
        assert callback_call.arrived_at == kept.arrived_at  # its place: the first arrival
        assert callback_call.answered_at is not None
        assert callback_call.answered_at < later_end.answered_at
        legs = creates(s, "PJSIP/agent1001")
        assert [r.body["variables"].get("HOTLINE_CALLBACK", "") for r in legs] == [
            "", f"cb-{keeper}", ""]
        assert legs[2].params["originator"] == later


# --------------------------------------------------------------------------- agents and cancels


async def test_reserved_agent_not_answering_costs_no_attempt(tmp_path: Path) -> None:
    """agent_first: the reserved agent's phone rings out (a RONA of that agent's, not of the
    caller's); the callback is due again with its place and goes to the next agent, as a
    queued caller would after a RONA — not back to the agent who just did not answer."""
    cfg = make_config(mode="answer", strategy="round-robin",
                      callback={"dial": CARRIER, "attempts": 2})
    async with scenario(cfg, tmp_path) as s:
        s.login("1001", "1002")
        s.phone("1001", answer_after=None)
        number_phone(s, "13900006")
        s.engine.schedule_callback(request(s, "api-5", "13900006"), 2)
        released = await s.sink.wait_for(
            lambda e: changed("api-5", "due")(e) and e.agent_id == "1001")
        assert released.attempts == 0  # the caller was never dialled
        assert released.due_at == released.requested_at  # its place kept
        done = await s.sink.wait_for(changed("api-5", "answered"), within=600)
        assert (done.agent_id, done.attempts) == ("1002", 1)
        assert states(s, "api-5") == ["due", "dialling", "due", "dialling", "answered"]
        ended = (await s.sink.ended(done.answered_call_id)).summary
        assert ended.agent_id == "1002"
        [attempted] = of_type(s, CallbackAttempted)
        assert (attempted.agent_id, attempted.result) == ("1002", "answered")
        [first_leg] = creates(s, "PJSIP/agent1001")
        assert s.sent("DELETE", f"/channels/{first_leg.params['channelId']}")
        assert rona_pauses(s, "1001") == []  # one RONA: not yet paused (rona_pause_after 2)
        await all_gone(s)


async def test_cancel_during_an_attempt_hangs_up_and_frees_the_agent(tmp_path: Path) -> None:
    async with scenario(config(in_queue=False), tmp_path) as s:
        s.login("1001")
        number_phone(s, "13900007", answer_after=None)
        s.engine.schedule_callback(request(s, "api-6", "13900007"), 2)
        await s.sink.wait_for(lambda e: changed("api-6", "dialling")(e) and e.attempts == 1)
        await s.engine.quiesce()  # the caller's phone rings, the agent listens to music
        cancelled = s.engine.cancel_callback("api-6", "user:ann")
        assert cancelled.state.value == "cancelled"
        assert states(s, "api-6")[-1] == "cancelled"
        await all_gone(s)
        [agent_leg] = creates(s, "PJSIP/agent1001")
        [caller_leg] = creates(s, "@carrier")
        assert s.sent("DELETE", f"/channels/{agent_leg.params['channelId']}")
        assert s.sent("DELETE", f"/channels/{caller_leg.params['channelId']}")
        assert s.sink.agent_states("1001")[-1] == ("available", "")
        assert rona_pauses(s, "1001") == []
        assert of_type(s, CallEnded) == []  # nobody was reached: no call record
        assert "api-6" not in s.engine.core.callbacks
        with pytest.raises(KeyError):
            s.engine.cancel_callback("api-6", "user:ann")


async def test_key_while_an_agent_rings_cancels_that_offer(tmp_path: Path) -> None:
    """The caller presses the key while an agent's phone rings for them: that offer is
    cancelled (not a RONA), and the callback takes the agent next."""
    cfg = config()
    cfg = cfg.model_copy(update={"ringing": cfg.ringing.model_copy(update={"rings": 12})})
    async with scenario(cfg, tmp_path) as s:
        s.login("1001")
        s.phone("1001", answer_after=None)  # rings 60 s for the caller; nobody picks up
        number_phone(s, "13900008")
        caller = s.sim.place_call("13900008", "12345", dtmf=press_key())
        await s.sink.wait_for(lambda e: isinstance(e, AgentStateChanged)
                              and e.agent_id == "1001" and e.state == "ringing")
        await s.engine.quiesce()
        s.phone("1001", answer_after=2.0)  # the phone's next call is answered
        left = (await s.sink.ended(caller)).summary
        assert left.outcome is Outcome.CALLBACK
        [offer] = left.offers
        assert (offer.agent_id, offer.result) == ("1001", OfferResult.CANCELLED)
        assert offer.ended_at - offer.started_at > PRESS_AT - 1  # rang until the key
        done = await s.sink.wait_for(changed(f"cb-{caller}", "answered"), within=600)
        assert done.agent_id == "1001"
        await s.sink.ended(done.answered_call_id)
        await all_gone(s)
        [first, again] = creates(s, "PJSIP/agent1001")
        assert first.params["originator"] == caller
        assert s.sent("DELETE", f"/channels/{first.params['channelId']}")
        assert again.body["variables"]["HOTLINE_CALLBACK"] == f"cb-{caller}"
        assert rona_pauses(s, "1001") == []


async def test_wait_from_the_dial_without_sl_from_first_arrival(tmp_path: Path) -> None:
    cfg = config(in_queue=False, sl_from_first_arrival=False)
    async with scenario(cfg, tmp_path) as s:
        s.login("1001")
        s.engine.pause("1001", "break")
        number_phone(s, "13900010")
        s.engine.schedule_callback(request(s, "api-10", "13900010"), 2)
        await asyncio.sleep(60)  # the timeline: the agent comes back a minute later
        s.engine.unpause("1001")
        done = await s.sink.wait_for(changed("api-10", "answered"))
        ended = (await s.sink.ended(done.answered_call_id)).summary
        [attempted] = of_type(s, CallbackAttempted)
        assert ended.arrived_at == attempted.started_at  # the dial, not the request
        assert ended.arrived_at >= done.requested_at + 60
        await all_gone(s)
