"""A fresh PostgreSQL database for a test run: on the server these machines run
(127.0.0.1:5432, trust), else on a throwaway cluster made with initdb and pg_ctl."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _program(name: str) -> str | None:
    """On PATH, or where Debian's postgresql packages put it."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def _reachable(host: str, port: int, user: str) -> bool:
    try:
        psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                        connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@contextmanager
def _throwaway_cluster():
    initdb, pg_ctl = _program("initdb"), _program("pg_ctl")
    if not (initdb and pg_ctl):
        import pytest
        pytest.skip("no PostgreSQL server and no initdb/pg_ctl to start one")
    root = Path(tempfile.mkdtemp(prefix="suptech-pg-"))
    port = _free_port()
    user = "suptech"
    run_as = {} if os.geteuid() != 0 else {"user": "postgres"}  # initdb refuses root
    if run_as:
        shutil.chown(root, "postgres")
    subprocess.run([initdb, "-D", str(root / "data"), "-U", user, "-A", "trust"],
                   check=True, capture_output=True, **run_as)
    subprocess.run([pg_ctl, "-D", str(root / "data"), "-o", f"-p {port} -k {root}",
                    "-l", str(root / "log"), "-w", "start"], check=True, capture_output=True,
                   **run_as)
    try:
        yield "127.0.0.1", port, user
    finally:
        subprocess.run([pg_ctl, "-D", str(root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, **run_as)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def fresh_database():
    """Yields a postgresql:// URL of a database made for this run, dropped after it."""
    host, port, user = "127.0.0.1", 5432, os.environ.get("PGUSER", "postgres")
    with (_nothing((host, port, user)) if _reachable(host, port, user)
          else _throwaway_cluster()) as (host, port, user):
        name = f"suptech_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                             autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql://{user}@{host}:{port}/{name}"
        finally:
            with psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                                 autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _nothing(value):
    yield value
