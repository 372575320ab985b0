#!/usr/bin/env bash
# The whole test suite, after installing what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Tests are spread over the workers by module, so that a module's costly fixtures (a
# simulated day, a browser, a Spark session) are made once, on one worker; in the order
# tests/conftest.py puts them (the longest first), not xdist's (the most tests first).
exec .venv/bin/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder "$@"
