"""Audit rows for every sensitive action, for refusals on sensitive routes, and for engine
refusals — each written before the response starts."""

from __future__ import annotations

from typing import Any

import pytest

from ari_app.api import create_api
from ari_app.api.control import RecordingStream, TransferInfo
from tests.test_api_fakes import (
    PASSWORDS,
    PINS,
    T0,
    FakeClock,
    FakeControl,
    ListSink,
    basic,
    call_app,
    make_config,
)

MONITOR = {"mode": "whisper", "device": "PJSIP/sup"}


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.sink = ListSink()
        self.app = create_api(self.config, self.fake, self.sink, clock=self.clock)
        self.rows_at_start: list[int] = []

    async def do(self, user: str, method: str, path: str, body: Any = None) -> int:
        reply = await call_app(
            self.app,
            method,
            path,
            headers=basic(user),
            json=body,
            on_start=lambda: self.rows_at_start.append(len(self.sink.records)),
        )
        return reply.status


@pytest.fixture
def rig() -> Rig:
    return Rig()


def _consult(rig: Rig) -> None:
    rig.fake.transfers["c1"] = TransferInfo("c1", "attended", "queue:billing", "consulting")


SENSITIVE = [
    # (user, method, path, body, setup) -> one row (actor, action, object_id, outcome)
    ("sue", "POST", "/calls/c1/monitor", MONITOR, None, ("sue", "monitor.start", "c1", "ok")),
    (
        "tina",
        "POST",
        "/agents/1001/monitor",
        MONITOR,
        None,
        ("tina", "monitor.start", "1001", "ok"),
    ),
    (
        "sue",
        "PATCH",
        "/monitor/{sid}",
        {"mode": "barge"},
        "session",
        ("sue", "monitor.mode", "{sid}", "ok"),
    ),
    ("sue", "DELETE", "/monitor/{sid}", None, "session", ("sue", "monitor.stop", "{sid}", "ok")),
    (
        "sue",
        "GET",
        "/recordings/rec-c1/audio",
        None,
        None,
        ("sue", "recording.download", "rec-c1", "ok"),
    ),
    ("tina", "POST", "/agents/1001/logout", None, None, ("tina", "agent.logout", "1001", "ok")),
    (
        "ann",
        "POST",
        "/calls/c1/transfer",
        {"kind": "blind", "target": "legal"},
        None,
        ("ann", "call.transfer", "c1", "ok"),
    ),
    (
        "ann",
        "POST",
        "/calls/c1/transfer/complete",
        None,
        "consult",
        ("ann", "call.transfer_complete", "c1", "ok"),
    ),
    (
        "tina",
        "POST",
        "/calls/c1/transfer/cancel",
        None,
        "consult",
        ("tina", "call.transfer_cancel", "c1", "ok"),
    ),
    ("adam", "GET", "/admin/config", None, None, ("adam", "config.show", "", "ok")),
]


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "setup", "row"),
    SENSITIVE,
    ids=[f"{m} {p}" for _, m, p, *_ in SENSITIVE],
)
async def test_sensitive_action_writes_one_row_before_responding(
    rig: Rig, user: str, method: str, path: str, body: Any, setup: str | None, row: tuple[str, ...]
) -> None:
    sid = rig.fake.add_session(by="sue") if setup == "session" else ""
    if setup == "consult":
        _consult(rig)
    rig.clock.advance(42)
    status = await rig.do(user, method, path.format(sid=sid), body)
    assert status < 300
    expected = tuple(part.format(sid=sid) for part in row)
    assert rig.sink.actions() == [expected]
    assert rig.rows_at_start == [1], "the row must exist when the response starts"
    record = rig.sink.records[0]
    assert record.at == T0.replace(second=42)
    assert (
        record.role
        == {"sue": "supervisor", "tina": "team_lead", "ann": "agent", "adam": "admin"}[user]
    )


async def test_details_name_what_was_done(rig: Rig) -> None:
    await rig.do("sue", "POST", "/calls/c1/monitor", MONITOR)
    session = next(iter(rig.fake.sessions))
    await rig.do("sue", "PATCH", f"/monitor/{session}", {"mode": "barge"})
    await rig.do("ann", "POST", "/calls/c1/transfer", {"kind": "blind", "target": "billing"})
    await rig.do("sue", "GET", "/recordings/rec-c1/audio")
    details = [r.detail for r in rig.sink.records]
    assert details == [
        f"outcome=ok mode=whisper device=PJSIP/sup session={session}",
        "outcome=ok mode=barge",
        "outcome=ok kind=blind target=billing",
        "outcome=ok sha256=" + "ab" * 32,
    ]
    assert rig.fake.opened == [("rec-c1", "sue")]


