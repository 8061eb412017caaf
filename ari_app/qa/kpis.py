"""QA figures from submitted evaluations: per agent, team and queue and month, how many,
the average score, the pass rate and 解答准确率 (answer accuracy: the share of evaluations
whose accuracy item passed, among those where it was applicable)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Dimension = Literal["agent", "team", "queue"]
DIMENSIONS: tuple[Dimension, ...] = ("agent", "team", "queue")
COLUMNS = ("dimension", "key", "month", "evaluations", "average_score", "pass_rate",
           "accuracy_checked", "accuracy_rate")


@dataclass(frozen=True)
class EvaluationFact:
    """One submitted evaluation as the KPIs see it."""

    agent_id: str
    team: str
    queue: str
    month: str  # YYYY-MM, local to the site
    score: float
    passed: bool
    accuracy_passed: bool | None  # None: no accuracy item or N/A


@dataclass(frozen=True)
class KpiLine:
    dimension: Dimension
    key: str
    month: str
    evaluations: int
    average_score: float
    pass_rate: float
    accuracy_checked: int
    accuracy_rate: float | None

    def as_dict(self) -> dict[str, object]:
        return {c: getattr(self, c) for c in COLUMNS}


def kpis(facts: Iterable[EvaluationFact]) -> list[KpiLine]:
    """One line per dimension, key and month, sorted by those."""
    groups: dict[tuple[Dimension, str, str], list[EvaluationFact]] = defaultdict(list)
    for fact in facts:
        for dim in DIMENSIONS:
            key = {"agent": fact.agent_id, "team": fact.team, "queue": fact.queue}[dim]
            groups[(dim, key, fact.month)].append(fact)
    lines = []
    for (dim, key, month), group in groups.items():
        checked = [f.accuracy_passed for f in group if f.accuracy_passed is not None]
        lines.append(KpiLine(
            dimension=dim, key=key, month=month, evaluations=len(group),
            average_score=round(sum(f.score for f in group) / len(group), 4),
            pass_rate=round(sum(f.passed for f in group) / len(group), 4),
            accuracy_checked=len(checked),
            accuracy_rate=round(sum(checked) / len(checked), 4) if checked else None,
        ))
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    return sorted(lines, key=lambda x: (order[x.dimension], x.key, x.month))
