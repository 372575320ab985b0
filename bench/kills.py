"""SIGKILL of the writer at random moments under a mixed load: in each round a CLI
ingest (run in the server that holds the directory) and an API batch, both of 10,000
payments, and the server killed between a tenth of a batch's time (alone) and
`--latest` times it (default 2.5: the two batches share the machine), then started
again. At the end, and every 10 rounds: every acknowledged file is stored
whole, once; no batch is stored in part; no temporary file is left, nor a version file
the store does not list (batches of 10,000 are small files: every 64 are merged).

    .venv/bin/python bench/kills.py [--rounds 50] [--seed 1] [--latest 2.5]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
from api import LEI, payment, start, workplace

N = 10_000


def payments(prefix: str) -> list[dict]:
    return [payment(prefix, i) for i in range(N)]


def check(data, acknowledged: list[str], killed: list[str]) -> int:
    """The invariants, read with the server down (opening removes a killed commit's
    files); the merged version files listed."""
    import pyarrow.compute as pc

    from suptech.store.database import open_store
    from suptech.store.engines import SCHEMA_FILE

    store = open_store(data)
    try:
        stored = store.query("payment")
        prefix = pc.utf8_slice_codeunits(stored["report_id"], 0, 4)
        count = Counter(dict(zip(*[c.to_pylist() for c in pc.value_counts(prefix).flatten()])))
        lost = [p for p in acknowledged if count[p] != N]
        partial = [p for p in killed if count[p] not in (0, N)]
        left = [p for p in (data / "versions").rglob("*") if p.name.startswith(".")]
        # Nor any version file the store does not list (a killed commit's, or small
        # files a killed merge had merged): opening it removed them.
        for folder in (data / "versions").iterdir():
            listed = {f for f, _ in store.engine.listing.files(folder.name)} | {SCHEMA_FILE}
            left += [p for p in folder.iterdir() if p.name not in listed]
        assert not lost and not partial and not left, (lost, partial, left)
        return sum(f.startswith("merged-") for f, _ in store.engine.listing.files("payment"))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latest", type=float, default=2.5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work, url, drop = workplace("suptech-kills-")
    data = work / "data"
    from suptech.ops import access
    from suptech.ops.db import connect

    ops = connect(data, url)
    with ops.begin() as con:
        token = access.add_user(con, "bench", "bank", "submitter", "CN-SH", LEI)
    ops.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged, killed, cut_off = [], [], 0
    server, base = start(data, url)
    t = time.monotonic()
    first = httpx.post(f"{base}/v1/submissions/payment", json={"records": payments("W000")},
                       headers=headers, timeout=120)
    assert first.status_code == 200 and first.json()["accepted"] == N, first.text[:500]
    took = time.monotonic() - t
    acknowledged.append("W000")
    try:
        for k in range(args.rounds):
            api, cli_prefix = f"A{k:03d}", f"C{k:03d}"
            path = work / f"payment-{cli_prefix}.jsonl"
            path.write_text("\n".join(json.dumps(r) for r in payments(cli_prefix)))
            cli = subprocess.Popen([sys.executable, "-m", "suptech.cli", "ingest", str(path),
                                    "--data-dir", str(data)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            said = cli.stderr.readline()  # once it has sent itself to the server
            assert "runs there" in said, said
            answer: dict = {}

            def send(prefix=api, answer=answer) -> None:
                try:
                    answer["r"] = httpx.post(f"{base}/v1/submissions/payment", timeout=120,
                                             json={"records": payments(prefix)}, headers=headers)
                except httpx.TransportError:
                    pass

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(rng.uniform(0.1, args.latest) * took)
            server.kill()
            server.wait()
            sender.join()
            ok = "r" in answer and answer["r"].status_code == 200
            (acknowledged if ok else killed).append(api)
            _, err = cli.communicate(timeout=300)
            assert cli.returncode == 0, err
            acknowledged.append(cli_prefix)
            cut_off += "runs here" in err
            if (k + 1) % 10 == 0 or k + 1 == args.rounds:
                merged = check(data, acknowledged, killed)
                print(f"{k + 1} kills: {len(killed)} API batches and {cut_off} CLI files "
                      f"cut off; nothing acknowledged lost, nothing partial, no file left "
                      f"({merged} merged files listed)", flush=True)
            server, base = start(data, url)
    finally:
        server.kill()
        server.wait()
        drop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
