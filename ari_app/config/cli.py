"""`hotline config check FILE` and `hotline hash-secret`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ari_app.config.settings import ConfigError, load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("config", help="check an engine configuration file")
    csub = parser.add_subparsers(dest="config_command", required=True)
    check = csub.add_parser("check", help="validate FILE and report every error with its key")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_check)
    hs = sub.add_parser(
        "hash-secret", help="hash a PIN or password (read from stdin) for the config"
    )
    hs.set_defaults(func=_hash_secret)


def _check(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        exc.print_errors()
        print(f"{args.file}: {len(exc.errors)} error(s)")
        return 1
    print(
        f"{args.file}: ok ({len(cfg.queues)} queue(s), {len(cfg.agents)} agent(s), "
        f"{len(cfg.users)} user(s))"
    )
    return 0


def _hash_secret(args: argparse.Namespace) -> int:
    import getpass
    import sys

    from ari_app.domain.passwords import hash_secret

    secret = (
        getpass.getpass("secret: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    if not secret:
        print("error: empty secret")
        return 1
    print(hash_secret(secret))
    return 0
