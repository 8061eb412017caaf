"""`hotline recordings purge`: the retention purge, from the command line (or cron)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from ari_app.config.settings import Config, ConfigError, load_config
from ari_app.records.schema import SchemaError, database_error
from ari_app.records.types import Record, RecordSink
from ari_app.records.writer import writer_from_config
from recordings.index import RecordingIndex, load_known
from recordings.retention import PurgeResult, purge_expired
from recordings.sink import LoopSink


def register(sub: Any) -> None:
    parser = sub.add_parser("recordings", help="call recordings: retention")
    rsub = parser.add_subparsers(dest="recordings_command", required=True)
    purge = rsub.add_parser("purge", help="delete recordings past their retention date")
    purge.add_argument("--config", type=Path, help="engine config file (default: built-in)")
    purge.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    purge.set_defaults(func=_purge)


class _Counted:
    """The index's record sink, moving a progress bar: the purge audits each recording it
    deletes (or finds gone, or cannot delete) exactly once."""

    def __init__(self, sink: RecordSink, bar: tqdm[Any]) -> None:
        self.sink = sink
        self.bar = bar

    def submit(self, record: Record) -> None:
        self.sink.submit(record)
        self.bar.update(1)


async def purge_with_config(
    config: Config, now: datetime, *, dry_run: bool = False
) -> PurgeResult:
    """Rebuild the index from the database, purge, and wait until the audit rows are
    committed (or spooled by the writer, to be replayed by the next writer)."""
    writer = writer_from_config(config)  # SchemaError if the schema is unknown
    async with writer:
        known = await asyncio.to_thread(load_known, writer.engine)
        # on a terminal only (disable=None: off when stderr is not a TTY); gone when done
        with tqdm(desc="deleting expired recordings", unit=" files", disable=None,
                  leave=False) as bar:
            index = RecordingIndex(
                _Counted(LoopSink(writer, asyncio.get_running_loop()), bar),
                retention_days=config.recordings.retention_days, known=known,
            )
            if not dry_run:
                bar.reset(total=len(index.expired(now)))
            result = await asyncio.to_thread(purge_expired, index, now, dry_run=dry_run)
        await asyncio.sleep(0)  # let the LoopSink callbacks reach the writer
        with contextlib.suppress(TimeoutError):  # database away: stop() spools the rows
            await asyncio.wait_for(writer.wait_idle(), 30)
    return result


def _purge(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config) if args.config else Config()
        result = asyncio.run(purge_with_config(config, datetime.now(UTC), dry_run=args.dry_run))
    except ConfigError as exc:
        exc.print_errors()
        return 2
    except SchemaError as exc:
        print(f"error: {exc}")
        return 1
    except SQLAlchemyError as exc:
        print(f"error: {database_error(exc)}")
        return 1
    verb = "would delete" if result.dry_run else "deleted"
    print(
        f"{result.expired} expired: {verb} {len(result.deleted)}, "
        f"missing {len(result.missing)}, failed {len(result.failed)}"
    )
    return 1 if result.failed else 0
