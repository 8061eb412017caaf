"""Shared by the QA tests: a call-quality form whose scores are worked out by hand in the
tests, and a knowledge check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import Engine, create_engine, delete, insert
from sqlalchemy.pool import StaticPool

from ari_app.api.qa_routes import QaDesk
from ari_app.qa.form import Form, Item, Section
from ari_app.qa.service import Qa
from ari_app.records import models
from ari_app.records.qa import SqlQaStore

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


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


def form_body(form: Form, with_id: bool = True) -> dict[str, Any]:
    """The API's body for a form (no version: the server numbers them; PUT: no id)."""
    data = form.as_json()
    data.pop("version")
    if not with_id:
        data.pop("form_id")
    return data


def add_call(
    engine: Engine, call_id: str, agent_id: str | None = "1001", queue: str = "support",
    at: datetime = T0, recorded: bool = True,
) -> None:
    """A finished call in the records (and its recording's index row)."""
    with engine.begin() as conn:
        conn.execute(insert(models.Call), [{
            "call_id": call_id, "site": "demo", "queue": queue, "caller_number": "****1234",
            "caller_number_storage": "masked", "arrival_at": at,
            "answered_at": at + timedelta(seconds=5), "ended_at": at + timedelta(seconds=95),
            "outcome": "answered", "wait_seconds": 5.0, "talk_seconds": 90.0,
            "hold_seconds": 0.0, "wrapup_seconds": 0.0, "agent_id": agent_id,
            "transferred": False,
        }])
        if recorded:
            conn.execute(insert(models.Recording), [{
                "name": f"call-{call_id}", "call_id": call_id,
                "path": f"/var/spool/hotline/call-{call_id}.wav", "format": "wav",
                "duration_seconds": 90.0, "sha256": "ab" * 32, "size_bytes": 1440044,
                "created_at": at, "retention_until": at + timedelta(days=180),
            }])


def qa_desk(team_of: Mapping[str, str], engine: Engine | None = None) -> QaDesk:
    """A desk on an in-memory SQLite (or the given engine) with the two forms."""
    if engine is None:
        engine = create_engine("sqlite://", poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
        models.Base.metadata.create_all(engine)
    store = SqlQaStore(engine)
    store.add_form(quality_form(), "adam", T0)
    store.add_form(knowledge_form(), "adam", T0)
    return QaDesk(Qa(store, "Asia/Shanghai", team_of), store, "demo")


# The role matrix's setups: (fake control with a `qa` desk, acting user) -> path values.
Setup = Callable[[Any, str], dict[str, str]]
_calls = count(1)


def _engine(fake: Any) -> Engine:
    desk: QaDesk = fake.qa
    store = desk.store
    assert isinstance(store, SqlQaStore)
    return store.engine


def matrix_call(fake: Any, user: str) -> dict[str, str]:
    """Call qa-c1 (agent 1001, team red) recorded, with no evaluation yet."""
    engine = _engine(fake)
    with engine.begin() as conn:
        conn.execute(delete(models.QaEvaluation).where(models.QaEvaluation.call_id == "qa-c1"))
        conn.execute(delete(models.Call).where(models.Call.call_id == "qa-c1"))
        conn.execute(delete(models.Recording).where(models.Recording.call_id == "qa-c1"))
    add_call(engine, "qa-c1")
    return {}


def matrix_no_form(fake: Any, user: str) -> dict[str, str]:
    with _engine(fake).begin() as conn:
        conn.execute(delete(models.QaForm).where(models.QaForm.form_id == "matrix"))
    return {"form_id": "call-quality"}


def matrix_evaluation(state: str) -> Setup:
    """An evaluation of a fresh call of agent 1001: a partial draft, a complete draft (both
    graded by the acting user) or a submitted one (graded by sue)."""

    def setup(fake: Any, user: str) -> dict[str, str]:
        desk: QaDesk = fake.qa
        call_id = f"qa-m{next(_calls)}"
        add_call(_engine(fake), call_id)
        grader = "sue" if state == "submitted" else user
        answers = {"a1": 4} if state == "draft" else GOOD
        made = desk.service.start(call_id, "call-quality", grader, T0, answers,
                                  {"overall": "语速偏快"})
        if state == "submitted":
            desk.service.submit(made.evaluation_id, T0)
        return {"evaluation_id": made.evaluation_id}

    return setup


def matrix_knowledge(fake: Any, user: str) -> dict[str, str]:
    return {"form_id": "billing-kb"}
