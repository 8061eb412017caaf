"""Shared test fixtures: where Asterisk's spec and real traces live.

All of it is in the repository: the recorded traces and Asterisk's indications.conf sample
are test data (tests/data/, see its README.md); the ARI spec is the one the package ships
(ari_app/ari/api_docs/, `$HOTLINE_ARI_SPEC` overrides it as it does for the code).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.ari.spec import default_spec_dir

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TRACES = DATA / "ari" / "traces"
API_DOCS = default_spec_dir()
INDICATIONS = DATA / "asterisk" / "indications.conf.sample"


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    assert TRACES.is_dir(), f"ARI traces not found at {TRACES}"
    return TRACES


@pytest.fixture(scope="session")
def api_docs_dir() -> Path:
    assert API_DOCS.is_dir(), f"ARI spec not found at {API_DOCS}"
    return API_DOCS
