"""Callbacks: the pure rules (order keys, the two fairness rules, attempts, windows on the
2026 calendar) and the call-flow room on the pure rig (in-queue callbacks answered agent
first and caller first, a callback never answered, a scheduled one dialled when its queue
opens, fairness against waiting callers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ari_app.callbacks import (
    AttemptResult,
    Callback,
    IllegalMove,
    Kind,
    State,
    deadline,
    dialable,
    next_opening,
    working_days_taken,
)
from ari_app.callbacks.report import callback_kpis
from ari_app.config.hours import opening_hours
from ari_app.config.settings import Config, Hours
from ari_app.config.site_calendar import site_calendar
from ari_app.domain.commands import CreateChannel, Dial, Hangup, Play, StartMoh
from ari_app.domain.events import (
    CallbackAttempted,
    CallbackChanged,
    CallProgress,
)
from tests.callflow_rig import T0, Rig, make_config

SH = ZoneInfo("Asia/Shanghai")
CAL = site_calendar(Config())
IS_OPEN = opening_hours(CAL)
OFFICE = Hours(timezone="Asia/Shanghai", working_days=("09:00-18:00",))


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    return datetime(y, m, d, hh, mm, tzinfo=SH).timestamp()


def cb(id: str = "c1", kind: Kind = Kind.SCHEDULED, **kw: Any) -> Callback:
    base: dict[str, Any] = dict(
        id=id, kind=kind, queue="support", caller_number="13800001234", reason="r",
        requested_by="caller", call_id="x", requested_at=100.0, first_arrival=100.0,
        not_before=100.0, max_attempts=2, retry_seconds=60.0,
    )
    base.update(kw)
    return Callback(**base)


def due(c: Callback, at: float) -> Callback:
    return c.wait(at).became_due(at, at) if c.state is State.REQUESTED else c.became_due(at, at)


# --------------------------------------------------------------------------- pure rules


def test_order_keys_in_queue_keeps_arrival_scheduled_takes_due_time() -> None:
    inq = due(cb("a", Kind.IN_QUEUE, first_arrival=50.0, requested_at=90.0), 95.0)
    sched = due(cb("b", first_arrival=10.0, not_before=200.0), 300.0)
    assert inq.order_key == 50.0
    assert sched.order_key == 300.0  # not its first arrival, not before it became due
    with pytest.raises(IllegalMove):
        sched.became_due(400.0, 400.0)  # due -> due is not a move


def test_fairness_rule_one_never_more_dials_than_free_agents() -> None:
    book = [due(cb(f"c{i}", Kind.IN_QUEUE, first_arrival=float(i)), 10.0) for i in range(5)]
    assert [c.id for c in dialable(book, [], free_agents=2)] == ["c0", "c1"]
    assert [c.id for c in dialable(book, [], free_agents=3, in_flight=2)] == ["c0"]
    assert dialable(book, [], free_agents=0) == []
    assert dialable(book, [], free_agents=2, in_flight=2) == []


def test_fairness_rule_two_callers_waiting_before_it_was_due_go_first() -> None:
    sched = due(cb("s", first_arrival=0.0), 100.0)  # asked long ago, due at 100
    # callers since 90 and 95 were waiting before it was due: with 2 agents, both go first
    assert dialable([sched], [90.0, 95.0], free_agents=2) == []
    # a third agent is for the callback
    assert [c.id for c in dialable([sched], [90.0, 95.0], free_agents=3)] == ["s"]
    # a caller who came after it was due waits behind it
    assert [c.id for c in dialable([sched], [101.0], free_agents=1)] == ["s"]
    # a tie goes to the caller; a VIP (-inf) always goes first
    assert dialable([sched], [100.0], free_agents=1) == []
    assert dialable([sched], [float("-inf")], free_agents=1) == []
    # an in-queue callback keeps its place: older than the caller who came at 60
    inq = due(cb("i", Kind.IN_QUEUE, first_arrival=50.0), 100.0)
    assert [c.id for c in dialable([inq], [60.0], free_agents=1)] == ["i"]
    assert dialable([inq], [40.0], free_agents=1) == []


def test_attempts_retry_then_failed() -> None:
    c = due(cb(max_attempts=2, retry_seconds=60.0), 100.0)
    c = c.dialling("1001", 100.0).caller_dialled(101.0)
    c = c.attempt_ended(AttemptResult.NO_ANSWER, 130.0)
    assert (c.state, c.attempts, c.not_before, c.due_at) == (State.RETRY, 1, 190.0, None)
    c = c.became_due(190.0, 190.0).dialling("1002", 190.0).caller_dialled(190.0)
    c = c.attempt_ended(AttemptResult.BUSY, 200.0)
    assert (c.state, c.attempts, c.last_result) == (State.FAILED, 2, "busy")
    assert not c.pending
    with pytest.raises(IllegalMove):
        c.cancelled(201.0)


def test_reserved_agent_lost_before_the_dial_costs_no_attempt() -> None:
    c = due(cb(), 100.0).dialling("1001", 100.0).released(115.0)
    assert (c.state, c.attempts, c.due_at) == (State.DUE, 0, 100.0)


def test_deadline_on_the_2026_calendar() -> None:
    # asked Monday 09-28 within 5 working days: National Day 10-01..07 off, Sat 10-10 works
    end = datetime.fromtimestamp(deadline(CAL, sh(2026, 9, 28, 10), 5), SH)
    assert end == datetime(2026, 10, 10, 23, 59, 59, tzinfo=SH)
    # 0 days from a holiday: the next working day
    end0 = datetime.fromtimestamp(deadline(CAL, sh(2026, 10, 3, 10), 0), SH)
    assert end0.date().isoformat() == "2026-10-08"
    assert working_days_taken(CAL, sh(2026, 9, 30, 17), sh(2026, 10, 9, 9)) == 2  # 10-08, 10-09


def test_dialled_only_in_open_hours_working_saturday_and_national_day() -> None:
    # Wednesday 09-30 at 19:00: closed; the holiday closes 10-01..07; Thursday 10-08 09:00
    at = next_opening(OFFICE, sh(2026, 9, 30, 19), IS_OPEN)
    assert at == sh(2026, 10, 8, 9)
    # Friday 10-09 at 18:30: the next opening is the working Saturday 10-10 at 09:00
    assert next_opening(OFFICE, sh(2026, 10, 9, 18, 30), IS_OPEN) == sh(2026, 10, 10, 9)
    # Saturday 10-10 at 12:00 is open: now
    assert next_opening(OFFICE, sh(2026, 10, 10, 12), IS_OPEN) == sh(2026, 10, 10, 12)
    # Saturday 10-17 (an ordinary weekend) 19:00: Monday 10-19 09:00
    assert next_opening(OFFICE, sh(2026, 10, 17, 19), IS_OPEN) == sh(2026, 10, 19, 9)


def test_kpis_by_hand() -> None:
    a = due(cb("a", requested_at=sh(2026, 9, 30, 17)), sh(2026, 9, 30, 17))
    a = a.dialling("1001", 0).caller_dialled(0).attempt_ended(
        AttemptResult.ANSWERED, sh(2026, 10, 9, 9))  # 2 working days (10-08, 10-09)
    b = due(cb("b", requested_at=sh(2026, 10, 9, 10)), sh(2026, 10, 9, 10))
    b = b.dialling("1001", 0).caller_dialled(0).attempt_ended(
        AttemptResult.ANSWERED, sh(2026, 10, 9, 11))  # same day: 0
    c = due(cb("c", requested_at=sh(2026, 10, 9, 10), max_attempts=1), sh(2026, 10, 9, 10))
    c = c.dialling("1001", 0).caller_dialled(0).attempt_ended(AttemptResult.BUSY, 0)
    d = cb("d", queue="sales", requested_at=sh(2026, 10, 9, 12))
    rows = {r.queue: r for r in callback_kpis([a, b, c, d], CAL, sh(2026, 9, 1), sh(2026, 11, 1))}
    s = rows["support"]
    assert (s.requested, s.dialled, s.attempts, s.answered, s.failed) == (3, 3, 3, 2, 1)
    assert s.mean_working_days == 1.0
    assert s.max_working_days == 2
    assert s.answered_rate == round(2 / 3, 4)
    assert (rows["sales"].requested, rows["sales"].pending, rows["sales"].dialled) == (1, 1, 0)
    assert rows["*"].requested == 4


# --------------------------------------------------------------------------- the call flow


def config(**callback: Any) -> Config:
    settings = {"in_queue": True, "offer_after_seconds": 30, "dial": "PJSIP/{number}@carrier",
                "attempts": 2, "retry_seconds": 120, **callback}
    return make_config(mode="answer", callback=settings)


def waiting_caller(rig: Rig, cid: str = "c1", number: str = "13900001") -> None:
    rig.arrive(cid, number)


def press(rig: Rig, cid: str, digit: str) -> list[Any]:
    return rig.event("ChannelDtmfReceived", channel={"id": cid}, digit=digit, duration_ms=100)


def take_offer(rig: Rig, cid: str) -> None:
    """The caller waited 30 s, heard the offer and pressed 1."""
    out = rig.advance(30)
    [offer] = [c for c in out if isinstance(c, Play) and c.channel_id == cid]
    assert offer.media == ("sound:queue-callback-offer",)
    rig.playback_finished(offer.playback_id)
    out = press(rig, cid, "1")
    [confirm] = [c for c in out if isinstance(c, Play)]
    assert confirm.media == ("sound:queue-callback-confirm",)
    out = rig.playback_finished(confirm.playback_id)
    assert Hangup(cid) in out


def creates(out: list[Any]) -> list[CreateChannel]:
    return [c for c in out if isinstance(c, CreateChannel)]


def states(rig: Rig, callback_id: str) -> list[str]:
    return [e.state for e in rig.of_type(CallbackChanged) if e.callback_id == callback_id]


def test_in_queue_callback_agent_first_answered_keeps_the_arrival() -> None:
    rig = Rig(config())
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    waiting_caller(rig)
    take_offer(rig, "c1")
    assert states(rig, "cb-c1") == ["due"]
    rig.advance(100)
    out = rig._run(rig.core.unpause("1001", rig.now))
    [agent_leg] = creates(out)
    assert agent_leg.endpoint == "PJSIP/agent1001"
    assert agent_leg.originator == ""
    assert agent_leg.variables["HOTLINE_CALLBACK"] == "cb-c1"
    rig.ringing(agent_leg.channel_id)
    out = rig.answer(agent_leg.channel_id)
    [caller_leg] = creates(out)
    assert caller_leg.endpoint == "PJSIP/13900001@carrier"
    assert caller_leg.app_args == "callback,cb-c1"
    assert StartMoh(agent_leg.channel_id, "default") in out
    assert any(isinstance(c, Dial) and c.channel_id == caller_leg.channel_id for c in out)
    out = rig.answer(caller_leg.channel_id)
    [greet] = [c for c in out if isinstance(c, Play)]
    assert greet.channel_id == caller_leg.channel_id
    assert "digits:1001" in greet.media
    assert Hangup(caller_leg.channel_id) not in out  # its Dial ANSWER is not an agent's
    assert states(rig, "cb-c1")[-1] == "answered"
    [progress] = [p for p in rig.of_type(CallProgress) if p.call_id == caller_leg.channel_id
                  and p.answered_at is not None]
    assert progress.arrived_at == T0  # the first arrival, for the statistics
    [attempt] = rig.of_type(CallbackAttempted)
    assert (attempt.result, attempt.agent_id, attempt.attempt) == ("answered", "1001", 1)
    out = rig.playback_finished(greet.playback_id)
    assert ("POST", f"/bridges/br-{caller_leg.channel_id}/addChannel") in rig.requests(out)
    assert ("POST", f"/channels/{caller_leg.channel_id}/snoop") in rig.requests(out)  # recorded


def test_in_queue_callback_caller_first() -> None:
    rig = Rig(config(mode="caller_first"))
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    waiting_caller(rig)
    take_offer(rig, "c1")
    out = rig._run(rig.core.unpause("1001", rig.now))
    [caller_leg] = creates(out)  # the caller first; the agent is reserved
    assert caller_leg.endpoint == "PJSIP/13900001@carrier"
    assert rig.core.agents.require("1001").state == "ringing"
    out = rig.answer(caller_leg.channel_id)
    [agent_leg] = creates(out)
    assert agent_leg.endpoint == "PJSIP/agent1001"
    assert agent_leg.originator == caller_leg.channel_id
    assert states(rig, "cb-c1")[-1] == "answered"
    out = rig.answer(agent_leg.channel_id)
    assert any(isinstance(c, Play) and c.channel_id == caller_leg.channel_id for c in out)


def test_callback_not_answered_is_retried_then_failed() -> None:
    rig = Rig(config(attempts=2, retry_seconds=120))
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    waiting_caller(rig)
    take_offer(rig, "c1")
    out = rig._run(rig.core.unpause("1001", rig.now))
    for n in (1, 2):
        [agent_leg] = creates(out)
        rig.ringing(agent_leg.channel_id)
        out = rig.answer(agent_leg.channel_id)
        [caller_leg] = creates(out)
        out = rig.advance(40)  # 30 s dial timeout + setup: no answer
        assert Hangup(caller_leg.channel_id) in out
        assert Hangup(agent_leg.channel_id) in out  # the agent is freed
        assert rig.core.agents.require("1001").state == "available"
        if n == 1:
            assert states(rig, "cb-c1")[-1] == "retry"
            assert not creates(rig.advance(60))  # the retry delay holds
            out = rig.advance(60)
    assert states(rig, "cb-c1")[-1] == "failed"
    results = [a.result for a in rig.of_type(CallbackAttempted)]
    assert results == ["no_answer", "no_answer"]
    assert "cb-c1" not in rig.core.callbacks


def test_busy_caller_leg_counts_busy() -> None:
    rig = Rig(config(attempts=1))
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    waiting_caller(rig)
    take_offer(rig, "c1")
    [agent_leg] = creates(rig._run(rig.core.unpause("1001", rig.now)))
    [caller_leg] = creates(rig.answer(agent_leg.channel_id))
    rig.hangup(caller_leg.channel_id, cause=17)
    assert states(rig, "cb-c1")[-1] == "failed"
    assert rig.of_type(CallbackAttempted)[-1].result == "busy"


def test_scheduled_callback_waits_for_the_queue_to_open() -> None:
    cfg = make_config(
        mode="answer",
        hours={"timezone": "Asia/Shanghai", "working_days": ["09:00-18:00"]},
        callback={"dial": "PJSIP/{number}@carrier"},
    )
    rig = Rig(cfg)
    rig.now = sh(2026, 10, 9, 18, 30)  # Friday evening: closed until Saturday 10-10 09:00
    rig.login("1001")
    request = cb("api-1", first_arrival=rig.now, requested_at=rig.now, not_before=rig.now,
                 caller_number="13800001234")
    scheduled, out = rig.core.schedule_callback(request, 2, rig.now)
    rig._run(out)
    assert scheduled.state is State.WAITING
    assert datetime.fromtimestamp(scheduled.due_by or 0, SH).date().isoformat() == "2026-10-12"
    out = rig.advance(sh(2026, 10, 10, 9) - rig.now - 1)
    assert not creates(out)
    out = rig.advance(1)
    [agent_leg] = creates(out)
    assert agent_leg.variables["HOTLINE_CALLBACK"] == "api-1"
    assert rig.core.callbacks["api-1"].due_at == sh(2026, 10, 10, 9)  # its order key


def test_fairness_on_the_rig_older_caller_first_and_one_agent_one_dial() -> None:
    rig = Rig(config(in_queue=False))
    for a in ("1001", "1002"):
        rig.login(a)
        rig.core.pause(a, "break", rig.now)
    rig.arrive("old", "13900002")  # waiting before the callbacks are due
    rig.advance(10)
    for i in (1, 2, 3):
        request = cb(f"s{i}", first_arrival=rig.now - 1000, requested_at=rig.now,
                     not_before=rig.now, caller_number=f"1380000000{i}")
        rig._run(rig.core.schedule_callback(request, None, rig.now)[1])
    out = rig._run(rig.core.unpause("1001", rig.now))
    # one agent free: the caller waiting since before the callbacks were due takes it
    assert [c.endpoint for c in creates(out)] == ["PJSIP/agent1001"]
    assert creates(out)[0].variables.get("HOTLINE_CALLBACK") is None
    out = rig._run(rig.core.unpause("1002", rig.now))
    # the second agent: one callback dial, never more than the free agents
    assert [c.variables.get("HOTLINE_CALLBACK") for c in creates(out)] == ["s1"]
    assert [cb.state for cb in rig.core.callbacks.values()].count(State.DIALLING) == 1


def test_cancel_hangs_up_an_attempt_and_frees_the_agent() -> None:
    rig = Rig(config())
    rig.login("1001")
    rig.core.pause("1001", "break", rig.now)
    waiting_caller(rig)
    take_offer(rig, "c1")
    [agent_leg] = creates(rig._run(rig.core.unpause("1001", rig.now)))
    cancelled, out = rig.core.cancel_callback("cb-c1", "user:ann", rig.now)
    assert Hangup(agent_leg.channel_id) in rig._run(out)
    assert cancelled.state is State.CANCELLED
    assert rig.core.agents.require("1001").state == "available"
    with pytest.raises(KeyError):
        rig.core.cancel_callback("cb-c1", "user:ann", rig.now)


def test_restore_after_restart_dials_pending_ones() -> None:
    rig = Rig(config())
    rig.login("1001")
    pending = due(cb("old-1", Kind.IN_QUEUE, first_arrival=rig.now - 500), rig.now - 400)
    pending = pending.dialling("1002", rig.now - 300)  # an attempt the old engine lost
    out = rig._run(rig.core.restore_callbacks([pending], rig.now))
    [leg] = creates(out)
    assert leg.variables["HOTLINE_CALLBACK"] == "old-1"


def test_scheduled_while_an_agent_is_free_is_dialled_at_once() -> None:
    rig = Rig(config(in_queue=False))
    rig.login("1001")
    request = cb("api-2", first_arrival=rig.now, requested_at=rig.now, not_before=rig.now)
    scheduled, out = rig.core.schedule_callback(request, 2, rig.now)
    [agent_leg] = creates(rig._run(out))
    assert agent_leg.variables["HOTLINE_CALLBACK"] == "api-2"
    assert scheduled.state is State.DIALLING
    assert rig.core.agents.require("1001").state == "ringing"


def test_reserved_agent_who_did_not_answer_is_not_reserved_again_first() -> None:
    cfg = make_config(mode="answer", strategy="round-robin",
                      callback={"dial": "PJSIP/{number}@carrier"})
    rig = Rig(cfg)
    rig.login("1001")
    rig.login("1002")
    request = cb("api-3", first_arrival=rig.now, requested_at=rig.now, not_before=rig.now)
    [first] = creates(rig._run(rig.core.schedule_callback(request, 2, rig.now)[1]))
    assert first.endpoint == "PJSIP/agent1001"
    rig.ringing(first.channel_id)
    out = rig.advance(16)  # 3 rings of 5 s: rang out
    assert Hangup(first.channel_id) in out
    [second] = creates(out)
    assert second.endpoint == "PJSIP/agent1002"  # not 1001 again
    assert rig.core.callbacks["api-3"].attempts == 0
    # both had a go: a new round may take 1001 again
    rig.ringing(second.channel_id)
    [third] = creates(rig.advance(16))
    assert third.endpoint == "PJSIP/agent1001"
