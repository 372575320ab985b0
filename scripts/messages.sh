#!/usr/bin/env bash
# Extract the dashboard's words into the Chinese catalogue, keeping its translations
# (`suptech.i18n`); then fill in the entries left empty and run the i18n tests.
set -euo pipefail
cd "$(dirname "$0")/.."
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
# How words are marked: suptech.i18n.KEYWORDS (and _() in templates).
keywords=$(.venv/bin/python -c 'from suptech.i18n import KEYWORDS; print(" ".join("-k " + k for k in KEYWORDS))')
# shellcheck disable=SC2086
.venv/bin/pybabel extract -F babel.cfg --no-location --omit-header --sort-output \
  $keywords -o "$pot" . 2>&1 | grep -v "^extracting messages from\|^writing PO" || true
po=src/suptech/locale/zh/LC_MESSAGES/messages.po
if [ -f "$po" ]; then
  .venv/bin/pybabel update -i "$pot" -o "$po" -l zh -N --ignore-obsolete -w 100 2>/dev/null
else
  mkdir -p "$(dirname "$po")"
  .venv/bin/pybabel init -i "$pot" -o "$po" -l zh -w 100
fi
echo "$(grep -c '^msgid' "$po") messages in $po"