async def test_own_logout_is_not_audited_but_someone_elses_is(rig: Rig) -> None:
    assert await rig.do("ann", "POST", "/agents/1001/logout") == 200
    assert rig.sink.records == []
    rig.fake.set_state("1001", "available")
    assert await rig.do("sue", "POST", "/agents/1001/logout") == 200
    assert rig.sink.actions() == [("sue", "agent.logout", "1001", "ok")]
    assert rig.fake.logouts == [("1001", "ann"), ("1001", "sue")]


DENIED = [
    ("tina", "POST", "/calls/c2/monitor", MONITOR, ("tina", "monitor.start", "c2", "denied")),
    ("ann", "POST", "/calls/c1/monitor", MONITOR, ("ann", "monitor.start", "c1", "denied")),
    (
        "tina",
        "GET",
        "/recordings/rec-c1/audio",
        None,
        ("tina", "recording.download", "rec-c1", "denied"),
    ),
    ("ann", "POST", "/agents/2001/logout", None, ("ann", "agent.logout", "2001", "denied")),
    (
        "bob",
        "POST",
        "/calls/c1/transfer",
        {"kind": "blind", "target": "billing"},
        ("bob", "call.transfer", "c1", "denied"),
    ),
    ("sue", "GET", "/admin/config", None, ("sue", "config.show", "", "denied")),
]


@pytest.mark.parametrize(
    ("user", "method", "path", "body", "row"), DENIED, ids=[f"{u} {p}" for u, _, p, *_ in DENIED]
)
async def test_refusals_on_sensitive_routes_are_audited(
    rig: Rig, user: str, method: str, path: str, body: Any, row: tuple[str, ...]
) -> None:
    assert await rig.do(user, method, path, body) == 403
    assert rig.sink.actions() == [row]
    assert "reason=" in rig.sink.records[0].detail
    assert rig.fake.sessions == {}
    assert rig.fake.transfers == {}
    assert rig.fake.opened == []


async def test_refusals_on_ordinary_routes_are_not_audited(rig: Rig) -> None:
    assert await rig.do("ann", "POST", "/agents/2001/pause", {"reason": "x"}) == 403
    assert await rig.do("ann", "GET", "/recordings") == 403
    assert rig.sink.records == []


async def test_engine_refusals_are_audited_as_failed(rig: Rig) -> None:
    # c3 is queued (no agent): the engine refuses to monitor it
    assert await rig.do("sue", "POST", "/calls/c3/monitor", MONITOR) == 422
    assert await rig.do("sue", "DELETE", "/monitor/m404") == 404
    assert await rig.do("sue", "GET", "/recordings/rec-none/audio") == 404
    assert rig.sink.actions() == [
        ("sue", "monitor.start", "c3", "failed"),
        ("sue", "monitor.stop", "m404", "failed"),
        ("sue", "recording.download", "rec-none", "failed"),
    ]
    assert rig.sink.records[0].detail.endswith("error=invalid_state")


async def test_download_streams_only_after_the_row_is_written(rig: Rig) -> None:
    order: list[str] = []
    real_open = rig.fake.open_recording

    async def open_recording(name: str, by: str, role: str) -> RecordingStream:
        stream = await real_open(name, by, role)

        async def chunks():  # type: ignore[no-untyped-def]
            order.append(f"bytes after {len(rig.sink.records)} row(s)")
            async for chunk in stream.chunks:
                yield chunk

        return RecordingStream(stream.info, stream.content_type, chunks())

    rig.fake.open_recording = open_recording  # type: ignore[method-assign]
    reply = await call_app(rig.app, "GET", "/recordings/rec-c1/audio", headers=basic("sue"))
    assert reply.status == 200
    assert reply.body == b"RIFF"
    assert reply.headers["content-type"] == "audio/wav"
    assert 'filename="rec-c1.wav"' in reply.headers["content-disposition"]
    assert order == ["bytes after 1 row(s)"]


async def test_audit_rows_carry_no_secrets(rig: Rig) -> None:
    rig.fake.set_state("1001", "logged_out")
    await rig.do("ann", "POST", "/agents/1001/login", {"pin": PINS["1001"], "device": "PJSIP/1"})
    await rig.do("sue", "POST", "/agents/1001/logout")
    await rig.do("adam", "GET", "/admin/config")
    text = " ".join(f"{r.actor} {r.detail} {r.object_id}" for r in rig.sink.records)
    assert len(rig.sink.records) == 2
    for secret in (*PASSWORDS.values(), *PINS.values()):
        assert secret not in text
