"""The post-call survey as a pure machine: a caller's keys and silences in, what to play
and how it ended out.

Each question is a prompt and one DTMF key; a wrong key or `timeout_seconds` of silence
after the prompt repeats the question (`retries` times), then the survey stops. A key
pressed during a prompt counts (callers who know the survey need not wait). The caller
may hang up at any point. The same scoring (`score`, `satisfied`) and the question marker
the engine sets on the channel (`marker`, `parse_marker`) are what the KPI fold reads back
from the channel events, so the live engine and the offline report agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ari_app.config.survey import SurveySettings
from ari_app.domain.events import SurveyOutcome

SATISFIED_FROM = 4
"""csat counts a completed survey whose score is at least this (4 or 5 of 5)."""
LOW_SCORE = 2
"""a score at or below this alerts supervisors (MQTT)."""


@dataclass(frozen=True, slots=True)
class Ask:
    """Set the question marker on the caller's channel, then play `media`."""

    question: int  # 1-based
    marker: str
    media: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Finish:
    """The survey is over: set the result, thank the caller, hang up (unless gone)."""

    outcome: SurveyOutcome
    media: tuple[str, ...]


Step = Ask | Finish


def marker(question: int, of: int, keys: str) -> str:
    """`HOTLINE_SURVEY_QUESTION`'s value: `<n>/<of>/<keys>`."""
    return f"{question}/{of}/{keys}"


def parse_marker(value: str) -> tuple[int, int, str] | None:
    """`marker`'s inverse; None for anything else (a bad value is the fold's to count)."""
    parts = value.split("/")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    n, of, keys = int(parts[0]), int(parts[1]), parts[2]
    if not (1 <= n <= of) or not keys.isdigit():
        return None
    return n, of, keys


def score(answers: tuple[int | None, ...] | list[int | None]) -> float | None:
    """The mean of the answers given (None: nothing answered)."""
    given = [a for a in answers if a is not None]
    return sum(given) / len(given) if given else None


def satisfied(outcome: SurveyOutcome, value: float | None) -> bool:
    """Counts toward csat: a completed survey scoring 4 or 5."""
    return outcome is SurveyOutcome.COMPLETED and value is not None and value >= SATISFIED_FROM


def stopped(answers: tuple[int | None, ...] | list[int | None], why: str) -> SurveyOutcome:
    """The outcome of a survey that did not finish its questions. `why`: `invalid`,
    `silence` (retries used up) or `hangup` (the caller left)."""
    if any(a is not None for a in answers):
        return SurveyOutcome.PARTIAL
    if why == "invalid":
        return SurveyOutcome.INVALID
    if why == "silence":
        return SurveyOutcome.NO_INPUT
    return SurveyOutcome.DECLINED


@dataclass(slots=True)
class Survey:
    """One caller's survey, from the first prompt to its outcome."""

    settings: SurveySettings
    question: int = 0  # 0-based index of the question being asked
    failures: int = 0  # wrong keys and silences on this question so far
    answers: list[int | None] = field(default_factory=list)
    outcome: SurveyOutcome | None = None

    def __post_init__(self) -> None:
        self.answers = [None] * len(self.settings.questions)

    @property
    def over(self) -> bool:
        return self.outcome is not None

    def start(self) -> list[Step]:
        return [self._ask(self.settings.intro)]

    def digit(self, digit: str) -> list[Step]:
        if self.over:
            return []
        keys = self.settings.questions[self.question].keys
        if len(digit) != 1 or digit not in keys:
            return self._failed("invalid")
        self.answers[self.question] = int(digit)
        self.question += 1
        self.failures = 0
        if self.question == len(self.settings.questions):
            return self._finish(SurveyOutcome.COMPLETED)
        return [self._ask(())]

    def silence(self) -> list[Step]:
        """No key within the timeout after the prompt."""
        if self.over:
            return []
        return self._failed("silence")

    def hung_up(self) -> SurveyOutcome:
        """The caller left; the outcome stands (a finished survey keeps its own)."""
        if self.outcome is None:
            self.outcome = stopped(self.answers, "hangup")
        return self.outcome

    @property
    def score(self) -> float | None:
        return score(self.answers)

    def _failed(self, why: str) -> list[Step]:
        self.failures += 1
        if self.failures > self.settings.retries:
            return self._finish(stopped(self.answers, why))
        lead = self.settings.invalid if why == "invalid" else ()
        return [self._ask(lead)]

    def _ask(self, lead: tuple[str, ...]) -> Ask:
        q = self.settings.questions[self.question]
        n = self.question + 1
        return Ask(n, marker(n, len(self.settings.questions), q.keys), lead + q.prompt)

    def _finish(self, outcome: SurveyOutcome) -> list[Step]:
        self.outcome = outcome
        return [Finish(outcome, self.settings.thanks)]
