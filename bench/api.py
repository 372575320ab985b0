"""The REST API under load, against a server this bench starts on 127.0.0.1.

1. Single-report POSTs at a fixed rate (default 200 a second, open loop: each request
   is sent on schedule whether or not earlier ones were answered, and its latency is
   counted from when it was due, so a server that falls behind shows it). Baseline in
   the same run and at the same rate: GET /v1/me, which authenticates and answers
   without touching the report database.
2. Batches of 10,000 payment reports, each encoded before its clock starts: one
   institution sending them one after another, then several (`--senders`, default 2)
   at once: reports a second. Baseline: the same batches ingested in-process by the
   pipeline the CLI uses, no HTTP.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 5] [--low-rate 10] [--batches 5]
                                  [--senders 2]

The single POSTs are also sent at a low rate (default 10 a second) that the server can
keep up with, which shows the time one submission takes when nothing queues.

The operational database is a fresh PostgreSQL database when one runs on
127.0.0.1:5432, else SQLite in the data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import orjson

LEI = "5493BANKA00000000079"


def payment(prefix: str, i: int) -> dict:
    return {"report_id": f"{prefix}-{i}", "action": "NEW", "submitter": LEI,
            "ts_event": "2026-03-02T09:30:00+08:00",
            "payment_id": str(uuid.UUID(int=(hash(prefix) % 2**60) * 2**40 + i, version=4)),
            "debtor_account_id": f"D{i % 5000}", "creditor_account_id": f"C{i % 7000}",
            "debtor_agent": "BKCHCNBJ", "creditor_agent": "ICBKCNBJ",
            "amount": f"{100 + i % 9000}.50", "currency": "CNY", "channel": "CIPS",
            "debtor_country": "CN", "creditor_country": "CN", "purpose": "SUPP"}


def postgres_database() -> tuple[str | None, callable]:
    try:
        import psycopg
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                             autocommit=True, connect_timeout=3) as con:
            name = f"suptech_bench_{uuid.uuid4().hex[:10]}"
            con.execute(f'CREATE DATABASE "{name}"')
    except Exception:  # noqa: BLE001 (no server: SQLite it is)
        return None, lambda: None

    def drop() -> None:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                             autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


def start(data: Path, url: str | None) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "suptech.cli", "serve", "--port", str(port),
           "--data-dir", str(data)] + (["--database-url", url] if url else [])
    log = open(data.parent / "server.log", "wb")
    server = subprocess.Popen(cmd, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def get(path: str):
    """A request for `open_loop`: GET `path`."""
    return lambda session, k: session.get(path)


def post(path: str, body):
    """A request for `open_loop`: POST `body(k)` as JSON to `path`."""
    return lambda session, k: session.post(path, json=body(k))


async def open_loop(base: str, token: str, rate: float, seconds: float, request) -> dict:
    """Send `request(session, k)` every 1/rate s; latency from when each was due.

    aiohttp, not httpx: httpx's connection pool is itself the bottleneck beyond a
    hundred requests a second on two cores (a one-line FastAPI endpoint measured 97 a
    second through it at 500 offered, 1,000 through aiohttp). The connections are opened
    before the clock starts, as a sender's would be, by a few GET /v1/me.
    """
    import aiohttp

    n = int(rate * seconds)
    latencies: list[float] = []
    failures = 0
    connections = 256
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(
            base, connector=connector, timeout=aiohttp.ClientTimeout(total=300),
            headers={"Authorization": f"Bearer {token}"}) as session:

        async def send(k: int, kind=request) -> int:
            async with kind(session, k) as r:
                await r.read()
                return r.status

        await asyncio.gather(*(send(0, get("/v1/me")) for _ in range(min(n, connections) // 4)))
        start = time.perf_counter()

        async def one(k: int) -> None:
            nonlocal failures
            due = start + k / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            status = await send(k)
            latencies.append(time.perf_counter() - due)
            if status != 200:
                failures += 1

        await asyncio.gather(*(one(k) for k in range(n)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"requests": n, "failures": failures, "achieved": (n - failures) / elapsed,
            "p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def workplace(prefix: str) -> tuple[Path, str | None, callable]:
    """A fresh directory and operational database for a bench, the machine printed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    url, drop = postgres_database()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; operational database: "
          f"{'PostgreSQL' if url else 'SQLite'}")
    return work, url, drop


