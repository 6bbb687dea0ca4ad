#!/usr/bin/env bash
# `make run`: the server on embedded SQLite, after printing how to get a token.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
if ! .venv/bin/etl serve --help >/dev/null 2>&1; then
  # the server has not landed yet: run the example job instead and say so
  mkdir -p data/examples
  cp docs/examples/orders.csv data/examples/orders.csv
  echo "The API server is not part of this build yet; running the example job docs/examples/first_job.json instead."
  exec .venv/bin/etl run docs/examples/first_job.json
fi
.venv/bin/python scripts/token_help.py
exec .venv/bin/etl serve
