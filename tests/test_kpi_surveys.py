"""The post-call survey's KPIs, read back from the caller's channel events (kpi.surveys).

Synthetic streams shaped as Asterisk 22 sends them (tests/test_kpi_edges.Scenario): the
engine's `HOTLINE_SURVEY*` channel variables as `ChannelVarset` (`variable`, `value`,
`channel`), the caller's keys as `ChannelDtmfReceived` (`digit`, `duration_ms`, `channel`),
one per digit. One stream per outcome, the rules of which digit counts, the credited agent
after a transfer, bad values; then a mixed set whose report (JSON, CSV, table, through
`hotline kpi report` over a journal) and Prometheus figures are checked against figures
worked out by hand; last, the engine on the simulator: the fold over the ARI events it
received agrees with the engine's own `SurveyFinished`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from ari_app.cli import main as hotline
from ari_app.domain.events import SurveyFinished, SurveyOutcome
from ari_app.domain.variables import SURVEY, SURVEY_QUESTION, SURVEY_RESULT
from kpi.cli import replay_files
from kpi.event_filter import RELEVANT_TYPES, SKIP_KIND, keep_line
from kpi.facts import SurveyEnded, SurveyOffered
from kpi.fold import KpiState, apply, flush, prune, replay
from kpi.metrics import KpiMetrics, exported_metric_names
from kpi.params import make_params
from kpi.report import render_csv, render_table, summarise
from tests.scenario_rig import scenario
from tests.test_kpi_edges import T0_MS, Scenario
from tests.test_kpi_metrics import samples, value
from tests.test_survey_scenarios import config as survey_config
from tests.test_survey_scenarios import keys

SURVEY_KEYS = ("survey_offered", "survey_completed", "survey_avg_score", "csat")


class Surveys(Scenario):
    """`Scenario` plus the survey's trail on the caller's channel."""

    def dtmf(self, ms: int, cid: str, digit: Any, duration_ms: int = 100) -> None:
        self.ev(ms, "ChannelDtmfReceived", channel=self.snap(cid), digit=digit,
                duration_ms=duration_ms)

    def talked(self, ms: int, cid: str, agent: str, queue: str = "support") -> int:
        """The caller arrives, `agent` answers after 2 s, talks 20 s and hangs up first;
        returns when the talk ended."""
        leg = f"agent-{agent}-{cid}"
        self.arrive(ms, cid, queue)
        self.offer(ms + 10, leg, agent, cid, queue)
        self.ring(ms + 15, leg)
        self.answer(ms + 2_015, leg)
        self.states[cid] = "Up"
        self.hangup(ms + 22_015, leg)
        return ms + 22_020

    def survey(self, ms: int, cid: str, agent: str, *steps: str) -> int:
        """`HOTLINE_SURVEY` = agent at `ms`, then one step a second: `q:1/2/12345` (marker),
        `d:4` (a key), `r:completed` (result var), `hangup` (the caller's, or the engine's
        after the result). Returns the time after the last step."""
        self.setvar(ms, cid, SURVEY, agent)
        for step in steps:
            ms += 1_000
            kind, _, arg = step.partition(":")
            if kind == "q":
                self.setvar(ms, cid, SURVEY_QUESTION, arg)
            elif kind == "d":
                self.dtmf(ms, cid, arg)
            elif kind == "r":
                self.setvar(ms, cid, SURVEY_RESULT, arg)
            else:
                assert step == "hangup", step
                self.hangup(ms, cid)
        return ms

    def call(self, ms: int, cid: str, agent: str, *steps: str, queue: str = "support") -> int:
        return self.survey(self.talked(ms, cid, agent, queue), cid, agent, *steps)


def ended(events: list[dict[str, Any]]) -> tuple[KpiState, list[SurveyEnded]]:
    state = replay(events)
    return state, [f for f in state.facts if isinstance(f, SurveyEnded)]


def survey_figures(events: list[dict[str, Any]], kind: str = "queues",
                   name: str = "support") -> dict[str, Any]:
    figures = summarise(replay(events), make_params(3, "cn")).to_dict()[kind][name]
    return {k: figures[k] for k in SURVEY_KEYS}


# ------------------------------------------------------------------ one outcome each


def test_completed_two_questions() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:4", "q:2/2/12", "d:2", "r:completed", "hangup")
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "completed", 3.0, False)]
    offered = [f for f in state.facts if isinstance(f, SurveyOffered)]
    assert offered == [SurveyOffered("support", T0_MS, "1001")]  # at the call's arrival
    assert survey_figures(sc.events) == {
        "survey_offered": 1, "survey_completed": 1, "survey_avg_score": 3.0, "csat": 0.0}
    assert state.surveys == {}


def test_partial_when_the_caller_hangs_up_after_one_answer() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:5", "q:2/2/12", "hangup")
    _, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "partial", 5.0, False)]
    assert survey_figures(sc.events) == {
        "survey_offered": 1, "survey_completed": 0, "survey_avg_score": None, "csat": None}


def test_no_input_from_the_result_var() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "q:1/2/12345", "r:no_input", "hangup")
    _, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "no_input", None, False)]


def test_invalid_from_the_result_var_after_wrong_keys() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:9", "q:1/2/12345", "d:0", "r:invalid", "hangup")
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "invalid", None, False)]
    assert state.counters["survey_wrong_keys"] == 2


def test_declined_when_the_caller_hangs_up_before_answering() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "hangup")
    _, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "declined", None, False)]
    assert survey_figures(sc.events)["survey_offered"] == 1


def test_every_question_answered_is_completed_even_without_the_result_var() -> None:
    # the engine decides at the last key; its variable may miss a channel being hung up
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:5", "q:2/2/12345", "d:4", "hangup")
    _, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "completed", 4.5, True)]


def test_the_result_var_is_the_outcome_whatever_the_digits() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:5", "r:partial", "d:4", "hangup")
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "partial", 5.0, False)]
    assert "survey_digits_ignored" not in state.counters  # the survey was over: no survey


# ------------------------------------------------------------------ which digit counts


def test_keys_during_the_talk_and_before_the_first_marker_never_count() -> None:
    sc = Surveys()
    end_of_talk = sc.talked(0, "c1", "1001")
    sc.dtmf(10_000, "c1", "5")  # during the talk: no survey yet
    sc.dtmf(10_400, "c1", "5")
    sc.setvar(end_of_talk + 100, "c1", SURVEY, "1001")
    sc.dtmf(end_of_talk + 300, "c1", "5")  # offered, no question yet
    sc.setvar(end_of_talk + 500, "c1", SURVEY_QUESTION, "1/1/12345")
    sc.dtmf(end_of_talk + 900, "c1", "2")
    sc.setvar(end_of_talk + 1_000, "c1", SURVEY_RESULT, "completed")
    sc.hangup(end_of_talk + 2_000, "c1")
    sc.events.sort(key=lambda e: e["timestamp"])
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "completed", 2.0, False)]
    assert state.counters["survey_digits_ignored"] == 1  # only the one inside the survey


def test_after_an_answer_keys_wait_for_the_next_marker() -> None:
    sc = Surveys()
    # "4" then "1" quickly: the 1 came before question 2 was asked, so it is no answer;
    # question 2 gets the 2 keyed after its marker
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:4", "d:1", "q:2/2/12", "d:2", "r:completed",
            "hangup")
    state, done = ended(sc.events)
    assert done[0].score == 3.0
    assert state.counters["survey_digits_ignored"] == 1


def test_a_retry_asks_again_then_the_answer_counts() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:9", "q:1/2/12345", "d:4", "q:2/2/12", "d:7",
            "q:2/2/12", "d:1", "r:completed", "hangup")
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "completed", 2.5, False)]
    assert state.counters["survey_wrong_keys"] == 2  # 9 for question 1, 7 for question 2


def test_two_different_keys_in_the_same_millisecond_are_not_duplicates() -> None:
    sc = Surveys()
    start = sc.call(0, "c1", "1001", "q:1/2/12")
    sc.dtmf(start + 500, "c1", "9")  # wrong key…
    sc.dtmf(start + 500, "c1", "2")  # …and the answer, same timestamp
    sc.hangup(start + 2_000, "c1")
    state, done = ended(sc.events)
    assert done[0].outcome == "partial"
    assert done[0].score == 2.0
    assert "duplicates" not in state.counters


def test_keys_on_other_channels_and_after_the_survey_are_left_alone() -> None:
    sc = Surveys()
    sc.dtmf(1_000, "somebody-else", "5")  # a phone's feature code, an unknown channel
    sc.call(0, "c1", "1001", "q:1/1/12345", "d:3", "r:completed", "hangup")
    sc.events.sort(key=lambda e: e["timestamp"])
    state, done = ended(sc.events)
    assert [d.score for d in done] == [3.0]
    assert "somebody-else" not in state.channels  # keys do not make channels
    assert not {k for k in state.counters if k.startswith("survey_")}


# ------------------------------------------------------------------ credit and queue


def test_after_a_blind_transfer_the_survey_is_credited_to_the_second_agent() -> None:
    sc = Surveys()
    first, second = "agent-1001-c1", "agent-1002-c1"
    sc.arrive(0, "c1")
    sc.offer(10, first, "1001", "c1")
    sc.ring(15, first)
    sc.answer(3_015, first)
    sc.states["c1"] = "Up"
    sc.ev(13_000, "BridgeBlindTransfer", channel=sc.snap(first), result="Success",
          is_external=False, exten="1002", context="hotline-agents")
    sc.hangup(13_010, first)
    sc.offer(13_020, second, "1002", "c1")
    sc.ring(13_025, second)
    sc.answer(15_025, second)
    sc.hangup(40_000, second)  # 1002 hangs up first: the survey is 1002's
    sc.survey(40_100, "c1", "1002", "q:1/1/12345", "d:5", "r:completed", "hangup")
    report = summarise(replay(sc.events), make_params(3, "cn")).to_dict()
    assert report["queues"]["support"]["transferred"] == 1
    assert {a: report["agents"][a]["survey_offered"] for a in ("1001", "1002")} == {
        "1001": 0, "1002": 1}
    assert report["agents"]["1002"]["csat"] == 1.0
    assert report["agents"]["1001"]["csat"] is None
    assert report["agents"]["1001"]["answered"] == 1  # its answer still counts


def test_queue_is_the_callers_and_the_period_its_arrival() -> None:
    sc = Surveys()
    # arrives 10:59:50, the survey ends after 11:00: it counts in the 10:00 hour
    sc.call(3_590_000, "c1", "1001", "q:1/1/12345", "d:5", "r:completed", "hangup",
            queue="sales")
    by_hour = summarise(replay(sc.events), make_params(3, "cn"), by="hour").to_dict()
    assert list(by_hour["queues"]) == ["2026-11-22T10:00Z"]
    assert by_hour["queues"]["2026-11-22T10:00Z"]["sales"]["survey_completed"] == 1
    assert by_hour["agents"]["2026-11-22T10:00Z"]["1001"]["csat"] == 1.0


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("marker", [
    "x/2/12", "3/2/12", "0/2/12", "1/2/", "1/2/1a", "1-2-12", "", "²/2/12", "1/²/12",
    "1/99999999999/1", "1/2/12/3",
])
def test_a_malformed_marker_is_counted_and_its_digits_do_not_count(marker: str) -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/2/12345", "d:4", f"q:{marker}", "d:2", "hangup")
    state, done = ended(sc.events)
    assert state.counters["survey_bad_marker"] == 1
    assert state.counters["survey_digits_ignored"] == 1  # the 2 after the bad marker
    assert done == [SurveyEnded("support", T0_MS, "1001", "partial", 4.0, False)]


def test_bad_values_are_counted_never_fatal() -> None:
    sc = Surveys()
    start = sc.talked(0, "c1", "1001")
    sc.setvar(start, "c1", SURVEY_QUESTION, "1/1/12345")  # asked before any offer
    sc.setvar(start + 10, "c1", SURVEY_RESULT, "completed")  # a result of no survey
    sc.setvar(start + 20, "c1", SURVEY, "")  # no agent
    ms = sc.survey(start + 100, "c1", "1001", "q:1/2/12345")
    sc.setvar(ms + 10, "c1", SURVEY, "1002")  # offered again: still one survey, 1001's
    for n, digit in enumerate(("", "55", "x", 5, None, "²")):
        sc.dtmf(ms + 100 + n, "c1", digit)
    ev = sc.events[-1]
    sc.events.append({**ev, "timestamp": ev["timestamp"], "digit": "1", "channel": "junk"})
    sc.setvar(ms + 200, "c1", SURVEY_QUESTION, 7)  # not a string
    sc.setvar(ms + 300, "c1", SURVEY_QUESTION, "1/2/12345")
    sc.dtmf(ms + 400, "c1", "3")
    sc.setvar(ms + 500, "c1", SURVEY_RESULT, "great")  # no such outcome: from the hang-up
    sc.setvar(ms + 600, "c1", SURVEY_RESULT, "not_offered")
    sc.hangup(ms + 700, "c1")
    state, done = ended(sc.events)
    assert done == [SurveyEnded("support", T0_MS, "1001", "partial", 3.0, False)]
    c = state.counters
    assert (c["survey_question_without_offer"], c["survey_result_without_survey"],
            c["survey_bad_agent"], c["survey_offered_again"], c["survey_bad_digit"],
            c["survey_bad_marker"], c["survey_bad_result"]) == (1, 1, 1, 1, 6, 1, 2)
    assert survey_figures(sc.events, "agents", "1001")["survey_offered"] == 1
    assert "1002" not in summarise(state, make_params(3, "cn")).to_dict()["agents"]


def test_a_completed_result_without_answers_is_completed_without_a_score() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/1/12345", "r:completed", "hangup")
    sc.call(100_000, "c2", "1001", "q:1/1/12345", "d:5", "r:completed", "hangup")
    state, done = ended(sc.events)
    assert [(d.outcome, d.score) for d in done] == [("completed", None), ("completed", 5.0)]
    assert state.counters["survey_completed_without_answers"] == 1
    # csat over both completed; the mean over the one with a score
    assert survey_figures(sc.events) == {
        "survey_offered": 2, "survey_completed": 2, "survey_avg_score": 5.0, "csat": 0.5}


def test_a_survey_whose_caller_never_ends_is_pruned_counted() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/1/12345")
    state = replay(sc.events)
    assert list(state.surveys) == ["c1"]
    state.max_ms = T0_MS + 13 * 3600 * 1000
    state.calls.clear()  # the call too is long gone from the fold's view
    prune(state)
    assert state.surveys == {}
    assert state.counters["pruned_surveys"] == 1


# ------------------------------------------------------------------ the journal keeps them


def test_the_events_the_survey_needs_are_kept_unparsed_filters_and_all() -> None:
    sc = Surveys()
    sc.call(0, "c1", "1001", "q:1/1/12345", "d:5", "r:completed", "hangup")
    assert "ChannelDtmfReceived" in RELEVANT_TYPES
    assert SKIP_KIND.get(b"ChannelDtmfReceived") is None  # not skipped unparsed
    for event in sc.events:
        if event["type"] == "ChannelDtmfReceived" or str(event.get("variable", "")).startswith(
                "HOTLINE_SURVEY"):
            assert keep_line(orjson.dumps(event)), event
            assert keep_line(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)), event


# ------------------------------------------------------------------ a mixed set by hand


def mixed() -> Surveys:
    """Seven surveys, two queues, three agents (scores are the means of the answers):

    | call | queue   | agent | outcome                      | score | satisfied |
    |------|---------|-------|------------------------------|-------|-----------|
    | c1   | support | 1001  | completed (5, 4)             | 4.5   | yes       |
    | c2   | support | 1001  | completed (3, 2)             | 2.5   | no        |
    | c3   | support | 1002  | partial (5, hang-up)         | 5.0   | —         |
    | c4   | sales   | 1002  | completed (4, 4)             | 4.0   | yes       |
    | c5   | sales   | 1003  | declined (hang-up)           | —     | —         |
    | c6   | sales   | 1003  | no_input                     | —     | —         |
    | c7   | support | 1003  | completed (1, 2), no result  | 1.5   | no        |
    """
    sc = Surveys()
    q1, q2 = "q:1/2/12345", "q:2/2/12345"
    sc.call(0, "c1", "1001", q1, "d:5", q2, "d:4", "r:completed", "hangup")
    sc.call(60_000, "c2", "1001", q1, "d:3", q2, "d:2", "r:completed", "hangup")
    sc.call(120_000, "c3", "1002", q1, "d:5", q2, "hangup")
    sc.call(180_000, "c4", "1002", q1, "d:4", q2, "d:4", "r:completed", "hangup", queue="sales")
    sc.call(240_000, "c5", "1003", q1, "hangup", queue="sales")
    sc.call(300_000, "c6", "1003", q1, q1, "r:no_input", "hangup", queue="sales")
    sc.call(360_000, "c7", "1003", q1, "d:1", q2, "d:2", "hangup")
    return sc


# worked out from the table above
BY_HAND = {
    ("queues", "support"): {"survey_offered": 4, "survey_completed": 3,
                            "survey_avg_score": (4.5 + 2.5 + 1.5) / 3, "csat": 1 / 3},
    ("queues", "sales"): {"survey_offered": 3, "survey_completed": 1,
                          "survey_avg_score": 4.0, "csat": 1.0},
    ("agents", "1001"): {"survey_offered": 2, "survey_completed": 2,
                         "survey_avg_score": 3.5, "csat": 0.5},
    ("agents", "1002"): {"survey_offered": 2, "survey_completed": 1,
                         "survey_avg_score": 4.0, "csat": 1.0},
    ("agents", "1003"): {"survey_offered": 3, "survey_completed": 1,
                         "survey_avg_score": 1.5, "csat": 0.0},
}
SATISFIED = {("queues", "support"): 1, ("queues", "sales"): 1, ("agents", "1001"): 1,
             ("agents", "1002"): 1, ("agents", "1003"): 0}
SCORE_SUM = {("queues", "support"): 8.5, ("queues", "sales"): 4.0, ("agents", "1001"): 7.0,
             ("agents", "1002"): 4.0, ("agents", "1003"): 1.5}


def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in mixed().events))
    return path


def report(capsys: pytest.CaptureFixture[str], path: Path, fmt: str) -> str:
    assert hotline(["kpi", "report", "--journal", str(path), "--format", fmt]) == 0
    out: str = capsys.readouterr().out
    return out


def test_report_json_against_the_figures_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(report(capsys, journal(tmp_path), "json"))
    for (kind, name), figures in BY_HAND.items():
        got = {k: data[kind][name][k] for k in SURVEY_KEYS}
        assert got == pytest.approx(figures), (kind, name)
    assert data["queues"]["support"]["offered"] == 4  # the calls themselves still count


def test_report_csv_against_the_figures_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = list(csv.DictReader(io.StringIO(report(capsys, journal(tmp_path), "csv"))))
    header = next(csv.reader(io.StringIO(report(capsys, journal(tmp_path), "csv"))))
    assert [h for h in header if h in SURVEY_KEYS] == list(SURVEY_KEYS)  # once each
    got = {(r["kind"] + "s", r["name"]): {k: r[k] for k in SURVEY_KEYS} for r in rows}
    assert got[("queues", "support")] == {
        "survey_offered": "4", "survey_completed": "3", "survey_avg_score": "2.8333",
        "csat": "0.3333"}
    assert got[("queues", "sales")] == {
        "survey_offered": "3", "survey_completed": "1", "survey_avg_score": "4", "csat": "1"}
    assert got[("agents", "1001")] == {
        "survey_offered": "2", "survey_completed": "2", "survey_avg_score": "3.5",
        "csat": "0.5"}
    assert got[("agents", "1003")]["csat"] == "0"


def test_report_table_against_the_figures_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = report(capsys, journal(tmp_path), "table")
    lines = out.splitlines()
    queues_header = lines[lines.index("Queues") + 1].split()
    agents_header = lines[lines.index("Agents") + 1].split()
    assert queues_header[-4:] == agents_header[-4:] == list(SURVEY_KEYS)
    support = next(ln.split() for ln in lines if ln.split()[:2] == ["total", "support"])
    assert support[-4:] == ["4", "3", "2.8333", "0.3333"]
    agent = next(ln.split() for ln in lines if ln.split()[:2] == ["total", "1002"])
    assert agent[-4:] == ["2", "1", "4", "1"]


def test_the_pipelined_replay_gives_the_same_survey_figures(tmp_path: Path) -> None:
    path = journal(tmp_path)
    params = make_params(3, "cn")
    one = summarise(replay_files([path], pipeline=False), params).to_dict()
    two = summarise(replay_files([path], pipeline=True), params).to_dict()
    assert one == two
    assert one == summarise(replay(mixed().events), params).to_dict()


def test_prometheus_against_the_figures_by_hand() -> None:
    registry = CollectorRegistry()
    live = KpiMetrics(registry, make_params(3, "cn"), queues=["support", "sales", "billing"],
                      agents=["1001", "1002", "1003", "1004"])
    before = samples(registry)
    assert value(before, "hotline_survey_offered_total", queue="billing") == 0
    assert ("hotline_survey_offered_total", (("queue", "billing"),)) in before
    assert ("hotline_agent_survey_completed_total", (("agent", "1004"),)) in before
    assert not [k for k in before if k[0].endswith(("_csat", "_avg_score"))]  # 0/0
    for event in mixed().events:  # as the engine does, one at a time
        live.feed(event)
    live.observe(flush(live.state))
    s = samples(registry)
    for (kind, name), figures in BY_HAND.items():
        prefix, label = ("hotline_survey", "queue") if kind == "queues" else (
            "hotline_agent_survey", "agent")
        at = {label: name}
        assert value(s, f"{prefix}_offered_total", **at) == figures["survey_offered"]
        assert value(s, f"{prefix}_completed_total", **at) == figures["survey_completed"]
        assert value(s, f"{prefix}_satisfied_total", **at) == SATISFIED[(kind, name)]
        assert value(s, f"{prefix}_score_total", **at) == pytest.approx(SCORE_SUM[(kind, name)])
        assert value(s, f"{prefix}_csat", **at) == pytest.approx(figures["csat"])
        assert value(s, f"{prefix}_avg_score", **at) == pytest.approx(
            figures["survey_avg_score"])
        # the dashboard's PromQL: score / completed = the report's mean
        assert value(s, f"{prefix}_score_total", **at) / value(
            s, f"{prefix}_completed_total", **at) == pytest.approx(figures["survey_avg_score"])
    assert ("hotline_survey_csat", (("queue", "billing"),)) not in s
    assert {name for (name, _) in s} <= exported_metric_names()


def test_live_apply_concludes_each_survey_once() -> None:
    state = KpiState(keep_facts=False)
    facts = [f for e in mixed().events for f in apply(state, e)] + flush(state)
    assert len([f for f in facts if isinstance(f, SurveyOffered)]) == 7
    assert sorted(f.outcome for f in facts if isinstance(f, SurveyEnded)) == [
        "completed", "completed", "completed", "completed", "declined", "no_input", "partial"]


def test_render_functions_agree_with_the_cli(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = journal(tmp_path)
    rep = summarise(replay_files([path]), make_params(3, "cn"))
    assert render_csv(rep) == report(capsys, path, "csv")
    assert render_table(rep) == report(capsys, path, "table")


# ------------------------------------------------------------------ the engine agrees


@pytest.mark.looptime
async def test_the_fold_over_the_engines_events_agrees_with_its_surveys(
    tmp_path: Path,
) -> None:
    async with scenario(survey_config(timeout=5.0), tmp_path) as s:
        s.login("1001", "1002", "1003")  # one call each, at once
        talk = 30.0  # keys count from the caller's answer; the survey starts `talk` later
        calls = [
            # completed: a key in the talk (never counts), then 4 and 2 → 3.0
            s.sim.place_call("13900001", "12345", talk=talk, hangup_by="agent",
                             dtmf=keys((10, "5"), (talk + 2, "4"), (talk + 5, "2"))),
            # a wrong key, then 5 and 2 (question 2 takes 1 or 2) → completed 3.5
            s.sim.place_call("13900002", "12345", talk=talk, hangup_by="agent",
                             dtmf=keys((talk + 2, "9"), (talk + 4, "5"), (talk + 6, "2"))),
            # 5, then silence on question 2 → partial
            s.sim.place_call("13900003", "12345", talk=talk, hangup_by="agent",
                             dtmf=keys((talk + 2, "5"))),
        ]
        finished: dict[str, SurveyFinished] = {}
        for cid in calls:
            finished[cid] = await s.sink.wait_for(
                lambda e, c=cid: isinstance(e, SurveyFinished) and e.call_id == c)
            await s.sink.ended(cid)
        await s.engine.quiesce()
        events = [dict(e) for e in s.events]
    assert [finished[c].outcome for c in calls] == [
        SurveyOutcome.COMPLETED, SurveyOutcome.COMPLETED, SurveyOutcome.PARTIAL]
    assert any(e["type"] == "ChannelDtmfReceived" for e in events)  # subscribed, received
    state = replay(events)
    got = sorted((f.outcome, f.score, f.agent, f.queue) for f in state.facts
                 if isinstance(f, SurveyEnded))
    want = sorted((str(f.outcome), f.score, f.agent_id, f.queue) for f in finished.values())
    assert got == want
    assert len({f.agent_id for f in finished.values()}) == 3
    figures = summarise(state, make_params(3, "cn")).to_dict()["queues"]["support"]
    assert {k: figures[k] for k in SURVEY_KEYS} == {  # (3.0 + 3.5) / 2, neither reaches 4
        "survey_offered": 3, "survey_completed": 2, "survey_avg_score": 3.25, "csat": 0.0}
