"""The event journal: every ARI event the engine receives, one JSON object per line.

The engine writes it (append-only, rotated by size or UTC day, rotated files gzipped) and
`hotline kpi report` reads it back, so the KPIs of a past day are computed by exactly the
same fold that fed Prometheus live. Reading tolerates what a crash or a reconnect leaves
behind: a torn last line, garbage, duplicates (those are the fold's business).

Privacy: given the engine's caller-number rule (`caller_number=CallerNumberPolicy.store`
for storage "masked" or "hashed"), the writer stores caller numbers and names as the call
records do (see kpi.caller_redaction). Journal files are created 0600 and a journal
directory the writer creates 0700 (FILE_MODE, DIR_MODE): the journal is written and read by
the engine's own service user only, and may hold full numbers (storage "full").
"""

from __future__ import annotations

import enum
import gzip
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kpi.caller_redaction import CallerRedaction

log = logging.getLogger(__name__)

FILE_MODE = 0o600  # journal files: the engine's user only (they may hold caller numbers)
DIR_MODE = 0o700  # the journal's directory, when the writer creates it

JsonObject = dict[str, Any]


class JournalError(OSError):
    """A journal file cannot be opened or written."""


class FsyncPolicy(enum.Enum):
    """How hard the writer pushes lines to disk: a trade between loss on power cut and IOPS."""

    ALWAYS = "always"  # fsync after every line
    INTERVAL = "interval"  # fsync at most every `fsync_interval` seconds (and on rotate/close)
    ROTATE = "rotate"  # fsync only when a file is rotated or closed


def _utc_day(epoch: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(epoch))


class JournalWriter:
    """Append-only JSON Lines writer with rotation by size and by UTC day.

    The active file is `path`; a rotated file becomes `<stem>-<YYYYmmddTHHMMSS>-<n>.jsonl.gz`
    next to it, so sorting names gives chronological order (see `journal_files`).
    Synchronous on purpose: one short `write` per event; the engine may call it from a thread.

    `caller_number`: how a caller number is kept at rest — None keeps events as received
    (storage "full"); the engine's `CallerNumberPolicy.store` masks or hashes every caller
    number and name as the event is written (events are then re-serialised, compact).
    Files are FILE_MODE; existing files of this journal are tightened to it on open.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        rotate_daily: bool = True,
        compress: bool = True,
        fsync: FsyncPolicy = FsyncPolicy.INTERVAL,
        fsync_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        caller_number: Callable[[str], str] | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if fsync_interval < 0:
            raise ValueError("fsync_interval must be >= 0")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.rotate_daily = rotate_daily
        self.compress = compress
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self._clock = clock
        self.rotated: list[Path] = []
        self.lines_written = 0
        self.unreadable_dropped = 0  # raw text that is not JSON, dropped when redacting
        self._redaction = CallerRedaction(caller_number) if caller_number is not None else None
        self._seq = 0
        try:
            _make_dir(self.path.parent)
            _tighten(journal_files(self.path))
            self._file = _open_append(self.path)
        except OSError as exc:
            raise JournalError(f"cannot open journal {self.path}: {exc.strerror or exc}") from exc
        self._size = self._file.tell()
        now = clock()
        self._day = _utc_day(now)
        self._last_sync = now
        if self._size and self.rotate_daily:
            # a file left from a previous run belongs to the day it was last written
            self._day = _utc_day(os.stat(self.path).st_mtime)

    def append(self, event: bytes | str | Mapping[str, Any]) -> None:
        """Write one event: raw text as received (unchanged) or a mapping (serialised).

        With a `caller_number` rule, the event is written with its caller numbers stored
        by that rule; raw text that is not JSON is then dropped (counted in
        `unreadable_dropped`), since nothing in it could be found and protected.
        """
        redaction = self._redaction
        if isinstance(event, Mapping):
            line = orjson.dumps(event if redaction is None else redaction.event(event))
        else:
            line = event.encode("utf-8") if isinstance(event, str) else bytes(event)
            line = line.strip()
            if redaction is not None:
                try:
                    line = orjson.dumps(redaction.event(orjson.loads(line)))
                except orjson.JSONDecodeError:
                    self.unreadable_dropped += 1
                    if self.unreadable_dropped == 1:
                        log.warning("journal: dropped an event that is not JSON (caller "
                                    "numbers could not be protected in it)")
                    return
            elif b"\n" in line or b"\r" in line:  # pretty-printed JSON: one line per event
                line = orjson.dumps(orjson.loads(line))
        now = self._clock()
        if self._size and (
            self._size + len(line) + 1 > self.max_bytes
            or (self.rotate_daily and _utc_day(now) != self._day)
        ):
            self.rotate()
        self._file.write(line + b"\n")
        self._size += len(line) + 1
        self.lines_written += 1
        if self.fsync is FsyncPolicy.ALWAYS or (
            self.fsync is FsyncPolicy.INTERVAL and now - self._last_sync >= self.fsync_interval
        ):
            self._sync(now)

    def _sync(self, now: float) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last_sync = now

    def flush(self) -> None:
        """Flush and fsync now (e.g. on shutdown or before a journal is read live)."""
        self._sync(self._clock())

    def rotate(self) -> Path | None:
        """Close the active file, rename it with a timestamp, gzip it; start a new one."""
        now = self._clock()
        self._sync(now)
        self._file.close()
        rotated: Path | None = None
        if self._size:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
            while True:  # never overwrite a file rotated earlier in the same second
                self._seq += 1
                target = self.path.with_name(f"{self.path.stem}-{stamp}-{self._seq:04d}.jsonl")
                if not target.exists() and not target.with_name(target.name + ".gz").exists():
                    break
            os.replace(self.path, target)
            rotated = _gzip_file(target) if self.compress else target
            self.rotated.append(rotated)
        self._file = _open_append(self.path)
        self._size = 0
        self._day = _utc_day(now)
        return rotated

    def close(self) -> None:
        if not self._file.closed:
            self._sync(self._clock())
            self._file.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _make_dir(directory: Path) -> None:
    """The journal's directory; DIR_MODE if this creates it (an existing one is left as is)."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return  # created meanwhile by someone else: theirs
    os.chmod(directory, DIR_MODE)  # mkdir's mode is reduced by the umask, never widened


