"""Scan throughput: every market detector over one simulated day of ~10 million order
events on DuckDB, with time and peak memory; in the same run, a plain pandas
implementation of the wash-trade and spoofing detectors as the baseline.

    .venv/bin/python bench/scan.py [--scale full] [--market call|continuous] [--keep DIR]
    .venv/bin/python bench/scan.py --days 20 [--scale small]

With --days, the cost of a day's scan beside its history: the last of N simulated days
scanned in a store holding all N, against the same day in a store holding it alone
with the reference data and announcements (and a day with no reports, in the large
store); the two must raise the same alerts.

Each measurement runs in its own process, so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from suptech.simulate.market import MARKETS

#: Prepended to each child's code: its own peak memory. VmHWM belongs to the process's
#: own memory map; ru_maxrss would carry over the parent's peak across fork and exec.
PEAK = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

#: Every detector of one domain (argv[3]) over a store (argv[1]), scored on labels (argv[2]).
SCAN = PEAK + """
import json, sys, time
import polars as pl
from suptech.store.database import open_store
from suptech.detect.base import REGISTRY
from suptech.detect.evaluate import score
from suptech.detect.run import run
store = open_store(sys.argv[1])
t = time.perf_counter()
alerts = run(store, [c() for c in REGISTRY.detectors.values() if c.domain == sys.argv[3]])
seconds = time.perf_counter() - t
store.close()
quality = [(s.typology, s.cases, s.found, s.alerts, s.true_alerts)
           for s in score(pl.read_csv(sys.argv[2]), alerts)]
print(json.dumps({"seconds": seconds, "alerts": alerts.height, "quality": quality,
                  "peak_mb": peak_mb()}))
"""

PANDAS = PEAK + """
import json, sys, time
import pandas as pd
d = sys.argv[1]
t0 = time.perf_counter()
ev = pd.concat(pd.read_parquet(p) for p in sorted(__import__("glob").glob(d + "/order_event-*.parquet")))
tr = pd.concat(pd.read_parquet(p) for p in sorted(__import__("glob").glob(d + "/trade-*.parquet")))
acct = pd.read_parquet(d + "/account.parquet")
party = pd.read_parquet(d + "/party.parquet")
inst = pd.read_parquet(d + "/instrument.parquet")
load = time.perf_counter() - t0
t = time.perf_counter()
# Wash trades: buyer and seller of one owner or group, orders entered within 2 s, twice a day.
acct = acct.merge(party[["party_id", "group_id"]], left_on="owner_party_id", right_on="party_id", how="left")
acct["group_key"] = acct["group_id"].fillna(acct["owner_party_id"])
key = acct.set_index("account_id")["group_key"]
tr["bg"], tr["sg"] = tr["buy_account_id"].map(key), tr["sell_account_id"].map(key)
rel = tr[tr["bg"] == tr["sg"]]
new = ev[ev["event_type"] == "NEW"].set_index("order_id")["ts_event"]
rel = rel.assign(gap=(rel["buy_order_id"].map(new) - rel["sell_order_id"].map(new)).abs())
rel = rel[rel["gap"] <= 2_000_000_000]
rel = rel.assign(day=(rel["ts_event"] + 8 * 3600 * 10**9) // (86400 * 10**9))
wash = rel.groupby(["bg", "isin", "day"]).size()
wash = wash[wash >= 2]
# Spoofing: orders of 25+ lots cancelled within 60 s while the account traded the other way.
lots = inst.set_index("isin")["lot_size"]
o = ev[ev["event_type"] == "NEW"][["order_id", "account_id", "isin", "side", "quantity", "ts_event", "time_in_force"]]
o = o[(o["quantity"] / o["isin"].map(lots) >= 25) & (o["time_in_force"] != "IOC")]
c = ev[ev["event_type"] == "CANCEL"][["order_id", "ts_event"]].rename(columns={"ts_event": "ts_cancel"})
q = o.merge(c, on="order_id")
q = q[q["ts_cancel"] - q["ts_event"] <= 60_000_000_000].sort_values("ts_event")
x = pd.concat([tr[["ts_event", "isin", "buy_account_id"]].rename(columns={"buy_account_id": "account_id"}).assign(xside="BUY"),
               tr[["ts_event", "isin", "sell_account_id"]].rename(columns={"sell_account_id": "account_id"}).assign(xside="SELL")])
x = x.rename(columns={"ts_event": "ts_x"}).sort_values("ts_x")
q["xside"] = q["side"].map({"BUY": "SELL", "SELL": "BUY"})
m = pd.merge_asof(q, x, left_on="ts_event", right_on="ts_x", by=["account_id", "isin", "xside"], direction="forward")
spoof = m[m["ts_x"] <= m["ts_cancel"]]
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "load_seconds": load, "wash_cases": int(len(wash)),
                  "spoof_orders": int(len(spoof)),
                  "peak_mb": peak_mb()}))
