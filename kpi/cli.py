"""`hotline kpi report`: the KPIs of recorded journals, by the same fold the engine runs live."""

from __future__ import annotations

import argparse
import gc
import logging
import struct
import sys
from collections.abc import Callable, Iterable
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from tqdm import tqdm

from kpi.cadence import CadenceError
from kpi.fold import SKIP_KIND, KpiState, flush, fold_lines, replay_lines
from kpi.journal import JournalError, ReadStats, read_line_batches
from kpi.params import (
    DEFAULT_COUNTRY,
    DEFAULT_RINGS,
    DEFAULT_SHORT_ABANDON_SECONDS,
    make_params,
)
from kpi.pipeline import pipelined_batches
from kpi.report import render_csv, render_json, render_table, summarise

log = logging.getLogger(__name__)


# Below this much journal (measured break-even ≈ 90 MB) the reader process's start (≈ 0.1 s)
# and the copy of kept lines through the pipe cost more than they save.
PIPELINE_MIN_BYTES = 96 * 1024 * 1024


def _total_size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with suppress(OSError):  # a missing file is reported by the reading
            total += path.stat().st_size
    return total


def _uncompressed_size(path: Path) -> int:
    """A journal's size as read: a .gz file's trailer holds its length mod 2**32 (journal
    files rotate long before 4 GiB); 0 if unknown."""
    try:
        if not path.name.endswith(".gz"):
            return path.stat().st_size
        with open(path, "rb") as handle:
            handle.seek(-4, 2)
            return int(struct.unpack("<I", handle.read(4))[0])
    except (OSError, struct.error):
        return 0  # a missing or unreadable file is reported by the reading


def replay_files(
    paths: Iterable[str | Path], stats: ReadStats | None = None, *,
    pipeline: bool | None = None, progress: Callable[[int], None] | None = None,
) -> KpiState:
    """Read journals in order (plain or .gz), skip noise lines unparsed, fold, flush.

    `pipeline`: read and filter in a reader process (kpi.pipeline) while this one parses
    and folds; None chooses it for inputs of at least PIPELINE_MIN_BYTES. Same result.
    `progress` is told how much was consumed: bytes read here; lines folded when
    pipelined (the reader process does not say how far it has read).
    """
    state = KpiState()
    st = stats if stats is not None else ReadStats()
    files = [Path(p) for p in paths]
    if pipeline is None:
        pipeline = _total_size(files) >= PIPELINE_MIN_BYTES
    # Parsed events are acyclic and die young; the cyclic GC would only rescan the fold's
    # growing state over and over, so it is paused for the batch.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        if pipeline:
            _replay_pipelined(state, files, st, progress)
        else:
            _replay_here(state, files, st, progress)
    finally:
        if was_enabled:
            gc.enable()
    flush(state)
    return state


def _replay_here(state: KpiState, files: list[Path], st: ReadStats,
                 progress: Callable[[int], None] | None) -> None:
    for batch in read_line_batches(files, st):
        if progress is not None:
            progress(sum(map(len, batch)) + len(batch))  # the lines and their newlines
        lines, skipped, malformed = replay_lines(state, batch)
        st.lines += lines
        st.skipped += skipped
        st.malformed += malformed
        st.events += lines - skipped - malformed


def _replay_pipelined(state: KpiState, files: list[Path], st: ReadStats,
                      progress: Callable[[int], None] | None) -> None:
    # closing: the reader process is ended even if folding raises (or is interrupted)
    with closing(pipelined_batches(files, st, SKIP_KIND)) as batches:  # adds files, lines, skipped
        for batch in batches:
            if progress is not None:
                progress(len(batch))
            kept, malformed = fold_lines(state, batch)
            st.malformed += malformed
            st.events += kept - malformed


# What the fold counted while reading, in words. The first group is routine (a live
# Asterisk's events race, a reconnect replays some): said only with --verbose.
ROUTINE = {
    "out_of_order": "events arrived out of time order and were put back in order",
    "duplicates": "duplicate events (replayed after a reconnect) were counted once",
    "unknown_type": "events of types the KPIs do not use were ignored",
    "pruned_channels": "channels silent for long were forgotten",
    "not_event": "lines were JSON but not events (a trace's requests) and were skipped",
}
WORTH_A_LOOK = {
    "late": "events came too late to be put back in order; KPIs may be slightly off",
    "malformed_lines": "lines were not readable events (torn or garbage) and were skipped",
    "bad_timestamp": "events had no usable timestamp and were skipped",
    "no_channel": "channel events without a channel were skipped",
    "after_destroyed": "events came for channels already destroyed",
    "never_started": "channels were seen only from the middle of their life "
                     "(the journal starts mid-call)",
    "calls_never_started": "answered calls had no arrival in the journal (it starts mid-call)",
    "bad_agent_state": "agent state lines were unreadable and were skipped",
    "wrapup_without_call": "agents left wrap-up with no call known to wrap up",
    "transfer_unknown_call": "transfers of calls not in the journal were ignored",
    "transfer_unanswered_call": "transfers of calls never answered were not counted",
}


