"""Calibration: several graders score the same call on the same form; how far apart they
are, item by item (points on the item's scale) and on the total. A wide spread marks an
item whose wording or training needs attention."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ari_app.qa.form import Answers, Form
from ari_app.qa.scoring import score


@dataclass(frozen=True)
class Spread:
    """Across graders: how many answered (N/A not counted), min, max, mean and the
    population standard deviation; None when nobody answered."""

    key: str
    graders: int
    not_applicable: int
    min: float | None
    max: float | None
    mean: float | None
    stdev: float | None

    @property
    def range(self) -> float | None:
        return None if self.min is None or self.max is None else self.max - self.min


def _spread(key: str, values: Sequence[float | None]) -> Spread:
    given = [v for v in values if v is not None]
    if not given:
        return Spread(key, 0, len(values), None, None, None, None)
    return Spread(
        key, len(given), len(values) - len(given), min(given), max(given),
        statistics.fmean(given), statistics.pstdev(given),
    )


@dataclass(frozen=True)
class Calibration:
    form_id: str
    version: int
    graders: tuple[str, ...]
    items: tuple[Spread, ...]  # in the form's order
    total: Spread  # of the scores 0..100


def calibrate(form: Form, by_grader: Mapping[str, Answers]) -> Calibration:
    """The spread of each item and of the total among the graders' complete answers."""
    graders = tuple(sorted(by_grader))
    items = tuple(
        _spread(item_id, [
            None if by_grader[g][item_id] is None else float(by_grader[g][item_id] or 0)
            for g in graders
        ])
        for item_id in form.items
    )
    total = _spread("total", [score(form, by_grader[g]).score for g in graders])
    return Calibration(form.form_id, form.version, graders, items, total)
