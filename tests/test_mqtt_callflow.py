"""A simulated call through the call-flow core, published live over the shared Mosquitto
via the domain-event sink: the exact messages a subscriber sees."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from ari_app.config.settings import MqttSettings
from ari_app.domain.events import CallProgress, RecordingReady
from ari_app.mqtt.notifier import MqttNotifier
from ari_app.mqtt.sink import MqttEventSink
from tests.test_mqtt import subscribe
from tests.test_records_callflow import answered_call_with_one_rona


@pytest.mark.mqtt
async def test_a_simulated_call_publishes_exactly_these_messages() -> None:
    site = f"t{uuid.uuid4().hex[:10]}"
    rig = answered_call_with_one_rona()
    gen = subscribe(1883, f"hotline/{site}/#")
    sub = await gen.__anext__()
    try:
        async with MqttNotifier(MqttSettings(), site=site) as n:
            sink = MqttEventSink(n)
            for event in rig.published:  # as they happen: each out before the next
                sink.publish(event)
                await asyncio.wait_for(n.wait_idle(), 5)
            # RecordingReady and CallProgress (the records' live row) are not live events
            live = [e for e in rig.published if not isinstance(e, RecordingReady | CallProgress)]
            await sub.until(len(live))
    finally:
        await gen.aclose()
    call = {"v": 1, "site": site, "call_id": "c1", "queue": "support"}

    def c(event: str, at: str, **extra: Any) -> tuple[str, dict[str, Any]]:
        return (f"hotline/{site}/calls/c1/{event}",
                {**call, "event": event, "at": f"2026-11-22T23:{at}.000Z", **extra})

    def a(agent: str, state: str, at: str, call_id: str = "") -> tuple[str, dict[str, Any]]:
        body = {"v": 1, "site": site, "agent_id": agent, "state": state, "reason": "",
                "at": f"2026-11-22T23:{at}.000Z"}
        return (f"hotline/{site}/agents/{agent}/state",
                {**body, "call_id": call_id} if call_id else body)

    got = [(t, p) for t, p, _ in sub.got]
    assert got == [
        a("1001", "available", "15:22"),
        a("1002", "available", "15:22"),
        c("queued", "15:22", position=1),
        a("1001", "ringing", "15:22", "c1"),
        c("offered", "15:22", agent_id="1001"),
        a("1001", "available", "15:37"),  # RONA after 15 s of ringing
        a("1002", "ringing", "15:37", "c1"),
        c("offered", "15:37", agent_id="1002"),
        a("1002", "talking", "15:45", "c1"),
        c("greeting", "15:45", agent_id="1002"),
        c("bridged", "15:50", agent_id="1002"),
        a("1002", "wrap-up", "16:20", "c1"),
        c("ended", "16:20", agent_id="1002"),
        a("1002", "available", "16:30"),
        c("summary", "16:20", agent_id="1002", caller="*******1234", outcome="answered",
          wait_seconds=23.0, talk_seconds=30.0, wrapup_seconds=10.0, offers=2,
          recording="call-c1", survey="not_offered"),
    ]