def report(name: str, rate: float, r: dict) -> None:
    print(f"{name}: {r['requests']:,} requests due at {rate:.0f}/s, achieved "
          f"{r['achieved']:.0f}/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
          f"{r['failures']} failed")


def batches(base: str, token: str, count: int, size: int, senders: int) -> None:
    """`count` batches of `size` payments sent by `senders` institutions at once, each
    sending its next as soon as the last is answered; each batch encoded before the
    clock starts (a sender's own work, on its machine)."""
    bodies = [orjson.dumps({"records": [payment(f"B{senders}-{b}", i) for i in range(size)]})
              for b in range(count)]
    seconds: list[float] = []

    def send(mine: list[bytes]) -> None:
        with httpx.Client(base_url=base, timeout=300,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"}) as client:
            for body in mine:
                t = time.perf_counter()
                r = client.post("/v1/submissions/payment", content=body)
                seconds.append(time.perf_counter() - t)
                assert r.status_code == 200 and r.json()["accepted"] == size, r.text

    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, [bodies[k::senders] for k in range(senders)]))
    wall = time.perf_counter() - start
    print(f"POST {size:,}-report batches, {senders} sender(s) at once: {count * size / wall:,.0f} "
          f"reports/s over {count} batches; each answered in a median {np.median(seconds):.2f} s "
          f"(max {max(seconds):.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--low-rate", type=float, default=10)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=2,
                        help="institutions sending batches at once, after one alone")
    args = parser.parse_args()
    work, url, drop = workplace("suptech-api-bench-")
    data = work / "data"
    from suptech.ops import access
    from suptech.ops.db import connect

    ops = connect(data, url)
    with ops.begin() as con:
        token = access.add_user(con, "bench", "bank", "submitter", "CN-SH", LEI)
    ops.dispose()
    server, base = start(data, url)
    try:
        me = asyncio.run(open_loop(base, token, args.rate, args.seconds, get("/v1/me")))

        def one_payment(prefix: str):
            return post("/v1/submissions/payment", lambda k: {"records": [payment(prefix, k)]})
        low = asyncio.run(open_loop(base, token, args.low_rate, max(args.seconds, 10),
                                    one_payment("L")))
        single = asyncio.run(open_loop(base, token, args.rate, args.seconds,
                                       one_payment("S")))
        for name, rate, r in (("GET /v1/me (baseline)", args.rate, me),
                              ("POST one report", args.low_rate, low),
                              ("POST one report", args.rate, single)):
            report(name, rate, r)
        batches(base, token, args.batches, args.batch_size, 1)
        if args.senders > 1:
            batches(base, token, args.batches * args.senders, args.batch_size, args.senders)
    finally:
        server.kill()
        server.wait()
    # Baseline: the same batches through the pipeline in-process, no HTTP, no JSON.
    from suptech.ingest.pipeline import ingest_file
    from suptech.ingest.jsonl import jsonl_line
    from suptech.store.database import open_store

    store = open_store(work / "direct")
    seconds = []
    for b in range(args.batches):
        data_bytes = b"\n".join(jsonl_line(payment(f"B{b}", i)) for i in range(args.batch_size))
        t = time.perf_counter()
        result = ingest_file(store, Path("payment-direct.jsonl"), "payment", data=data_bytes)
        seconds.append(time.perf_counter() - t)
        assert result.summary.accepted == args.batch_size
    store.close()
    print(f"baseline, the same batches ingested in-process: median {np.median(seconds):.2f} s, "
          f"{args.batch_size / np.median(seconds):,.0f} reports/s")
    drop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
