"""`hotline kpi report`: the KPIs of recorded journals, by the same fold the engine runs live."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Iterable
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

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


def replay_files(
    paths: Iterable[str | Path], stats: ReadStats | None = None, *,
    pipeline: bool | None = None,
) -> KpiState:
    """Read journals in order (plain or .gz), skip noise lines unparsed, fold, flush.

    `pipeline`: read and filter in a reader process (kpi.pipeline) while this one parses
    and folds; None chooses it for inputs of at least PIPELINE_MIN_BYTES. Same result.
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
            _replay_pipelined(state, files, st)
        else:
            _replay_here(state, files, st)
    finally:
        if was_enabled:
            gc.enable()
    flush(state)
    return state


def _replay_here(state: KpiState, files: list[Path], st: ReadStats) -> None:
    for batch in read_line_batches(files, st):
        lines, skipped, malformed = replay_lines(state, batch)
        st.lines += lines
        st.skipped += skipped
        st.malformed += malformed
        st.events += lines - skipped - malformed


def _replay_pipelined(state: KpiState, files: list[Path], st: ReadStats) -> None:
    # closing: the reader process is ended even if folding raises (or is interrupted)
    with closing(pipelined_batches(files, st, SKIP_KIND)) as batches:  # adds files, lines, skipped
        for batch in batches:
            kept, malformed = fold_lines(state, batch)
            st.malformed += malformed
            st.events += kept - malformed


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
    try:
        state = replay_files(args.journal, stats)
    except JournalError as exc:
        print(f"hotline kpi: {exc}", file=sys.stderr)
        return 1
    report = summarise(state, params, args.by)
    render = {"json": render_json, "csv": render_csv, "table": render_table}[args.format]
    sys.stdout.write(render(report))
    notes = {k: v for k, v in sorted(state.counters.items()) if v}
    if notes:
        print("hotline kpi: " + ", ".join(f"{k}={v}" for k, v in notes.items()),
              file=sys.stderr)
    if args.plot is not None:
        from kpi.plot import plot_report

        try:
            plot_report(summarise(state, params, args.by or "hour"), args.plot)
        except OSError as exc:
            print(f"hotline kpi: cannot write plot {args.plot}: {exc}", file=sys.stderr)
            return 1
    return 0