def _open_append(path: Path) -> Any:
    """Open for appending, created FILE_MODE (a file left wider by an older version is
    tightened: its owner is this user)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


def _tighten(paths: Iterable[Path]) -> None:
    """Best effort: existing journal files to FILE_MODE (rotated before this version)."""
    for path in paths:
        try:
            if path.stat().st_mode & 0o777 & ~FILE_MODE:
                os.chmod(path, FILE_MODE)
        except OSError as exc:
            log.warning("journal: cannot restrict access to %s: %s", path, exc.strerror or exc)


def _gzip_file(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(path, "rb") as src, open(fd, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    with open(tmp, "rb") as done:
        os.fsync(done.fileno())
    os.replace(tmp, target)
    path.unlink()
    return target


def journal_files(path: str | Path) -> list[Path]:
    """A journal's rotated files (oldest first) followed by its active file, if present."""
    active = Path(path)
    rotated = sorted(
        p for p in active.parent.glob(f"{active.stem}-*.jsonl*")
        if p.name.endswith((".jsonl", ".jsonl.gz"))
    )
    return [*rotated, *([active] if active.exists() else [])]


@dataclass
class ReadStats:
    """What reading met: kept for the report, never fatal."""

    files: int = 0
    lines: int = 0
    skipped: int = 0  # dropped by the caller's cheap filter before parsing
    events: int = 0
    malformed: int = 0
    malformed_samples: list[str] = field(default_factory=list)

    def merge_line_error(self, where: str) -> None:
        self.malformed += 1
        if len(self.malformed_samples) < 5:
            self.malformed_samples.append(where)


def _open(path: Path) -> Any:
    try:
        if path.name.endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror or exc}") from exc


def read_lines(paths: Iterable[str | Path], stats: ReadStats | None = None) -> Iterator[bytes]:
    """Raw lines of several journal files in the order given (plain or .gz)."""
    for name in paths:
        path = Path(name)
        if stats is not None:
            stats.files += 1
        with _open(path) as handle:
            try:
                yield from handle
            except (OSError, EOFError) as exc:  # truncated gzip, I/O error mid-file
                raise JournalError(f"cannot read journal {path}: {exc}") from exc


