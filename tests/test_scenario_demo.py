"""`hotline demo --duration` stops by itself and has handled calls end to end."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ari_app.shell.demo import _demo


@pytest.mark.looptime
async def test_demo_runs_for_its_duration_and_handles_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = argparse.Namespace(
        duration=600.0, speed=1.0, every=20.0, seed=3, data_dir=tmp_path, no_records=False
    )
    assert await _demo(args) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last.startswith("demo over after 60")
    assert "'answered': " in last
    assert "SL " in last
    assert list((tmp_path / "recordings").glob("call-*.wav"))
    assert (tmp_path / "hotline.sqlite3").exists()
