"""QA in SQL: `SqlQaStore`, the `ari_app.qa.service.QaStore` the API and the CLI use.

Immutability is the store's too: a submitted evaluation is never updated (every update is
`WHERE state = 'draft' AND version = old`), and a form version is edited only in the same
transaction that finds no evaluation or check result using it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, Table, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ari_app.qa.evaluation import Evaluation, EvaluationLocked
from ari_app.qa.form import Form, Kind
from ari_app.qa.sampling import CallRef
from ari_app.qa.service import CallInfo, FormLocked, KnowledgeTaken, QaConflict, QaNotFound
from ari_app.records import models

_FORMS: Table = models.QaForm.__table__  # type: ignore[assignment]
_EVALS: Table = models.QaEvaluation.__table__  # type: ignore[assignment]
_RESULTS: Table = models.QaKnowledgeResult.__table__  # type: ignore[assignment]
_CALLS: Table = models.Call.__table__  # type: ignore[assignment]
_RECORDINGS: Table = models.Recording.__table__  # type: ignore[assignment]

_EVAL_PLAIN = (
    "evaluation_id", "form_id", "form_version", "call_id", "recording", "agent_id", "team",
    "queue", "grader", "state", "created_at", "submitted_at", "score", "passed",
    "auto_failed", "accuracy_passed", "version",
)


def _form_row(form: Form, by: str, now: datetime) -> dict[str, Any]:
    return {
        "form_id": form.form_id, "version": form.version, "name": form.name,
        "kind": form.kind, "definition": orjson.dumps(form.as_json()).decode(),
        "created_by": by, "created_at": now,
    }


def _eval_row(e: Evaluation) -> dict[str, Any]:
    row = {name: getattr(e, name) for name in _EVAL_PLAIN}
    row["answers"] = orjson.dumps(dict(e.answers)).decode()
    row["comments"] = orjson.dumps(dict(e.comments)).decode()
    return row


def _evaluation(row: Any) -> Evaluation:
    data = {name: getattr(row, name) for name in _EVAL_PLAIN}
    return Evaluation(**data, answers=orjson.loads(row.answers),
                      comments=orjson.loads(row.comments))


def _taken(row: Any) -> KnowledgeTaken:
    return KnowledgeTaken(
        row.result_id, row.form_id, row.form_version, row.agent_id, row.team,
        orjson.loads(row.answers), row.score, row.passed, row.taken_at,
    )


class SqlQaStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # forms ---------------------------------------------------------------------------

    def form(self, form_id: str, version: int | None = None) -> Form:
        query = select(_FORMS.c.definition).where(_FORMS.c.form_id == form_id)
        if version is None:
            query = query.order_by(_FORMS.c.version.desc()).limit(1)
        else:
            query = query.where(_FORMS.c.version == version)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found is None:
            what = form_id if version is None else f"{form_id} version {version}"
            raise QaNotFound(f"form {what} does not exist")
        return Form.from_json(orjson.loads(found))

    def forms(self, kind: Kind | None = None) -> list[Form]:
        latest = (
            select(_FORMS.c.form_id, func.max(_FORMS.c.version).label("version"))
            .group_by(_FORMS.c.form_id).subquery()
        )
        query = (
            select(_FORMS.c.definition)
            .join(latest, (latest.c.form_id == _FORMS.c.form_id)
                  & (latest.c.version == _FORMS.c.version))
            .order_by(_FORMS.c.form_id)
        )
        if kind is not None:
            query = query.where(_FORMS.c.kind == kind)
        with self.engine.connect() as conn:
            return [Form.from_json(orjson.loads(d)) for d in conn.execute(query).scalars()]

    def add_form(self, form: Form, by: str, now: datetime) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_FORMS), [_form_row(form, by, now)])
        except IntegrityError as exc:
            raise QaConflict(f"form {form.form_id} version {form.version} exists") from exc

    def _in_use(self, conn: Any, form_id: str, version: int) -> bool:
        used = select(
            exists().where(_EVALS.c.form_id == form_id, _EVALS.c.form_version == version)
            | exists().where(_RESULTS.c.form_id == form_id, _RESULTS.c.form_version == version)
        )
        return bool(conn.execute(used).scalar())

    def form_in_use(self, form_id: str, version: int) -> bool:
        with self.engine.connect() as conn:
            return self._in_use(conn, form_id, version)

    def edit_form(self, form: Form) -> None:
        with self.engine.begin() as conn:
            # Lock the form's row first (PostgreSQL), so an evaluation started meanwhile
            # waits for this edit or sees it.
            row = conn.execute(
                select(_FORMS.c.created_by, _FORMS.c.created_at)
                .where(_FORMS.c.form_id == form.form_id, _FORMS.c.version == form.version)
                .with_for_update()
            ).first()
            if row is None:
                raise QaNotFound(f"form {form.form_id} version {form.version} does not exist")
            if self._in_use(conn, form.form_id, form.version):
                raise FormLocked(
                    f"form {form.form_id} version {form.version} has evaluations; "
                    "it is replaced by a new version, never edited"
                )
            values = _form_row(form, row.created_by, row.created_at)
            conn.execute(
                update(_FORMS)
                .where(_FORMS.c.form_id == form.form_id, _FORMS.c.version == form.version)
                .values(name=values["name"], definition=values["definition"])
            )

    # calls ---------------------------------------------------------------------------

    def call(self, call_id: str) -> CallInfo:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_CALLS.c.agent_id, _CALLS.c.queue).where(_CALLS.c.call_id == call_id)
            ).first()
            if row is None:
                raise QaNotFound(f"call {call_id} is not in the records")
            recording = conn.execute(
                select(_RECORDINGS.c.name).where(_RECORDINGS.c.call_id == call_id)
                .order_by(_RECORDINGS.c.created_at, _RECORDINGS.c.name).limit(1)
            ).scalar()
        return CallInfo(call_id, row.agent_id or "", row.queue, recording or "")

    def month_calls(self, start: datetime, end: datetime) -> list[CallRef]:
        recorded = exists().where(_RECORDINGS.c.call_id == _CALLS.c.call_id)
        query = (
            select(_CALLS.c.call_id, _CALLS.c.agent_id, _CALLS.c.queue,
                   recorded.label("recorded"))
            .where(_CALLS.c.arrival_at >= start, _CALLS.c.arrival_at < end,
                   _CALLS.c.agent_id.is_not(None))
        )
        with self.engine.connect() as conn:
            return [CallRef(r.agent_id, r.queue, r.call_id, bool(r.recorded))
                    for r in conn.execute(query).all()]

    # evaluations ---------------------------------------------------------------------

    def insert_evaluation(self, evaluation: Evaluation) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_EVALS), [_eval_row(evaluation)])
        except IntegrityError as exc:
            raise QaConflict(
                f"{evaluation.grader} already has an evaluation of call {evaluation.call_id} "
                f"on form {evaluation.form_id}"
            ) from exc

    def update_evaluation(self, evaluation: Evaluation) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(_EVALS)
                .where(_EVALS.c.evaluation_id == evaluation.evaluation_id,
                       _EVALS.c.state == "draft",
                       _EVALS.c.version == evaluation.version - 1)
                .values(**_eval_row(evaluation))
            )
            if done.rowcount == 1:
                return
            state = conn.execute(
                select(_EVALS.c.state)
                .where(_EVALS.c.evaluation_id == evaluation.evaluation_id)
            ).scalar()
        if state is None:
            raise QaNotFound(f"evaluation {evaluation.evaluation_id} does not exist")
        if state == "submitted":
            raise EvaluationLocked(
                f"evaluation {evaluation.evaluation_id} is submitted and never changes"
            )
        raise QaConflict(f"evaluation {evaluation.evaluation_id} was changed meanwhile")

    def evaluation(self, evaluation_id: str) -> Evaluation:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_EVALS).where(_EVALS.c.evaluation_id == evaluation_id)
            ).first()
        if row is None:
            raise QaNotFound(f"evaluation {evaluation_id} does not exist")
        return _evaluation(row)

    def evaluations(
        self, *, agent_id: str | None = None, team: str | None = None,
        call_id: str | None = None, form_id: str | None = None,
        submitted_only: bool = False, since: datetime | None = None,
        until: datetime | None = None, limit: int = 1000,
    ) -> list[Evaluation]:
        """Newest first."""
        query = select(_EVALS).order_by(
            _EVALS.c.created_at.desc(), _EVALS.c.evaluation_id
        ).limit(limit)
        for column, value in ((_EVALS.c.agent_id, agent_id), (_EVALS.c.team, team),
                              (_EVALS.c.call_id, call_id), (_EVALS.c.form_id, form_id)):
            if value is not None:
                query = query.where(column == value)
        if submitted_only:
            query = query.where(_EVALS.c.state == "submitted")
        if since is not None:
            query = query.where(_EVALS.c.submitted_at >= since)
        if until is not None:
            query = query.where(_EVALS.c.submitted_at < until)
        with self.engine.connect() as conn:
            return [_evaluation(r) for r in conn.execute(query).all()]

    # knowledge checks ----------------------------------------------------------------

    def add_knowledge(self, result: KnowledgeTaken) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(_RESULTS), [{
                "result_id": result.result_id, "form_id": result.form_id,
                "form_version": result.form_version, "agent_id": result.agent_id,
                "team": result.team, "answers": orjson.dumps(dict(result.answers)).decode(),
                "score": result.score, "passed": result.passed, "taken_at": result.taken_at,
            }])

    def knowledge_results(
        self, *, agent_id: str | None = None, team: str | None = None
    ) -> list[KnowledgeTaken]:
        query = select(_RESULTS).order_by(_RESULTS.c.taken_at.desc(), _RESULTS.c.result_id)
        if agent_id is not None:
            query = query.where(_RESULTS.c.agent_id == agent_id)
        if team is not None:
            query = query.where(_RESULTS.c.team == team)
        with self.engine.connect() as conn:
            return [_taken(r) for r in conn.execute(query).all()]
