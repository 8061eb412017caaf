"""Retention: expired recordings are deleted, and every deletion leaves an audit row.

The centre's rules keep recordings only until their retention date. `purge_expired` is
the one place that deletes them; it is blocking file I/O, so the engine runs it in a
worker thread. The recordings table has no deleted marker yet, so a purge is recorded
as an `audit_log` row (action `delete`), and `load_known` leaves such recordings out
when the index is rebuilt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from prometheus_client import Counter

from ari_app.records.types import AuditRecord
from recordings.index import RecordingIndex

log = logging.getLogger(__name__)

ROLE = "system"


@dataclass
class PurgeResult:
    deleted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def expired(self) -> int:
        return len(self.deleted) + len(self.missing) + len(self.failed)


def purge_expired(
    index: RecordingIndex, now: datetime, *, actor: str = "retention", dry_run: bool = False
) -> PurgeResult:
    """Delete every recording past its retention date at `now`. A file already gone
    counts as `missing`; a file that cannot be deleted stays indexed (retried later).
    With `dry_run`, nothing is deleted or audited: the result says what would be."""
    result = PurgeResult(dry_run=dry_run)
    for record in index.expired(now):
        path = Path(record.path)
        if dry_run:
            (result.deleted if path.exists() else result.missing).append(record.name)
            continue
        try:
            path.unlink()
            outcome = "ok"
        except FileNotFoundError:
            outcome = "missing"
        except OSError as exc:
            outcome = "failed"
            log.error("retention: cannot delete recording %s: %s", record.name, exc.strerror)
        index.sink.submit(AuditRecord(
            actor=actor, role=ROLE, action="delete", object_type="recording",
            object_id=record.name, at=now, detail=f"outcome={outcome}",
        ))
        if outcome == "failed":
            result.failed.append(record.name)
            continue
        index.remove(record.name)
        (result.deleted if outcome == "ok" else result.missing).append(record.name)
    return result




async def purge_every(
    index: RecordingIndex,
    seconds: float,
    now: Callable[[], datetime],
    *,
    purged: Counter,
    errors: Counter,
) -> None:
    """Purge at once, then every `seconds` of loop time, in a worker thread, until
    cancelled. A purge that raises, or a file that cannot be deleted, is logged and
    counted in `errors`; the loop goes on."""
    while True:
        try:
            result = await asyncio.to_thread(purge_expired, index, now())
        except Exception:
            log.exception("retention: purge failed")
            errors.inc()
        else:
            purged.inc(len(result.deleted) + len(result.missing))
            if result.failed:
                errors.inc(len(result.failed))
            if result.expired:
                log.info("retention: %d deleted, %d already missing, %d failed",
                         len(result.deleted), len(result.missing), len(result.failed))
        await asyncio.sleep(seconds)


__all__ = ["PurgeResult", "purge_every", "purge_expired"]
