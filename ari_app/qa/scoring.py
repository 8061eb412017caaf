"""Scoring an evaluation: points become a share of the item's scale; items are weighed
within their section and sections within the form. An item answered "not applicable" is
left out and the weights of the rest are re-normalised (a section left with no applicable
item drops out the same way). An auto-fail answer makes the whole evaluation 0.

Worked example (docs/qa.md): section A (weight 60) with a1 (scale 5, weight 2) = 4 and
a2 (scale 5, weight 1) = N/A; section B (weight 40) with b1 (scale 1, weight 1) = 1:
A = 4/5 = 0.8 (a2's weight removed), B = 1.0, total = 100 x (0.6 x 0.8 + 0.4 x 1.0) = 88.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ari_app.qa.form import Answers, Form, FormError, check_answers


@dataclass(frozen=True)
class Score:
    score: float  # 0..100
    passed: bool  # score >= the form's pass mark and no auto-fail
    auto_failed: tuple[str, ...]  # the items whose answer failed the evaluation
    sections: Mapping[str, float | None]  # each section's share 0..1 (None: all N/A)
    weights: Mapping[str, float]  # each applicable item's effective share of the total
    accuracy_passed: bool | None  # the accuracy item passed (None: no such item, or N/A)


def score(form: Form, answers: Answers) -> Score:
    """The score of a complete set of answers (FormError if incomplete or off-scale)."""
    check_answers(form, answers)
    sections: dict[str, float | None] = {}
    item_shares: dict[str, float] = {}
    section_weight: dict[str, float] = {}
    for section in form.sections:
        applicable = [i for i in section.items if answers[i.item_id] is not None]
        total = sum(i.weight for i in applicable)
        if not applicable:
            sections[section.section_id] = None
            continue
        value = 0.0
        for item in applicable:
            points = answers[item.item_id]
            assert points is not None
            value += item.weight / total * points / item.scale
            item_shares[item.item_id] = item.weight / total
        sections[section.section_id] = value
        section_weight[section.section_id] = section.weight
    if not section_weight:
        raise FormError("every item is not applicable: nothing to score")
    form_total = sum(section_weight.values())
    weights = {
        item.item_id: section_weight[s.section_id] / form_total * item_shares[item.item_id]
        for s in form.sections if s.section_id in section_weight
        for item in s.items if item.item_id in item_shares
    }
    raw = sum(
        section_weight[sid] / form_total * value
        for sid, value in sections.items() if value is not None
    )
    failed = tuple(
        item_id for item_id, item in form.items.items()
        if answers[item_id] is not None and answers[item_id] in item.auto_fail
    )
    total_score = 0.0 if failed else round(100.0 * raw, 6)
    accuracy = form.accuracy_item()
    accuracy_passed = None
    if accuracy is not None and answers[accuracy.item_id] is not None:
        points = answers[accuracy.item_id]
        assert points is not None
        accuracy_passed = points >= accuracy.passes_at and accuracy.item_id not in failed
    return Score(
        score=total_score,
        passed=not failed and total_score >= form.pass_mark,
        auto_failed=failed,
        sections=sections,
        weights=weights,
        accuracy_passed=accuracy_passed,
    )
