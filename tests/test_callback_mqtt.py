"""Callbacks over MQTT: each move is `callbacks/{id}/{state}` and each ended dial
`callbacks/{id}/attempt`, exactly, the caller masked and no free-text reason; delivered by
a real Mosquitto (127.0.0.1:1883) from what the call-flow core publishes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from typing import cast

import orjson
import pytest
from prometheus_client import CollectorRegistry

from ari_app.callbacks import State
from ari_app.config.settings import MqttSettings
from ari_app.domain.events import CallbackAttempted, CallbackChanged
from ari_app.mqtt import messages
from ari_app.mqtt.notifier import MqttNotifier
from ari_app.mqtt.sink import MqttEventSink
from tests.callback_rig import callback, changed
from tests.callflow_rig import Rig
from tests.test_api_fakes import make_config
from tests.test_mqtt import Subscriber, subscribe

T0 = 1795420800.0  # 2026-11-23T08:00:00Z


def test_a_move_is_its_state_exactly_and_masks_the_caller() -> None:
    cb = callback("cb-1795420800.17", "support", at=T0, state=State.RETRY, attempts=1,
                  due_by=T0 + 2 * 86400, agent_id="1001", order_id="wo-7")
    m = messages.callback_message("demo", changed(cb, T0 + 40.5))
    assert (m.topic, m.retain, m.qos) == ("hotline/demo/callbacks/cb-1795420800.17/retry",
                                          False, 1)
    assert orjson.loads(m.payload) == {
        "v": 1, "site": "demo", "callback_id": "cb-1795420800.17", "event": "retry",
        "at": "2026-11-23T08:00:40.500Z", "kind": "scheduled", "queue": "support",
        "state": "retry", "caller": "*******1234", "requested_by": "user:sue", "call_id": "",
        "order_id": "wo-7", "attempts": 1, "max_attempts": 3, "last_result": "",
        "agent_id": "1001", "due_by": "2026-11-25T08:00:00.000Z", "answered_call_id": "",
    }
    assert b"13800001234" not in m.payload
    assert "账单".encode() not in m.payload  # the reason stays in the API


def test_an_attempt_exactly() -> None:
    m = messages.callback_message("demo", CallbackAttempted(
        "cb-x", 2, "support", "1002", "cb-x-a2-9", T0 + 5, T0 + 35.25, "busy"))
    assert (m.topic, m.retain) == ("hotline/demo/callbacks/cb-x/attempt", False)
    assert orjson.loads(m.payload) == {
        "v": 1, "site": "demo", "callback_id": "cb-x", "event": "attempt",
        "at": "2026-11-23T08:00:35.250Z", "queue": "support", "attempt": 2,
        "agent_id": "1002", "call_id": "cb-x-a2-9", "started_at": "2026-11-23T08:00:05.000Z",
        "result": "busy",
    }


def test_ids_that_would_break_topics_are_refused() -> None:
    for bad in ("a/b", "c+", "#"):
        with pytest.raises(messages.MessageError):
            messages.callback_message("demo", changed(callback(bad, at=T0)))


@pytest.mark.mqtt
async def test_the_cores_callback_events_reach_a_subscriber() -> None:
    site = f"t{uuid.uuid4().hex[:10]}"
    registry = CollectorRegistry()
    rig = Rig(make_config())
    rig.now = T0
    asked = callback("cbr-1", "billing", at=T0, state=State.REQUESTED)
    rig._run(rig.core.schedule_callback(asked, 2, rig.now)[1])
    rig.now += 60
    rig._run(rig.core.cancel_callback("cbr-1", "sue", rig.now)[1])
    events = [e for e in rig.published if isinstance(e, CallbackChanged)]
    assert [e.state for e in events] == ["due", "cancelled"]  # open queue, nobody free
    gen = cast(AsyncGenerator[Subscriber, None],
               subscribe(1883, f"hotline/{site}/callbacks/#"))
    sub = await gen.__anext__()
    try:
        async with MqttNotifier(MqttSettings(), site=site, registry=registry) as n:
            sink = MqttEventSink(n)
            for event in rig.published:
                sink.publish(event)
            sink.publish(changed(callback("bad/id", at=T0)))  # refused, counted
            await sub.until(2)
            await asyncio.wait_for(n.wait_idle(), 5)
        assert [(t, b["state"], b["caller"], b["due_by"], r) for t, b, r in sub.got] == [
            (f"hotline/{site}/callbacks/cbr-1/due", "due", "*******1234",
             "2026-11-25T15:59:59.000Z", False),
            (f"hotline/{site}/callbacks/cbr-1/cancelled", "cancelled", "*******1234",
             "2026-11-25T15:59:59.000Z", False),
        ]
        assert sub.got[1][1]["last_result"] == "cancelled by sue"
        assert registry.get_sample_value("hotline_mqtt_published_total") == 2
        assert registry.get_sample_value(
            "hotline_mqtt_dropped_total", {"reason": "invalid"}) == 1
    finally:
        await gen.aclose()
