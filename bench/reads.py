"""An analyst's alert list under load: GET /v1/alerts at a fixed rate (open loop, as in
`bench/api.py`), alone and while single-report POSTs arrive, against a server this bench
starts on a small simulated market day, ingested and scanned. Baseline in the same run
and at the same rate: GET /v1/me, which answers without touching the report database.

    .venv/bin/python bench/reads.py [--rate 200] [--post-rate 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path

from api import LEI, get, open_loop, payment, post, report, start, workplace


def populate(work: Path, data: Path, url: str | None) -> tuple[str, str]:
    """A tiny market day (seed 51), ingested and scanned; an analyst and a submitter."""
    from suptech.detect.scan import scan
    from suptech.ingest.pipeline import ingest_files
    from suptech.ops import access
    from suptech.ops.db import connect
    from suptech.simulate.market_run import simulate_market
    from suptech.store.database import open_store

    market = simulate_market(work / "market", seed=51, days=1, instruments=2, scale="tiny")
    store = open_store(data)
    ingest_files(store, [p for p in market.files if p.suffix == ".parquet"])
    found = scan(store).found
    store.close()
    ops = connect(data, url)
    with ops.begin() as con:
        analyst = access.add_user(con, "bench", "ana", "analyst", "CN-SH")
        bank = access.add_user(con, "bench", "bank", "submitter", "CN-SH", LEI)
    ops.dispose()
    print(f"{found} alerts stored")
    return analyst, bank


async def reads_beside_posts(base, analyst, bank, rate, post_rate, seconds):
    return await asyncio.gather(
        open_loop(base, analyst, rate, seconds, get("/v1/alerts")),
        open_loop(base, bank, post_rate, seconds, post(
            "/v1/submissions/payment", lambda k: {"records": [payment("P", k)]})))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--post-rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    work, url, drop = workplace("suptech-reads-bench-")
    data = work / "data"
    analyst, bank = populate(work, data, url)
    server, base = start(data, url)
    try:
        me = asyncio.run(open_loop(base, analyst, args.rate, args.seconds,
                                   get("/v1/me")))
        alone = asyncio.run(open_loop(base, analyst, args.rate, args.seconds,
                                      get("/v1/alerts")))
        both, posts = asyncio.run(reads_beside_posts(base, analyst, bank, args.rate,
                                                     args.post_rate, args.seconds))
        for name, rate, r in (("GET /v1/me (baseline)", args.rate, me),
                              ("GET /v1/alerts", args.rate, alone),
                              ("GET /v1/alerts beside the POSTs", args.rate, both),
                              ("POST one report beside the reads", args.post_rate, posts)):
            report(name, rate, r)
    finally:
        server.kill()
        server.wait()
        drop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
