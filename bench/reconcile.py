"""Reconciliation's speed and what it finds: a simulated day (`--scale full`: about ten
million order events and 1.5 million trades) with breaks of every kind injected
(`suptech.simulate.breaks`, `--each` of each), sent to the platform at the times the
schedule says, then paired, matched and checked for time by `suptech.reconcile` on
DuckDB in a process of its own (time, peak memory, breaks scored on the labels; then
again with the data-quality indicators, kept in the store: `suptech reconcile`); in the
same run, the baseline: a pandas merge of the venue's trade sides with the members'
fills on (mic, trade id, side) and the same field comparisons, reading the same store.

    .venv/bin/python bench/reconcile.py [--scale full] [--seed 2601] [--each 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from scan import PEAK, child  # bench/scan.py: a child process's JSON and peak memory

RECONCILE = PEAK + """
import json, sys, time
from suptech.store.database import open_store
from suptech.reconcile.run import reconcile, record
store = open_store(sys.argv[1])
t = time.perf_counter()
found = reconcile(store)
seconds = time.perf_counter() - t
t = time.perf_counter()
_, quality = record(store)
kept = time.perf_counter() - t
store.close()
found.breaks.write_parquet(sys.argv[2])
print(json.dumps({"seconds": seconds, "recorded": kept, "indicators": quality.height,
                  "breaks": found.breaks.height,
                  "paired": int(found.pairing.filter(found.pairing["role"] == "VENUE")["paired"].sum()),
                  "peak_mb": peak_mb()}))
"""

#: The same pairing and matching as pandas merges, from the same store's current views.
PANDAS = PEAK + """
import json, sys, time
import pandas as pd
from suptech.store.database import open_store
store = open_store(sys.argv[1])
t = time.perf_counter()
ev = store.view("order_event").to_pyarrow().to_pandas()
tr = store.view("trade").to_pyarrow().to_pandas()
store.close()
load = time.perf_counter() - t
t = time.perf_counter()
f = ev[ev["event_type"].isin(["FILL", "PARTIAL_FILL"])]
f = f[["report_id", "mic", "trade_id", "side", "order_id", "account_id", "fill_price",
       "fill_quantity", "ts_event"]]
cols = ["report_id", "mic", "trade_id", "price", "quantity", "ts_event"]
buy = tr[cols + ["buy_order_id", "buy_account_id"]].rename(
    columns={"buy_order_id": "order_id", "buy_account_id": "account_id"}).assign(side="BUY")
sell = tr[cols + ["sell_order_id", "sell_account_id"]].rename(
    columns={"sell_order_id": "order_id", "sell_account_id": "account_id"}).assign(side="SELL")
v = pd.concat([buy, sell])
dup = f.duplicated(["mic", "trade_id", "side"])
p = v.merge(f[~dup], on=["mic", "trade_id", "side"], how="outer", suffixes=("_v", "_m"),
            indicator=True)
both = p[p["_merge"] == "both"]
price = (both["price"].astype(float) - both["fill_price"].astype(float)).abs() > 1e-9
qty = both["quantity"] != both["fill_quantity"]
ts = (both["ts_event_v"] - both["ts_event_m"]).abs() > 1_000_000_000
acct = both["account_id_v"] != both["account_id_m"]
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "load_seconds": load,
                  "unpaired_venue": int((p["_merge"] == "left_only").sum()),
                  "unpaired_member": int((p["_merge"] == "right_only").sum()),
                  "mismatches": int(price.sum() + qty.sum() + ts.sum() + acct.sum()),
                  "duplicates": int(dup.sum()), "peak_mb": peak_mb()}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="full")
    ap.add_argument("--seed", type=int, default=2601)
    ap.add_argument("--each", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="a folder to keep (and reuse) the day in")
    args = ap.parse_args()
    import polars as pl

    from suptech.ingest.pipeline import ingest_file
    from suptech.simulate.breaks import inject_breaks, score
    from suptech.simulate.market_run import simulate_market
    from suptech.store.database import open_store

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    try:
        sim, db = work / "sim", work / "db"
        if not (db / "suptech.duckdb").exists():
            t = time.perf_counter()
            made = simulate_market(sim, seed=args.seed, days=1, scale=args.scale)
            print(f"simulated: {made.order_events:,} order events, {made.trades:,} trades "
                  f"in {time.perf_counter() - t:.0f} s", flush=True)
            sent = inject_breaks(sorted(sim.glob("*.parquet")), work / "sent", seed=args.seed,
                                 each=args.each)
            sent.labels.write_csv(work / "break-labels.csv")
            t = time.perf_counter()
            store = open_store(db)
            for path, at in sent.schedule:
                ingest_file(store, path, now_ns=at)
            store.close()
            print(f"ingested {len(sent.schedule)} files in {time.perf_counter() - t:.0f} s",
                  flush=True)
        ours = child(RECONCILE, str(db), str(work / "breaks.parquet"))
        base = child(PANDAS, str(db))
        print(f"suptech.reconcile on DuckDB: {ours['seconds']:.1f} s, peak memory "
              f"{ours['peak_mb']:,.0f} MB; {ours['paired']:,} venue sides paired, "
              f"{ours['breaks']:,} breaks; again with the data-quality indicators "
              f"({ours['indicators']:,} rows), kept in the store: {ours['recorded']:.1f} s")
        print(f"pandas merge baseline: {base['seconds']:.1f} s (+ {base['load_seconds']:.1f} s "
              f"reading the store), peak memory {base['peak_mb']:,.0f} MB; unpaired "
              f"{base['unpaired_venue']} venue / {base['unpaired_member']} member, "
              f"{base['mismatches']} mismatches, {base['duplicates']} duplicates "
              "(no lateness, no pairing by order)")
        scores = score(pl.read_csv(work / "break-labels.csv"),
                       pl.read_parquet(work / "breaks.parquet"))
        print("breaks by kind (labels found, breaks true):")
        for r in scores.iter_rows(named=True):
            print(f"  {r['kind']:16} {r['found']}/{r['labels']} found, "
                  f"{r['true']}/{r['breaks']} true")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
