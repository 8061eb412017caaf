"""An evaluation: one grader's answers about one recorded call on one form version. A
draft may change; `submit` scores it and from then on it never changes (`edit` and
`submit` refuse, and so does the store)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from ari_app.qa.form import Answer, Form, FormError, check_answers
from ari_app.qa.scoring import score

EvaluationState = Literal["draft", "submitted"]
OVERALL = "overall"  # the comments' key for the grader's overall remark


class EvaluationLocked(FormError):
    """A submitted evaluation is immutable."""


@dataclass(frozen=True)
class Evaluation:
    evaluation_id: str
    form_id: str
    form_version: int
    call_id: str
    recording: str
    agent_id: str
    team: str
    queue: str
    grader: str
    created_at: datetime
    answers: Mapping[str, Answer] = field(default_factory=dict)
    comments: Mapping[str, str] = field(default_factory=dict)  # OVERALL or an item id
    state: EvaluationState = "draft"
    submitted_at: datetime | None = None
    score: float | None = None
    passed: bool | None = None
    auto_failed: bool | None = None
    accuracy_passed: bool | None = None
    version: int = 1


def _check_comments(form: Form, comments: Mapping[str, str]) -> None:
    for key in comments:
        if key != OVERALL and key not in form.items:
            raise FormError(f"comment on unknown item {key!r}")


def edit(
    evaluation: Evaluation, form: Form, answers: Mapping[str, Answer],
    comments: Mapping[str, str],
) -> Evaluation:
    """The draft with these answers and comments (merged over the old ones)."""
    if evaluation.state == "submitted":
        raise EvaluationLocked(f"evaluation {evaluation.evaluation_id} is submitted")
    merged = {**evaluation.answers, **answers}
    check_answers(form, merged, complete=False)
    notes = {**evaluation.comments, **comments}
    _check_comments(form, notes)
    return replace(evaluation, answers=merged, comments=notes, version=evaluation.version + 1)


def submit(evaluation: Evaluation, form: Form, now: datetime) -> Evaluation:
    """Scored and final: every item answered (FormError otherwise)."""
    if evaluation.state == "submitted":
        raise EvaluationLocked(f"evaluation {evaluation.evaluation_id} is submitted")
    result = score(form, evaluation.answers)
    return replace(
        evaluation, state="submitted", submitted_at=now, score=result.score,
        passed=result.passed, auto_failed=bool(result.auto_failed),
        accuracy_passed=result.accuracy_passed, version=evaluation.version + 1,
    )
