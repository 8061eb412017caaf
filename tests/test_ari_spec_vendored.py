"""The ARI spec ships inside the package (no file outside the repository is needed), is
Asterisk's own byte for byte, and `$HOTLINE_ARI_SPEC` still overrides it."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from ari_app.ari import api_docs
from ari_app.ari.spec import RESOURCES, default_spec_dir, load_spec
from tests.conftest import ROOT


def test_default_spec_is_the_packaged_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_ARI_SPEC", raising=False)
    spec_dir = default_spec_dir()
    assert spec_dir == Path(str(resources.files("ari_app.ari.api_docs")))
    assert spec_dir.resolve().is_relative_to(ROOT / "ari_app")
    assert {p.stem for p in spec_dir.glob("*.json")} == set(RESOURCES)
    assert load_spec(spec_dir).event_types()


def test_version_note_matches_the_files() -> None:
    assert api_docs.ASTERISK_VERSION.split(".")[0] == "22"
    for resource in RESOURCES:
        doc = json.loads(resources.files(api_docs).joinpath(f"{resource}.json").read_text())
        assert doc["apiVersion"] == api_docs.ARI_API_VERSION


def test_env_var_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_ARI_SPEC", str(tmp_path))
    assert default_spec_dir() == tmp_path


def test_vendor_script_regenerates_the_same_files(tmp_path: Path) -> None:
    src = tmp_path / "asterisk" / "rest-api" / "api-docs"
    src.mkdir(parents=True)
    for resource in RESOURCES:
        (src / f"{resource}.json").write_bytes(
            resources.files(api_docs).joinpath(f"{resource}.json").read_bytes())
    (tmp_path / "asterisk" / ".version").write_text(api_docs.ASTERISK_VERSION + "\n")
    script = ROOT / "scripts" / "vendor_ari_spec.py"
    done = subprocess.run([sys.executable, str(script), "--check", str(tmp_path / "asterisk")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (src / "sounds.json").write_bytes((src / "sounds.json").read_bytes() + b"\n")
    done = subprocess.run([sys.executable, str(script), "--check", str(src)],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (1, "differs: sounds.json\n")
