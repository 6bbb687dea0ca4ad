#!/usr/bin/env bash
# `make run`: the server on embedded SQLite, after printing how to get a token.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
.venv/bin/python scripts/token_help.py
exec .venv/bin/etl serve
