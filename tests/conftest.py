"""Shared test fixtures: where Asterisk's spec and real traces live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HOTLINE_SHARED", ROOT.parent / "shared"))
TRACES = SHARED / "ari" / "traces"
API_DOCS = SHARED / "ari" / "api-docs"
INDICATIONS = SHARED / "asterisk" / "indications.conf.sample"


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    assert TRACES.is_dir(), f"ARI traces not found at {TRACES} (set HOTLINE_SHARED)"
    return TRACES


@pytest.fixture(scope="session")
def api_docs_dir() -> Path:
    assert API_DOCS.is_dir(), f"ARI spec not found at {API_DOCS} (set HOTLINE_SHARED)"
    return API_DOCS
