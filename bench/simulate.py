"""Simulator throughput: order events/s of the market and payments/s of the payment network.

Baseline, measured in the same run: the cost of just writing the same number of rows of
random data as Parquet (what any generator pays), so the figures say what the
simulation itself adds.

    .venv/bin/python bench/simulate.py [--scale full] [--payment-accounts 1000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from suptech.simulate.market_run import simulate_market
from suptech.simulate.payments_run import simulate_payments


def write_only(rows: int, columns: int, path: Path) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    pl.DataFrame({f"c{i}": rng.integers(0, 1 << 40, rows) for i in range(columns)}) \
        .write_parquet(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="full", choices=["small", "medium", "full"])
    parser.add_argument("--payment-accounts", type=int, default=1_000_000)
    parser.add_argument("--payment-days", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="suptech-sim-bench-"))
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
        t = time.perf_counter()
        m = simulate_market(work / "market", seed=1, days=1, scale=args.scale)
        seconds = time.perf_counter() - t
        print(f"market ({args.scale}, 1 day): {m.order_events:,} order events and "
              f"{m.trades:,} trades in {seconds:.1f} s = {m.order_events / seconds:,.0f} "
              f"order events/s ({len(m.labels)} labelled cases)")
        base = write_only(m.order_events, 16, work / "base.parquet")
        print(f"  baseline, writing {m.order_events:,} random rows of 16 columns: {base:.1f} s")
        t = time.perf_counter()
        p = simulate_payments(work / "payments", seed=1, days=args.payment_days,
                              accounts=args.payment_accounts)
        seconds = time.perf_counter() - t
        print(f"payments ({args.payment_accounts:,} accounts, {args.payment_days} days): "
              f"{p.payments:,} payments in {seconds:.1f} s = {p.payments / seconds:,.0f} "
              f"payments/s ({p.laundering:,} laundering, {p.laundering / p.payments:.3%})")
        base = write_only(p.payments, 15, work / "base.parquet")
        print(f"  baseline, writing {p.payments:,} random rows of 15 columns: {base:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
