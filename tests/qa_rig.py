"""Shared by the QA tests: a call-quality form whose scores are worked out by hand in the
tests, and a knowledge check."""

from __future__ import annotations

from typing import Any

from ari_app.qa.form import Form, Item, Section


def quality_form(version: int = 1, pass_mark: float = 80.0) -> Form:
    """Opening 20 %, answer 50 %, compliance 30 %; b1 is the accuracy item (passes at 4
    of 5); c1 = 0 (caller data disclosed) fails the whole evaluation."""
    return Form(
        "call-quality", version, "通话质检", (
            Section("opening", "开场", 20, (
                Item("a1", "greeting", scale=5),
                Item("a2", "caller verified", scale=1, allow_na=True),
            )),
            Section("answer", "解答", 50, (
                Item("b1", "answer accurate", scale=5, weight=3, accuracy=True, pass_at=4),
                Item("b2", "answer complete", scale=5, allow_na=True),
            )),
            Section("compliance", "合规", 30, (
                Item("c1", "no caller data disclosed", scale=1, auto_fail=frozenset({0})),
                Item("c2", "closing", scale=5, allow_na=True),
            )),
        ), pass_mark=pass_mark,
    )


GOOD = {"a1": 4, "a2": 1, "b1": 5, "b2": 3, "c1": 1, "c2": 5}  # 93 (see test_qa_core)


def knowledge_form() -> Form:
    return Form(
        "billing-kb", 1, "账单业务知识", (
            Section("rules", "规则", 1, (
                Item("q1", "退费时限", weight=2, options=("3天", "7个工作日", "30天"),
                     correct=1),
                Item("q2", "发票补开", options=("可以", "不可以"), correct=0),
                Item("q3", "违约金", options=("免收", "减半", "全额"), correct=2),
            )),
        ), pass_mark=75.0, kind="knowledge",
    )


def form_body(form: Form) -> dict[str, Any]:
    """The API's body for a form (no version: the server numbers them)."""
    data = form.as_json()
    data.pop("version")
    return data
