#!/usr/bin/env bash
# A walkthrough of the report database: ingest the sample reports shipped in samples/, show what was accepted
# and rejected and why, apply a file of corrections, and ask the database what it knew
# before and after them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SUPTECH_DATA_DIR=${SUPTECH_DATA_DIR:-./suptech-data/demo}
rm -rf "$SUPTECH_DATA_DIR"
S=.venv/bin/suptech
echo "== 1. The day's reports: reference data, orders, trades, payments"
$S ingest samples/*.csv samples/*.jsonl --feedback suptech-data/demo-feedback.csv
echo
echo "== Feedback for the institutions (suptech-data/demo-feedback.csv)"
column -s, -t < suptech-data/demo-feedback.csv 2>/dev/null | cut -c1-160 || cat suptech-data/demo-feedback.csv
before=$(date -u +%Y-%m-%dT%H:%M:%S.%N+00:00)
sleep 0.01
echo
echo "== 2. Corrections: one CORR, one CANC, one CORR of an unknown report"
$S ingest samples/corrections/*.csv
echo
echo "== 3. Orders now, and as known before the corrections"
$S query order_event --format csv | cut -d, -f1,2,5,6,13,14 | column -s, -t
echo "-- as of $before"
$S query order_event --as-of "$before" --format csv | cut -d, -f1,2,5,6,13,14 | column -s, -t
