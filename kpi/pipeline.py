"""Replay of large journals on two cores: a reader process reads, splits and filters.

Reading + splitting + the skip decisions are a third or more of a replay's CPU and need
nothing from the fold, so a reader process does them (`kept_lines`, the decisions of
`kpi.fold.keep_line`) and sends batches of the kept raw lines over a pipe as plain bytes
(no pickling); this process parses and folds them exactly as the single-process path does.

The reader is a bare interpreter importing only kpi.journal (≈ 0.1 s to start), not a
multiprocessing child: 'spawn' would re-import the parent's main module and the fold
(aiohttp comes with ari_app.ari), which costs ≈ 0.5 s. It gets its job (paths and the
fold's skip table) on stdin and writes to an inherited pipe.

Wire format, one `Connection.send_bytes` message each, the kind in its last line:
`b"\\n".join(kept) + b"\\nL"` a batch of lines; `b"files lines skipped\\nE"` the end;
`b"message\\nX"` a JournalError; `b"message\\nB"` any other failure of the reader.
"""

from __future__ import annotations

import gc
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Generator, Iterable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path

import orjson

from kpi.journal import JournalError, ReadStats, kept_lines, read_line_batches

# Batches queued in the reader beyond the one in the pipe: bounds its memory (≈ 0.3 MB a
# batch of kept lines) while letting it run ahead of the fold's uneven pace.
IN_FLIGHT = 4
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])
_BOOT = ("import sys; sys.path.insert(0, sys.argv[1]); "
         "from kpi.pipeline import reader_main; reader_main(int(sys.argv[2]))")


def _send_all(conn: Connection, out: queue.Queue[bytes | None]) -> None:
    while (payload := out.get()) is not None:
        conn.send_bytes(payload)


def _read(names: list[str], skip_kind: Mapping[bytes, bool], conn: Connection) -> None:
    """Read, filter and send everything, errors included; then close the pipe."""
    gc.disable()  # only bytes and lists of bytes: nothing cyclic to collect
    out: queue.Queue[bytes | None] = queue.Queue(IN_FLIGHT)
    # writes block while the parent folds; a thread writes so reading and filtering go on
    sender = threading.Thread(target=_send_all, args=(conn, out), daemon=True)
    sender.start()
    stats = ReadStats()
    lines = skipped = 0
    try:
        for batch in read_line_batches(names, stats):
            kept, n, dropped = kept_lines(batch, skip_kind)
            lines += n
            skipped += dropped
            kept.append(b"L")
            out.put(b"\n".join(kept))
        out.put(b"%d %d %d\nE" % (stats.files, lines, skipped))
    except JournalError as exc:
        out.put(str(exc).encode("utf-8", "replace") + b"\nX")
    except Exception as exc:
        out.put(f"{type(exc).__name__}: {exc}".encode("utf-8", "replace") + b"\nB")
    finally:
        out.put(None)
        sender.join()
        conn.close()


def reader_main(fd: int) -> None:
    """Entry point of the reader process: its job is JSON on stdin (paths as hex bytes)."""
    job = orjson.loads(sys.stdin.buffer.read())
    names = [os.fsdecode(bytes.fromhex(name)) for name in job["paths"]]
    skip_kind = {kind.encode(): bool(skip) for kind, skip in job["skip"].items()}
    _read(names, skip_kind, Connection(fd, readable=False))


def pipelined_batches(
    paths: Iterable[str | Path], stats: ReadStats, skip_kind: Mapping[bytes, bool]
) -> Generator[list[bytes], None, None]:
    """Kept lines of the journals in order, filtered in a reader process.

    Adds files, lines and skipped lines to `stats` at the end; raises JournalError for
    what the reader could not read. The reader is always ended when this generator is
    (exhausted, closed early, or left by an exception).
    """
    job = orjson.dumps({"paths": [os.fsencode(p).hex() for p in paths],
                        "skip": {kind.decode(): skip for kind, skip in skip_kind.items()}})
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(  # noqa: S603 - this interpreter, our module, fixed arguments
            [sys.executable, "-c", _BOOT, _PACKAGE_ROOT, str(write_fd)],
            stdin=subprocess.PIPE, pass_fds=(write_fd,), close_fds=True)
    except OSError as exc:
        os.close(read_fd)
        raise JournalError(f"cannot start the journal reader process: {exc}") from exc
    finally:
        os.close(write_fd)  # only the child writes: EOF here if it dies
    conn = Connection(read_fd, writable=False)
    finished = False
    try:
        assert proc.stdin is not None
        with proc.stdin:
            proc.stdin.write(job)
        while True:
            try:
                payload = conn.recv_bytes()
            except EOFError:
                proc.wait(5)
                raise JournalError("journal reader process ended without a result "
                                   f"(exit code {proc.returncode})") from None
            if payload.endswith(b"\nL") or payload == b"L":
                lines = payload.split(b"\n")
                lines.pop()
                yield lines
                continue
            body, _, kind = payload.rpartition(b"\n")
            text = body.decode("utf-8", "replace")
            if kind == b"E":
                files, n, skipped = (int(x) for x in text.split())
                stats.files += files
                stats.lines += n
                stats.skipped += skipped
                finished = True
                return
            if kind == b"X":
                raise JournalError(text)
            raise JournalError(f"journal reader process failed: {text}")
    finally:
        conn.close()
        if not finished:  # left early: the reader may be blocked writing to us
            proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
