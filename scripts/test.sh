#!/usr/bin/env bash
# The whole test suite, after installing what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Tests of one module that share a costly fixture stay on one worker (xdist_group).
exec .venv/bin/python -m pytest -n 2 --dist loadgroup "$@"
