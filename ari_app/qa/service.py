"""The applier: forms, evaluations and knowledge checks over a `QaStore`. Synchronous (the
API and the CLI run it in a worker thread); the rules live in the pure modules, this only
reads, decides through them and writes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from ari_app.qa import evaluation as ev
from ari_app.qa import knowledge, sampling
from ari_app.qa.calibration import Calibration, calibrate
from ari_app.qa.evaluation import Evaluation
from ari_app.qa.form import Answer, Form, FormError, Kind
from ari_app.qa.kpis import EvaluationFact
from ari_app.qa.sampling import CallRef


class QaNotFound(FormError):
    pass


class QaConflict(FormError):
    """Already there (one evaluation per grader, form and call), or changed meanwhile."""


class FormLocked(FormError):
    """A form version with evaluations or check results is never edited."""


@dataclass(frozen=True)
class CallInfo:
    """What the records know of a call: its agent, queue and recording (if any)."""

    call_id: str
    agent_id: str
    queue: str
    recording: str  # "" when none


@dataclass(frozen=True)
class KnowledgeTaken:
    result_id: str
    form_id: str
    form_version: int
    agent_id: str
    team: str
    answers: Mapping[str, int]
    score: float
    passed: bool
    taken_at: datetime


class QaStore(Protocol):
    """Durable forms, evaluations and results (`ari_app.records.qa.SqlQaStore`)."""

    def form(self, form_id: str, version: int | None = None) -> Form: ...  # QaNotFound

    def forms(self, kind: Kind | None = None) -> list[Form]: ...  # latest versions

    def add_form(self, form: Form, by: str, now: datetime) -> None: ...  # QaConflict

    def edit_form(self, form: Form) -> None: ...  # FormLocked if in use

    def form_in_use(self, form_id: str, version: int) -> bool: ...

    def call(self, call_id: str) -> CallInfo: ...  # QaNotFound

    def insert_evaluation(self, evaluation: Evaluation) -> None: ...  # QaConflict

    def update_evaluation(self, evaluation: Evaluation) -> None:
        """Write it if the stored one is a draft at `version - 1`; a submitted one raises
        EvaluationLocked, another version QaConflict."""
        ...

    def evaluation(self, evaluation_id: str) -> Evaluation: ...  # QaNotFound

    def evaluations(
        self, *, agent_id: str | None = None, team: str | None = None,
        call_id: str | None = None, form_id: str | None = None,
        submitted_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, limit: int = 1000,
    ) -> list[Evaluation]: ...

    def month_calls(self, start: datetime, end: datetime) -> list[CallRef]: ...

    def add_knowledge(self, result: KnowledgeTaken) -> None: ...

    def knowledge_results(
        self, *, agent_id: str | None = None, team: str | None = None
    ) -> list[KnowledgeTaken]: ...


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def month_bounds(month: str, timezone: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a local month, in UTC."""
    sampling.month_seed(month, "")  # checks the syntax
    year, mon = int(month[:4]), int(month[5:])
    nxt = (year + 1, 1) if mon == 12 else (year, mon + 1)
    zone = ZoneInfo(timezone)
    start = datetime.combine(datetime(year, mon, 1).date(), time(0), zone)
    end = datetime.combine(datetime(nxt[0], nxt[1], 1).date(), time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class Qa:
    def __init__(
        self, store: QaStore, timezone: str, team_of: Mapping[str, str],
        *, make_id: Callable[[str], str] = new_id,
    ) -> None:
        self.store = store
        self.timezone = timezone
        self.team_of = team_of
        self.make_id = make_id

    # forms ---------------------------------------------------------------------------

    def create_form(self, form: Form, by: str, now: datetime) -> Form:
        form = replace(form, version=1)
        self.store.add_form(form, by, now)
        return form

    def revise_form(self, form: Form, by: str, now: datetime) -> Form:
        """Edit the latest version in place while nobody used it; else add the next."""
        latest = self.store.form(form.form_id)
        if latest.kind != form.kind:
            raise FormError("a form keeps its kind across versions")
        if not self.store.form_in_use(latest.form_id, latest.version):
            revised = replace(form, version=latest.version)
            try:
                self.store.edit_form(revised)
                return revised
            except FormLocked:
                pass  # an evaluation arrived meanwhile: a new version after all
        revised = replace(form, version=latest.version + 1)
        self.store.add_form(revised, by, now)
        return revised

    # evaluations ---------------------------------------------------------------------

    def start(
        self, call_id: str, form_id: str, grader: str, now: datetime,
        answers: Mapping[str, Answer], comments: Mapping[str, str],
    ) -> Evaluation:
        """A draft on the form's latest version about a recorded call."""
        form = self.store.form(form_id)
        if form.kind != "evaluation":
            raise FormError(f"form {form_id} is a knowledge check, not an evaluation form")
        call = self.store.call(call_id)
        if not call.recording:
            raise FormError(f"call {call_id} has no recording to evaluate")
        if not call.agent_id:
            raise FormError(f"call {call_id} was answered by no agent")
        draft = Evaluation(
            evaluation_id=self.make_id("qe"), form_id=form.form_id,
            form_version=form.version, call_id=call_id, recording=call.recording,
            agent_id=call.agent_id, team=self.team_of.get(call.agent_id, ""),
            queue=call.queue, grader=grader, created_at=now, version=0,
        )
        draft = ev.edit(draft, form, answers, comments)
        self.store.insert_evaluation(draft)
        return draft

    def edit(
        self, evaluation_id: str, answers: Mapping[str, Answer], comments: Mapping[str, str]
    ) -> Evaluation:
        current = self.store.evaluation(evaluation_id)
        form = self.store.form(current.form_id, current.form_version)
        changed = ev.edit(current, form, answers, comments)
        self.store.update_evaluation(changed)
        return changed

    def submit(self, evaluation_id: str, now: datetime) -> Evaluation:
        current = self.store.evaluation(evaluation_id)
        form = self.store.form(current.form_id, current.form_version)
        done = ev.submit(current, form, now)
        self.store.update_evaluation(done)
        return done

    def calibration(self, call_id: str, form_id: str | None = None) -> list[Calibration]:
        """Per form version: the spread among the call's submitted evaluations."""
        found = self.store.evaluations(call_id=call_id, form_id=form_id, submitted_only=True)
        groups: dict[tuple[str, int], dict[str, Mapping[str, Answer]]] = {}
        for e in found:
            groups.setdefault((e.form_id, e.form_version), {})[e.grader] = e.answers
        return [
            calibrate(self.store.form(fid, ver), answers)
            for (fid, ver), answers in sorted(groups.items())
        ]

    def calibrated_calls(self, form_id: str) -> list[tuple[str, list[Calibration]]]:
        """Every call graded on `form_id` by two or more graders, with its calibration."""
        graders: dict[str, set[str]] = {}
        for e in self.store.evaluations(form_id=form_id, submitted_only=True,
                                        limit=1_000_000):
            graders.setdefault(e.call_id, set()).add(e.grader)
        return [(call_id, self.calibration(call_id, form_id))
                for call_id, who in sorted(graders.items()) if len(who) > 1]

    def facts(self, start: datetime, end: datetime) -> list[EvaluationFact]:
        """The KPIs' input: evaluations submitted in [start, end), by local month."""
        zone = ZoneInfo(self.timezone)
        return [
            EvaluationFact(
                e.agent_id, e.team, e.queue,
                e.submitted_at.astimezone(zone).strftime("%Y-%m"),
                e.score or 0.0, bool(e.passed), e.accuracy_passed,
            )
            for e in self.store.evaluations(submitted_only=True, since=start, until=end,
                                             limit=1_000_000)
            if e.submitted_at is not None
        ]

    def sample(self, month: str, per_agent: int, site_seed: str) -> list[CallRef]:
        start, end = month_bounds(month, self.timezone)
        return sampling.sample(self.store.month_calls(start, end), month, per_agent, site_seed)

    # knowledge checks ----------------------------------------------------------------

    def take(self, form_id: str, agent_id: str, chosen: Mapping[str, int],
             now: datetime) -> KnowledgeTaken:
        form = self.store.form(form_id)
        result = knowledge.grade(form, chosen)
        taken = KnowledgeTaken(
            self.make_id("qk"), form.form_id, form.version, agent_id,
            self.team_of.get(agent_id, ""), dict(chosen), result.score, result.passed, now,
        )
        self.store.add_knowledge(taken)
        return taken
