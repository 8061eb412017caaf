#!/usr/bin/env bash
# The project's test command: installs the project and its dev tools into .venv, starts
# PostgreSQL and Mosquitto where they are not running, then runs ruff, mypy --strict, the
# import layering contracts (lint-imports, pyproject.toml) and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
bash scripts/services.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest: no tests collected" >&2; exit 1; fi
exit "$rc"
