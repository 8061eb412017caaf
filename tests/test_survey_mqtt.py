"""Post-call surveys over MQTT: the result's message, the supervisors' low-score alert (at
or below `LOW_SCORE`, never above, never without a score), no caller data, and both
delivered by a real Mosquitto (127.0.0.1:1883) through the domain-event sink."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator
from typing import Any, cast

import orjson
import pytest
from prometheus_client import CollectorRegistry

from ari_app.config.settings import MqttSettings
from ari_app.domain.events import SurveyFinished, SurveyOutcome
from ari_app.mqtt import messages
from ari_app.mqtt.notifier import MqttNotifier
from ari_app.mqtt.sink import MqttEventSink
from ari_app.survey.machine import LOW_SCORE
from tests.test_mqtt import Subscriber, subscribe

T0 = 1795420800.0  # 2026-11-23T08:00:00Z


def survey(call_id: str = "1795420800.17", answers: tuple[int | None, ...] = (2, 1),
           outcome: SurveyOutcome = SurveyOutcome.COMPLETED) -> SurveyFinished:
    given = [a for a in answers if a is not None]
    return SurveyFinished(call_id=call_id, queue="support", agent_id="1001", outcome=outcome,
                          answers=answers, score=sum(given) / len(given) if given else None,
                          started_at=T0 + 100, ended_at=T0 + 112.25)


def decoded(msgs: list[messages.Message]) -> list[tuple[str, dict[str, Any], bool]]:
    return [(m.topic, orjson.loads(m.payload), m.retain) for m in msgs]


def test_a_low_score_is_the_result_and_an_alert_exactly() -> None:
    assert LOW_SCORE == 2
    got = decoded(messages.survey_messages("demo", survey(answers=(2, 1))))
    assert got == [
        ("hotline/demo/surveys/1795420800.17/finished",
         {"v": 1, "site": "demo", "call_id": "1795420800.17", "event": "finished",
          "at": "2026-11-23T08:01:52.250Z", "queue": "support", "agent_id": "1001",
          "outcome": "completed", "answers": [2, 1], "score": 1.5, "satisfied": False,
          "started_at": "2026-11-23T08:01:40.000Z"}, False),
        ("hotline/demo/alerts/1795420800.17/survey_low_score",
         {"v": 1, "site": "demo", "call_id": "1795420800.17", "alert": "survey_low_score",
          "at": "2026-11-23T08:01:52.250Z", "queue": "support", "agent_id": "1001",
          "score": 1.5, "threshold": 2, "outcome": "completed", "answers": [2, 1]}, False),
    ]


@pytest.mark.parametrize(("answers", "outcome", "alert", "satisfied"), [
    ((2, 2), SurveyOutcome.COMPLETED, True, False),  # exactly LOW_SCORE
    ((2, 3), SurveyOutcome.COMPLETED, False, False),  # 2.5: above it
    ((5, 4), SurveyOutcome.COMPLETED, False, True),
    ((1, None), SurveyOutcome.PARTIAL, True, False),  # partial surveys alert too
    ((None, None), SurveyOutcome.NO_INPUT, False, False),  # no score, no alert
    ((), SurveyOutcome.DECLINED, False, False),
])
def test_the_alert_follows_the_score(answers: tuple[int | None, ...], outcome: SurveyOutcome,
                                     alert: bool, satisfied: bool) -> None:
    got = decoded(messages.survey_messages("demo", survey(answers=answers, outcome=outcome)))
    assert [t.rsplit("/", 1)[1] for t, _, _ in got] == (
        ["finished", "survey_low_score"] if alert else ["finished"])
    assert got[0][1]["satisfied"] is satisfied
    assert got[0][1]["answers"] == list(answers)
    for _, body, _ in got:
        assert not {"caller", "caller_number"} & set(body)


def test_ids_that_would_break_topics_are_refused() -> None:
    for bad in ("a/b", "c+", "#"):
        with pytest.raises(messages.MessageError):
            messages.survey_messages("demo", survey(call_id=bad))


@pytest.mark.mqtt
async def test_the_sink_delivers_results_and_supervisors_get_only_the_alerts() -> None:
    site = f"t{uuid.uuid4().hex[:10]}"
    registry = CollectorRegistry()
    everything = cast(AsyncGenerator[Subscriber, None], subscribe(1883, f"hotline/{site}/#"))
    alerts = cast(AsyncGenerator[Subscriber, None], subscribe(1883, f"hotline/{site}/alerts/#"))
    all_sub, alert_sub = await everything.__anext__(), await alerts.__anext__()
    try:
        async with MqttNotifier(MqttSettings(), site=site, registry=registry) as n:
            sink = MqttEventSink(n)
            sink.publish(survey("c1", (5, 5)))
            sink.publish(survey("c2", (1, 2)))
            sink.publish(survey("bad/id", (1, 1)))  # refused and counted, nothing sent
            sink.publish(survey("c3", (None, None), SurveyOutcome.NO_INPUT))
            await all_sub.until(4)
            await alert_sub.until(1)
            await asyncio.wait_for(n.wait_idle(), 5)
        assert [(t, b.get("score"), r) for t, b, r in all_sub.got] == [
            (f"hotline/{site}/surveys/c1/finished", 5.0, False),
            (f"hotline/{site}/surveys/c2/finished", 1.5, False),
            (f"hotline/{site}/alerts/c2/survey_low_score", 1.5, False),
            (f"hotline/{site}/surveys/c3/finished", None, False),
        ]
        assert [(t, b["agent_id"], b["threshold"]) for t, b, _ in alert_sub.got] == [
            (f"hotline/{site}/alerts/c2/survey_low_score", "1001", 2)]
        assert registry.get_sample_value("hotline_mqtt_published_total") == 4
        assert registry.get_sample_value(
            "hotline_mqtt_dropped_total", {"reason": "invalid"}) == 1
    finally:
        await everything.aclose()
        await alerts.aclose()
