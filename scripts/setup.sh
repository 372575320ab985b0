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
# Privacy libraries whose pins conflict with the main environment's get environments of
# their own, which suptech.federation runs as workers (Parquet in, Parquet out): made
# once, remade when the packages asked for change.
worker_env() {  # folder, what it is for, packages
  if [ "$(cat "$1/.installed" 2>/dev/null)" != "$3" ]; then
    echo "setup: installing the $2 worker's environment ($1)" >&2
    "$PY" -m venv "$1"
    # shellcheck disable=SC2086
    "$1/bin/python" -m pip install -q $3
    echo "$3" > "$1/.installed"
  fi
}
# Record linkage's (clkhash, anonlink) pin cryptography below what pacs008 needs.
worker_env .venv-linkage record-linkage "clkhash==0.18.3 anonlink==0.15.3 pyarrow"
# TNO's secure risk propagation pins its own libraries, and needs utils' "communication"
# extra at a release below the newest.
worker_env .venv-tno risk-propagation "tno.mpc.protocols.risk_propagation==2.3.4 \
tno.mpc.protocols.distributed_keygen==4.3.0 tno.mpc.communication[tls]==4.12.0 \
tno.mpc.encryption_schemes.utils[gmpy,communication]==0.15.0 pyarrow"
