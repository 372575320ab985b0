#!/usr/bin/env bash
# The whole test suite, after installing what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Tests are spread over the workers by module, so that a module's costly fixtures (a
# simulated day, a browser, a Spark session) are made once, on one worker. xdist hands
# out the modules with the most tests first; the longest first (Spark's) was not
# faster here (BENCHMARKS.md, "The test suite's time").
exec .venv/bin/python -m pytest -n 2 --dist loadscope "$@"
