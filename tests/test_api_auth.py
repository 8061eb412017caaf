"""Authentication: bearer tokens expiring on the injected clock, the failed-login throttle
(no lockout of the real user from elsewhere, no block forever), credentials never logged."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest

from ari_app.api import create_api
from ari_app.api.auth import LoginThrottle, TokenStore
from tests.test_api_fakes import (
    PINS,
    T0,
    FakeClock,
    FakeControl,
    ListSink,
    basic,
    bearer,
    call_app,
    make_config,
)


class Rig:
    def __init__(self, ttl: timedelta = timedelta(minutes=15)) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.fake = FakeControl(self.config, self.clock)
        self.app = create_api(self.config, self.fake, ListSink(), clock=self.clock, token_ttl=ttl)

    async def status(self, path: str, headers: dict[str, str], client: str = "10.0.0.1") -> int:
        return (await call_app(self.app, "GET", path, headers=headers, client=client)).status


async def test_token_works_until_it_expires_on_the_clock() -> None:
    rig = Rig(ttl=timedelta(minutes=10))
    reply = await call_app(rig.app, "POST", "/auth/token", headers=basic("sue"))
    assert reply.status == 200
    body = reply.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert body["expires_at"] == "2026-11-23T08:10:00Z"
    token = body["access_token"]
    me = await call_app(rig.app, "GET", "/me", headers=bearer(token))
    assert me.json() == {"name": "sue", "role": "supervisor", "agent_id": "", "team": ""}
    rig.clock.advance(599)
    assert await rig.status("/calls", bearer(token)) == 200
    rig.clock.advance(1)
    expired = await call_app(rig.app, "GET", "/calls", headers=bearer(token))
    assert expired.status == 401
    assert expired.json()["detail"] == "token unknown or expired"
    rig.clock.advance(-60)  # an expired token is forgotten, not revived
    assert await rig.status("/calls", bearer(token)) == 401


async def test_tokens_are_per_user_and_revocable() -> None:
    rig = Rig()
    ann = (await call_app(rig.app, "POST", "/auth/token", headers=basic("ann"))).json()
    sue = (await call_app(rig.app, "POST", "/auth/token", headers=basic("sue"))).json()
    assert ann["access_token"] != sue["access_token"]
    assert await rig.status("/recordings", bearer(ann["access_token"])) == 403
    assert await rig.status("/recordings", bearer(sue["access_token"])) == 200
    revoke = await call_app(rig.app, "DELETE", "/auth/token", headers=bearer(sue["access_token"]))
    assert revoke.status == 204
    assert await rig.status("/recordings", bearer(sue["access_token"])) == 401
    assert await rig.status("/me", bearer(ann["access_token"])) == 200


async def test_a_token_cannot_mint_another() -> None:
    rig = Rig()
    token = (await call_app(rig.app, "POST", "/auth/token", headers=basic("ann"))).json()
    again = await call_app(rig.app, "POST", "/auth/token", headers=bearer(token["access_token"]))
    assert again.status == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer ",
        "Digest abc",
        "Basic",
    ],
)
async def test_malformed_authorization_is_401_not_500(header: str) -> None:
    rig = Rig()
    reply = await call_app(rig.app, "GET", "/me", headers={"authorization": header})
    assert reply.status == 401, reply.body
    assert reply.json()["error"] == "unauthorized"


async def test_unknown_user_and_wrong_password_look_the_same() -> None:
    rig = Rig()
    a = await call_app(rig.app, "GET", "/me", headers=basic("sue", "nope"))
    b = await call_app(rig.app, "GET", "/me", headers=basic("mallory", "nope"))
    assert (a.status, a.json()) == (b.status, b.json())


async def test_failed_logins_are_throttled_per_user_and_address_not_forever() -> None:
    rig = Rig()
    for _ in range(5):
        assert await rig.status("/me", basic("ann", "guess"), client="10.9.9.9") == 401
    # blocked from that address, even with the right password
    blocked = await call_app(rig.app, "GET", "/me", headers=basic("ann"), client="10.9.9.9")
    assert blocked.status == 429
    assert blocked.json()["error"] == "too_many_requests"
    assert blocked.headers["retry-after"] == "300"
    # the real ann, elsewhere, is not locked out; other users from there neither
    assert await rig.status("/me", basic("ann"), client="10.0.0.1") == 200
    assert await rig.status("/me", basic("sue"), client="10.9.9.9") == 200
    # the block ends when the failures leave the window
    rig.clock.advance(299)
    assert await rig.status("/me", basic("ann"), client="10.9.9.9") == 429
    rig.clock.advance(1)
    assert await rig.status("/me", basic("ann"), client="10.9.9.9") == 200


def _named(user: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:guess".encode()).decode()}


async def test_password_spraying_from_one_address_is_throttled() -> None:
    rig = Rig()
    for i in range(30):  # 30 names, one guess each: no (user, address) pair is at its limit
        assert await rig.status("/me", _named(f"user{i}"), client="10.6.6.6") == 401
    assert await rig.status("/me", basic("sue"), client="10.6.6.6") == 429
    assert await rig.status("/me", basic("sue"), client="10.0.0.2") == 200


async def test_success_clears_the_count() -> None:
    rig = Rig()
    for _ in range(4):
        await rig.status("/me", basic("tina", "typo"))
    assert await rig.status("/me", basic("tina")) == 200
    for _ in range(4):
        await rig.status("/me", basic("tina", "typo"))
    assert await rig.status("/me", basic("tina")) == 200


async def test_wrong_pins_are_throttled() -> None:
    rig = Rig()
    rig.fake.set_state("1001", "logged_out")
    for _ in range(5):
        reply = await call_app(
            rig.app,
            "POST",
            "/agents/1001/login",
            headers=basic("ann"),
            json={"pin": "0000", "device": "PJSIP/1001"},
        )
        assert reply.status == 403
        assert reply.json()["detail"] == "wrong PIN"
    reply = await call_app(
        rig.app,
        "POST",
        "/agents/1001/login",
        headers=basic("ann"),
        json={"pin": PINS["1001"], "device": "PJSIP/1001"},
    )
    assert reply.status == 429
    assert rig.fake.agent_info["1001"].state == "logged_out"


async def test_credentials_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig = Rig()
    await rig.status("/me", basic("ann", "hunter2-secret"))
    await rig.status("/me", basic("hunter3-user-typed-password", "x"))
    rig.fake.set_state("1001", "logged_out")
    await call_app(
        rig.app,
        "POST",
        "/agents/1001/login",
        headers=basic("ann"),
        json={"pin": "98765", "device": "PJSIP/1001"},
    )
    token = (await call_app(rig.app, "POST", "/auth/token", headers=basic("sue"))).json()
    await rig.status("/me", bearer(token["access_token"]))
    assert "failed API login for user ann" in caplog.text
    assert "failed API login for an unknown user" in caplog.text
    for secret in ("hunter2-secret", "hunter3", "98765", token["access_token"], "sue-pw"):
        assert secret not in caplog.text


# the pure pieces ----------------------------------------------------------------------


def test_throttle_window_slides() -> None:
    throttle = LoginThrottle(per_user_ip=3, per_ip=100, window=timedelta(seconds=60))
    for s in (0, 10, 20):
        throttle.failed("u", "ip", T0 + timedelta(seconds=s))
    assert throttle.retry_after("u", "ip", T0 + timedelta(seconds=30)) == 30.0
    assert throttle.retry_after("u", "other-ip", T0 + timedelta(seconds=30)) is None
    # the first failure leaves the window at 60 s: one more try allowed, then blocked again
    assert throttle.retry_after("u", "ip", T0 + timedelta(seconds=60)) is None
    throttle.failed("u", "ip", T0 + timedelta(seconds=61))
    assert throttle.retry_after("u", "ip", T0 + timedelta(seconds=61)) == 9.0
    assert throttle.failures_total == 4


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=50)
    for i in range(1000):
        throttle.failed(f"user{i}", f"ip{i}", T0)
    assert len(throttle._fails) <= 50


def test_token_store_keeps_digests_and_bounds_size() -> None:
    store = TokenStore(timedelta(minutes=1), max_tokens=3)
    tokens = [store.issue("sue", T0)[0] for _ in range(5)]
    assert all(t not in repr(store._tokens) for t in tokens)
    assert [store.user(t, T0) for t in tokens] == [None, None, "sue", "sue", "sue"]
    assert store.user(tokens[-1], T0 + timedelta(minutes=1)) is None
