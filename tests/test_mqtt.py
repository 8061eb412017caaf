"""Live events over a real Mosquitto: exact messages of a call, retained state, outbox
bounds, and a broker restart in the middle of a run (a private broker we can kill)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import orjson
import pytest
from prometheus_client import CollectorRegistry

from ari_app.config.settings import MqttSettings, Secret
from ari_app.mqtt import messages
from ari_app.mqtt.notifier import MqttNotifier

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
MOSQUITTO = "/usr/sbin/mosquitto"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Subscriber:
    """Collects (topic, payload dict, retain) from a topic filter."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.got: list[tuple[str, dict[str, Any], bool]] = []
        self.changed = asyncio.Event()

    async def run(self) -> None:
        async for m in self.client.messages:
            assert isinstance(m.payload, bytes)
            self.got.append((str(m.topic), orjson.loads(m.payload) if m.payload else {},
                             m.retain))
            self.changed.set()

    async def until(self, n: int) -> None:
        """Until `n` messages arrived, or TimeoutError after 10 s."""
        async with asyncio.timeout(10):
            while len(self.got) < n:
                self.changed.clear()
                await self.changed.wait()


async def subscribe(port: int, topic: str, **kw: Any) -> AsyncIterator[Subscriber]:
    async with aiomqtt.Client("127.0.0.1", port, **kw) as client:
        await client.subscribe(topic, qos=1)
        sub = Subscriber(client)
        task = asyncio.create_task(sub.run())
        try:
            yield sub
        finally:
            task.cancel()


# --- pure messages --------------------------------------------------------------------


def test_call_event_message_is_exact_and_masks_the_caller() -> None:
    m = messages.call_event("demo", "1732349722.17", "answered", at(8.5), queue="support",
                            agent_id="1001", caller="13800001234", extra={"rings": 2})
    assert m.topic == "hotline/demo/calls/1732349722.17/answered"
    assert not m.retain
    assert m.qos == 1
    assert orjson.loads(m.payload) == {
        "v": 1, "site": "demo", "call_id": "1732349722.17", "event": "answered",
        "at": "2026-11-23T08:00:08.500Z", "queue": "support", "agent_id": "1001",
        "caller": "*******1234", "rings": 2,
    }


@pytest.mark.parametrize("call_id", ["a/b", "a+b", "a#", ""])
def test_ids_that_would_break_topics_are_refused(call_id: str) -> None:
    with pytest.raises(messages.MessageError, match="cannot be a topic segment"):
        messages.call_event("demo", call_id, "queued", T0, queue="support")


def test_agent_state_and_queue_stats_are_retained() -> None:
    a = messages.agent_state("demo", "1001", "paused", T0, reason="lunch")
    q = messages.queue_stats("demo", "support", T0, {"waiting": 3})
    assert (a.topic, a.retain) == ("hotline/demo/agents/1001/state", True)
    assert (q.topic, q.retain) == ("hotline/demo/queues/support/stats", True)
    assert orjson.loads(q.payload) == {"v": 1, "site": "demo", "queue": "support",
                                       "at": "2026-11-23T08:00:00.000Z", "waiting": 3}


# --- against the shared broker ----------------------------------------------------------


@pytest.fixture
def site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"  # each test its own topics on the shared broker


