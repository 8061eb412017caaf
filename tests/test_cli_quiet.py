"""The long commands talk in words and draw no progress bar when their output is captured
(a pipe, a file, cron): `hotline kpi report`'s notes on what the reading met."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ari_app.cli import main
from kpi.cli import reading_notes


def _journal_out_of_order(traces_dir: Path, target: Path) -> Path:
    """A real trace with two neighbouring events of different times swapped."""
    lines = (traces_dir / "agent_busy.jsonl").read_bytes().splitlines()
    stamps = [orjson.loads(line).get("timestamp") for line in lines]
    i = next(k for k in range(len(lines) - 1)
             if stamps[k] and stamps[k + 1] and stamps[k] < stamps[k + 1])
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    target.write_bytes(b"\n".join(lines) + b"\n")
    return target


def test_kpi_report_says_routine_notes_only_when_asked_and_draws_no_bar(
    traces_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = _journal_out_of_order(traces_dir, tmp_path / "events.jsonl")
    assert main(["kpi", "report", "--journal", str(journal)]) == 0
    out, err = capsys.readouterr()
    assert "queue" in out.lower()
    assert err == ""  # no "out_of_order=1", no progress bar: stderr is not a terminal
    assert main(["kpi", "report", "--journal", str(journal), "--verbose"]) == 0
    out, err = capsys.readouterr()
    assert "hotline kpi: 1 events arrived out of time order and were put back in order" \
        " (out_of_order)" in err
    assert "reading journals" not in err
    assert "\r" not in err


def test_reading_notes_say_what_needs_a_look_in_words() -> None:
    notes = reading_notes({"out_of_order": 4, "late": 2, "duplicates": 0, "new_thing": 1})
    assert notes == [
        "2 events came too late to be put back in order; KPIs may be slightly off (late)",
        "1 new thing (new_thing)",
    ]


def test_db_upgrade_says_nothing_extra_when_captured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    out, err = capsys.readouterr()
    assert "empty -> " in out
    assert err == ""  # the "migrating …" line is for a terminal only


def test_the_purge_bar_moves_once_per_recording_audited() -> None:
    import io

    from tqdm import tqdm

    from ari_app.records.types import Record
    from recordings.cli import _Counted

    got: list[Record] = []

    class Sink:
        def submit(self, record: Record) -> None:
            got.append(record)

    with tqdm(total=2, file=io.StringIO()) as bar:
        counted = _Counted(Sink(), bar)
        counted.submit("a")  # type: ignore[arg-type]
        counted.submit("b")  # type: ignore[arg-type]
        assert bar.n == 2
    assert got == ["a", "b"]
