"""Ingest throughput: N order_event rows (1 % invalid, spread over every code) from Parquet
and from CSV into a fresh DuckDB store, with full validation; and, in the same run, the
baseline a user would otherwise write: the same rules with pandas, row by row
(`DataFrame.apply`), on a sample of the rows (it is too slow for all of them).

    .venv/bin/python bench/ingest.py [--rows 10000000] [--baseline-rows 200000]
                                     [--repeat 1] [--formats parquet,csv]

With --day, a simulated trading day instead (`suptech simulate market`, seed 9: order
events NEW, MODIFY, CANCEL and FILL that refer to earlier orders, trades naming both
orders, the simulator's instruments, accounts and parties), every file of it ingested
by `suptech ingest` as a whole process into a fresh store; the baseline checks the day's
first order events row by row with pandas, each row's order and account looked up.

    .venv/bin/python bench/ingest.py --day [--scale full] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from builders import BROKER_A, ISIN_A, ISIN_B, SUBMITTER, reference_data  # noqa: E402

from suptech.ingest.checks.identifiers import REPORT_ID, code_list  # noqa: E402
from suptech.ingest.pipeline import ingest_files  # noqa: E402
from suptech.model.reports import ORDER_EVENT, Kind  # noqa: E402
from suptech.store.database import open_store  # noqa: E402

BASE_NS = 1_772_415_000_000_000_000  # 2026-03-02T01:30:00Z

# One kind of bad value per code that a single file can show; each hits 1/9 of the
# invalid rows. (E008 needs CORR rows; E007 a repeated report_id.)
CORRUPTIONS = ["E001", "E002", "E003", "E004", "E005", "E006", "E007", "E009", "E010"]


def orders(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    lots = rng.integers(1, 50, n) * 100
    frame = pl.DataFrame({
        "report_id": pl.Series(i).cast(pl.String).str.replace(r"^", "OE-"),
        "action": "NEW",
        "submitter": SUBMITTER,
        "ts_event": BASE_NS + i * 1_000,
        "order_id": pl.Series(i // 3).cast(pl.String).str.replace(r"^", "O"),
        "event_type": "NEW",
        "isin": np.where(i % 2 == 0, ISIN_A, ISIN_B),
        "mic": "XSHG",
        "account_id": np.where(i % 3 == 0, "A1", "A2"),
        "member_lei": BROKER_A,
        "side": np.where(i % 2 == 0, "BUY", "SELL"),
        "order_type": "LIMIT",
        "price": np.round(10 + rng.integers(0, 500, n) * 0.01, 2),
        "quantity": lots * 2,  # a multiple of both instruments' lots (100 and 200)
        "leaves_quantity": lots * 2,
        "time_in_force": "DAY",
    })
    bad = rng.choice(n, n // 100, replace=False)
    which = np.array(CORRUPTIONS)[np.arange(len(bad)) % len(CORRUPTIONS)]
    frame = frame.with_columns(pl.col("price").cast(pl.String), pl.col("quantity").cast(pl.String),
                               pl.col("ts_event").cast(pl.String))
    edits = {
        "E001": ("account_id", None), "E002": ("quantity", "many"), "E003": ("side", "HOLD"),
        "E004": ("isin", "CNE000000017"), "E005": ("price", "10.015"),
        "E006": ("ts_event", str(BASE_NS * 2)), "E007": ("report_id", "OE-0"),
        "E009": ("account_id", "A404"), "E010": ("leaves_quantity", 10**9),
    }
    for code, (column, value) in edits.items():
        rows = pl.Series(bad[which == code])
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()).is_in(rows.implode())).then(pl.lit(value))
            .otherwise(pl.col(column)).cast(frame.schema[column]).alias(column))
    return frame.with_columns(pl.col("ts_event").cast(pl.Int64, strict=False),
                              pl.col("price").cast(pl.Float64, strict=False),
                              pl.col("quantity").cast(pl.Int64, strict=False))


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV carries ISO 8601 timestamps, as the specification asks."""
    return frame.with_columns(pl.from_epoch("ts_event", "ns").dt.replace_time_zone("UTC")
                              .dt.strftime("%Y-%m-%dT%H:%M:%S%.9f+00:00"))


def timed_ingest(path: Path, refs: list[Path], work: Path) -> tuple[float, int, int]:
    db = work / f"db-{path.suffix[1:]}"
    store = open_store(db)
    ingest_files(store, refs)
    start = time.perf_counter()
    [result] = ingest_files(store, [path])
    seconds = time.perf_counter() - start
    store.close()
    shutil.rmtree(db)
    return seconds, result.summary.accepted, result.summary.rejected


