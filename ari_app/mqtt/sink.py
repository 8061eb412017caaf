"""The call-flow's domain events (ari_app.domain.events) as live MQTT events: an `EventSink`.

Call states become `calls/{call_id}/{event}` (`overflow:voicemail` becomes event
`overflow` with `"target": "voicemail"`); the end-of-wrap-up summary becomes event
`summary`; agent states go to the retained `agents/{agent_id}/state`; a finished survey
goes to `surveys/{call_id}/finished`, plus `alerts/{call_id}/survey_low_score` if it
scored low; a callback's moves and attempts go to `callbacks/{callback_id}/{state|attempt}`.
"""

from __future__ import annotations

from ari_app.domain.events import (
    AgentStateChanged,
    CallbackAttempted,
    CallbackChanged,
    CallEnded,
    CallStateChanged,
    DomainEvent,
    SurveyFinished,
)
from ari_app.mqtt.messages import Scalar
from ari_app.mqtt.notifier import MqttNotifier


class MqttEventSink:
    def __init__(self, notifier: MqttNotifier) -> None:
        self.notifier = notifier

    def publish(self, event: DomainEvent) -> None:
        n = self.notifier
        match event:
            case CallStateChanged():
                name, _, target = event.state.partition(":")
                extra: dict[str, Scalar] = {}
                if event.position:
                    extra["position"] = event.position
                if target:
                    extra["target"] = target
                n.call_event(event.call_id, name, event.at, queue=event.queue,
                             agent_id=event.agent_id, extra=extra)
            case CallEnded(summary=s):
                n.call_event(s.call_id, "summary", s.ended_at, queue=s.queue,
                             agent_id=s.agent_id, caller=s.caller, extra={
                                 "outcome": s.outcome.value,
                                 "wait_seconds": round(s.wait_seconds, 3),
                                 "talk_seconds": round(s.talk_seconds, 3),
                                 "wrapup_seconds": round(s.wrapup_seconds, 3),
                                 "offers": len(s.offers),
                                 "recording": s.recording,
                                 "survey": s.survey.value,
                             })
            case SurveyFinished():
                n.survey_finished(event)
            case CallbackChanged() | CallbackAttempted():
                n.callback_event(event)
            case AgentStateChanged():
                n.agent_state(event.agent_id, str(event.state), event.at, reason=event.reason,
                              call_id=event.call_id)
            case _:
                pass
