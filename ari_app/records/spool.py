"""The local append-only spool: records the database could not take yet, in order.

A JSON-lines file (fsync'd on every append) plus a small `.offset` file saying how many
bytes have been replayed into the database. Replay may repeat a batch after a crash
(the offset is saved after the commit); the idempotent inserts make that harmless.
Lines that are not records go to `.rejected` (counted, kept, never silently dropped).
Thread-safe: the writer appends and replays from worker threads, `submit` from the loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from ari_app.records.codec import CodecError, decode, encode
from ari_app.records.types import Record

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset_path = path.with_name(path.name + ".offset")
        self.rejected_path = path.with_name(path.name + ".rejected")
        self._lock = threading.Lock()
        self.rejected = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._repair_torn_tail()
        size = os.fstat(self._fd).st_size
        self._offset = self._read_offset()
        if self._offset > size:  # crashed between truncating and saving offset 0
            self._offset = 0
        self._pending = self._count_lines(self._offset)

    @property
    def pending(self) -> int:
        """Records appended and not yet replayed."""
        return self._pending

    def append(self, records: Sequence[Record]) -> None:
        """Append and fsync; raises OSError if the disk refuses (the caller counts it)."""
        if not records:
            return
        data = b"".join(encode(r) for r in records)
        with self._lock:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
            self._pending += len(records)

    def peek(self, limit: int) -> tuple[list[Record], int, int]:
        """Up to `limit` records from the replay point: (records, end offset, lines read)."""
        with self._lock:
            start = self._offset
        records: list[Record] = []
        lines = 0
        end = start
        with open(self.path, "rb") as f:
            f.seek(start)
            while len(records) < limit:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break
                lines += 1
                end += len(line)
                try:
                    records.append(decode(line))
                except CodecError as exc:
                    self._reject(line, str(exc))
        return records, end, lines

    def consume(self, end: int, lines: int) -> None:
        """Mark everything before `end` replayed; empty the files once all is replayed."""
        with self._lock:
            self._offset = end
            self._pending -= lines
            if self._offset >= os.fstat(self._fd).st_size:
                os.ftruncate(self._fd, 0)
                os.fsync(self._fd)
                self._offset = 0
                self._pending = 0
            self._write_offset(self._offset)

    def close(self) -> None:
        os.close(self._fd)

    def _reject(self, line: bytes, why: str) -> None:
        self.rejected += 1
        log.error("spool %s: kept an unreadable line in %s (%s)", self.path,
                  self.rejected_path, why)
        with open(self.rejected_path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def _read_offset(self) -> int:
        try:
            return int(self.offset_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0
        except ValueError:
            log.error("spool %s: unreadable offset file; replaying from the start", self.path)
            return 0

    def _write_offset(self, offset: int) -> None:
        tmp = self.offset_path.with_name(self.offset_path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(str(offset))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.offset_path)

    def _repair_torn_tail(self) -> None:
        """A crash mid-append can leave half a line; keep it aside, then cut it off."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            data = f.read()
        cut = data.rfind(b"\n") + 1
        if cut < size:
            self._reject(data[cut:] + b"\n", "torn last line after a crash")
            os.ftruncate(self._fd, cut)
            os.fsync(self._fd)

    def _count_lines(self, start: int) -> int:
        with open(self.path, "rb") as f:
            f.seek(start)
            return sum(1 for _ in f)
