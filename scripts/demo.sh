#!/usr/bin/env bash
# The main job: simulate a small market day and a payment network, ingest them, scan
# with every detector, and serve the dashboard with demo users (their tokens are
# printed). `bash scripts/demo.sh --no-serve` prints the summary and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/suptech demo "$@"
