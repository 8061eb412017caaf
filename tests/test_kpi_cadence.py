"""Ring cadences from Asterisk's indications.conf format, and report parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpi.cadence import (
    CadenceError,
    load_table,
    parse_indications,
    ring_cadence,
    ring_period_seconds,
)
from kpi.params import make_params, ring_number
from tests.conftest import INDICATIONS, ROOT


def test_shipped_table_is_the_sample_parsed() -> None:
    parsed = parse_indications(INDICATIONS.read_text())
    shipped = json.loads((ROOT / "kpi" / "ring_cadences.json").read_text())
    assert {k: list(v) for k, v in parsed.items()} == shipped
    assert load_table() == parsed


def test_china_is_one_second_on_four_off() -> None:
    assert ring_cadence("cn") == (1000, 4000)
    assert ring_cadence("CN") == (1000, 4000)
    assert ring_period_seconds("cn") == 5.0
    assert ring_period_seconds("uk") == 3.0  # 400,200,400,2000
    assert ring_period_seconds("us") == 6.0


def test_site_file_overrides_and_sections_parse(tmp_path: Path) -> None:
    conf = tmp_path / "indications.conf"
    conf.write_text(
        "[general]\ncountry=cn\nringcadence=1,1\n\n"
        "[cn]\ndescription = China ; comment\nringcadence = 1500, 3500 ; site tweak\n"
        "[xx]\ndial = 425\n"
    )
    assert ring_cadence("cn", conf) == (1500, 3500)
    assert ring_period_seconds("cn", conf) == 5.0
    with pytest.raises(CadenceError, match="unknown country 'xx'"):
        ring_cadence("xx", conf)  # a section without ringcadence


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="unknown country 'zz'"):
        ring_cadence("zz")
    bad = tmp_path / "bad.conf"
    bad.write_text("[cn]\nringcadence = 1000,four\n")
    with pytest.raises(CadenceError, match="line 2"):
        ring_cadence("cn", bad)
    with pytest.raises(CadenceError, match="cannot read"):
        ring_cadence("cn", tmp_path / "missing.conf")


def test_params_default_threshold_and_ring_numbers() -> None:
    p = make_params(rings=3, country="cn")
    assert p.sl_ms == 15_000
    assert p.ring_limit_ms == 15_000
    assert [ring_number(t, p) for t in (0, 4_999, 5_000, 7_006, 10_000)] == [1, 1, 2, 2, 3]
    assert make_params(rings=2, country="cn", sl_seconds=20).sl_ms == 20_000
    with pytest.raises(ValueError, match="rings"):
        make_params(rings=0)
