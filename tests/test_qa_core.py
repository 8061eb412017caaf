"""The pure QA core, with hand-computed figures: weights, N/A re-weighting, auto-fail,
form rules, the seeded stratified sample, calibration spread, KPIs (解答准确率) and
knowledge checks."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ari_app.qa import evaluation as ev
from ari_app.qa import knowledge
from ari_app.qa.calibration import calibrate
from ari_app.qa.form import Form, FormError, Item, Section
from ari_app.qa.kpis import EvaluationFact, kpis
from ari_app.qa.sampling import CallRef, SamplingError, allocate, month_seed, sample
from ari_app.qa.scoring import score
from tests.qa_rig import GOOD, knowledge_form, quality_form

FORM = quality_form()
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


# scoring ----------------------------------------------------------------------------


def test_weights_within_sections_and_across_them() -> None:
    result = score(FORM, GOOD)
    # opening (4/5 + 1/1)/2 = 0.9; answer (3 x 5/5 + 1 x 3/5)/4 = 0.9; compliance 1.0
    assert result.sections == {"opening": 0.9, "answer": 0.9, "compliance": 1.0}
    # 0.2 x 0.9 + 0.5 x 0.9 + 0.3 x 1.0 = 0.93
    assert result.score == pytest.approx(93.0)
    assert result.passed
    assert result.auto_failed == ()
    assert result.accuracy_passed is True
    assert result.weights["b1"] == pytest.approx(0.5 * 3 / 4)


def test_not_applicable_items_lose_their_weight_and_the_rest_is_renormalised() -> None:
    answers = {**GOOD, "a2": None, "b1": 3, "b2": None, "c2": None}
    result = score(FORM, answers)
    # opening a1 alone 4/5; answer b1 alone 3/5; compliance c1 alone 1/1
    assert result.sections == {"opening": 0.8, "answer": 0.6, "compliance": 1.0}
    assert result.score == pytest.approx(100 * (0.2 * 0.8 + 0.5 * 0.6 + 0.3 * 1.0))  # 76
    assert result.weights == pytest.approx({"a1": 0.2, "b1": 0.5, "c1": 0.3})
    assert not result.passed  # 76 < 80
    assert result.accuracy_passed is False  # 3 < 4
    # had N/A counted as 0, the score would have been lower: re-weighting is not zeroing
    zeroed = 100 * (0.2 * 0.4 + 0.5 * 0.45 + 0.3 * 0.5)
    assert result.score > zeroed


def test_a_section_wholly_not_applicable_drops_out() -> None:
    form = Form("f", 1, "f", (
        Section("s1", "", 1, (Item("x", "", scale=10),)),
        Section("s2", "", 3, (Item("y", "", scale=2, allow_na=True),)),
    ))
    assert score(form, {"x": 5, "y": 2}).score == pytest.approx(100 * (0.25 * 0.5 + 0.75))
    half = score(form, {"x": 5, "y": None})
    assert half.score == pytest.approx(50.0)
    assert half.sections == {"s1": 0.5, "s2": None}


def test_an_auto_fail_answer_scores_the_whole_evaluation_zero() -> None:
    result = score(FORM, {**GOOD, "c1": 0})
    assert result.score == 0.0
    assert not result.passed
    assert result.auto_failed == ("c1",)
    assert result.sections["opening"] == 0.9  # the sections are still shown
    assert score(replace(FORM, pass_mark=0.0), {**GOOD, "c1": 0}).passed is False


def test_answers_must_be_complete_on_scale_and_na_only_where_allowed() -> None:
    with pytest.raises(FormError, match="unanswered items: c2"):
        score(FORM, {k: v for k, v in GOOD.items() if k != "c2"})
    with pytest.raises(FormError, match="off the scale"):
        score(FORM, {**GOOD, "a1": 6})
    with pytest.raises(FormError, match="not applicable is not allowed"):
        score(FORM, {**GOOD, "a1": None})
    with pytest.raises(FormError, match="unknown item"):
        score(FORM, {**GOOD, "zz": 1})
    every_na = Form("f", 1, "f", (Section("s", "", 1, (Item("x", "", allow_na=True),)),))
    with pytest.raises(FormError, match="nothing to score"):
        score(every_na, {"x": None})


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: replace(f, pass_mark=120), "pass_mark"),
    (lambda f: replace(f, sections=()), "at least one section"),
    (lambda f: replace(f, sections=(*f.sections, f.sections[0])), "repeated"),
    (lambda f: replace(f, sections=(Section("s", "", 0, (Item("x", ""),)),)), "weight"),
    (lambda f: replace(f, sections=(Section("s", "", 1, (
        Item("x", "", accuracy=True), Item("y", "", accuracy=True))),)), "at most one"),
    (lambda f: replace(f, sections=(Section("s", "", 1, (
        Item("x", "", scale=3, auto_fail=frozenset({4})),)),)), "auto-fail"),
    (lambda f: replace(f, sections=(Section("s", "", 1, (
        Item("x", "", options=("a", "b"), correct=0),)),)), "knowledge"),
    (lambda f: replace(f, form_id="bad id"), "form_id"),
])
def test_a_form_breaking_a_rule_is_refused(change: object, message: str) -> None:
    with pytest.raises(FormError, match=message):
        change(FORM)  # type: ignore[operator]


def test_a_form_round_trips_through_json() -> None:
    assert Form.from_json(FORM.as_json()) == FORM
    assert Form.from_json(knowledge_form().as_json()) == knowledge_form()
    with pytest.raises(FormError, match="malformed"):
        Form.from_json({"form_id": "x"})


def test_a_submitted_evaluation_never_changes() -> None:
    draft = ev.Evaluation("e1", "call-quality", 1, "c1", "call-c1", "1001", "red", "support",
                          "tina", T0)
    draft = ev.edit(draft, FORM, {"a1": 4}, {"overall": "不错"})
    with pytest.raises(FormError, match="unanswered"):
        ev.submit(draft, FORM, T0)
    draft = ev.edit(draft, FORM, {k: v for k, v in GOOD.items() if k != "a1"}, {"b1": "准确"})
    done = ev.submit(draft, FORM, T0)
    assert (done.state, done.score, done.passed, done.accuracy_passed) == (
        "submitted", pytest.approx(93.0), True, True)
    assert done.comments == {"overall": "不错", "b1": "准确"}
    with pytest.raises(ev.EvaluationLocked):
        ev.edit(done, FORM, {"a1": 1}, {})
    with pytest.raises(ev.EvaluationLocked):
        ev.submit(done, FORM, T0)
    with pytest.raises(FormError, match="comment on unknown item"):
        ev.edit(draft, FORM, {}, {"zz": "?"})


# sampling ---------------------------------------------------------------------------


def _calls() -> list[CallRef]:
    calls = [CallRef("1001", "support", f"s{i:02d}") for i in range(6)]
    calls += [CallRef("1001", "billing", f"b{i:02d}") for i in range(3)]
    calls += [CallRef("1001", "support", f"u{i:02d}", recorded=False) for i in range(2)]
    calls += [CallRef("1002", "billing", f"x{i:02d}") for i in range(2)]
    return calls


def test_allocation_is_proportional_by_largest_remainder() -> None:
    # quotas 4 x 5/10 = 2, 4 x 3/10 = 1.2, 4 x 2/10 = 0.8: floors 2, 1, 0; c has the
    # largest remainder
    assert allocate(4, {"a": 5, "b": 3, "c": 2}) == {"a": 2, "b": 1, "c": 1}
    assert allocate(20, {"a": 5, "b": 3}) == {"a": 5, "b": 3}


def test_k_per_agent_stratified_by_queue_recorded_calls_only() -> None:
    chosen = sample(_calls(), "2026-11", 3, "site-a")
    per = {(c.agent_id, c.queue): 0 for c in chosen}
    for c in chosen:
        per[(c.agent_id, c.queue)] += 1
    # 1001: 6 support + 3 billing recorded -> 3 x 6/9 = 2 support, 1 billing
    # 1002: only 2 calls -> both
    assert per == {("1001", "support"): 2, ("1001", "billing"): 1, ("1002", "billing"): 2}
    assert all(c.recorded for c in chosen)


def test_the_same_month_and_seed_give_the_same_sample_whatever_the_order() -> None:
    calls = [CallRef(a, q, f"{a}-{q}-{i}") for a in ("1001", "1002") for q in ("s", "b")
             for i in range(40)]
    first = sample(calls, "2026-11", 5, "site-a")
    shuffled = calls[:]
    random.Random(7).shuffle(shuffled)
    assert sample(shuffled, "2026-11", 5, "site-a") == first
    assert sample(calls, "2026-12", 5, "site-a") != first
    assert sample(calls, "2026-11", 5, "site-b") != first
    # another agent joining changes nobody else's sample
    more = sample([*calls, *(CallRef("2001", "s", f"n{i}") for i in range(9))],
                  "2026-11", 5, "site-a")
    assert [c for c in more if c.agent_id != "2001"] == first
    assert month_seed("2026-11", "a") == month_seed("2026-11", "a") != month_seed("2026-10", "a")


def test_a_bad_month_or_k_is_refused() -> None:
    with pytest.raises(SamplingError, match="YYYY-MM"):
        sample(_calls(), "2026-13", 3, "s")
    with pytest.raises(SamplingError, match="at least 1"):
        sample(_calls(), "2026-11", 0, "s")


# calibration ------------------------------------------------------------------------


def test_calibration_spread_per_item_and_total() -> None:
    report = calibrate(FORM, {
        "g1": GOOD,                            # 93
        "g2": {**GOOD, "a1": 2, "a2": 0},      # opening (0.4 + 0)/2 = 0.2 -> 79
        "g3": {**GOOD, "a1": 3, "a2": None},   # opening 3/5 = 0.6 -> 87
    })
    assert report.graders == ("g1", "g2", "g3")
    a1 = next(s for s in report.items if s.key == "a1")
    assert (a1.graders, a1.min, a1.max, a1.mean, a1.range) == (3, 2, 4, 3, 2)
    assert a1.stdev == pytest.approx(math.sqrt(2 / 3))
    a2 = next(s for s in report.items if s.key == "a2")
    assert (a2.graders, a2.not_applicable, a2.min, a2.max, a2.mean, a2.stdev) == (
        2, 1, 0, 1, 0.5, 0.5)
    b1 = next(s for s in report.items if s.key == "b1")
    assert (b1.range, b1.stdev) == (0, 0)
    assert (report.total.min, report.total.max) == pytest.approx((79, 93))
    mean = (93 + 79 + 87) / 3
    assert report.total.mean == pytest.approx(mean)
    assert report.total.stdev == pytest.approx(
        math.sqrt(((93 - mean) ** 2 + (79 - mean) ** 2 + (87 - mean) ** 2) / 3))


# KPIs -------------------------------------------------------------------------------


def test_kpis_average_pass_rate_and_answer_accuracy() -> None:
    facts = [
        EvaluationFact("1001", "red", "support", "2026-11", 93.0, True, True),
        EvaluationFact("1001", "red", "billing", "2026-11", 0.0, False, True),  # auto-fail
        EvaluationFact("1002", "red", "support", "2026-11", 76.0, False, False),
        EvaluationFact("1002", "red", "support", "2026-11", 85.0, True, None),  # N/A
        EvaluationFact("2001", "blue", "support", "2026-12", 90.0, True, True),
    ]
    lines = {(x.dimension, x.key, x.month): x for x in kpis(facts)}
    a = lines[("agent", "1001", "2026-11")]
    assert (a.evaluations, a.average_score, a.pass_rate, a.accuracy_rate) == (2, 46.5, 0.5, 1.0)
    b = lines[("agent", "1002", "2026-11")]
    assert (b.average_score, b.pass_rate, b.accuracy_checked, b.accuracy_rate) == (
        80.5, 0.5, 1, 0.0)
    red = lines[("team", "red", "2026-11")]
    assert (red.evaluations, red.average_score, red.pass_rate, red.accuracy_rate) == (
        4, 63.5, 0.5, round(2 / 3, 4))
    support = lines[("queue", "support", "2026-11")]
    assert (support.average_score, support.pass_rate, support.accuracy_rate) == (
        round((93 + 76 + 85) / 3, 4), round(2 / 3, 4), 0.5)
    assert lines[("queue", "support", "2026-12")].evaluations == 1
    # Nov: agents 1001, 1002, team red, queues support, billing; Dec: 2001, blue, support
    assert len(lines) == 8
    assert kpis([]) == []


# knowledge checks -------------------------------------------------------------------


def test_knowledge_check_scores_right_answers_with_weights() -> None:
    form = knowledge_form()
    # q1 (weight 2) right, q2 wrong, q3 right: (2 + 0 + 1) / 4 = 75 -> passes at 75
    result = knowledge.grade(form, {"q1": 1, "q2": 1, "q3": 2})
    assert (result.score, result.passed) == (75.0, True)
    assert knowledge.grade(form, {"q1": 0, "q2": 0, "q3": 2}).score == 50.0
    with pytest.raises(FormError, match="does not exist"):
        knowledge.grade(form, {"q1": 3, "q2": 0, "q3": 0})
    with pytest.raises(FormError, match="unanswered"):
        knowledge.grade(form, {"q1": 1})
    with pytest.raises(FormError, match="not a knowledge check"):
        knowledge.grade(FORM, {"a1": 1})
    shown = knowledge.questions(form)
    assert all("correct" not in i for s in shown["sections"] for i in s["items"])
    assert shown["sections"][0]["items"][0]["options"] == ["3天", "7个工作日", "30天"]


def test_knowledge_scores_per_agent() -> None:
    results = [knowledge.KnowledgeResult("1001", "kb", 75.0, True),
               knowledge.KnowledgeResult("1001", "kb", 50.0, False),
               knowledge.KnowledgeResult("1002", "kb", 100.0, True)]
    mine, theirs = knowledge.per_agent(results)
    assert (mine.agent_id, mine.checks, mine.average_score, mine.best_score, mine.passed) == (
        "1001", 2, 62.5, 75.0, 1)
    assert (theirs.checks, theirs.average_score) == (1, 100.0)
