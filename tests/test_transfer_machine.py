"""The transfer state machine on its own: plain calls, no core, no sockets."""

from __future__ import annotations

import pytest

from ari_app.callflow.transfer.machine import (
    Do,
    Kind,
    Phase,
    Target,
    TargetKind,
    Transfer,
    TransferError,
    parse_target,
)

AGENT = Target(TargetKind.AGENT, "1002", "agent:1002")
QUEUE = Target(TargetKind.QUEUE, "billing", "queue:billing")
DEPT = Target(TargetKind.QUEUE, "billing", "billing-dept", ("sound:xfer-billing",))
OUTSIDE = Target(TargetKind.EXTERNAL, "PJSIP/legal", "legal", ("sound:xfer-legal",))


def test_parse_target_forms() -> None:
    assert parse_target("queue:billing").address == "queue:billing"
    assert parse_target("agent:1002").kind is TargetKind.AGENT
    outside = parse_target("PJSIP/trunk/81234567", label="legal")
    assert (outside.kind, outside.address, outside.label) == (
        TargetKind.EXTERNAL,
        "PJSIP/trunk/81234567",
        "legal",
    )
    with pytest.raises(TransferError, match="not a transfer target"):
        parse_target("billing")


def test_blind_to_a_queue_moves_at_once() -> None:
    t, steps = Transfer.start(Kind.BLIND, QUEUE, "1001", 10.0)
    assert steps == [Do.MOVE]
    assert (t.phase, t.result, t.ended_at) == (Phase.COMPLETED, "completed", 10.0)
    assert not t.agent_present


def test_blind_to_a_department_announces_first() -> None:
    t, steps = Transfer.start(Kind.BLIND, DEPT, "1001", 10.0)
    assert (steps, t.phase) == ([Do.ANNOUNCE], Phase.ANNOUNCING)
    assert t.answered(11.0) == []  # nothing rings yet
    assert t.announced(12.0) == [Do.MOVE]
    assert t.phase is Phase.COMPLETED


def test_blind_to_an_outside_number_dials_after_the_announcement() -> None:
    t, steps = Transfer.start(Kind.BLIND, OUTSIDE, "1001", 0.0)
    assert steps == [Do.ANNOUNCE]
    assert t.announced(2.0) == [Do.DIAL]
    assert t.answered(5.0) == [Do.JOIN]
    assert t.result == "completed"


@pytest.mark.parametrize("reason", ["busy", "no_answer", "unavailable"])
def test_blind_target_failing_requeues_the_caller(reason: str) -> None:
    t, _ = Transfer.start(Kind.BLIND, AGENT, "1001", 0.0)
    assert t.target_failed(reason, 20.0) == [Do.REQUEUE]
    assert (t.phase, t.reason) == (Phase.FAILED, reason)
    assert t.answered(21.0) == []  # a late answer changes nothing


def test_attended_to_a_queue_is_refused() -> None:
    with pytest.raises(TransferError, match="needs someone to consult"):
        Transfer.start(Kind.ATTENDED, QUEUE, "1001", 0.0)


def test_attended_consult_then_complete() -> None:
    t, steps = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    assert steps == [Do.DIAL]
    with pytest.raises(TransferError, match="not answered yet"):
        t.complete(1.0)
    assert t.answered(2.0) == [Do.CONSULT]
    assert t.phase is Phase.CONSULTING
    assert t.complete(9.0) == [Do.JOIN]
    assert (t.result, t.ended_at) == ("completed", 9.0)
    with pytest.raises(TransferError, match="no consultation to complete"):
        t.complete(10.0)


@pytest.mark.parametrize("answered", [False, True])
def test_attended_cancel_returns_to_the_caller(answered: bool) -> None:
    t, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    if answered:
        t.answered(2.0)
    assert t.cancel(3.0) == [Do.RETURN]
    assert (t.result, t.reason) == ("cancelled", "cancelled")


def test_attended_target_declines_or_hangs_up_returns_to_the_agent() -> None:
    t, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    assert t.target_failed("busy", 1.0) == [Do.RETURN]
    t, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    t.answered(1.0)
    assert t.target_failed("target_hangup", 4.0) == [Do.RETURN]
    assert t.result == "failed"


def test_agent_hanging_up_while_consulting_completes() -> None:
    t, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    t.answered(1.0)
    assert t.agent_gone(3.0) == [Do.JOIN]
    assert (t.result, t.reason) == ("completed", "agent_hangup")


def test_agent_hanging_up_while_target_rings_goes_on_blind() -> None:
    t, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    assert t.agent_gone(1.0) == []
    assert t.active
    assert not t.agent_present
    with pytest.raises(TransferError, match="no consultation to cancel"):
        t.cancel(2.0)
    assert t.answered(4.0) == [Do.JOIN]  # straight to the caller, no consultation
    t2, _ = Transfer.start(Kind.ATTENDED, AGENT, "1001", 0.0)
    t2.agent_gone(1.0)
    assert t2.target_failed("no_answer", 20.0) == [Do.REQUEUE]


@pytest.mark.parametrize("kind", [Kind.BLIND, Kind.ATTENDED, Kind.PHONE])
def test_caller_hanging_up_drops_the_target(kind: Kind) -> None:
    t, _ = Transfer.start(kind, AGENT, "1001", 0.0)
    assert t.caller_gone(2.0) == [Do.DROP]
    assert (t.result, t.reason) == ("failed", "caller_hangup")
    assert t.caller_gone(3.0) == []


def test_phone_transfers_core_and_ari_only() -> None:
    core, steps = Transfer.start(Kind.PHONE, AGENT, "1001", 0.0)
    assert steps == [Do.DIAL]
    assert core.target_failed("busy", 1.0) == [Do.REQUEUE]  # the agent is already gone
    ari, _ = Transfer.start(Kind.PHONE, AGENT, "1001", 0.0, agent_stays=True)
    assert ari.target_failed("busy", 1.0) == [Do.RETURN]  # the agent never left
    ari, _ = Transfer.start(Kind.PHONE, AGENT, "1001", 0.0, agent_stays=True)
    assert ari.answered(2.0) == [Do.JOIN]
    _queue, steps = Transfer.start(Kind.PHONE, QUEUE, "1001", 0.0, agent_stays=True)
    assert steps == [Do.MOVE]
