"""Evaluation forms: sections with weights, items on a points scale with a weight, whether
"not applicable" is allowed, and the answers that fail the whole evaluation. A knowledge
check (业务知识) is the same form whose items are questions with one right option.

A form is identified by `(form_id, version)`; a version that has evaluations is never
edited (the records refuse it), it is replaced by the next version.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["evaluation", "knowledge"]
KINDS: tuple[Kind, ...] = ("evaluation", "knowledge")
ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_SCALE = 100

Answer = int | None
"""Points given on an item's scale (0..scale), or None for "not applicable"."""
Answers = Mapping[str, Answer]


class FormError(ValueError):
    """A form or a set of answers that does not hold together; the message says where."""


@dataclass(frozen=True)
class Item:
    item_id: str
    text: str
    scale: int = 1  # points from 0 to scale
    weight: float = 1.0  # within its section
    allow_na: bool = False
    auto_fail: frozenset[int] = frozenset()  # answers that score the whole evaluation 0
    pass_at: int | None = None  # the item "passed" at this many points (default: scale)
    accuracy: bool = False  # the 解答准确率 item
    options: tuple[str, ...] = ()  # knowledge checks: the choices offered
    correct: int | None = None  # knowledge checks: index of the right option

    @property
    def passes_at(self) -> int:
        return self.scale if self.pass_at is None else self.pass_at


@dataclass(frozen=True)
class Section:
    section_id: str
    title: str
    weight: float
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Form:
    form_id: str
    version: int
    name: str
    sections: tuple[Section, ...]
    pass_mark: float = 80.0  # score (0..100) at or above which an evaluation passes
    kind: Kind = "evaluation"
    _index: dict[str, Item] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        validate(self)
        index = {i.item_id: i for s in self.sections for i in s.items}
        object.__setattr__(self, "_index", index)

    @property
    def items(self) -> Mapping[str, Item]:
        return self._index

    def accuracy_item(self) -> Item | None:
        return next((i for i in self._index.values() if i.accuracy), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "form_id": self.form_id, "version": self.version, "name": self.name,
            "kind": self.kind, "pass_mark": self.pass_mark,
            "sections": [
                {"section_id": s.section_id, "title": s.title, "weight": s.weight,
                 "items": [_item_json(i) for i in s.items]}
                for s in self.sections
            ],
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Form:
        try:
            return Form(
                form_id=str(data["form_id"]), version=int(data["version"]),
                name=str(data["name"]), kind=data.get("kind", "evaluation"),
                pass_mark=float(data.get("pass_mark", 80.0)),
                sections=tuple(
                    Section(str(s["section_id"]), str(s.get("title", "")),
                            float(s.get("weight", 1.0)),
                            tuple(_item(i) for i in s["items"]))
                    for s in data["sections"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FormError):
                raise
            raise FormError(f"malformed form: {exc!r}") from exc


def _item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "item_id": item.item_id, "text": item.text, "scale": item.scale,
        "weight": item.weight, "allow_na": item.allow_na,
        "auto_fail": sorted(item.auto_fail), "pass_at": item.pass_at,
        "accuracy": item.accuracy,
    }
    if item.options:
        out["options"] = list(item.options)
        out["correct"] = item.correct
    return out


def _item(data: Mapping[str, Any]) -> Item:
    correct = data.get("correct")
    pass_at = data.get("pass_at")
    return Item(
        item_id=str(data["item_id"]), text=str(data.get("text", "")),
        scale=int(data.get("scale", 1)), weight=float(data.get("weight", 1.0)),
        allow_na=bool(data.get("allow_na", False)),
        auto_fail=frozenset(int(a) for a in data.get("auto_fail", ())),
        pass_at=None if pass_at is None else int(pass_at),
        accuracy=bool(data.get("accuracy", False)),
        options=tuple(str(o) for o in data.get("options", ())),
        correct=None if correct is None else int(correct),
    )


def validate(form: Form) -> None:
    """Every rule a form must keep; raises FormError naming the first broken one."""
    if not ID.fullmatch(form.form_id):
        raise FormError(f"form_id {form.form_id!r}: letters, digits . _ - (1-64)")
    if form.version < 1:
        raise FormError("version: from 1")
    if form.kind not in KINDS:
        raise FormError(f"kind: one of {', '.join(KINDS)}")
    if not 0 <= form.pass_mark <= 100:
        raise FormError("pass_mark: 0..100")
    if not form.sections:
        raise FormError("a form needs at least one section")
    seen: set[str] = set()
    accuracy = 0
    for section in form.sections:
        where = f"section {section.section_id!r}"
        if not ID.fullmatch(section.section_id) or section.section_id in seen:
            raise FormError(f"{where}: id missing, malformed or repeated")
        seen.add(section.section_id)
        if not section.weight > 0:
            raise FormError(f"{where}: weight must be above 0")
        if not section.items:
            raise FormError(f"{where}: no items")
        for item in section.items:
            _check_item(form.kind, item, seen)
            accuracy += item.accuracy
    if accuracy > 1:
        raise FormError("at most one item is the accuracy (解答准确率) item")


def _check_item(kind: Kind, item: Item, seen: set[str]) -> None:
    where = f"item {item.item_id!r}"
    if not ID.fullmatch(item.item_id) or item.item_id in seen:
        raise FormError(f"{where}: id missing, malformed or repeated")
    seen.add(item.item_id)
    if not 1 <= item.scale <= MAX_SCALE:
        raise FormError(f"{where}: scale 1..{MAX_SCALE}")
    if not item.weight > 0:
        raise FormError(f"{where}: weight must be above 0")
    if any(not 0 <= a <= item.scale for a in item.auto_fail):
        raise FormError(f"{where}: auto-fail answers lie on the scale 0..{item.scale}")
    if not 0 < item.passes_at <= item.scale:
        raise FormError(f"{where}: pass_at 1..{item.scale}")
    if kind == "knowledge":
        if item.scale != 1 or item.allow_na or item.auto_fail:
            raise FormError(f"{where}: a question scores 0 or 1, no N/A, no auto-fail")
        if len(item.options) < 2 or item.correct is None or not (
            0 <= item.correct < len(item.options)
        ):
            raise FormError(f"{where}: a question needs two or more options and the right one")
    elif item.options or item.correct is not None:
        raise FormError(f"{where}: options and a right answer belong to knowledge checks")


def check_answers(form: Form, answers: Answers, *, complete: bool = True) -> None:
    """Raise FormError unless every answer is on its item's scale (N/A only where allowed)
    and, if `complete`, every item is answered (a draft may be partial)."""
    for item_id, answer in answers.items():
        item = form.items.get(item_id)
        if item is None:
            raise FormError(f"answer to unknown item {item_id!r}")
        if answer is None:
            if not item.allow_na:
                raise FormError(f"item {item_id!r}: not applicable is not allowed")
        elif not 0 <= answer <= item.scale:
            raise FormError(f"item {item_id!r}: answer {answer} is off the scale 0..{item.scale}")
    if complete:
        missing = [i for i in form.items if i not in answers]
        if missing:
            raise FormError(f"unanswered items: {', '.join(missing)}")

