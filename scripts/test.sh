#!/usr/bin/env bash
# Runs every check CI runs: lint, types, layering, then the tests (widgets offscreen,
# GL views under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "== ruff"; $BIN/ruff check locgui tests scripts app packaging
echo "== mypy"; $BIN/mypy
echo "== import-linter"; $BIN/lint-imports
echo "== pytest (offscreen)"
QT_QPA_PLATFORM=offscreen $BIN/python -m pytest -m "not gl" "$@"
echo "== pytest (GL views under Xvfb)"
set +e
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" $BIN/python -m pytest -m gl "$@"
rc=$?
set -e
# exit code 5 = no GL tests collected (e.g. a filtered run): not a failure.
[ $rc -eq 5 ] && rc=0
exit $rc
