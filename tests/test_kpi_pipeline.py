"""The pipelined replay (reader process + fold here) gives exactly the single-process result."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from kpi.cli import replay_files
from kpi.fold import SKIP_KIND
from kpi.journal import JournalError, ReadStats
from kpi.params import make_params
from kpi.pipeline import pipelined_batches
from kpi.report import summarise


def _children() -> list[str]:
    """Live or unreaped child processes of this one (Linux /proc)."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    return [pid for t in tasks.iterdir() for pid in (t / "children").read_text().split()]


def _journals(traces_dir: Path, tmp_path: Path) -> list[Path]:
    """A > 1 MiB plain journal (crosses read chunks) with noise, a .gz one, a torn tail."""
    traces = [p.read_bytes() for p in sorted(traces_dir.glob("*.jsonl"))]
    big = tmp_path / "a.jsonl"
    with open(big, "wb") as out:
        for copy in range(4):  # fresh channel ids per copy, so calls are not duplicates
            for text in traces:
                out.write(text.replace(b'"17953', b'"%d7953' % (copy + 2)))
            out.write(b"garbage\n\n[1, 2]\n" + traces[0].splitlines()[3] + b"\n")  # dup
    assert big.stat().st_size > 1 << 20
    packed = tmp_path / "b.jsonl.gz"
    with gzip.open(packed, "wb") as gz:
        gz.write((traces_dir / "full_call.jsonl").read_bytes())
        gz.write((traces_dir / "agent_phone_blind_transfer.jsonl").read_bytes())
    torn = tmp_path / "c.jsonl"
    torn.write_bytes((traces_dir / "caller_abandon_while_ringing.jsonl").read_bytes()
                     + b'{"type": "ChannelDestroyed", "timest')
    return [big, packed, torn]


def test_pipeline_report_equals_single_process(traces_dir: Path, tmp_path: Path) -> None:
    files = _journals(traces_dir, tmp_path)
    single_stats, piped_stats = ReadStats(), ReadStats()
    single = replay_files(files, single_stats, pipeline=False)
    piped = replay_files(files, piped_stats, pipeline=True)
    assert piped_stats == single_stats
    assert single_stats.files == 3
    assert single_stats.skipped > single_stats.lines / 2
    assert single_stats.malformed == 4 * 2 + 1  # garbage and [1, 2] per copy, the torn tail
    assert piped.counters == single.counters
    assert single.counters["duplicates"] >= 4
    assert piped.facts == single.facts
    assert len(single.facts) > 50
    params = make_params(2, "cn")
    assert summarise(piped, params).to_dict() == summarise(single, params).to_dict()
    assert _children() == []


def test_unreadable_journal_raises_through_the_pipeline(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_bytes(b'{"type": "PlaybackStarted"}\n')
    with pytest.raises(JournalError, match=r"cannot read journal .*missing\.jsonl"):
        replay_files([good, tmp_path / "missing.jsonl"], pipeline=True)
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"type": "StasisStart"}\n' * 1000)[:-20])
    with pytest.raises(JournalError, match=r"cannot read journal .*broken\.jsonl\.gz"):
        replay_files([broken], pipeline=True)
    assert _children() == []


def test_reader_is_ended_when_the_fold_stops_early(traces_dir: Path, tmp_path: Path) -> None:
    files = _journals(traces_dir, tmp_path)
    batches = pipelined_batches(files * 20, ReadStats(), SKIP_KIND)  # > pipe + queue
    assert next(batches)
    assert _children() != []
    batches.close()  # what an exception or Ctrl-C in the fold does through `closing`
    assert _children() == []
