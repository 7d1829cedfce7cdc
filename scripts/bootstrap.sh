#!/usr/bin/env bash
# Install what hybridcore-packer needs: Debian's packer (if none is on PATH) and
# a virtual environment in .venv with the package (and, with --test, its test tools).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v packer >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's packer" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq packer >/dev/null
  else
    echo "bootstrap: no packer on PATH and no apt-get: install Packer first" >&2
    exit 1
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
# An editable install keeps no byte code when PYTHONDONTWRITEBYTECODE is set: compile it once.
.venv/bin/python -m compileall -q src
