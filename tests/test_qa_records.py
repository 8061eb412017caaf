"""QA records on SQLite and PostgreSQL: migration 0004 up and down, the store's
immutability (submitted evaluations, forms in use), one evaluation per grader, form and
call, the sample drawn from the month's recorded calls, calibration from stored
evaluations, and the `hotline qa` / `hotline report qa` commands."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from ari_app.cli import main
from ari_app.qa.evaluation import EvaluationLocked
from ari_app.qa.form import FormError
from ari_app.qa.kpis import COLUMNS as KPI_COLUMNS
from ari_app.qa.service import FormLocked, Qa, QaConflict, QaNotFound
from ari_app.records import schema
from ari_app.records.qa import SqlQaStore
from tests.qa_rig import GOOD, T0, add_call, knowledge_form, quality_form
from tests.test_records_db import pg_database

QA_TABLES = {"qa_forms", "qa_evaluations", "qa_knowledge_results"}
TEAMS = {"1001": "red", "1002": "red", "2001": "blue"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = schema.make_engine(f"sqlite:///{tmp_path}/hotline.sqlite3")
        yield eng
        eng.dispose()
    else:
        for url in pg_database():
            eng = schema.make_engine(url)
            yield eng
            eng.dispose()


@pytest.fixture
def qa(engine: Engine) -> Qa:
    schema.upgrade(engine)
    store = SqlQaStore(engine)
    store.add_form(quality_form(), "adam", T0)
    store.add_form(knowledge_form(), "adam", T0)
    return Qa(store, "Asia/Shanghai", TEAMS)


def test_migration_0004_up_and_down(engine: Engine) -> None:
    schema.upgrade(engine, "0003")
    assert QA_TABLES.isdisjoint(inspect(engine).get_table_names())
    schema.upgrade(engine, "0004")
    assert set(inspect(engine).get_table_names()) >= QA_TABLES
    cfg = schema.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert QA_TABLES.isdisjoint(inspect(engine).get_table_names())
    assert schema.current_revision(engine) == "0003"
    schema.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= QA_TABLES


def test_an_evaluation_is_linked_to_the_call_and_its_recording(qa: Qa) -> None:
    add_call(qa.store.engine, "c1", "1001", "billing")  # type: ignore[attr-defined]
    made = qa.start("c1", "call-quality", "tina", T0, {"a1": 4}, {"overall": "语速偏快"})
    stored = qa.store.evaluation(made.evaluation_id)
    assert (stored.agent_id, stored.team, stored.queue, stored.recording, stored.state) == (
        "1001", "red", "billing", "call-c1", "draft")
    assert stored.answers == {"a1": 4}
    assert stored.comments == {"overall": "语速偏快"}
    with pytest.raises(QaNotFound):
        qa.start("nope", "call-quality", "tina", T0, {}, {})
    add_call(qa.store.engine, "c2", recorded=False)  # type: ignore[attr-defined]
    with pytest.raises(FormError, match="no recording"):
        qa.start("c2", "call-quality", "tina", T0, {}, {})
    with pytest.raises(FormError, match="knowledge check"):
        qa.start("c1", "billing-kb", "tina", T0, {}, {})


def test_one_evaluation_per_grader_form_and_call(qa: Qa) -> None:
    add_call(qa.store.engine, "c1")  # type: ignore[attr-defined]
    qa.start("c1", "call-quality", "tina", T0, {}, {})
    with pytest.raises(QaConflict, match="already has"):
        qa.start("c1", "call-quality", "tina", T0, {}, {})
    qa.start("c1", "call-quality", "sue", T0, {}, {})  # another grader: fine


def test_a_submitted_evaluation_is_immutable_in_the_store(qa: Qa) -> None:
    add_call(qa.store.engine, "c1")  # type: ignore[attr-defined]
    made = qa.start("c1", "call-quality", "tina", T0, GOOD, {})
    done = qa.submit(made.evaluation_id, T0 + timedelta(hours=1))
    assert done.score == pytest.approx(93.0)
    with pytest.raises(EvaluationLocked):
        qa.edit(made.evaluation_id, {"a1": 0}, {})
    # even a writer that skips the pure check is refused by the store itself
    forged = replace(done, answers={**GOOD, "a1": 0}, score=0.0, version=done.version + 1)
    with pytest.raises(EvaluationLocked):
        qa.store.update_evaluation(forged)
    # and a stale draft write loses
    other = qa.start("c1", "call-quality", "sue", T0, {}, {})
    with pytest.raises(QaConflict, match="meanwhile"):
        qa.store.update_evaluation(replace(other, version=other.version + 5))
    assert qa.store.evaluation(made.evaluation_id).score == pytest.approx(93.0)


def test_a_form_in_use_is_replaced_by_a_new_version_never_edited(qa: Qa) -> None:
    renamed = replace(quality_form(), name="通话质检 v1b")
    assert qa.revise_form(renamed, "adam", T0).version == 1  # unused: edited in place
    assert qa.store.form("call-quality").name == "通话质检 v1b"
    add_call(qa.store.engine, "c1")  # type: ignore[attr-defined]
    draft = qa.start("c1", "call-quality", "tina", T0, GOOD, {})
    with pytest.raises(FormLocked):
        qa.store.edit_form(replace(quality_form(), name="changed behind its back"))
    stricter = replace(quality_form(), pass_mark=95.0)
    v2 = qa.revise_form(stricter, "adam", T0)
    assert v2.version == 2
    assert qa.store.form("call-quality", 1).pass_mark == 80.0  # v1 unchanged
    assert [f.version for f in qa.store.forms("evaluation")] == [2]
    # the draft stays on the version it was started on
    assert qa.submit(draft.evaluation_id, T0).passed is True  # 93 >= 80 (v1's mark)


def test_sample_from_the_months_recorded_calls_is_reproducible(qa: Qa) -> None:
    engine = qa.store.engine  # type: ignore[attr-defined]
    # 2026-11-01 00:30 Shanghai is still October in UTC: it belongs to November
    first = T0.replace(day=1, hour=0) - timedelta(minutes=-30, hours=8)
    for i in range(6):
        add_call(engine, f"s{i}", "1001", "support", first + timedelta(hours=i))
    for i in range(3):
        add_call(engine, f"b{i}", "1001", "billing", first + timedelta(hours=i))
    add_call(engine, "u0", "1001", "support", first, recorded=False)
    add_call(engine, "oct", "1001", "support", first - timedelta(hours=1))
    add_call(engine, "lost", None, "support", first)  # nobody answered
    chosen = qa.sample("2026-11", 3, "demo")
    assert [c.queue for c in chosen].count("support") == 2
    assert [c.queue for c in chosen].count("billing") == 1
    assert {c.call_id for c in chosen}.isdisjoint({"u0", "oct", "lost"})
    assert qa.sample("2026-11", 3, "demo") == chosen
    assert [c.call_id for c in qa.sample("2026-10", 3, "demo")] == ["oct"]


def test_calibration_from_stored_evaluations(qa: Qa) -> None:
    add_call(qa.store.engine, "c1")  # type: ignore[attr-defined]
    for grader, answers in (("tina", GOOD), ("sue", {**GOOD, "a1": 2, "a2": 0}),
                            ("tom", {**GOOD, "a1": 3, "a2": None})):
        made = qa.start("c1", "call-quality", grader, T0, answers, {})
        qa.submit(made.evaluation_id, T0)
    qa.start("c1", "call-quality", "zoe", T0, {"a1": 5}, {})  # a draft does not count
    (report,) = qa.calibration("c1")
    assert report.graders == ("sue", "tina", "tom")
    assert (report.total.min, report.total.max) == pytest.approx((79.0, 93.0))
    assert [c for c, _ in qa.calibrated_calls("call-quality")] == ["c1"]


def test_knowledge_results_per_agent(qa: Qa) -> None:
    qa.take("billing-kb", "1001", {"q1": 1, "q2": 1, "q3": 2}, T0)  # 75
    qa.take("billing-kb", "1001", {"q1": 1, "q2": 0, "q3": 2}, T0)  # 100
    qa.take("billing-kb", "2001", {"q1": 0, "q2": 1, "q3": 0}, T0)  # 0
    mine = qa.store.knowledge_results(agent_id="1001")
    assert sorted(r.score for r in mine) == [75.0, 100.0]
    assert [r.agent_id for r in qa.store.knowledge_results(team="blue")] == ["2001"]
    with pytest.raises(FormLocked):
        qa.store.edit_form(knowledge_form())  # it has results now


def test_the_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/cli.sqlite3"
    engine = schema.make_engine(url)
    schema.upgrade(engine)
    store = SqlQaStore(engine)
    store.add_form(quality_form(), "adam", T0)
    qa = Qa(store, "Asia/Shanghai", TEAMS)
    for i in range(4):
        add_call(engine, f"c{i}", "1001", "support", T0 + timedelta(minutes=i))
    for grader, answers in (("tina", GOOD), ("sue", {**GOOD, "c1": 0})):
        qa.submit(qa.start("c0", "call-quality", grader, T0, answers, {}).evaluation_id, T0)
    engine.dispose()

    args = ["qa", "sample", "--month", "2026-11", "--per-agent", "2", "--url", url]
    assert main([*args, "--format", "json"]) == 0
    first = orjson.loads(capsys.readouterr().out)
    assert len(first) == 2
    assert {r["agent_id"] for r in first} == {"1001"}
    assert main([*args, "--format", "json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == first
    assert main([*args, "--seed", "other", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "agent_id,queue,call_id"

    assert main(["qa", "calibration", "--call", "c0", "--url", url, "--format", "csv"]) == 0
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (rows["c1"]["min"], rows["c1"]["max"]) == ("0.0", "1.0")
    assert (rows["total"]["min"], rows["total"]["max"]) == ("0.0", "93.0")
    assert main(["qa", "calibration", "--url", url]) == 2

    report = ["report", "qa", "--from", "2026-11-01", "--to", "2026-11-30", "--url", url]
    assert main([*report, "--format", "json"]) == 0
    lines = {(x["dimension"], x["key"]): x for x in orjson.loads(capsys.readouterr().out)}
    agent = lines[("agent", "1001")]
    # 93 and 0 (auto-fail): average 46.5, one of two passed, accuracy item passed in both
    assert (agent["evaluations"], agent["average_score"], agent["pass_rate"]) == (2, 46.5, 0.5)
    assert agent["accuracy_rate"] == 1.0
    assert main([*report, "--format", "table"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:3] == [
        "dimension", "key", "month"]
    december = ["report", "qa", "--from", "2026-12-01", "--to", "2026-12-31", "--url", url]
    assert main(december) == 0
    assert capsys.readouterr().out.split() == list(KPI_COLUMNS)  # no evaluations: a header
    backwards = ["report", "qa", "--from", "2026-11-30", "--to", "2026-11-01", "--url", url]
    assert main(backwards) == 2
