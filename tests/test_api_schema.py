"""Schemathesis against the server's own OpenAPI schema: generated requests, valid and
not, to every operation of a real server process; no answer may be a server error (5xx)
or differ from what the schema promises."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import schemathesis
from builders import BANK, reference_data
from hypothesis import HealthCheck, given, settings
from pg import fresh_database

from suptech.ingest.pipeline import ingest_files
from suptech.ops import access
from suptech.ops.db import connect
from suptech.store.database import open_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, url: str | None, port: int,
                 extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """`suptech serve` in its own process, once it answers; `url` None: SQLite; `extra`:
    more of its options."""
    log = open(data.parent / "server.log", "wb")  # a file: a full pipe would block it
    server = subprocess.Popen(
        [sys.executable, "-m", "suptech.cli", "serve", "--port", str(port), "--data-dir", str(data)]
        + (["--database-url", url] if url else []) + list(extra), stdout=log, stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return server
        except httpx.TransportError:
            if server.poll() is not None:
                raise RuntimeError("server exited: "
                                   + (data.parent / "server.log").read_text()[-2000:])
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start within 60 s")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("api") / "data"
    store = open_store(data)
    ingest_files(store, reference_data(data.parent))
    store.close()
    with fresh_database() as url:
        ops = connect(data, url)
        with ops.begin() as con:
            tokens = {role: access.add_user(con, "test", role, role, "CN-SH",
                                            BANK if role == "submitter" else None)
                      for role in access.ROLES}
        ops.dispose()
        port = free_port()
        server = start_server(data, url, port)
        try:
            yield f"http://127.0.0.1:{port}", tokens
        finally:
            server.terminate()
            server.wait(timeout=30)


def role_for(path: str, method: str) -> str:
    """The role whose requests get past the role check, so that handlers are exercised."""
    if path.startswith("/v1/submissions") and method == "POST":
        return "submitter"
    if path in ("/v1/users", "/v1/audit/verify"):
        return "admin"
    return "analyst"


def test_no_server_error_and_no_schema_violation(served):
    base, tokens = served
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        token = tokens[role_for(operation.path, operation.method.upper())]

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=base,
                                   headers={"Authorization": f"Bearer {token}"})

        check()