@pytest.mark.mqtt
async def test_a_call_sequence_arrives_exactly_in_order(site: str) -> None:
    registry = CollectorRegistry()
    gen = subscribe(1883, f"hotline/{site}/#")
    sub = await gen.__anext__()
    try:
        async with MqttNotifier(MqttSettings(), site=site, registry=registry) as n:
            n.call_event("c1", "queued", at(0), queue="support", caller="13800001234",
                         extra={"position": 1})
            n.call_event("c1", "ringing", at(1), queue="support", agent_id="1001")
            n.call_event("c1", "answered", at(8), queue="support", agent_id="1001",
                         extra={"rings": 2})
            n.call_event("c1", "ended", at(100), queue="support", agent_id="1001",
                         extra={"outcome": "answered", "talk_seconds": 92.0})
            await sub.until(4)
            await asyncio.wait_for(n.wait_idle(), 5)
        base = {"v": 1, "site": site, "call_id": "c1", "queue": "support"}
        assert sub.got == [
            (f"hotline/{site}/calls/c1/queued",
             {**base, "event": "queued", "at": "2026-11-23T08:00:00.000Z",
              "caller": "*******1234", "position": 1}, False),
            (f"hotline/{site}/calls/c1/ringing",
             {**base, "event": "ringing", "at": "2026-11-23T08:00:01.000Z",
              "agent_id": "1001"}, False),
            (f"hotline/{site}/calls/c1/answered",
             {**base, "event": "answered", "at": "2026-11-23T08:00:08.000Z",
              "agent_id": "1001", "rings": 2}, False),
            (f"hotline/{site}/calls/c1/ended",
             {**base, "event": "ended", "at": "2026-11-23T08:01:40.000Z",
              "agent_id": "1001", "outcome": "answered", "talk_seconds": 92.0}, False),
        ]
        assert registry.get_sample_value("hotline_mqtt_published_total") == 4
    finally:
        await gen.aclose()


@pytest.mark.mqtt
async def test_agent_state_and_stats_are_retained_for_late_subscribers(site: str) -> None:
    stats = {"support": {"waiting": 2, "longest_wait_seconds": 31.5, "agents_available": 1}}
    async with MqttNotifier(MqttSettings(stats_interval_seconds=3600), site=site,
                            stats=lambda: stats) as n:
        n.agent_state("1001", "paused", at(0), reason="lunch")
        n.agent_state("1001", "available", at(60))  # supersedes the pause
        await asyncio.wait_for(n.wait_idle(), 5)
    gen = subscribe(1883, f"hotline/{site}/#")
    sub = await gen.__anext__()
    try:
        await sub.until(2)
        got = {t: (p, r) for t, p, r in sub.got}
        assert got[f"hotline/{site}/agents/1001/state"] == (
            {"v": 1, "site": site, "agent_id": "1001", "state": "available", "reason": "",
             "at": "2026-11-23T08:01:00.000Z"}, True)
        payload, retained = got[f"hotline/{site}/queues/support/stats"]
        assert retained
        assert {k: payload[k] for k in ("v", "queue", "waiting", "longest_wait_seconds",
                                        "agents_available")} == {
            "v": 1, "queue": "support", "waiting": 2, "longest_wait_seconds": 31.5,
            "agents_available": 1}
    finally:
        await gen.aclose()
        async with aiomqtt.Client("127.0.0.1", 1883) as c:  # leave no retained litter
            for topic in {t for t, _, _ in sub.got}:
                await c.publish(topic, b"", qos=1, retain=True)


async def test_without_a_broker_events_never_block_and_overflow_is_counted(site: str) -> None:
    registry = CollectorRegistry()
    settings = MqttSettings(port=free_port(), outbox_size=10)
    async with MqttNotifier(settings, site=site, registry=registry) as n:
        for i in range(25):
            n.call_event(f"c{i}", "queued", at(i), queue="support")
        n.agent_state("1001", "available", at(0))
        assert n.outbox_size == 11
        assert not n.connected
    assert registry.get_sample_value("hotline_mqtt_dropped_total",
                                     {"reason": "outbox_full"}) == 15
    assert registry.get_sample_value("hotline_mqtt_connected") == 0


def test_an_invalid_event_is_counted_not_raised(site: str) -> None:
    registry = CollectorRegistry()
    n = MqttNotifier(MqttSettings(), site=site, registry=registry)
    n.call_event("bad/id", "queued", T0, queue="support")
    n.call_event("c1", "Not An Event", T0, queue="support")
    assert n.outbox_size == 0
    assert registry.get_sample_value("hotline_mqtt_dropped_total", {"reason": "invalid"}) == 2


# --- a private broker we can restart ----------------------------------------------------


