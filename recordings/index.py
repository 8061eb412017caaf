"""The index of call recordings, and the only door to their audio.

`add` measures a finished recording (duration from the file, sha256, size), gives it a
retention date and hands a RecordingRecord to the records sink. `open_for` is how anyone
reads one: every attempt, allowed or refused, leaves an AuditRecord first (the centre's
rules: recordings are customer data; access is least-privilege and traced).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ari_app.records.models import AuditEntry, Recording
from ari_app.records.types import AuditRecord, RecordingRecord, RecordSink
from recordings.media import HEADER_BYTES, MediaError, duration_seconds

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 180
PURGED_DETAILS = ("outcome=ok", "outcome=missing")
"""Audit details of a retention `delete` after which the file is gone."""
READ_ROLES = frozenset({"team_lead", "supervisor", "admin"})
"""Roles that may listen to or download any recording (agents may not)."""


class RecordingError(Exception):
    """No such recording, or its file no longer matches its checksum."""


class AccessDenied(PermissionError):
    """The role may not read recordings; the refusal is in the audit log."""


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def describe(
    path: Path, call_id: str, *, name: str, created: datetime, retention_days: int
) -> RecordingRecord:
    """Measure a recording file (reads it once for the checksum)."""
    fmt = path.suffix.lstrip(".").lower()
    with path.open("rb") as f:
        head = f.read(HEADER_BYTES)
    digest, size = sha256_file(path)
    return RecordingRecord(
        name=name, call_id=call_id, path=str(path), format=fmt,
        duration_seconds=round(duration_seconds(fmt, head, size), 3), sha256=digest,
        size=size, created=created, retention_until=created + timedelta(days=retention_days),
    )


class RecordingIndex:
    def __init__(
        self,
        sink: RecordSink,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        read_roles: frozenset[str] = READ_ROLES,
        known: Iterable[RecordingRecord] = (),
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.sink = sink
        self.retention_days = retention_days
        self.read_roles = read_roles
        self._lock = threading.Lock()
        self._by_name = {r.name: r for r in known}

    def add(
        self,
        path: Path | str,
        call_id: str,
        *,
        name: str | None = None,
        created: datetime | None = None,
    ) -> RecordingRecord:
        """Index a finished recording; raises MediaError/OSError if it cannot be measured.
        Blocking file I/O: call it from a worker thread (`asyncio.to_thread`)."""
        p = Path(path)
        record = describe(
            p, call_id, name=name or p.stem, created=created or datetime.now(UTC),
            retention_days=self.retention_days,
        )
        with self._lock:
            self._by_name[record.name] = record
        self.sink.submit(record)
        return record

    def catch_up(self, directory: Path, skip: Iterable[str] = ()) -> list[str]:
        """Index the finished recordings in `directory` the index does not know: the
        engine died between a recording's end and its indexing. `skip`: names still being
        recorded (calls adopted after a restart). Returns the names added. Blocking."""
        skipped = set(skip)
        with self._lock:
            known = set(self._by_name)
        added: list[str] = []
        if not directory.is_dir():
            return added
        for path in sorted(directory.iterdir()):
            name = path.stem
            prefix, _, call_id = name.partition("-")
            if prefix not in ("call", "vm") or not call_id or name in known or name in skipped:
                continue
            if not path.is_file():
                continue
            created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            try:
                self.add(path, call_id, name=name, created=created)
            except (MediaError, OSError) as exc:
                log.warning("recording %s not indexed on catch-up: %s", name, exc)
                continue
            added.append(name)
        return added

    def get(self, name: str) -> RecordingRecord:
        with self._lock:
            found = self._by_name.get(name)
        if found is None:
            raise RecordingError(f"no recording named {name!r}")
        return found

    def for_call(self, call_id: str) -> list[RecordingRecord]:
        with self._lock:
            return [r for r in self._by_name.values() if r.call_id == call_id]

    def remove(self, name: str) -> None:
        """Forget a recording (its file was purged); unknown names are ignored."""
        with self._lock:
            self._by_name.pop(name, None)

    def expired(self, now: datetime) -> list[RecordingRecord]:
        """Recordings past their retention date, oldest first (for the purge job)."""
        with self._lock:
            old = [r for r in self._by_name.values() if r.retention_until <= now]
        return sorted(old, key=lambda r: r.retention_until)

    def open_for(
        self, actor: str, role: str, name: str, *, action: str = "download",
        verify: bool = True, now: datetime | None = None,
    ) -> BinaryIO:
        """Open a recording's audio for `actor`, after writing the audit row. With
        `verify`, a file whose sha256 no longer matches is refused (and audited)."""
        at = now or datetime.now(UTC)

        def audit(outcome: str) -> None:
            self.sink.submit(AuditRecord(
                actor=actor, role=role, action=action, object_type="recording",
                object_id=name, at=at, detail=outcome,
            ))

        if role not in self.read_roles:
            audit("denied: role may not read recordings")
            raise AccessDenied(f"{actor} ({role}) may not read recordings")
        try:
            record = self.get(name)
        except RecordingError:
            audit("failed: no such recording")
            raise
        path = Path(record.path)
        try:
            if verify and sha256_file(path)[0] != record.sha256:
                audit("failed: checksum mismatch")
                log.error("recording %s: file no longer matches its sha256", name)
                raise RecordingError(f"recording {name!r} does not match its checksum")
            f = path.open("rb")
        except OSError as exc:
            audit(f"failed: {exc.strerror}")
            raise RecordingError(f"recording {name!r} cannot be read: {exc.strerror}") from exc
        audit("granted")
        return f


def load_known(engine: Engine) -> list[RecordingRecord]:
    """The recordings already in the database, to rebuild the index at start; those the
    retention purge deleted (an audit `delete` row, file gone) are left out."""
    purged = select(AuditEntry.object_id).where(
        AuditEntry.object_type == "recording", AuditEntry.action == "delete",
        AuditEntry.detail.in_(PURGED_DETAILS),
    )
    with Session(engine) as session:
        return [
            RecordingRecord(
                name=r.name, call_id=r.call_id, path=r.path, format=r.format,
                duration_seconds=r.duration_seconds, sha256=r.sha256, size=r.size_bytes,
                created=r.created_at, retention_until=r.retention_until,
            )
            for r in session.scalars(select(Recording).where(Recording.name.not_in(purged)))
        ]


__all__ = [
    "AccessDenied", "MediaError", "RecordingError", "RecordingIndex", "describe", "load_known",
]
