"""`hotline db upgrade` and `hotline db current`: the schema, from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ari_app.config.settings import ConfigError, DatabaseSettings, load_config
from ari_app.records import schema


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="the records database: apply migrations, show revision")
    dsub = parser.add_subparsers(dest="db_command", required=True)
    for name, func, text in (
        ("upgrade", _upgrade, "apply the packaged migrations up to the code's head"),
        ("current", _current, "show the database's revision and whether the engine can use it"),
    ):
        p = dsub.add_parser(name, help=text)
        where = p.add_mutually_exclusive_group()
        where.add_argument("--config", type=Path, help="engine config file ([database] url)")
        where.add_argument("--url", help="database URL (sqlite:///FILE or postgresql://...)")
        p.set_defaults(func=func)


def _url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url)
    if args.config:
        return load_config(args.config).database.url
    return DatabaseSettings().url


def _upgrade(args: argparse.Namespace) -> int:
    try:
        engine = schema.make_engine(_url(args))
        before = schema.current_revision(engine)
        head = schema.head_revision()
        if before != head and sys.stderr.isatty():
            # Alembic reports no progress inside a migration: say what runs, not a fake bar
            print(f"{schema.safe_url(engine)}: migrating {before or 'empty'} -> {head}; on a "
                  "big database this can take minutes…", file=sys.stderr, flush=True)
        schema.upgrade(engine)
        after = schema.current_revision(engine)
    except ConfigError as exc:
        exc.print_errors()
        return 1
    except SQLAlchemyError as exc:
        print(f"error: {schema.database_error(exc)}")
        return 1
    print(f"{schema.safe_url(engine)}: {before or 'empty'} -> {after}")
    return 0


def _current(args: argparse.Namespace) -> int:
    try:
        engine = schema.make_engine(_url(args))
        current = schema.current_revision(engine)
    except ConfigError as exc:
        exc.print_errors()
        return 1
    except SQLAlchemyError as exc:
        print(f"error: {schema.database_error(exc)}")
        return 1
    head = schema.head_revision()
    problem = schema.schema_problem(current, head, schema.known_revisions())
    print(f"{schema.safe_url(engine)}: revision {current or 'none'} (code head {head})")
    if problem:
        print(f"error: {problem}")
        return 1
    return 0
