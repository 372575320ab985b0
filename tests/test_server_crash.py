"""Killing the server (SIGKILL) while it takes in a batch, over the API or from the CLI
(whose commands run in the server that holds the directory), loses no report it
acknowledged and leaves no part of the batch it was killed in."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import httpx
import pyarrow.compute as pc
from builders import BANK, record, write_csv
from pg import fresh_database
from test_api_schema import free_port, start_server

from suptech.ops import access
from suptech.ops.db import connect
from suptech.store.database import open_store


def batch(prefix: str, n: int) -> dict:
    return {"records": [record("payment", i, submitter=BANK, report_id=f"{prefix}-{i}",
                               payment_id=str(uuid.UUID(int=i + 1, version=4)))
                        for i in range(n)]}


# Large enough that a batch takes long enough to be killed in its middle.
N = 4_000


def check_store(data, acknowledged: list[str], killed: list[str]) -> None:
    store = open_store(data)  # opening removes files of commits that never finished
    try:
        submissions = store.submissions()
        payments = store.query("payment")
        for batch_id, accepted in zip(submissions["batch_id"].to_pylist(),
                                      submissions["accepted"].to_pylist()):
            stored = pc.sum(pc.equal(payments["batch_id"], batch_id)).as_py() or 0
            assert stored == accepted, f"batch {batch_id}: {stored} of {accepted} stored"
        ids = pc.utf8_slice_codeunits(payments["report_id"], 0, 3).value_counts().to_pylist()
        count = {c["values"]: c["counts"] for c in ids}
        for prefix in acknowledged:
            assert count.get(prefix) == N, prefix
        for prefix in killed:  # all of a killed batch, or none of it
            assert count.get(prefix, 0) in (0, N), (prefix, count.get(prefix))
        assert [p for p in (data / "versions").rglob("*") if p.name.startswith(".")] == []
    finally:
        store.close()


def cli_ingest(data, prefix: str, directory) -> subprocess.Popen:
    """`suptech ingest` of a file of N payments, once it has sent itself to the server."""
    path = write_csv(directory, f"payment-{prefix}.csv", batch(prefix, N)["records"])
    cli = subprocess.Popen([sys.executable, "-m", "suptech.cli", "ingest", str(path),
                            "--data-dir", str(data)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    assert "runs there" in cli.stderr.readline()
    return cli


def test_sigkill_during_a_batch_loses_nothing_acknowledged_and_keeps_no_part(tmp_path):
    data = tmp_path / "data"
    with fresh_database() as url:
        ops = connect(data, url)
        with ops.begin() as con:
            token = access.add_user(con, "test", "bank", "submitter", "CN-SH", BANK)
        ops.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        acknowledged, killed, cut_off = [], [], 0
        # A batch through each way, to learn how long one takes; then kill the server at
        # points from early in a batch (receiving, validating) to about when it would
        # answer (writing, committing), timed by the API's batch or the CLI's file, both
        # under way. Which phase each kill hits varies from run to run; the invariants
        # must hold whichever it is. A CLI command cut off with the server is run by the
        # CLI itself: it must end well, with all of its file stored once.
        port = free_port()
        server = start_server(data, url, port)
        base = f"http://127.0.0.1:{port}/v1/submissions/payment"
        t = time.monotonic()
        r = httpx.post(base, json=batch("A00", N), headers=headers, timeout=120)
        took = {"api": time.monotonic() - t}
        assert r.status_code == 200 and r.json()["accepted"] == N, r.text
        cli = cli_ingest(data, "B00", tmp_path)
        t = time.monotonic()
        assert cli.wait(timeout=120) == 0
        took["cli"] = time.monotonic() - t
        acknowledged += ["A00", "B00"]
        for k, (share, timed) in enumerate(
                ((0.3, "cli"), (0.9, "cli"), (0.3, "api"), (0.9, "api"), (1.05, "api"))):
            if server.poll() is not None:
                port = free_port()
                server = start_server(data, url, port)
                base = f"http://127.0.0.1:{port}/v1/submissions/payment"
            prefix = f"K{k:02d}"
            answer: dict = {}

            def send(prefix=prefix, base=base, answer=answer) -> None:
                try:
                    answer["r"] = httpx.post(base, json=batch(prefix, N), headers=headers,
                                             timeout=120)
                except httpx.TransportError as e:
                    answer["error"] = e

            cli = cli_ingest(data, f"C{k:02d}", tmp_path)
            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(took[timed] * share)
            server.kill()
            server.wait(timeout=30)
            sender.join(timeout=120)
            if "r" in answer and answer["r"].status_code == 200:
                acknowledged.append(prefix)  # it finished before the kill: must be kept
            else:
                killed.append(prefix)
            _, err = cli.communicate(timeout=120)
            assert cli.returncode == 0, err
            acknowledged.append(f"C{k:02d}")
            cut_off += "runs here" in err
            check_store(data, acknowledged, killed)
        assert killed, "every batch finished before its kill: nothing was tested"
        print(f"{len(killed)} API batches and {cut_off} CLI files cut off by a kill")
