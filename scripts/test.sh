#!/usr/bin/env bash
# The whole test suite. Database tests skip when a server is down, unless ETL_REQUIRE_SERVICES=1 (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -q "$@"
