#!/usr/bin/env bash
# The project's test command: installs the project and its dev tools into .venv, starts
# PostgreSQL and Mosquitto where they are not running, then runs ruff, mypy --strict, the
# import layering contracts (lint-imports, pyproject.toml) and pytest (the scenario suites
# also with the simulator's asynchrony on). Extra arguments go to pytest (and skip the
# asynchrony runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
bash scripts/services.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
set +e
rc=0
if [ $# = 0 ]; then
  # The scenario suites with Asterisk's asynchrony on (created channels enter Stasis late,
  # REST answers before or after their events), two seeds; then everything as usual.
  for seed in 1 2; do
    echo "scenario suites with HOTLINE_SIM_TIMING seed=$seed"
    HOTLINE_SIM_TIMING="seed=$seed,stasis_delay=0.2,random=1,reorder=0.5" \
      .venv/bin/python -m pytest -q -p no:cacheprovider \
      tests/test_scenario_callflow.py tests/test_transfer_scenarios.py \
      tests/test_supervision_scenarios.py tests/test_feature_codes_scenarios.py \
      tests/test_records_callflow.py tests/test_control_api.py \
      tests/test_survey_scenarios.py tests/test_callback_scenarios.py || rc=1
  done
fi
.venv/bin/python -m pytest "$@"
last=$?
[ "$last" = 5 ] || [ "$rc" = 0 ] || last=1
set -e
if [ "$last" = 5 ]; then echo "pytest: no tests collected" >&2; exit 1; fi
exit "$last"
