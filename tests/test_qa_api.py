"""QA over HTTP: an agent sees only its own submitted evaluations, with the grader's
comments; team leads grade only their team; a submitted evaluation and a form in use do
not change (409 / a new version); auto-fail through the API; audit rows; knowledge checks
hide the right answers."""

from __future__ import annotations

from typing import Any

from ari_app.api import create_api
from ari_app.api.qa_routes import QaDesk
from ari_app.records.qa import SqlQaStore
from tests.qa_rig import GOOD, add_call, form_body, qa_desk, quality_form
from tests.test_api_fakes import FakeClock, FakeControl, ListSink, basic, call_app, make_config


class QaRig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.config = make_config()
        self.sink = ListSink()
        self.desk: QaDesk = qa_desk({a.id: a.team for a in self.config.agents if a.team})
        store = self.desk.store
        assert isinstance(store, SqlQaStore)
        self.engine = store.engine
        self.app = create_api(self.config, FakeControl(self.config, self.clock), self.sink,
                              clock=self.clock, qa=self.desk)

    async def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        return await call_app(self.app, method, path, headers=basic(user), json=body)

    async def graded(self, user: str, call_id: str, answers: dict[str, int | None],
                     comments: dict[str, str] | None = None) -> str:
        reply = await self.call(user, "POST", "/qa/evaluations", {
            "call_id": call_id, "form_id": "call-quality", "answers": answers,
            "comments": comments or {}})
        assert reply.status == 201, reply.body
        eid: str = reply.json()["evaluation_id"]
        return eid


async def test_agents_see_only_their_own_submitted_evaluations_with_comments() -> None:
    rig = QaRig()
    add_call(rig.engine, "c-ann", "1001")  # ann's (team red)
    add_call(rig.engine, "c-bob", "2001")  # bob's (team blue)
    mine = await rig.graded("sue", "c-ann", GOOD, {"overall": "语速偏快", "b1": "准确"})
    theirs = await rig.graded("sue", "c-bob", GOOD)
    assert (await rig.call("sue", "POST", f"/qa/evaluations/{theirs}/submit")).status == 200

    # a draft is the grader's business: ann sees nothing yet
    assert (await rig.call("ann", "GET", "/qa/evaluations")).json() == []
    assert (await rig.call("ann", "GET", f"/qa/evaluations/{mine}")).status == 403
    assert (await rig.call("sue", "POST", f"/qa/evaluations/{mine}/submit")).status == 200

    listed = (await rig.call("ann", "GET", "/qa/evaluations")).json()
    assert [e["evaluation_id"] for e in listed] == [mine]
    shown = (await rig.call("ann", "GET", f"/qa/evaluations/{mine}")).json()
    assert shown["comments"] == {"overall": "语速偏快", "b1": "准确"}
    assert (shown["score"], shown["passed"], shown["recording"]) == (93.0, True, "call-c-ann")
    # bob's evaluation, by id or by filter, stays hidden from ann
    assert (await rig.call("ann", "GET", f"/qa/evaluations/{theirs}")).status == 403
    filtered = await rig.call("ann", "GET", "/qa/evaluations?agent_id=2001")
    assert [e["agent_id"] for e in filtered.json()] == ["1001"]
    # bob sees his, team leads their team's, the supervisor both
    bob = (await rig.call("bob", "GET", "/qa/evaluations")).json()
    assert [e["evaluation_id"] for e in bob] == [theirs]
    tina = (await rig.call("tina", "GET", "/qa/evaluations")).json()
    assert [e["evaluation_id"] for e in tina] == [mine]
    assert (await rig.call("tina", "GET", f"/qa/evaluations/{theirs}")).status == 403
    assert len((await rig.call("sue", "GET", "/qa/evaluations")).json()) == 2


async def test_team_leads_grade_only_their_team_and_graders_only_their_drafts() -> None:
    rig = QaRig()
    add_call(rig.engine, "c-ann", "1001")
    add_call(rig.engine, "c-bob", "2001")
    body = {"call_id": "c-bob", "form_id": "call-quality", "answers": {}}
    assert (await rig.call("tina", "POST", "/qa/evaluations", body)).status == 403
    assert (await rig.call("tom", "POST", "/qa/evaluations", body)).status == 201
    assert (await rig.call("tom", "POST", "/qa/evaluations", body)).status == 409  # one each
    draft = await rig.graded("tina", "c-ann", {"a1": 4})
    edit = {"answers": {"a1": 1}}
    assert (await rig.call("sue", "PUT", f"/qa/evaluations/{draft}", edit)).status == 403
    assert (await rig.call("tina", "PUT", f"/qa/evaluations/{draft}", edit)).status == 200
    # submitting an incomplete draft is refused; the rule is the form's
    reply = await rig.call("tina", "POST", f"/qa/evaluations/{draft}/submit")
    assert reply.status == 422
    assert "unanswered" in reply.json()["detail"]
    assert (await rig.call("tina", "GET", "/qa/calibration?call_id=c-bob")).status == 403
    nope = {"call_id": "c-none", "form_id": "call-quality"}
    assert (await rig.call("sue", "POST", "/qa/evaluations", nope)).status == 404


