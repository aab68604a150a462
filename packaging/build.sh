#!/usr/bin/env bash
# Builds a self-contained locgui app folder, dist/locgui/ (run dist/locgui/locgui), with
# PyInstaller from the project's .venv, then checks that it runs without the venv: --version,
# and the demo scene generated from scratch, mapped, localized and saved as a screenshot under
# Xvfb. Prints the build time and the folder's size.
#   bash packaging/build.sh                        # needs bash scripts/install.sh first
#   LOCGUI_PYTHON=/path/to/venv/bin/python bash packaging/build.sh
#
# Why PyInstaller and not pyside6-deploy: pyside6-deploy drives Nuitka, which compiles the
# program and its Python dependencies to C (a long build, worse on 2 cores) and handles torch
# poorly; PyInstaller bundles the installed wheels as they are and has maintained hooks for
# torch, cv2, PySide6 and pyqtgraph (pyinstaller-hooks-contrib). onedir, not onefile: a onefile
# app would unpack about 2 GB to a temporary folder at every start.
# The spec (packaging/locgui.spec) says what is collected and what is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${LOCGUI_PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "error: $PY not found (run bash scripts/install.sh first)" >&2; exit 2; }

if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "== pip: installing PyInstaller (requirements-packaging.txt)"
  "$PY" -m pip install -q --disable-pip-version-check -r requirements-packaging.txt
fi

APP=dist/locgui
echo "== PyInstaller: building $APP (several minutes)"
rm -rf "$APP" build/pyinstaller
start=$(date +%s)
# PYTHONPATH: analyse this checkout's locgui even if the venv's editable install is elsewhere.
PYTHONPATH=$ROOT "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/locgui.spec
build_s=$(( $(date +%s) - start ))

echo "== checking the app outside the venv"
SMOKE=$(mktemp -d "${TMPDIR:-/tmp}/locgui-app-check.XXXXXX")
trap 'rm -rf "$SMOKE"' EXIT
# A bare environment: no venv on PATH, no PYTHONPATH, a fresh HOME (so the demo scene is
# generated and mapped from scratch in $SMOKE/home/.cache/locgui/demo).
mkdir -p "$SMOKE/home"
bare=(env -i PATH=/usr/bin:/bin HOME="$SMOKE/home" TMPDIR="$SMOKE" LANG=C.UTF-8)
version=$("${bare[@]}" "$APP/locgui" --version)
expected="locgui $(PYTHONPATH=$ROOT "$PY" -c 'import locgui; print(locgui.__version__)')"
echo "$version"
[ "$version" = "$expected" ] || { echo "error: the app says '$version', not '$expected'" >&2; exit 1; }

shot=$SMOKE/demo.png
demo_start=$(date +%s)
"${bare[@]}" xvfb-run -a -s "-screen 0 1600x1000x24" env QT_QPA_PLATFORM=xcb \
  "$APP/locgui" --demo --method sfm --screenshot "$shot"
demo_s=$(( $(date +%s) - demo_start ))
[ -s "$shot" ] || { echo "error: the app wrote no screenshot" >&2; exit 1; }
mkdir -p build
cp "$shot" build/app-demo.png

echo "== done"
echo "build time: ${build_s} s"
echo "demo run (generate + map + localize + screenshot): ${demo_s} s, build/app-demo.png"
echo "app folder: $(du -sh "$APP" | cut -f1)  $APP (run $APP/locgui)"
