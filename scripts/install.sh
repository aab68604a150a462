#!/usr/bin/env bash
# Installs locgui on a fresh Debian/Ubuntu machine: system libraries (apt, needs root or sudo),
# then a virtual environment in .venv with everything pinned. Re-running is cheap.
#   bash scripts/install.sh          # the app
#   bash scripts/install.sh --dev    # the app + test tools
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
APT_PACKAGES="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 \
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-shape0 \
  libdbus-1-3 libfontconfig1 libgl1 libegl1 libgl1-mesa-dri libusb-1.0-0 libvulkan1 \
  mesa-vulkan-drivers"
missing=$(dpkg-query -W -f='${Status} ${Package}\n' $APT_PACKAGES 2>/dev/null | grep -v "install ok installed" || true)
if [ -n "$missing" ] || ! dpkg-query -W $APT_PACKAGES >/dev/null 2>&1; then
  echo "== apt: installing system libraries"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== pip: installing pinned requirements"
REQS=(-r requirements.txt)
[ "${1:-}" = "--dev" ] && REQS+=(-r requirements-dev.txt)
.venv/bin/python -m pip install -q --disable-pip-version-check "${REQS[@]}"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
echo "== installed: $(.venv/bin/locgui --version)"