async def test_a_submitted_evaluation_never_changes_and_auto_fail_scores_zero() -> None:
    rig = QaRig()
    add_call(rig.engine, "c1", "1001")
    eid = await rig.graded("tina", "c1", {**GOOD, "c1": 0})
    done = await rig.call("tina", "POST", f"/qa/evaluations/{eid}/submit")
    assert (done.json()["score"], done.json()["passed"], done.json()["auto_failed"]) == (
        0.0, False, True)
    again = await rig.call("tina", "PUT", f"/qa/evaluations/{eid}", {"answers": {"c1": 1}})
    assert again.status == 409
    assert (await rig.call("tina", "POST", f"/qa/evaluations/{eid}/submit")).status == 409
    assert (await rig.call("sue", "GET", f"/qa/evaluations/{eid}")).json()["score"] == 0.0
    actions = [(r.action, r.detail.split()[0]) for r in rig.sink.records]
    assert ("qa.evaluation_submit", "outcome=ok") in actions
    assert ("qa.evaluation_edit", "outcome=failed") in actions


async def test_forms_are_versioned_once_used() -> None:
    rig = QaRig()
    body = form_body(quality_form(), with_id=False)
    first = await rig.call("adam", "PUT", "/qa/forms/call-quality", {**body, "name": "v1b"})
    assert first.json()["version"] == 1  # nobody used it: edited
    add_call(rig.engine, "c1", "1001")
    await rig.graded("tina", "c1", {"a1": 4})
    second = await rig.call("adam", "PUT", "/qa/forms/call-quality", {**body, "pass_mark": 90})
    assert second.json()["version"] == 2
    old = await rig.call("tina", "GET", "/qa/forms/call-quality?version=1")
    assert (old.json()["name"], old.json()["pass_mark"]) == ("v1b", 80.0)
    bad = {**body, "sections": [{"section_id": "s", "weight": 1, "items": [
        {"item_id": "x", "accuracy": True}, {"item_id": "y", "accuracy": True}]}]}
    assert (await rig.call("adam", "PUT", "/qa/forms/call-quality", bad)).status == 422
    created = await rig.call("adam", "POST", "/qa/forms", {**body, "form_id": "new"})
    assert (created.status, created.json()["version"]) == (201, 1)
    assert (await rig.call("adam", "POST", "/qa/forms", {**body, "form_id": "new"})).status == 409
    assert [r.action for r in rig.sink.records if r.action.startswith("qa.form")] == [
        "qa.form_revise", "qa.form_revise", "qa.form_revise", "qa.form_create",
        "qa.form_create"]


async def test_knowledge_checks_hide_the_answers_and_score_the_agent() -> None:
    rig = QaRig()
    checks = (await rig.call("ann", "GET", "/qa/knowledge")).json()
    assert [c["form_id"] for c in checks] == ["billing-kb"]
    assert all("correct" not in i for s in checks[0]["sections"] for i in s["items"])
    taken = await rig.call("ann", "POST", "/qa/knowledge/billing-kb/answers",
                           {"answers": {"q1": 1, "q2": 1, "q3": 2}})
    assert (taken.status, taken.json()["score"], taken.json()["passed"]) == (201, 75.0, True)
    await rig.call("bob", "POST", "/qa/knowledge/billing-kb/answers",
                   {"answers": {"q1": 0, "q2": 1, "q3": 0}})
    own = (await rig.call("ann", "GET", "/qa/knowledge/results")).json()
    assert [a["agent_id"] for a in own["per_agent"]] == ["1001"]
    everyone = (await rig.call("sue", "GET", "/qa/knowledge/results")).json()
    assert {a["agent_id"]: a["average_score"] for a in everyone["per_agent"]} == {
        "1001": 75.0, "2001": 0.0}
    partial = await rig.call("ann", "POST", "/qa/knowledge/billing-kb/answers",
                             {"answers": {"q1": 1}})
    assert partial.status == 422
