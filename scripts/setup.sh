#!/usr/bin/env bash
# Installs what suptech needs on a fresh Debian machine, once: a Java runtime for Spark
# (Debian package) and the Python packages in ./.venv; with --test also what the tests
# drive: Debian's Chromium (for the dashboard's browser tests) and PostgreSQL's programs
# (where no server runs, the tests start a throwaway one). Safe to run again; it only
# reinstalls Python packages when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
if [ "${1:-}" = "--test" ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  # A Chinese font, so that the browser tests' screen shots of Chinese pages are legible.
  fc-list :lang=zh 2>/dev/null | grep -q . || need_apt+=(fonts-wqy-microhei)
  if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    need_apt+=(postgresql)
  fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=.venv/.suptech-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want" > "$stamp"
fi
# Record linkage's libraries (clkhash, anonlink) pin cryptography below what pacs008
# needs: they get an environment of their own, which suptech.federation.linkage runs as
# a worker (Parquet in, Parquet out).
linkage="clkhash==0.18.3 anonlink==0.15.3 pyarrow"
if [ "$(cat .venv-linkage/.installed 2>/dev/null)" != "$linkage" ]; then
  echo "setup: installing the record-linkage worker's environment (.venv-linkage)" >&2
  "$PY" -m venv .venv-linkage
  # shellcheck disable=SC2086
  .venv-linkage/bin/python -m pip install -q $linkage
  echo "$linkage" > .venv-linkage/.installed
fi
# TNO's secure risk propagation pins its own versions of its libraries (and needs
# utils' "communication" extra at a release below the newest): its own environment too,
# which suptech.federation.propagation runs as a worker.
tno="tno.mpc.protocols.risk_propagation==2.3.4 tno.mpc.protocols.distributed_keygen==4.3.0 tno.mpc.communication[tls]==4.12.0 tno.mpc.encryption_schemes.utils[gmpy,communication]==0.15.0 pyarrow"
if [ "$(cat .venv-tno/.installed 2>/dev/null)" != "$tno" ]; then
  echo "setup: installing the risk-propagation worker's environment (.venv-tno)" >&2
  "$PY" -m venv .venv-tno
  # shellcheck disable=SC2086
  .venv-tno/bin/python -m pip install -q $tno
  echo "$tno" > .venv-tno/.installed
fi
