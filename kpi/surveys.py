"""The post-call survey's KPIs, read back from the caller's channel events.

The engine (ari_app.callflow.survey) leaves a trail on the caller's channel, and this module
follows it, so a journal replayed next month gives the figures the engine saw:

- `HOTLINE_SURVEY` = the credited agent: the survey is offered (`SurveyOffered`), for the
  caller's HOTLINE_QUEUE (else the call's queue) and that agent;
- `HOTLINE_SURVEY_QUESTION` = `<n>/<of>/<keys>` before each question (again, the same, on a
  retry): the first `ChannelDtmfReceived` digit after it that is one of `keys` answers
  question n; other digits are wrong keys; digits with no question pending (during the
  talk, or after an answer until the next marker) never count;
- `HOTLINE_SURVEY_RESULT` = the outcome when the caller was still there: it stands;
- the caller's hang-up (first ChannelHangupRequest or ChannelDestroyed) without a result:
  `completed` if every question was answered (the engine decided so; its variable may not
  have reached a channel being hung up), else `stopped(answers, "hangup")` — `partial` or
  `declined`.

Scoring is the survey machine's own (`score`, `satisfied`), and `SurveyTally` is the one
place the four KPIs are computed, for the report and for the live gauges alike. Bad values
(markers, digits, results, events out of place) are counted in `state.counters`, never
fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ari_app.domain.events import SurveyOutcome
from ari_app.domain.variables import SURVEY, SURVEY_QUESTION, SURVEY_RESULT
from ari_app.survey.machine import parse_marker, satisfied, score, stopped
from kpi.facts import SurveyEnded, SurveyOffered
from kpi.fold_state import Channel, Event, KpiState, SurveyRun, count, is_map

SURVEY_VARS = frozenset({SURVEY, SURVEY_QUESTION, SURVEY_RESULT})
DTMF_DIGITS = frozenset("0123456789ABCDE*#")  # ChannelDtmfReceived.digit, per the ARI spec
_RESULTS = frozenset(SurveyOutcome) - {SurveyOutcome.NOT_OFFERED}
MAX_QUESTIONS = 9  # as ari_app.config.survey allows; a marker beyond it is malformed

SURVEY_FIELDS = ("survey_offered", "survey_completed", "survey_avg_score", "csat")


def survey_var(state: KpiState, ch: Channel, ms: int, name: str, value: Any) -> None:
    """One of the SURVEY_VARS was set on `ch` (in event-time order)."""
    text = value if type(value) is str else None
    if name == SURVEY:
        _offered(state, ch, ms, text)
    elif name == SURVEY_QUESTION:
        _question(state, ch, text)
    else:
        _result(state, ch, text)


def _offered(state: KpiState, ch: Channel, ms: int, agent: str | None) -> None:
    if not agent:
        count(state, "survey_bad_agent")
        return
    if ch.id in state.surveys:
        count(state, "survey_offered_again")
        return
    call = state.calls.get(ch.id)
    queue = ch.queue or (call.queue if call is not None else "")
    at = call.arrived_ms if call is not None and call.arrived_ms is not None else ms
    state.surveys[ch.id] = SurveyRun(queue, agent, at, ms)
    state.out.append(SurveyOffered(queue, at, agent))


def _question(state: KpiState, ch: Channel, text: str | None) -> None:
    run = state.surveys.get(ch.id)
    if run is None:
        count(state, "survey_question_without_offer")
        return
    # parse_marker's isdigit() takes non-ASCII digits that int() may refuse
    parsed = parse_marker(text) if text is not None and text.isascii() else None
    if parsed is None or parsed[1] > MAX_QUESTIONS:
        count(state, "survey_bad_marker")
        run.asking = 0  # the digits that follow are no known question's
        return
    n, of, keys = parsed
    if len(run.answers) < of:
        run.answers.extend([None] * (of - len(run.answers)))
    run.asking = n
    run.keys = keys


def _result(state: KpiState, ch: Channel, text: str | None) -> None:
    run = state.surveys.get(ch.id)
    if run is None:
        count(state, "survey_result_without_survey")
        return
    if text not in _RESULTS:
        count(state, "survey_bad_result")  # the outcome comes from the hang-up instead
        return
    _conclude(state, ch.id, run, SurveyOutcome(text))


def survey_digit(state: KpiState, event: Event) -> None:
    """A `ChannelDtmfReceived`: an answer if its channel has a question pending."""
    snap = event.get("channel")
    cid = snap.get("id") if is_map(snap) else None
    run = state.surveys.get(cid) if type(cid) is str else None
    if run is None:
        return  # keys outside a survey (talk, feature codes): none of ours
    digit = event.get("digit")
    if type(digit) is not str or digit not in DTMF_DIGITS:
        count(state, "survey_bad_digit")
        return
    if run.asking == 0:
        count(state, "survey_digits_ignored")  # no question pending
        return
    if digit not in run.keys:
        count(state, "survey_wrong_keys")
        return
    run.answers[run.asking - 1] = int(digit)
    run.asking = 0


def caller_gone(state: KpiState, cid: str) -> None:
    """The caller's first hang-up event: a survey still running ends here."""
    run = state.surveys.get(cid)
    if run is None:
        return
    answers = run.answers
    if answers and all(a is not None for a in answers):
        outcome = SurveyOutcome.COMPLETED
    else:
        outcome = stopped(answers, "hangup")
    _conclude(state, cid, run, outcome)


def _conclude(state: KpiState, cid: str, run: SurveyRun, outcome: SurveyOutcome) -> None:
    del state.surveys[cid]
    value = score(run.answers)
    if outcome is SurveyOutcome.COMPLETED and value is None:
        count(state, "survey_completed_without_answers")
    state.out.append(SurveyEnded(run.queue, run.at, run.agent, str(outcome), value,
                                 satisfied(outcome, value)))


@dataclass(slots=True)
class SurveyTally:
    """The survey figures of one queue or agent (in one period): report and gauges."""

    offered: int = 0
    completed: int = 0
    satisfied: int = 0
    scored: int = 0  # completed surveys with a score (all of them, barring bad markers)
    score_sum: float = 0.0

    def add(self, fact: SurveyOffered | SurveyEnded) -> None:
        if isinstance(fact, SurveyOffered):
            self.offered += 1
            return
        if fact.outcome != SurveyOutcome.COMPLETED:
            return
        self.completed += 1
        if fact.satisfied:
            self.satisfied += 1
        if fact.score is not None:
            self.scored += 1
            self.score_sum += fact.score

    @property
    def avg_score(self) -> float | None:
        """Mean score of the completed surveys; None before the first."""
        return self.score_sum / self.scored if self.scored else None

    @property
    def csat(self) -> float | None:
        """Share of completed surveys scoring 4 or 5; None before the first."""
        return self.satisfied / self.completed if self.completed else None

    def figures(self) -> dict[str, Any]:
        return {
            "survey_offered": self.offered,
            "survey_completed": self.completed,
            "survey_avg_score": self.avg_score,
            "csat": self.csat,
        }
