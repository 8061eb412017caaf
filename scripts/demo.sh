#!/usr/bin/env bash
# The main job on the embedded default: the PBX simulator, agents of different habits,
# random callers, SQLite. Installs the project into .venv first. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/hotline demo "$@"
