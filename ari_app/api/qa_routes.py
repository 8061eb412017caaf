"""Quality assurance over HTTP: admins manage forms (a form with evaluations is replaced by
a new version, never edited); team leads grade their team's recorded calls and
supervisors any; agents read only their own submitted evaluations, with the grader's
comments, and take knowledge checks. Every change is audited.

The SQL work runs in a worker thread (the event loop carries calls).
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ari_app.api.access import Access, ApiContext, ObjectType, Policy, Roles, Scope
from ari_app.api.auth import Principal
from ari_app.api.control import Conflict, InvalidState, NotFound
from ari_app.api.errors import ApiError
from ari_app.api.schemas import AGENT_ID, CALL_ID
from ari_app.qa import knowledge
from ari_app.qa.evaluation import OVERALL, Evaluation, EvaluationLocked
from ari_app.qa.form import ID, Form, FormError
from ari_app.qa.kpis import kpis
from ari_app.qa.sampling import MONTH
from ari_app.qa.service import FormLocked, Qa, QaConflict, QaNotFound, QaStore

QA_ID = ID.pattern
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]{1,2000}$"
NAME = r"^[^\x00-\x1f\x7f]{1,200}$"
EvaluationIdPath = Annotated[str, Path(pattern=QA_ID)]
FormIdPath = Annotated[str, Path(pattern=QA_ID)]

MINE: Roles = {"agent": "self", "team_lead": "team", "supervisor": "all"}
GRADERS: Roles = {"team_lead": "team", "supervisor": "all"}
FORM_READERS: Roles = {"team_lead": "all", "supervisor": "all", "admin": "all"}
SUPERVISORS: Roles = {"supervisor": "all"}
ADMINS: Roles = {"admin": "all"}
AGENTS: Roles = {"agent": "self"}
T = TypeVar("T")


@dataclass
class QaDesk:
    """The API's QA: the service, its store, and the site's sampling seed."""

    service: Qa
    store: QaStore
    site_seed: str

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args)
        except QaNotFound as exc:
            raise NotFound(str(exc)) from exc
        except (QaConflict, EvaluationLocked, FormLocked) as exc:
            raise Conflict(str(exc)) from exc
        except FormError as exc:  # also SamplingError's siblings: bad input for the rules
            raise InvalidState(str(exc)) from exc
        except ValueError as exc:
            raise InvalidState(str(exc)) from exc


# ---------------------------------------------------------------------------- bodies


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_Body):
    item_id: Annotated[str, Field(pattern=QA_ID)]
    text: Annotated[str, Field(max_length=2000)] = ""
    scale: Annotated[int, Field(ge=1, le=100, description="points 0..scale")] = 1
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    allow_na: bool = False
    auto_fail: list[Annotated[int, Field(ge=0, le=100)]] = []
    pass_at: Annotated[int | None, Field(ge=1, le=100)] = None
    accuracy: bool = Field(False, description="the 解答准确率 item")
    options: list[Annotated[str, Field(max_length=500)]] = []
    correct: Annotated[int | None, Field(ge=0)] = None


class SectionIn(_Body):
    section_id: Annotated[str, Field(pattern=QA_ID)]
    title: Annotated[str, Field(max_length=200)] = ""
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=200)]


class FormIn(_Body):
    name: Annotated[str, Field(pattern=NAME)]
    kind: Literal["evaluation", "knowledge"] = "evaluation"
    pass_mark: Annotated[float, Field(ge=0, le=100)] = 80.0
    sections: Annotated[list[SectionIn], Field(min_length=1, max_length=50)]


class NewFormIn(FormIn):
    form_id: Annotated[str, Field(pattern=QA_ID)]


class FormOut(FormIn):
    form_id: str
    version: int


Points = Annotated[int, Field(ge=0, le=100)] | None
Comments = dict[Annotated[str, Field(pattern=QA_ID)], Annotated[str, Field(pattern=TEXT)]]


class EvaluationIn(_Body):
    call_id: Annotated[str, Field(pattern=CALL_ID)]
    form_id: Annotated[str, Field(pattern=QA_ID)]
    answers: dict[Annotated[str, Field(pattern=QA_ID)], Points] = Field(
        {}, description="item id -> points, null for not applicable")
    comments: Comments = Field({}, description=f"'{OVERALL}' or an item id -> text")


class EvaluationEditIn(_Body):
    answers: dict[Annotated[str, Field(pattern=QA_ID)], Points] = {}
    comments: Comments = {}


class EvaluationOut(BaseModel):
    evaluation_id: str
    form_id: str
    form_version: int
    call_id: str
    recording: str
    agent_id: str
    team: str
    queue: str
    grader: str
    state: Literal["draft", "submitted"]
    answers: dict[str, int | None]
    comments: dict[str, str]
    created_at: AwareDatetime
    submitted_at: AwareDatetime | None
    score: float | None
    passed: bool | None
    auto_failed: bool | None
    accuracy_passed: bool | None


class SpreadOut(BaseModel):
    key: str
    graders: int
    not_applicable: int
    min: float | None
    max: float | None
    mean: float | None
    stdev: float | None


class CalibrationOut(BaseModel):
    form_id: str
    version: int
    graders: list[str]
    items: list[SpreadOut]
    total: SpreadOut


class SampleOut(BaseModel):
    month: str
    per_agent: int
    seed: str
    calls: list[dict[str, str]]


class KpiOut(BaseModel):
    dimension: Literal["agent", "team", "queue"]
    key: str
    month: str
    evaluations: int
    average_score: float
    pass_rate: float
    accuracy_checked: int
    accuracy_rate: float | None = Field(description="解答准确率")


class KnowledgeIn(_Body):
    answers: dict[Annotated[str, Field(pattern=QA_ID)], Annotated[int, Field(ge=0, le=100)]]


class KnowledgeOut(BaseModel):
    result_id: str
    form_id: str
    form_version: int
    agent_id: str
    score: float
    passed: bool
    taken_at: AwareDatetime


class AgentKnowledgeOut(BaseModel):
    agent_id: str
    checks: int
    average_score: float
    best_score: float
    passed: int


class KnowledgeResultsOut(BaseModel):
    results: list[KnowledgeOut]
    per_agent: list[AgentKnowledgeOut]


def _form(form_id: str, body: FormIn) -> Form:
    data = body.model_dump()
    data.update(form_id=form_id, version=1)
    return Form.from_json(data)


def _form_out(form: Form) -> FormOut:
    return FormOut.model_validate(form.as_json())


def _evaluation_out(e: Evaluation) -> EvaluationOut:
    return EvaluationOut(
        evaluation_id=e.evaluation_id, form_id=e.form_id, form_version=e.form_version,
        call_id=e.call_id, recording=e.recording, agent_id=e.agent_id, team=e.team,
        queue=e.queue, grader=e.grader, state=e.state, answers=dict(e.answers),
        comments=dict(e.comments), created_at=e.created_at, submitted_at=e.submitted_at,
        score=e.score, passed=e.passed, auto_failed=e.auto_failed,
        accuracy_passed=e.accuracy_passed,
    )


# ---------------------------------------------------------------------------- policy


def sees(who: Principal, scope: Scope, evaluation: Evaluation) -> bool:
    """Agents: their own submitted evaluations; team leads: their team's; supervisors: all."""
    if scope == "all":
        return True
    if scope == "self":
        return (bool(who.agent_id) and evaluation.agent_id == who.agent_id
                and evaluation.state == "submitted")
    return bool(who.team) and evaluation.team == who.team


