"""One writer per data directory, whatever starts first: the CLI's commands work the same
on a directory that `suptech serve` is serving (they run in the server, which sees what
they store), and a second command on a directory nobody serves waits for the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from builders import ISIN_A, reference_data, write_csv
from test_api_schema import free_port, start_server
from test_wash_trade import A3, cross

from suptech.ops import access
from suptech.ops.db import connect
from suptech.store import writer


def suptech(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "suptech.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def wash_files(directory: Path) -> list[Path]:
    """Reference data, and the orders and trades of a wash between A1 and A3 (P1's)."""
    directory.mkdir(parents=True, exist_ok=True)
    crosses = [cross(1, 0, 0.5), cross(2, 5, 0.5)]
    return reference_data(directory, [A3]) + [
        write_csv(directory, "order_event.csv", [e for es, _ in crosses for e in es]),
        write_csv(directory, "trade.csv", [t for _, t in crosses])]


def test_the_cli_works_on_a_directory_the_server_serves(tmp_path):
    data = tmp_path / "data"
    ops = connect(data)
    with ops.begin() as con:
        token = access.add_user(con, "test", "ana", "analyst", "CN-SH")
    ops.dispose()
    port = free_port()
    server = start_server(data, None, port)
    alerts = f"http://127.0.0.1:{port}/v1/alerts"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        # Read once before: the list the server keeps must give way to what arrives.
        assert httpx.get(alerts, headers=headers, timeout=30).json() == []
        published = json.loads((data / writer.WRITER_FILE).read_text())
        assert published["pid"] == server.pid
        assert (data / writer.WRITER_FILE).stat().st_mode & 0o077 == 0  # the secret
        files = wash_files(tmp_path / "files")
        # Relative paths are the client's: the server runs elsewhere.
        ingested = suptech("ingest", *(f"files/{f.name}" for f in files),
                           "--feedback", "feedback.csv", "--data-dir", "data", cwd=tmp_path)
        assert ingested.returncode == 0, ingested.stderr
        assert "Ingest summary" in ingested.stdout and "order_event.csv" in ingested.stdout
        assert (tmp_path / "feedback.csv").exists()

        assert httpx.get(alerts, headers=headers, timeout=30).json() == []  # not scanned
        scanned = suptech("scan", "--data-dir", "data", cwd=tmp_path)
        assert scanned.returncode == 0, scanned.stderr
        listed = suptech("alerts", "list", "--data-dir", "data", cwd=tmp_path)
        assert listed.returncode == 0 and "WASH_TRADE" in listed.stdout, listed.stderr
        queried = suptech("query", "trade", "--format", "csv", "--data-dir", "data",
                          cwd=tmp_path)
        assert queried.returncode == 0, queried.stderr
        assert queried.stdout.count(ISIN_A) == 2  # a header and two trades

        # A command's own errors come back as they would without the server.
        unknown = suptech("query", "nonsense", "--data-dir", "data", cwd=tmp_path)
        assert unknown.returncode == 2 and "unknown report type" in unknown.stderr

        seen = httpx.get(alerts, headers=headers, timeout=30)
        assert [a["typology"] for a in seen.json()] == ["WASH_TRADE"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not (data / writer.WRITER_FILE).exists()
    # Without the server, the same command opens the store itself.
    alone = suptech("alerts", "list", "--data-dir", "data", cwd=tmp_path)
    assert alone.returncode == 0 and "WASH_TRADE" in alone.stdout


def test_only_the_writer_secret_runs_a_command(tmp_path):
    """The command endpoint runs commands on the report database, for whoever can read
    writer.json (the directory's owner): not for a guess, nor on another directory."""
    from fastapi.testclient import TestClient

    from suptech.cli_remote import ENDPOINT, SECRET_HEADER
    from suptech.server.app import create_app

    data = tmp_path / "data"
    with TestClient(create_app(data, url="http://testserver")) as client:
        secret = json.loads((data / writer.WRITER_FILE).read_text())["secret"]
        argv = ["alerts", "list", "--data-dir", str(data), "--"]
        assert client.post(ENDPOINT, json={"argv": argv}).status_code == 403
        assert client.post(ENDPOINT, json={"argv": argv},
                           headers={SECRET_HEADER: "guess"}).status_code == 403
        ok = client.post(ENDPOINT, json={"argv": argv}, headers={SECRET_HEADER: secret})
        assert ok.status_code == 200 and ok.json()["code"] == 0
        for refused in (["serve", "--"], ["users", "add", "x", "--"],
                        ["alerts", "list", "--data-dir", str(tmp_path / "other"), "--"]):
            answer = client.post(ENDPOINT, json={"argv": refused},
                                 headers={SECRET_HEADER: secret})
            assert answer.status_code == 400, refused


def test_a_second_command_waits_for_the_first(tmp_path):
    """Nobody serves the directory and another process has the store open: a command
    waits for it to let go, saying so, instead of failing on the lock."""
    data = tmp_path / "data"
    writer.acquire(data, "duckdb").close()  # created
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from suptech.store.database import open_store; "
         f"s = open_store({str(data)!r}); print('open', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        waiting = subprocess.Popen(
            [sys.executable, "-m", "suptech.cli", "alerts", "list", "--data-dir", str(data)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        said = waiting.stderr.readline()
        assert f"waiting for PID {holder.pid}" in said
        assert waiting.poll() is None  # still waiting, not failed
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
    finally:
        holder.kill()


def test_beside_a_stream_consumer_the_cli_says_at_once_what_to_do(tmp_path):
    """`suptech stream` holds the store and has no address the CLI could send a command
    to: a command on its directory is refused at once, saying how to run both."""
    import uuid

    data = tmp_path / "data"
    consumer = subprocess.Popen(
        [sys.executable, "-m", "suptech.cli", "stream", "--data-dir", str(data),
         "--prefix", f"t{uuid.uuid4().hex[:8]}", "--no-detect"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "consuming" in consumer.stdout.readline()  # it holds the store now
        refused = suptech("alerts", "list", "--data-dir", "data", cwd=tmp_path)
        assert refused.returncode == 2
        assert f"suptech stream (PID {consumer.pid})" in refused.stderr
        assert "suptech serve --stream" in refused.stderr
    finally:
        consumer.terminate()
        consumer.wait(timeout=60)
    assert not (data / writer.WRITER_FILE).exists()
