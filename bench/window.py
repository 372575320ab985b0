"""Real-time detection in process: a stored day fed to the window, as a stream delivers it.

The day's order events and trades are fed to `suptech.detect.window.Window` in slices
of `--slice` seconds of trading (orders, then trades), with an advance after each and
a drained one at the end. Prints the time of adding and of advancing per slice (p50,
p99, max), the total against the day's trading time, and whether the alerts equal the
batch scan's. Baseline, the same run: the batch scan of the same data (all nine
detectors), which is what a stream that only rescanned would cost at the end of the day.

    .venv/bin/python bench/window.py --sim sim-medium [--slice 60] [--data DIR]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

from suptech.detect.run import run
from suptech.detect.window import EVENTS, REGISTER, Window, incremental
from suptech.ingest.pipeline import ingest_files
from suptech.store.database import fullest, open_store

SAME = ["alert_id", "account_ids", "isin", "window_start", "window_end", "score", "evidence"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", type=Path, required=True, help="simulator output to ingest")
    ap.add_argument("--data", type=Path, help="a data directory to ingest into, or reuse")
    ap.add_argument("--slice", type=float, default=60, help="seconds of trading a slice")
    args = ap.parse_args()
    data = args.data or args.sim.with_name(args.sim.name + "-data")
    if not (data / "suptech.duckdb").exists():
        store = open_store(data)
        ingest_files(store, sorted(args.sim.glob("*.parquet")))
        store.close()
    store = open_store(data)
    try:
        t = time.perf_counter()
        batch = run(store, incremental())
        scan_s = time.perf_counter() - t
        register = {n: pl.from_arrow(store.view(n).to_pyarrow()) for n in REGISTER}
        events = {n: pl.from_arrow(store.view(n).select(*EVENTS[n]).to_pyarrow())
                  .sort("ts_event") for n in EVENTS}
    finally:
        store.close()
    window = Window()
    window.register(register)
    start = min(int(f["ts_event"].min()) for f in events.values())
    end = max(int(f["ts_event"].max()) for f in events.values())
    step = int(args.slice * 1e9)
    adds, advances, found, traded = [], [], [], 0
    began = time.perf_counter()
    for at in range(start, end + step, step):
        t = time.perf_counter()
        parts = {n: f.filter(pl.col("ts_event").is_between(at, at + step, closed="left"))
                 for n, f in events.items()}
        if not any(p.height for p in parts.values()):
            continue
        traded += 1
        for name, part in parts.items():
            if part.height:
                window.add(name, part)
        t1 = time.perf_counter()
        found.append(window.advance())
        adds.append(t1 - t)
        advances.append(time.perf_counter() - t1)
    t = time.perf_counter()
    found.append(window.advance(drained=True))
    advances.append(time.perf_counter() - t)
    total = time.perf_counter() - began
    streamed = fullest(pl.concat(found))
    same = streamed.select(SAME).sort("alert_id").equals(batch.select(SAME).sort("alert_id"))
    a, d = np.array(adds) * 1e3, np.array(advances) * 1e3
    n_events = sum(f.height for f in events.values())
    print(f"machine: {platform.machine()}, {platform.python_version()}; {args.sim}: "
          f"{n_events:,} events; slices of {args.slice:g} s of trading: {traded}")
    print(f"  add:     p50 {np.percentile(a, 50):,.0f} ms, p99 {np.percentile(a, 99):,.0f} ms, "
          f"max {a.max():,.0f} ms")
    print(f"  advance: p50 {np.percentile(d, 50):,.0f} ms, p99 {np.percentile(d, 99):,.0f} ms, "
          f"max {d.max():,.0f} ms (the first compiles every query)")
    print(f"  the day in {total:,.1f} s for {traded * args.slice:,.0f} s of trading: "
          f"{traded * args.slice / total:,.1f}x the market's pace, "
          f"{n_events / total:,.0f} events/s; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    print(f"  alerts: {streamed.height} streamed, {batch.height} scanned, "
          f"{'equal' if same else 'DIFFERENT'}")
    print(f"baseline: the batch scan of the same day, {scan_s:,.1f} s")


if __name__ == "__main__":
    main()
