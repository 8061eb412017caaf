"""The record types producers build: validation at construction and idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ari_app.records.types import AuditRecord, CallRecord, OfferRecord, TransferRecord

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_naive_datetime_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="arrival must be a timezone-aware"):
        CallRecord("c1", "demo", "support", "13800001234", datetime(2026, 11, 23), None, None,
                   "abandoned")


def test_unknown_outcome_is_rejected() -> None:
    with pytest.raises(ValueError, match="outcome 'lost' is not one of"):
        CallRecord("c1", "demo", "support", "1", T0, None, T0, "lost")  # type: ignore[arg-type]


def test_offer_key_is_call_and_seq() -> None:
    o = OfferRecord("c1", 2, "1001", "ch-1", T0, T0, None, T0, 6.0, 2, "rona")
    assert o.key == ("c1", "2")


def test_producer_ids_are_fresh_by_default_and_kept_when_given() -> None:
    a = AuditRecord("alice", "supervisor", "listen", "recording", "r1", T0)
    b = AuditRecord("alice", "supervisor", "listen", "recording", "r1", T0)
    assert a.key != b.key
    t = TransferRecord("c1", "blind", "1001", "queue:sales", T0, "completed", record_id="x")
    assert t.key == ("x",)