class PrivateBroker:
    """Mosquitto on its own port with persistence, so a restart keeps sessions."""

    def __init__(self, *, user: tuple[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hotline-mqtt-"))
        self.port = free_port()
        conf = [f"listener {self.port} 127.0.0.1", "persistence true",
                f"persistence_location {self.dir}/", "log_dest none"]
        if user:
            pwfile = self.dir / "passwd"
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), *user], check=True,
                           capture_output=True)
            conf += [f"password_file {pwfile}", "allow_anonymous false"]
        else:
            conf.append("allow_anonymous true")
        (self.dir / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        if _has_user("mosquitto"):  # root mosquitto drops to this user
            for p in (self.dir, *self.dir.iterdir()):
                shutil.chown(p, "mosquitto")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")])
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            import time

            time.sleep(0.02)  # waiting for a subprocess's port, not for our own code
        raise RuntimeError("private mosquitto did not open its port")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def broker() -> Iterator[PrivateBroker]:
    b = PrivateBroker()
    b.start()
    yield b
    b.destroy()


async def test_broker_restart_mid_run_delivers_the_outbox_and_counts_drops(
    broker: PrivateBroker, site: str
) -> None:
    """3 events while up; broker down; 10 events with an outbox of 5 (5 dropped, the
    oldest); broker back: the newest 5 are delivered after the first 3, in order."""
    registry = CollectorRegistry()
    settings = MqttSettings(port=broker.port, outbox_size=5)
    sub_opts = {"identifier": f"sub-{site}", "clean_session": False}
    n = MqttNotifier(settings, site=site, registry=registry, retry_initial_seconds=0.05,
                     retry_max_seconds=0.2)
    gen = subscribe(broker.port, f"hotline/{site}/#", **sub_opts)
    sub = await gen.__anext__()
    async with n:
        for i in range(3):
            n.call_event(f"c{i}", "queued", at(i), queue="support")
        await sub.until(3)
        await asyncio.wait_for(n.wait_idle(), 5)
        await gen.aclose()
        await asyncio.to_thread(broker.stop)
        for i in range(3, 13):
            n.call_event(f"c{i}", "queued", at(i), queue="support")
        assert n.outbox_size == 5
        await asyncio.to_thread(broker.start)
        gen = subscribe(broker.port, f"hotline/{site}/#", **sub_opts)
        sub2 = await gen.__anext__()
        await asyncio.wait_for(n.wait_idle(), 10)
        await sub2.until(5)
        await gen.aclose()
    delivered = [t.split("/")[3] for t, _, _ in sub.got + sub2.got]
    assert delivered == ["c0", "c1", "c2", "c8", "c9", "c10", "c11", "c12"]
    assert registry.get_sample_value("hotline_mqtt_published_total") == 8
    assert registry.get_sample_value("hotline_mqtt_dropped_total",
                                     {"reason": "outbox_full"}) == 5


async def test_credentials_are_used_and_never_logged(
    site: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    b = PrivateBroker(user=("hotline", "s3cret-pw"))
    b.start()
    try:
        refused = asyncio.Event()
        handler = logging.Handler()
        handler.emit = lambda r: refused.set() if "cannot connect" in r.getMessage() else None  # type: ignore[method-assign]
        logging.getLogger("ari_app.mqtt.notifier").addHandler(handler)
        wrong = MqttSettings(port=b.port, username="hotline", password=Secret(value="nope-pw"))
        try:
            async with MqttNotifier(wrong, site=site, retry_initial_seconds=0.05) as n:
                n.call_event("c1", "queued", T0, queue="support")
                await asyncio.wait_for(refused.wait(), 5)
                assert not n.connected
                assert n.outbox_size == 1
        finally:
            logging.getLogger("ari_app.mqtt.notifier").removeHandler(handler)
        right = MqttSettings(port=b.port, username="hotline",
                             password=Secret(value="s3cret-pw"))
        async with MqttNotifier(right, site=site) as n:
            n.call_event("c1", "queued", T0, queue="support")
            await asyncio.wait_for(n.wait_idle(), 5)
            assert n.connected
    finally:
        b.destroy()
    assert "nope-pw" not in caplog.text
    assert "s3cret-pw" not in caplog.text
