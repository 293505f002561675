#!/usr/bin/env bash
# The run command: installs PortGuard into a virtual environment (.venv) if needed, then starts
# `portguard demo` on the embedded defaults. Extra arguments go to `portguard demo`
# (e.g. --port 8001 --data-dir /tmp/pg2).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PORTGUARD_VENV:-$PWD/.venv}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/portguard" ] || [ pyproject.toml -nt "$VENV/bin/portguard" ]; then
  echo "installing PortGuard into $VENV (first run only)..." >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e .
  touch "$VENV/bin/portguard"
fi
exec "$VENV/bin/portguard" demo "$@"
