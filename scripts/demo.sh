#!/usr/bin/env bash
# The main job on the embedded default: the PBX simulator, agents of different habits,
# scripted then random callers, SQLite. Installs the project into .venv first (again only
# when pyproject.toml changed). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    echo "creating the virtual environment .venv (python3 -m venv)…"
    python3 -m venv .venv
fi
stamp=.venv/.hotline-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ ! -x .venv/bin/hotline ]; then
    echo "installing the project and its dependencies into .venv (first run: about a minute)…"
    .venv/bin/python -m pip install -qq --disable-pip-version-check -e .
    touch "$stamp"
fi
echo "starting the demo…"
exec .venv/bin/hotline demo "$@"