def reading_notes(counters: dict[str, int], *, verbose: bool = False) -> list[str]:
    """What the reading met, one sentence each: what needs a look always, routine only
    with `verbose`; a counter without a sentence is named as it is."""
    notes = []
    for key, n in sorted(counters.items()):
        if not n or (key in ROUTINE and not verbose):
            continue
        text = ROUTINE.get(key) or WORTH_A_LOOK.get(key) or key.replace("_", " ")
        notes.append(f"{n} {text} ({key})")
    return notes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text}")
    return value


def register(subparsers: Any) -> None:
    kpi = subparsers.add_parser("kpi", help="call-centre KPIs from event journals")
    sub = kpi.add_subparsers(dest="kpi_command", required=True)
    rep = sub.add_parser("report", help="print KPIs of one or more journals",
                         description=__doc__)
    rep.add_argument("--journal", action="append", required=True, type=Path,
                     metavar="FILE", help="journal file (.jsonl or .jsonl.gz); repeat, in order")
    rep.add_argument("--rings", type=_positive_int, default=DEFAULT_RINGS,
                     help=f"X: answer within X rings (default {DEFAULT_RINGS})")
    rep.add_argument("--country", default=DEFAULT_COUNTRY,
                     help=f"ring cadence country (default {DEFAULT_COUNTRY})")
    rep.add_argument("--indications", type=Path, default=None, metavar="FILE",
                     help="a site's indications.conf instead of the shipped table")
    rep.add_argument("--sl-seconds", type=_seconds, default=None,
                     help="service-level threshold T (default X × ring period)")
    rep.add_argument("--short-abandon-seconds", type=_seconds,
                     default=DEFAULT_SHORT_ABANDON_SECONDS,
                     help=f"abandons shorter than this are short (default "
                          f"{DEFAULT_SHORT_ABANDON_SECONDS:g})")
    rep.add_argument("--by", choices=("hour", "day"), default=None, help="split by period")
    rep.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rep.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                     help="also draw service level and answer timeliness over time")
    rep.add_argument("--verbose", action="store_true",
                     help="also say what the reading met that needs no attention")
    rep.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    try:
        params = make_params(args.rings, args.country, args.sl_seconds,
                             args.short_abandon_seconds, args.indications)
    except (CadenceError, ValueError) as exc:
        print(f"hotline kpi: {exc}", file=sys.stderr)
        return 2
    for path in args.journal:
        if not path.is_file():
            print(f"hotline kpi: cannot read journal {path}: no such file", file=sys.stderr)
            return 1
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        print(f"hotline kpi: --plot needs a .png file name, got {args.plot}", file=sys.stderr)
        return 2
    stats = ReadStats()
    pipeline = _total_size(args.journal) >= PIPELINE_MIN_BYTES
    # on a terminal only (disable=None: off when stderr is not a TTY); gone when done
    bar = (tqdm(total=None, unit=" lines", unit_scale=True, desc="folding journal lines",
                disable=None, leave=False)
           if pipeline else
           tqdm(total=sum(map(_uncompressed_size, args.journal)) or None, unit="B",
                unit_scale=True, unit_divisor=1024, desc="reading journals",
                disable=None, leave=False))

    def advance(n: int) -> None:
        bar.update(n)

    try:
        with bar:
            state = replay_files(args.journal, stats, pipeline=pipeline, progress=advance)
    except JournalError as exc:
        print(f"hotline kpi: {exc}", file=sys.stderr)
        return 1
    report = summarise(state, params, args.by)
    render = {"json": render_json, "csv": render_csv, "table": render_table}[args.format]
    sys.stdout.write(render(report))
    for line in reading_notes(state.counters, verbose=args.verbose):
        print(f"hotline kpi: {line}", file=sys.stderr)
    if args.plot is not None:
        from kpi.plot import plot_report

        try:
            plot_report(summarise(state, params, args.by or "hour"), args.plot)
        except OSError as exc:
            print(f"hotline kpi: cannot write plot {args.plot}: {exc}", file=sys.stderr)
            return 1
    return 0
