"""Each vocabulary is defined once; where a published format spells it differently, one
mapping covers every domain value."""

from __future__ import annotations

from ari_app.api.control import API_AGENT_STATES
from ari_app.domain import variables
from ari_app.domain.events import AgentState, OfferResult, Outcome
from ari_app.domain.privacy import mask
from ari_app.records.types import OFFER_RESULTS, OUTCOMES
from ari_app.shell.journal_sink import JOURNAL_AGENT_STATES
from kpi.fold import AGENT_STATES, HOTLINE_VARS


def test_records_use_the_domain_outcomes_and_offer_results() -> None:
    assert tuple(o.value for o in Outcome) == OUTCOMES
    assert tuple(r.value for r in OfferResult) == OFFER_RESULTS


def test_api_spells_every_domain_agent_state() -> None:
    assert set(API_AGENT_STATES) == set(AgentState)
    assert len(set(API_AGENT_STATES.values())) == len(AgentState)


def test_journal_agent_states_are_what_the_kpi_fold_reads() -> None:
    assert set(JOURNAL_AGENT_STATES.values()) | {"login"} == AGENT_STATES


def test_one_masking_rule() -> None:
    assert mask("13800001234") == "*******1234"
    assert mask("12345") == "*2345"
    assert mask("1234") == "****"  # 4 digits or fewer: nothing shown
    assert mask("") == ""


def test_kpi_reads_the_variables_the_engine_sets() -> None:
    assert HOTLINE_VARS == variables.CHANNEL_VARS
    assert all(v.startswith(variables.PREFIX) for v in HOTLINE_VARS)