# 1 MiB: large enough to amortise the per-read cost, small enough to stay in cache while
# it is split (bigger chunks measured slower).
_CHUNK = 1 << 20


def read_line_batches(
    paths: Iterable[str | Path], stats: ReadStats | None = None
) -> Iterator[list[bytes]]:
    """Lines of several journal files in order, in large batches (no trailing newlines).

    The replay hot path takes whole batches: splitting 1 MiB at a time in C costs less
    than handing lines over one by one. A line cut by a chunk boundary is joined to the
    first line of the next batch, so the chunk itself is never copied again.
    """
    for name in paths:
        path = Path(name)
        if stats is not None:
            stats.files += 1
        with _open(path) as handle:
            rest = b""
            try:
                while chunk := handle.read(_CHUNK):
                    lines = chunk.split(b"\n")
                    if rest:
                        lines[0] = rest + lines[0]
                    rest = lines.pop()
                    if lines:
                        yield lines
            except (OSError, EOFError) as exc:  # truncated gzip, I/O error mid-file
                raise JournalError(f"cannot read journal {path}: {exc}") from exc
            if rest:
                yield [rest]


# Most journal lines are ChannelVarset: recognised at the `"type"` key in one call.
_VARSET_AT = (b'"type": "ChannelVarset"', b'"type":"ChannelVarset"')


def kept_lines(
    lines: Iterable[bytes], skip_kind: Mapping[bytes, bool]
) -> tuple[list[bytes], int, int]:
    """The lines worth parsing: `kpi.fold.keep_line` over a batch, inlined for speed.

    `skip_kind` maps a raw `"type"` value to True (skip) or False (a ChannelVarset: skip
    unless its variable is HOTLINE_*); the fold owns that table (`kpi.fold.SKIP_KIND`).
    Returns (kept lines, lines seen, skipped). It needs nothing from the fold, so a reader
    process can run it without importing the fold (see kpi.pipeline).
    """
    skip_of = skip_kind.get
    varset_at = _VARSET_AT
    kept: list[bytes] = []
    keep = kept.append
    n = skipped = 0
    for line in lines:
        n += 1
        i = 1 if line.startswith(b'{"type"') else line.rfind(b'"type"')
        if i >= 0:
            if line.startswith(varset_at, i):
                v = line.rfind(b'"variable"')
                if v >= 0 and line.find(b'"HOTLINE_', v + 10, v + 24) < 0:
                    skipped += 1
                    continue
            else:
                j = line.find(b'"', i + 6)
                if j >= 0:
                    k = line.find(b'"', j + 1)
                    if k >= 0:
                        skip = skip_of(line[j + 1:k])
                        if skip is not None:
                            if skip:
                                skipped += 1
                                continue
                            v = line.rfind(b'"variable"')  # a ChannelVarset, spaced unusually
                            if v >= 0 and line.find(b'"HOTLINE_', v + 10, v + 24) < 0:
                                skipped += 1
                                continue
        keep(line)
    return kept, n, skipped


def read_events(
    paths: Iterable[str | Path],
    stats: ReadStats | None = None,
    keep: Callable[[bytes], bool] | None = None,
) -> Iterator[JsonObject]:
    """Parsed events; lines that are not JSON objects are skipped and counted.

    `keep` sees each raw line first; returning False drops it unparsed (the replay hot path
    uses it to skip noise such as RTP-QoS variable sets without paying for JSON parsing).
    """
    st = stats if stats is not None else ReadStats()
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    lines = skipped = events = 0
    try:
        for line in read_lines(paths, st):
            lines += 1
            if keep is not None and not keep(line):
                skipped += 1
                continue
            try:
                obj = loads(line)
            except decode_error:
                if line.strip():
                    st.merge_line_error(f"line {st.lines + lines}: not JSON")
                continue
            if type(obj) is not dict:
                st.merge_line_error(f"line {st.lines + lines}: not an object")
                continue
            events += 1
            yield obj
    finally:
        st.lines += lines
        st.skipped += skipped
        st.events += events
