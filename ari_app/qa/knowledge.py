"""Business-knowledge checks (业务知识): a form of kind `knowledge` whose items are
questions with options and one right answer. Chosen options become 1/0 points and the
form engine scores them (section and question weights apply; no N/A, no auto-fail)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ari_app.qa.form import Form, FormError
from ari_app.qa.scoring import Score, score


def points(form: Form, chosen: Mapping[str, int]) -> dict[str, int | None]:
    """1 for the right option, 0 for another; every question must be answered."""
    if form.kind != "knowledge":
        raise FormError(f"form {form.form_id} is not a knowledge check")
    out: dict[str, int | None] = {}
    for item_id, option in chosen.items():
        item = form.items.get(item_id)
        if item is None:
            raise FormError(f"answer to unknown question {item_id!r}")
        if not 0 <= option < len(item.options):
            raise FormError(f"question {item_id!r}: option {option} does not exist")
        out[item_id] = int(option == item.correct)
    return out


def grade(form: Form, chosen: Mapping[str, int]) -> Score:
    return score(form, points(form, chosen))


def questions(form: Form) -> dict[str, Any]:
    """What the agent taking the check sees: the form without the right answers."""
    data = form.as_json()
    for section in data["sections"]:
        for item in section["items"]:
            item.pop("correct", None)
    return data


@dataclass(frozen=True)
class KnowledgeResult:
    agent_id: str
    form_id: str
    score: float
    passed: bool


@dataclass(frozen=True)
class AgentKnowledge:
    agent_id: str
    checks: int
    average_score: float
    best_score: float
    passed: int


def per_agent(results: Iterable[KnowledgeResult]) -> list[AgentKnowledge]:
    by_agent: dict[str, list[KnowledgeResult]] = defaultdict(list)
    for r in results:
        by_agent[r.agent_id].append(r)
    return [
        AgentKnowledge(
            agent, len(rs), round(sum(r.score for r in rs) / len(rs), 4),
            max(r.score for r in rs), sum(r.passed for r in rs),
        )
        for agent, rs in sorted(by_agent.items())
    ]
