"""The post-call survey on the line: when the agent hangs up first, the caller stays in
Stasis and hears the queue's questions (ari_app.survey.machine decides; this room plays the
prompts, sets the channel variables the KPI fold reads back, and runs the timers).

The agent is free at once (wrap-up starts as after any call); the call's recording stops
with the talk (its snoop is hung up). The survey is credited to the last agent who talked
to the caller — after a transfer, the agent it was transferred to. The call's record waits
for the survey: its summary carries the survey's outcome, and `SurveyFinished` is
published as soon as the survey ends (a low score alerts supervisors at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ari_app.callflow.call import Call, CallState
from ari_app.callflow.desk import Desk
from ari_app.domain.commands import CancelTimer, Hangup, Play, SetVar, StartTimer, StopPlayback
from ari_app.domain.events import Outcome, SurveyFinished, SurveyOutcome
from ari_app.domain.variables import SURVEY, SURVEY_QUESTION, SURVEY_RESULT
from ari_app.survey.machine import Ask, Finish, Step, Survey

if TYPE_CHECKING:
    from ari_app.callflow.flow import Flow

PROMPT = "survey"  # playback kind of a question (with its intro or wrong-key lead)
THANKS = "survey-end"  # playback kind of the closing prompt


@dataclass(slots=True)
class _Running:
    survey: Survey
    agent_id: str
    started_at: float
    listening: bool = False  # the question's prompt is over; the silence timer runs


class Surveys:
    """Surveys of calls whose agent hung up first, by call id."""

    def __init__(self, desk: Desk, flow: Flow) -> None:
        self.desk = desk
        self.flow = flow
        self.running: dict[str, _Running] = {}

    def wanted(self, call: Call) -> bool:
        """Offer the survey: the agent hung up first on a talking call, the caller is
        still here, the call was not handed to an outside number, the queue has one."""
        return (
            self.desk.queues[call.queue].survey.enabled
            and call.state is CallState.BRIDGED
            and call.hangup_by == "agent"
            and call.caller_up
            and not call.external
            and bool(call.agent_id)
        )

    def start(self, call: Call, now: float) -> None:
        desk = self.desk
        cid = call.call_id
        survey = Survey(desk.queues[call.queue].survey)
        self.running[cid] = _Running(survey, call.agent_id, now)
        call.move(CallState.SURVEY)
        desk.count("survey_offered")
        desk.emit(SetVar(call.caller_channel, SURVEY, call.agent_id, call_id=cid))
        desk.call_state(call, "survey", now, agent_id=call.agent_id)
        self._do(call, survey.start(), now)

    def adopt(self, call: Call, agent_id: str, now: float) -> None:
        """After a restart: a caller alone with `HOTLINE_SURVEY` set was answering the
        survey; it starts again (what was answered before is asked again)."""
        call.agent_id = agent_id
        call.taken_by = call.taken_by or agent_id
        call.caller_answered = True
        call.outcome = Outcome.ANSWERED
        call.hangup_by = "agent"
        call.talk_ended_at = now
        survey = Survey(self.desk.queues[call.queue].survey)
        self.running[call.call_id] = _Running(survey, agent_id, now)
        call.move(CallState.SURVEY)
        self.desk.call_state(call, "survey", now, agent_id=agent_id)
        self._do(call, survey.start(), now)

    # ------------------------------------------------------------------ the caller acts

    def digit(self, call: Call, digit: str, now: float) -> None:
        run = self.running.get(call.call_id)
        if run is None or run.survey.over:
            return
        self._do(call, run.survey.digit(digit), now)

    def playback_done(self, call: Call, kind: str, now: float) -> None:
        run = self.running.get(call.call_id)
        if run is None or call.state is not CallState.SURVEY:
            return
        if kind == THANKS:
            self._hang_up(call)
        elif kind == PROMPT and not run.survey.over and not self._playing(call, PROMPT):
            run.listening = True
            timeout = self.desk.queues[call.queue].survey.timeout_seconds
            self.desk.emit(StartTimer(("survey", call.call_id), timeout))

    def timer(self, call_id: str, now: float) -> None:
        """Silence after a question, or a prompt that never said it finished."""
        call = self.desk.calls.get(call_id)
        run = self.running.get(call_id)
        if call is None or run is None or call.state is not CallState.SURVEY:
            return
        if run.survey.over:
            self._hang_up(call)
            return
        if not run.listening:
            self.desk.count("survey_prompt_timeout")
        self._do(call, run.survey.silence(), now)

    def caller_gone(self, call: Call, now: float) -> None:
        """The caller hung up during the survey (or after it)."""
        run = self.running.pop(call.call_id, None)
        self.desk.emit(CancelTimer(("survey", call.call_id)))
        for pid in list(call.playbacks):
            self.desk.drop_playback(pid)
        call.playbacks.clear()
        if run is not None and not run.survey.over:
            self._finished(call, run, run.survey.hung_up(), now)
        self.flow.ending.finish(call, now)

    # ------------------------------------------------------------------ steps

    def _do(self, call: Call, steps: list[Step], now: float) -> None:
        desk = self.desk
        cid = call.call_id
        run = self.running[cid]
        for step in steps:
            self._stop_prompts(call)
            run.listening = False
            if isinstance(step, Ask):
                desk.emit(SetVar(call.caller_channel, SURVEY_QUESTION, step.marker, call_id=cid))
                self._play(call, PROMPT, step.media)
            elif isinstance(step, Finish):
                outcome = str(step.outcome)
                desk.emit(SetVar(call.caller_channel, SURVEY_RESULT, outcome, call_id=cid))
                self._finished(call, run, step.outcome, now)
                if not self._play(call, THANKS, step.media):
                    self._hang_up(call)

    def _play(self, call: Call, kind: str, media: tuple[str, ...]) -> bool:
        desk = self.desk
        rendered = desk.render(media, call)
        if not rendered:
            return False
        pid = call.play(kind)
        desk.add_playback(pid, call)
        desk.emit(
            Play(call.caller_channel, pid, rendered, call_id=call.call_id),
            StartTimer(("survey", call.call_id), desk.limits.prompt_seconds),
        )
        return True

    def _playing(self, call: Call, kind: str) -> bool:
        return kind in call.playbacks.values()

    def _stop_prompts(self, call: Call) -> None:
        """A key pressed during a prompt cuts it short (callers who know it need not wait)."""
        for pid in [p for p, k in call.playbacks.items() if k in (PROMPT, THANKS)]:
            del call.playbacks[pid]
            self.desk.drop_playback(pid)
            self.desk.emit(StopPlayback(pid, call_id=call.call_id))

    def _hang_up(self, call: Call) -> None:
        self.desk.emit(CancelTimer(("survey", call.call_id)))
        if call.caller_up:
            self.desk.emit(Hangup(call.caller_channel, call_id=call.call_id))

    def _finished(self, call: Call, run: _Running, outcome: SurveyOutcome, now: float) -> None:
        survey = run.survey
        call.survey = outcome
        self.desk.count(f"survey_{outcome}")
        self.desk.publish(
            SurveyFinished(
                call_id=call.call_id,
                queue=call.queue,
                agent_id=run.agent_id,
                outcome=outcome,
                answers=tuple(survey.answers),
                score=survey.score,
                started_at=run.started_at,
                ended_at=now,
            )
        )