@dataclass(frozen=True, eq=False)
class QaPolicy(Policy):
    """A policy whose object is the evaluation or the form in the path."""

    desk: QaDesk | None = None

    def _object_id(self, request: Request) -> str:
        name = "evaluation_id" if self.object_type == "evaluation" else "form_id"
        value = str(request.path_params.get(name, ""))
        if value and not re.fullmatch(QA_ID, value):
            raise ApiError(422, f"path.{name}: must match {QA_ID}")
        return value

    async def _owns(self, who: Principal, scope: Scope, object_id: str) -> bool:
        if self.object_type != "evaluation":
            return True  # forms have no owner: the role decides
        assert self.desk is not None
        return sees(who, scope, await self.desk.run(self.desk.store.evaluation, object_id))


def qa_routes(ctx: ApiContext, app: FastAPI, desk: QaDesk) -> None:
    tags: list[str | Enum] = ["quality assurance"]

    def policy(action: str, kind: ObjectType, roles: Roles,
               audit: Literal["never", "always"] = "never") -> QaPolicy:
        return QaPolicy(ctx, action, kind, roles, audit, desk=desk)

    # forms ---------------------------------------------------------------------------

    list_forms = policy("qa.forms", "qa_form", FORM_READERS)

    @app.get("/qa/forms", tags=tags, response_model=list[FormOut], **list_forms.options())
    async def forms(access: Annotated[Access, Depends(list_forms)],
                    kind: Annotated[Literal["evaluation", "knowledge"] | None, Query()] = None,
                    ) -> list[FormOut]:
        """The latest version of every form (knowledge checks with their right answers)."""
        return [_form_out(f) for f in await desk.run(desk.store.forms, kind)]

    show_form = policy("qa.form", "qa_form", FORM_READERS)

    @app.get("/qa/forms/{form_id}", tags=tags, response_model=FormOut,
             **show_form.options(404))
    async def form(form_id: FormIdPath, access: Annotated[Access, Depends(show_form)],
                   version: Annotated[int | None, Query(ge=1)] = None) -> FormOut:
        """A form's latest version, or the one asked for."""
        return _form_out(await desk.run(desk.store.form, form_id, version))

    create_form = policy("qa.form_create", "qa_form", ADMINS, "always")

    @app.post("/qa/forms", status_code=201, tags=tags, response_model=FormOut,
              **create_form.options(409, 422))
    async def add_form(body: NewFormIn, access: Annotated[Access, Depends(create_form)]
                       ) -> FormOut:
        """A new form, version 1."""
        with access.audited(form=body.form_id) as notes:
            made = await desk.run(
                lambda: desk.service.create_form(
                    _form(body.form_id, body), access.who.name, ctx.clock()))
            notes["version"] = str(made.version)
        return _form_out(made)

    revise_form = policy("qa.form_revise", "qa_form", ADMINS, "always")

    @app.put("/qa/forms/{form_id}", tags=tags, response_model=FormOut,
             **revise_form.options(404, 409, 422))
    async def put_form(form_id: FormIdPath, body: FormIn,
                       access: Annotated[Access, Depends(revise_form)]) -> FormOut:
        """Change a form: its latest version is edited while no evaluation (or check
        result) uses it; otherwise the change becomes the next version."""
        with access.audited() as notes:
            made = await desk.run(
                lambda: desk.service.revise_form(
                    _form(form_id, body), access.who.name, ctx.clock()))
            notes["version"] = str(made.version)
        return _form_out(made)

    # evaluations ---------------------------------------------------------------------

    start = policy("qa.evaluation_create", "evaluation", GRADERS, "always")

    @app.post("/qa/evaluations", status_code=201, tags=tags, response_model=EvaluationOut,
              **start.options(404, 409, 422))
    async def start_evaluation(body: EvaluationIn, access: Annotated[Access, Depends(start)]
                               ) -> EvaluationOut:
        """A draft evaluation of a recorded call on the form's latest version (one per
        grader, form and call). Team leads grade their own team's calls."""
        with access.audited(call=body.call_id, form=body.form_id) as notes:
            call = await desk.run(desk.store.call, body.call_id)
            if not access.sees_agent(call.agent_id):
                raise ApiError(403, f"call {body.call_id} is not in your team")
            made = await desk.run(
                lambda: desk.service.start(body.call_id, body.form_id, access.who.name,
                                           ctx.clock(), body.answers, body.comments))
            notes["evaluation"] = made.evaluation_id
        return _evaluation_out(made)

    listing = policy("qa.evaluations", "evaluation", MINE)

    @app.get("/qa/evaluations", tags=tags, response_model=list[EvaluationOut],
             **listing.options())
    async def evaluations(
        access: Annotated[Access, Depends(listing)],
        call_id: Annotated[str | None, Query(pattern=CALL_ID)] = None,
        agent_id: Annotated[str | None, Query(pattern=AGENT_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[EvaluationOut]:
        """Newest first: an agent's own submitted evaluations (with comments), the team's,
        or all."""
        who = access.who
        if access.scope == "self" and not who.agent_id:
            return []
        if access.scope == "team" and not who.team:
            return []
        found = await desk.run(lambda: desk.store.evaluations(
            agent_id=who.agent_id if access.scope == "self" else agent_id,
            team=who.team if access.scope == "team" else None,
            call_id=call_id, submitted_only=access.scope == "self", limit=limit,
        ))
        return [_evaluation_out(e) for e in found]

    show = policy("qa.evaluation", "evaluation", MINE)

    @app.get("/qa/evaluations/{evaluation_id}", tags=tags, response_model=EvaluationOut,
             **show.options(404))
    async def evaluation(evaluation_id: EvaluationIdPath,
                         access: Annotated[Access, Depends(show)]) -> EvaluationOut:
        """One evaluation with its answers and the grader's comments."""
        return _evaluation_out(await desk.run(desk.store.evaluation, evaluation_id))

    async def own_draft(access: Access, evaluation_id: str) -> None:
        current = await desk.run(desk.store.evaluation, evaluation_id)
        if current.grader != access.who.name:
            raise ApiError(403, f"evaluation {evaluation_id} is {current.grader}'s to change")

    edit = policy("qa.evaluation_edit", "evaluation", GRADERS, "always")

    @app.put("/qa/evaluations/{evaluation_id}", tags=tags, response_model=EvaluationOut,
             **edit.options(404, 409, 422))
    async def edit_evaluation(evaluation_id: EvaluationIdPath, body: EvaluationEditIn,
                              access: Annotated[Access, Depends(edit)]) -> EvaluationOut:
        """Change a draft's answers and comments (merged); its grader only. A submitted
        evaluation never changes: 409."""
        with access.audited():
            await own_draft(access, evaluation_id)
            changed = await desk.run(desk.service.edit, evaluation_id, body.answers,
                                     body.comments)
        return _evaluation_out(changed)

    submit = policy("qa.evaluation_submit", "evaluation", GRADERS, "always")

    @app.post("/qa/evaluations/{evaluation_id}/submit", tags=tags,
              response_model=EvaluationOut, **submit.options(404, 409, 422))
    async def submit_evaluation(evaluation_id: EvaluationIdPath,
                                access: Annotated[Access, Depends(submit)]) -> EvaluationOut:
        """Score and seal the draft (every item answered); the agent sees it from now on."""
        with access.audited() as notes:
            await own_draft(access, evaluation_id)
            done = await desk.run(desk.service.submit, evaluation_id, ctx.clock())
            notes["score"] = f"{done.score:.2f}"
        return _evaluation_out(done)

    calib = policy("qa.calibration", "evaluation", GRADERS)

    @app.get("/qa/calibration", tags=tags, response_model=list[CalibrationOut],
             **calib.options(404))
    async def calibration(
        access: Annotated[Access, Depends(calib)],
        call_id: Annotated[str, Query(pattern=CALL_ID)],
        form_id: Annotated[str | None, Query(pattern=QA_ID)] = None,
    ) -> list[CalibrationOut]:
        """Per form version, the spread of the call's submitted evaluations across graders:
        per item and for the total."""
        call = await desk.run(desk.store.call, call_id)
        if not access.sees_agent(call.agent_id):
            raise ApiError(403, f"call {call_id} is not in your team")
        found = await desk.run(desk.service.calibration, call_id, form_id)
        return [CalibrationOut.model_validate({
            "form_id": c.form_id, "version": c.version, "graders": list(c.graders),
            "items": [vars(s) for s in c.items], "total": vars(c.total),
        }) for c in found]

    sampling = policy("qa.sample", "evaluation", SUPERVISORS)

    @app.get("/qa/sample", tags=tags, response_model=SampleOut, **sampling.options())
    async def sample(
        access: Annotated[Access, Depends(sampling)],
        month: Annotated[str, Query(pattern=MONTH.pattern)],
        per_agent: Annotated[int, Query(ge=1, le=1000)] = 5,
        seed: Annotated[str | None, Query(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")] = None,
    ) -> SampleOut:
        """The month's sampling plan: per agent k recorded calls, stratified by queue,
        reproducible from the month and the seed (default: the site's name)."""
        used = seed if seed is not None else desk.site_seed
        calls = await desk.run(desk.service.sample, month, per_agent, used)
        return SampleOut(month=month, per_agent=per_agent, seed=used, calls=[
            {"agent_id": c.agent_id, "queue": c.queue, "call_id": c.call_id} for c in calls
        ])

    reporting = policy("qa.report", "evaluation", SUPERVISORS)

    @app.get("/qa/report", tags=tags, response_model=list[KpiOut], **reporting.options(422))
    async def report(
        access: Annotated[Access, Depends(reporting)],
        start: Annotated[AwareDatetime, Query(alias="from")],
        end: Annotated[AwareDatetime, Query(alias="to")],
    ) -> list[KpiOut]:
        """Per agent, team and queue and local month, of evaluations submitted in
        [from, to): average score, pass rate, 解答准确率."""
        if end <= start:
            raise ApiError(422, "query.to: must be after from")
        facts = await desk.run(desk.service.facts, start, end)
        return [KpiOut.model_validate(x.as_dict()) for x in kpis(facts)]

    # knowledge checks ----------------------------------------------------------------

    checks = policy("qa.knowledge_checks", "qa_form", MINE)

    @app.get("/qa/knowledge", tags=tags, response_model=list[dict[str, Any]],
             **checks.options())
    async def knowledge_checks(access: Annotated[Access, Depends(checks)]
                               ) -> list[dict[str, Any]]:
        """The knowledge checks to take: questions and options, without the right answers."""
        return [knowledge.questions(f) for f in await desk.run(desk.store.forms, "knowledge")]

    take = policy("qa.knowledge_take", "qa_form", AGENTS, "always")

    @app.post("/qa/knowledge/{form_id}/answers", status_code=201, tags=tags,
              response_model=KnowledgeOut, **take.options(404, 422))
    async def take_check(form_id: FormIdPath, body: KnowledgeIn,
                         access: Annotated[Access, Depends(take)]) -> KnowledgeOut:
        """Answer a knowledge check (the latest version) as one's own agent; the score
        comes back at once."""
        agent_id = access.who.agent_id
        if not agent_id:
            raise ApiError(403, "only a user with an agent id takes knowledge checks")
        with access.audited() as notes:
            taken = await desk.run(desk.service.take, form_id, agent_id, body.answers,
                                   ctx.clock())
            notes["score"] = f"{taken.score:.2f}"
        return KnowledgeOut(result_id=taken.result_id, form_id=taken.form_id,
                            form_version=taken.form_version, agent_id=taken.agent_id,
                            score=taken.score, passed=taken.passed, taken_at=taken.taken_at)

    results = policy("qa.knowledge_results", "qa_form", MINE)

    @app.get("/qa/knowledge/results", tags=tags, response_model=KnowledgeResultsOut,
             **results.options())
    async def knowledge_results(access: Annotated[Access, Depends(results)]
                                ) -> KnowledgeResultsOut:
        """Knowledge-check results and each agent's scores: one's own, the team's, or all."""
        who = access.who
        if (access.scope == "self" and not who.agent_id) or (
            access.scope == "team" and not who.team
        ):
            return KnowledgeResultsOut(results=[], per_agent=[])
        found = await desk.run(lambda: desk.store.knowledge_results(
            agent_id=who.agent_id if access.scope == "self" else None,
            team=who.team if access.scope == "team" else None,
        ))
        summary = knowledge.per_agent(
            knowledge.KnowledgeResult(r.agent_id, r.form_id, r.score, r.passed) for r in found
        )
        return KnowledgeResultsOut(
            results=[KnowledgeOut(result_id=r.result_id, form_id=r.form_id,
                                  form_version=r.form_version, agent_id=r.agent_id,
                                  score=r.score, passed=r.passed, taken_at=r.taken_at)
                     for r in found],
            per_agent=[AgentKnowledgeOut.model_validate(vars(a)) for a in summary],
        )