def pandas_row_by_row(frame: pd.DataFrame, ticks: dict[str, tuple[float, int]] | None = None,
                      accounts: set[str] | None = None) -> int:
    """The baseline: the stateless rules of the same file, one row at a time, each row's
    instrument (`ticks`: tick and lot size) and account looked up, and a report id
    reported once."""
    from stdnum import isin, lei
    enums = {f.name: set(f.values) for f in ORDER_EVENT.all_fields if f.kind is Kind.ENUM}
    mics = code_list(Kind.MIC)
    rid = re.compile(REPORT_ID)
    ticks = ticks or {ISIN_A: (0.01, 100), ISIN_B: (0.01, 200)}
    accounts = accounts or {"A1", "A2"}
    seen: set[str] = set()

    def check(r) -> bool:
        for name in ("report_id", "submitter", "order_id", "account_id", "isin", "mic"):
            if r[name] is None or r[name] == "":
                return False
        try:
            q, leaves = int(r["quantity"]), int(r["leaves_quantity"])
            # A market order has no price (pandas shows the missing value as NaN).
            price = None if r["order_type"] == "MARKET" else float(r["price"])
            ts = int(r["ts_event"])
        except (TypeError, ValueError):
            return False
        if any(r[k] not in v for k, v in enums.items()):
            return False
        if not (rid.match(r["report_id"]) and lei.is_valid(r["submitter"])
                and lei.is_valid(r["member_lei"]) and isin.is_valid(r["isin"])
                and r["mic"] in mics):
            return False
        if r["isin"] not in ticks or r["account_id"] not in accounts or r["report_id"] in seen:
            return False
        seen.add(r["report_id"])
        tick, lot = ticks[r["isin"]]
        if q <= 0 or leaves < 0 or q % lot or (
                price is not None and abs(round(price / tick) * tick - price) > 1e-9):
            return False
        return leaves <= q and BASE_NS // 2 < ts < time.time_ns()

    return int(frame.apply(check, axis=1).sum())


def day(args) -> None:
    """A simulated day through `suptech ingest`, as a user would run it."""
    from suptech.simulate.market_run import simulate_market

    work = Path(tempfile.mkdtemp(prefix="suptech-bench-day-"))
    try:
        t = time.perf_counter()
        simulate_market(work / "day", seed=9, scale=args.scale)
        files = sorted((work / "day").glob("*.parquet"))
        rows = sum(pl.scan_parquet(f).select(pl.len()).collect().item() for f in files)
        # Read lazily: the day's ten million events are not held here while the
        # measured process ingests them.
        events = pl.scan_parquet(next((work / "day").glob("order_event-*.parquet")))
        kinds = events.group_by("event_type").len().sort("len", descending=True).collect()
        print(f"simulated a {args.scale} day in {time.perf_counter() - t:.0f} s: "
              f"{rows:,} rows in {len(files)} files, order events "
              + ", ".join(f"{e} {n:,}" for e, n in kinds.iter_rows()))
        rates = []
        for k in range(args.repeat):
            db = work / f"db{k}"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "suptech.cli", "ingest", *map(str, files),
                            "--data-dir", str(db)], check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - t
            rates.append(rows / seconds)
            print(f"suptech ingest (whole process): {seconds:6.2f} s  {rates[-1]:12,.0f} rows/s")
            shutil.rmtree(db)
        inst = pl.read_parquet(next((work / "day").glob("instrument*.parquet")))
        ticks = {i: (float(t), int(n)) for i, t, n in
                 inst.select("isin", "tick_size", "lot_size").iter_rows()}
        accounts = set(pl.read_parquet(next((work / "day").glob("account*.parquet")))
                       ["account_id"])
        sample = events.head(args.baseline_rows).collect().to_pandas()
        t = time.perf_counter()
        ok = pandas_row_by_row(sample, ticks, accounts)
        seconds = time.perf_counter() - t
        base = len(sample) / seconds
        print(f"pandas df.apply baseline: {seconds:6.2f} s for {len(sample):,} order events  "
              f"{base:12,.0f} rows/s  (accepted {ok:,}; validation only, no storage)")
        print(f"ratio (median) / baseline: {statistics.median(rates) / base:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", action="store_true",
                        help="a simulated trading day through `suptech ingest` instead")
    parser.add_argument("--scale", default="full", choices=["tiny", "small", "medium", "full"],
                        help="with --day: the simulated day's size (default full)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--baseline-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1,
                        help="ingest each file this many times, each into a fresh store")
    parser.add_argument("--formats", default="parquet,csv",
                        help="comma-separated: which files to ingest (default parquet,csv)")
    args = parser.parse_args()
    if args.day:
        return day(args)
    work = Path(tempfile.mkdtemp(prefix="suptech-bench-"))
    try:
        print(f"machine: {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}")
        t = time.perf_counter()
        frame = orders(args.rows)
        refs = reference_data(work)
        parquet = work / "order_event-bench.parquet"
        frame.write_parquet(parquet)
        files = [parquet]
        formats = args.formats.split(",")
        if "csv" in formats:
            csv = work / "order_event-bench.csv"
            csv_frame(frame).write_csv(csv)
            files.append(csv)
        sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 1e6:.0f} MB" for p in files)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s ({sizes})")
        results = {}
        for path in (p for p in files if p.suffix[1:] in formats):
            rates = []
            for _ in range(args.repeat):
                seconds, accepted, rejected = timed_ingest(path, refs, work)
                rates.append(args.rows / seconds)
                print(f"suptech ingest {path.suffix[1:]:8s}: {seconds:6.2f} s  "
                      f"{rates[-1]:12,.0f} rows/s  (accepted {accepted:,}, rejected {rejected:,})")
            results[path.suffix] = statistics.median(rates)
            if args.repeat > 1:
                print(f"  median {results[path.suffix]:,.0f} rows/s, slowest {min(rates):,.0f}, "
                      f"fastest {max(rates):,.0f}")
        sample = frame.head(args.baseline_rows).to_pandas()
        t = time.perf_counter()
        ok = pandas_row_by_row(sample)
        seconds = time.perf_counter() - t
        base = len(sample) / seconds
        print(f"pandas df.apply baseline: {seconds:6.2f} s for {len(sample):,} rows  "
              f"{base:12,.0f} rows/s  (accepted {ok:,}; validation only, no storage)")
        for suffix, rate in results.items():
            print(f"ratio {suffix[1:]} (median) / baseline: {rate / base:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