"""


#: Every market detector over [argv[2], argv[3]) of a store (argv[1]), three times.
RANGE = PEAK + """
import json, statistics, sys, time
from suptech.store.database import open_store
from suptech.detect.base import REGISTRY
from suptech.detect.run import run
store = open_store(sys.argv[1])
detectors = [c() for c in REGISTRY.detectors.values() if c.domain == "market"]
times = []
for _ in range(3):
    t = time.perf_counter()
    alerts = run(store, detectors, int(sys.argv[2]), int(sys.argv[3]))
    times.append(time.perf_counter() - t)
print(json.dumps({"seconds": statistics.median(times), "ids": sorted(alerts["alert_id"]),
                  "peak_mb": peak_mb()}))
"""


def child(code: str, *args: str, timeout: float | None = None) -> dict:
    """The last JSON line `code` printed; after `timeout` seconds, the last it had printed
    then, with "timed_out"."""
    t = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, check=True, timeout=timeout)
        printed, timed_out = done.stdout, False
    except subprocess.TimeoutExpired as e:
        printed, timed_out = e.stdout or "", True
        if isinstance(printed, bytes):
            printed = printed.decode()
    lines = printed.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    result["timed_out"] = timed_out
    result["wall"] = time.perf_counter() - t
    return result


def ingest_dir(sim: Path, db: Path) -> None:
    """Every report file of a simulation into a fresh store, timed."""
    from suptech.ingest.pipeline import ingest_files
    from suptech.store.database import open_store

    t = time.perf_counter()
    store = open_store(db)
    ingest_files(store, sorted(sim.glob("*.parquet")))
    store.close()
    print(f"ingested in {time.perf_counter() - t:.0f} s")


def scan_and_score(db: Path, labels: Path, domain: str, what: str) -> None:
    """Every detector of `domain` in a child process: time, peak memory, quality."""
    scan = child(SCAN, str(db), str(labels), domain)
    print(f"suptech, {what} on DuckDB: {scan['seconds']:.1f} s, peak memory "
          f"{scan['peak_mb']:,.0f} MB, {scan['alerts']} alerts")
    for typology, cases, found, alerts, true in scan["quality"]:
        print(f"  {typology:26s} cases {cases:4d} found {found:4d} alerts {alerts:4d} "
              f"true {true:4d}")


def history(work: Path, days: int, scale: str, seed: int, market: str) -> None:
    """The last of `days` days scanned beside its history and alone (module docstring)."""
    from datetime import datetime, timedelta, timezone

    from suptech.ingest.pipeline import ingest_files
    from suptech.simulate.market_run import simulate_market
    from suptech.store.database import open_store

    sim = work / "sim"
    if not (sim / "labels.csv").exists():
        t = time.perf_counter()
        result = simulate_market(sim, seed=seed, days=days, scale=scale, market=market)
        print(f"simulated {days} days: {result.order_events:,} order events, "
              f"{result.trades:,} trades in {time.perf_counter() - t:.0f} s")
    dated = sorted({p.stem[-10:] for p in sim.glob("order_event-*.parquet")})
    last = dated[-1]
    reference = [p for p in sim.glob("*.parquet")
                 if not re.search(r"-\d{4}-\d{2}-\d{2}$", p.stem)]
    # Announcements are the insider-dealing rule's context, of the days before too.
    alone = set(reference + list(sim.glob("announcement-*.parquet"))
                + list(sim.glob(f"*-{last}.parquet")))
    stores = {"all": sorted(sim.glob("*.parquet")), "alone": sorted(alone)}
    for name, files in stores.items():
        db = work / f"db-{name}"
        if not (db / "suptech.duckdb").exists():
            t = time.perf_counter()
            store = open_store(db)
            ingest_files(store, files)
            store.close()
            print(f"store '{name}': {len(files)} files ingested in "
                  f"{time.perf_counter() - t:.0f} s")
    tz = timezone(timedelta(hours=8))  # the simulated venues' local day
    start = int(datetime.fromisoformat(last).replace(tzinfo=tz).timestamp()) * 10**9
    day = 86_400 * 10**9
    both = {name: child(RANGE, str(work / f"db-{name}"), str(start), str(start + day))
            for name in stores}
    empty = child(RANGE, str(work / "db-all"), str(start + day), str(start + 2 * day))
    print(f"the last day ({last}) of {len(dated)}, every market detector, median of 3:")
    print(f"  store holding that day alone: {both['alone']['seconds']:.2f} s, "
          f"{len(both['alone']['ids'])} alerts")
    print(f"  store holding all {len(dated)} days: {both['all']['seconds']:.2f} s, "
          f"{len(both['all']['ids'])} alerts "
          f"({both['all']['seconds'] / both['alone']['seconds']:.2f} times)")
    print(f"  a day with no reports, in the large store: {empty['seconds']:.2f} s")
    print(f"  same alerts: {both['all']['ids'] == both['alone']['ids']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="full", choices=["small", "medium", "full"])
    parser.add_argument("--keep", type=Path, help="Keep (or reuse) the simulated day here.")
    parser.add_argument("--seed", type=int, default=9,
                        help="Simulator seed (the detectors were tuned on 1-3, 7 and 8).")
    parser.add_argument("--market", default="call", choices=list(MARKETS),
                        help="Kind of market simulated (suptech.simulate.market.MARKETS).")
    parser.add_argument("--days", type=int, help="Scan the last of this many days beside "
                                                  "its history (module docstring).")
    args = parser.parse_args()
    if args.days:
        work = args.keep or Path(tempfile.mkdtemp(prefix="suptech-scan-history-"))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        try:
            history(work, args.days, args.scale, args.seed, args.market)
        finally:
            if args.keep is None:
                shutil.rmtree(work, ignore_errors=True)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="suptech-scan-bench-"))
    sim, db = work / "sim", work / "db"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    try:
        if not (db / "suptech.duckdb").exists():
            from suptech.simulate.market_run import simulate_market

            t = time.perf_counter()
            result = simulate_market(sim, seed=args.seed, days=1, scale=args.scale,
                                     market=args.market)
            print(f"simulated {result.order_events:,} order events, {result.trades:,} trades "
                  f"in {time.perf_counter() - t:.0f} s")
            ingest_dir(sim, db)
        scan_and_score(db, sim / "labels.csv", "market", "every market detector")
        base = child(PANDAS, str(sim))
        print(f"pandas baseline, wash trade + spoofing only: {base['seconds']:.1f} s "
              f"(plus {base['load_seconds']:.1f} s reading the files), peak memory "
              f"{base['peak_mb']:,.0f} MB; {base['wash_cases']} wash cases, "
              f"{base['spoof_orders']} spoofing orders")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
