"""The `hotline` command: one entry point whose sub-commands live with their concepts.

Each module in COMMANDS has `register(subparsers) -> None`, which adds its sub-command
and sets `func(args) -> int` on it. Imports are lazy so `hotline --help` stays fast and a
missing optional dependency only affects its own sub-command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

COMMANDS: tuple[str, ...] = (
    "ari_app.config.cli",
    "ari_app.config.site_calendar",
    "ari_app.agi.cli",
    "ari_app.records.cli",
    "ari_app.records.workorder_cli",
    "ari_app.records.callback_cli",  # after workorder_cli: adds `report callbacks`
    "ari_app.records.qa_cli",  # after workorder_cli: adds `report qa` to its `report`
    "recordings.cli",
    "kpi.cli",
    "pbxsim.cli",
    "ari_app.shell.run",
    "ari_app.shell.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__)
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMANDS:
        module = importlib.import_module(module_name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
