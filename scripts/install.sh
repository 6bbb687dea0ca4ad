#!/usr/bin/env bash
# Create .venv, install etl-core (editable, with dev tools), write .env with fresh secrets when none exists.
# Re-running is cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "etl-core needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "installing etl-core into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[dev,ray]"
  touch "$STAMP"
fi
# pip compiles the dependencies' bytecode, not an editable package's: compile ours (changed files only), so
# that a process started with PYTHONDONTWRITEBYTECODE does not compile ~150 modules at every start (~0.1 s)
"$VENV/bin/python" -m compileall -q src >/dev/null
if [ ! -f .env ]; then
  "$VENV/bin/python" scripts/make_env.py .env
  echo "wrote .env with freshly generated secrets"
fi
